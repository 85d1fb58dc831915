"""The job history's schema 2 (flux_hub/history.py, issue 26): a schema-1 file, written by the
schema-1 code (tests/history_v1.py), is upgraded in place keeping every record; every record
carries its form and ``rerun_of``; ``rerun_request`` gives back exactly the request each
front-end first sent (as flux-restful would be sent it: protocol.check_submission), or says in
one sentence why it cannot; the person's templates; the records a cluster should still know."""

import json
import sqlite3
import sys

import history_v1
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from flux_hub import cli, history, jobid
from flux_hub.history import (
    GONE,
    SCHEMA_VERSION,
    History,
    HistoryError,
    form_of,
    rerun_request,
)
from flux_hub.jobnames import JobNames
from flux_hub.jobrequest import JobRequestError
from flux_hub.journal import SubmittedJobs, journal_path
from flux_hub.notebook import api
from flux_hub.restful import protocol
from flux_hub.serverextension.handlers import parse_submission

CLUSTER = "http://127.0.0.1:5000"
OTHER_CLUSTER = "http://10.0.0.9:5000"
# What the original check_submission is (the tests below spy on the module's)
CHECK_SUBMISSION = protocol.check_submission


@pytest.fixture
def names_path(tmp_path):
    return tmp_path / "share" / "flux-hub" / "job-names.json"


def every(store):
    return store.search(limit=500)["records"]


def old_files(names_path, named, journalled):
    names = JobNames(names_path)
    for job_id, name in named.items():
        names.set(job_id, name)
    journal = SubmittedJobs(journal_path(names_path))
    for job_id in journalled:
        journal.add(job_id)


def write_v1_file(names_path):
    """A schema-1 history as people have it: imported old files, jobs of several origins,
    ended, gone, one with its environment's values kept. Returns its records as v1 read them."""
    old_files(names_path, {101: "walk-steps"}, [101, 102])
    with history_v1.History(names_path=names_path, account="alice") as v1:
        assert v1.schema_version == 1
        v1.record_submitted(
            201,
            cluster=CLUSTER,
            request={"command": "bash -c 'echo hi\n'", "num_tasks": 2, "envars": {"A": "1"}},
            origin_kind="magic",
            origin_path="work/a.ipynb",
            origin_cell=3,
            name="a.ipynb [3]",
            workdir="/cluster/run",
            lab_workdir="/home/alice/run",
            keep_env_values=True,
            submitted=1_700_000_000.0,
        )
        v1.record_submitted(
            202,
            cluster=CLUSTER,
            request={"command": "python run.py", "runtime": 60, "envars": {"TOKEN": "x"}},
            origin_kind="panel",
            name="walk-bash",
            submitted=1_700_000_100.0,
        )
        v1.record_submitted(
            203,
            cluster=CLUSTER,
            request={"command": "sleep 100"},
            origin_kind="cli",
            origin_command="flux-hub submit -- sleep 100",
            submitted=1_700_000_200.0,
        )
        v1.record_final(201, cluster=CLUSTER, result="COMPLETED", exit_code=0, runtime=1.5,
                        nodes=["node0"], ended=1_700_000_010.0)  # fmt: skip
        v1.record_gone(202, cluster=CLUSTER, when=1_700_000_300.0)
        return every(v1)


def test_a_v1_file_is_upgraded_in_place_keeping_every_record(names_path):
    before = write_v1_file(names_path)
    assert {r["id"] for r in before} == {101, 102, 201, 202, 203}

    with History(names_path=names_path, account="alice") as store:
        assert store.schema_version == SCHEMA_VERSION
        after = every(store)
        # every record, in the same order, each with everything v1 knew, unchanged
        assert [{key: r[key] for key in before[0]} for r in after] == before
        assert [r["rerun_of"] for r in after] == [None] * 5
        by_id = {r["id"]: r for r in after}
        assert by_id[202]["status"] == GONE and by_id[201]["status"] == "COMPLETED"
        assert by_id[201]["form"] == {
            "command": "bash -c 'echo hi\n'",
            "name": "a.ipynb [3]",
            "num_tasks": 2,
            "workdir": "/home/alice/run",
            "envars": {"A": "1"},
            "keep_env": True,  # the values were kept: asked again for a job from this form
        }
        assert by_id[101]["form"] is None  # imported: no request
        assert store.templates() == []
        # the text index still finds names and commands, and new writes use the new column
        assert [r["id"] for r in store.search("walk")["records"]] == [202, 101]
        assert [r["id"] for r in store.search("run.py")["records"]] == [202]
        store.record_submitted(
            204, cluster=CLUSTER, request={"command": "sleep 100"}, origin_kind="cli",
            rerun_of=203,
        )  # fmt: skip
        store.save_template("short", {"command": "hostname", "num_tasks": 1})

    # Opened again: upgraded once only; what was written since stays
    with History(names_path=names_path, account="alice") as again:
        assert again.schema_version == SCHEMA_VERSION
        assert len(every(again)) == 6
        assert again.get(204)["rerun_of"] == 203
        assert [t["name"] for t in again.templates()] == ["short"]
    db = sqlite3.connect(names_path.with_name("history.sqlite3"))
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = [row[1] for row in db.execute("PRAGMA table_info(jobs)")]
    assert columns[-2:] == ["rerun_of", "sweep"]  # 2: rerun_of, 3: sweep
    db.close()

    # The schema-1 code refuses the upgraded file instead of writing it
    with pytest.raises(history_v1.HistoryError, match=rf"newer flux-hub \(schema {SCHEMA_VERSION}"):
        history_v1.History(names_path=names_path, account="alice")


def test_an_upgrade_that_fails_leaves_the_v1_file_as_it_was(names_path, monkeypatch):
    before = write_v1_file(names_path)
    monkeypatch.setattr(
        history,
        "_SCHEMA_2",
        (*history._SCHEMA_2, "CREATE TABLE templates (x)"),  # exists
    )
    with pytest.raises(HistoryError, match="cannot be opened: table templates already exists"):
        History(names_path=names_path, account="alice")
    with history_v1.History(names_path=names_path, account="alice") as v1:
        assert v1.schema_version == 1
        assert every(v1) == before
    monkeypatch.undo()
    with History(names_path=names_path, account="alice") as store:
        assert store.schema_version == SCHEMA_VERSION and len(every(store)) == 5


# -- what was sent, and running it again ----------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    """What every front-end sends flux-restful (check_submission's answer: the query
    parameters and the environment), in order."""
    calls = []

    def spy(command, fields):
        answer = CHECK_SUBMISSION(command, fields)
        calls.append(answer)
        return answer

    monkeypatch.setattr(protocol, "check_submission", spy)
    return calls


def sent_again(record, overrides=None):
    """What running the record again sends."""
    command, fields, name = rerun_request(record, overrides)
    return CHECK_SUBMISSION(command, fields), name


@pytest.fixture
def data_home(tmp_path, monkeypatch, cluster):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr(api, "_current", None)
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "alice")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["alice"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data" / "flux-hub"


def recorded(data_home, job_id):
    with History(names_path=data_home / "job-names.json", account="alice") as store:
        return store.get(job_id)


def test_a_notebook_job_runs_again_as_sent_once_its_environment_is_given(
    data_home, tmp_path, sent, monkeypatch
):
    monkeypatch.setenv("JPY_SESSION_NAME", "work/analysis.ipynb")
    (tmp_path / "run").mkdir()
    with api.connect() as flux:
        job = flux.submit(
            ["python3", "-c", "print('a b')"],
            name="walk-steps",
            workdir="run",
            num_nodes=1,
            num_tasks=2,
            cores_per_task=1,
            gpus_per_task=0,
            runtime="1.5m",
            option_flags={"cpu-affinity": "per-task"},
            envars={"API_TOKEN": "s3cret", "MODE": "fast"},
        )
    (first,) = sent
    record = recorded(data_home, job.id)
    assert record["env_values_kept"] is False
    assert record["form"] == {
        "command": "python3 -c 'print('\"'\"'a b'\"'\"')'",
        "name": "walk-steps",
        "num_nodes": 1,
        "num_tasks": 2,
        "cores_per_task": 1,
        "runtime": 90,
        "option_flags": "cpu-affinity=per-task",
        "workdir": str(tmp_path / "run"),
        "envars": {"API_TOKEN": "", "MODE": ""},
    }
    with pytest.raises(HistoryError) as refused:
        rerun_request(record)
    assert str(refused.value) == (
        f"job {jobid.f58(job.id)}'s environment values were not kept (API_TOKEN, MODE): "
        "give them (--env API_TOKEN=…) or use Edit and run"
    )
    with pytest.raises(HistoryError, match=r"not kept \(MODE\)"):
        rerun_request(record, {"envars": ["API_TOKEN=s3cret"]})
    again = sent_again(record, {"envars": ["API_TOKEN=s3cret", "MODE=fast"]})
    assert again == (first, "walk-steps")
    assert first[1] == {"API_TOKEN": "s3cret", "MODE": "fast"}  # the environment was sent


def test_a_flux_cell_runs_again_exactly_and_with_overrides(data_home, tmp_path, sent, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JPY_SESSION_NAME", "work/analysis.ipynb")
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    try:
        shell.run_line_magic("load_ext", "flux_hub")
        result = shell.run_cell(
            "%%flux -N 1 -n 2 -t 90s --exclusive\necho hello\n", store_history=True
        )
    finally:
        InteractiveShell.clear_instance()
    assert result.error_in_exec is None
    (first,) = sent
    record = recorded(data_home, result.result.id)
    assert record["form"] == {
        "command": "bash -c 'echo hello\n'",
        "name": "analysis.ipynb [1]",
        "num_nodes": 1,
        "num_tasks": 2,
        "runtime": 90,
        "exclusive": True,
        "workdir": str(tmp_path),
    }
    assert record["env_values_kept"] is True and record["rerun_of"] is None
    assert sent_again(record) == (first, "analysis.ipynb [1]")

    # Overrides, as a person types them, laid over the rest
    command, fields, name = rerun_request(
        record, {"num_tasks": "4", "runtime": "0", "exclusive": "false", "name": "again"}
    )
    assert command == "bash -c 'echo hello\n'" and name == "again"
    assert fields == {"num_nodes": 1, "num_tasks": 4, "workdir": str(tmp_path)}
    _, fields, _ = rerun_request(record, {"workdir": "elsewhere"}, translate=lambda p: "/c/" + p)
    assert fields["workdir"] == "/c/elsewhere"
    _, fields, _ = rerun_request(record, {"runtime": None, "num_tasks": None})
    assert (fields["runtime"], fields["num_tasks"]) == (90, 2)  # None: not given
    with pytest.raises(JobRequestError) as bad:
        rerun_request(record, {"num_nodes": "3"})  # 2 tasks on 3 nodes
    assert bad.value.field == "num_tasks"
    with pytest.raises(JobRequestError, match="'runtime': 'soon' is not a time limit"):
        rerun_request(record, {"runtime": "soon"})
    with pytest.raises(KeyError):
        rerun_request(record, {"colour": "red"})


def test_a_terminal_job_runs_again_exactly(data_home, tmp_path, sent, monkeypatch, capsys):
    argv = ["submit", "--name", "walk-bash", "-N", "1", "-n", "2", "-o", "cpu-affinity=per-task",
            "--", "sh", "-c", "echo 'a b'"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["flux-hub", *argv])
    assert cli.main(argv) == 0
    job_id = jobid.parse(capsys.readouterr().out.strip())
    (first,) = sent
    record = recorded(data_home, job_id)
    assert record["origin"]["kind"] == "cli"
    assert record["form"] == {
        "command": "sh -c 'echo '\"'\"'a b'\"'\"''",
        "name": "walk-bash",
        "num_nodes": 1,
        "num_tasks": 2,
        "option_flags": "cpu-affinity=per-task",
        "workdir": str(tmp_path),
    }
    assert sent_again(record) == (first, "walk-bash")
    _, fields, _ = rerun_request(record, {"option_flags": "", "cores_per_task": "2"})
    assert "option_flags" not in fields and fields["cores_per_task"] == 2


def test_a_panel_job_runs_again_exactly_with_its_kept_environment(names_path):
    body = {
        "command": ["python3", "run.py", "--in", "a b.txt"],
        "name": "walk-sleeper",
        "num_tasks": "3",
        "gpus_per_task": 1,
        "runtime": "1h30m",
        "envars": {"SEED": "42"},
    }
    fields, name = parse_submission(json.dumps(body).encode())
    fields["workdir"] = "/cluster/home/alice"  # as the server extension sends it
    command = fields["command"]
    first = CHECK_SUBMISSION(command, {k: v for k, v in fields.items() if k != "command"})
    with History(names_path=names_path, account="alice") as store:
        store.record_submitted(
            7, cluster=CLUSTER, request=dict(fields), origin_kind="panel", name=name,
            workdir=fields["workdir"], lab_workdir="/home/alice", keep_env_values=True,
        )  # fmt: skip
        record = store.get(7)
    assert record["form"] == {
        "command": "python3 run.py --in 'a b.txt'",
        "name": "walk-sleeper",
        "num_tasks": 3,
        "gpus_per_task": 1,
        "runtime": 5400,
        "workdir": "/home/alice",
        "envars": {"SEED": "42"},
        "keep_env": True,
    }
    assert record["env_values_kept"] is True
    assert sent_again(record) == (first, "walk-sleeper")
    assert first[1] == {"SEED": "42"}


def test_a_record_the_lab_cannot_see_and_an_imported_one(names_path):
    old_files(names_path, {101: "walk-steps"}, [])
    with History(names_path=names_path, account="alice") as store:
        store.record_submitted(
            8, cluster=CLUSTER, request={"command": ["hostname"], "workdir": "/scratch/x"},
            origin_kind="panel",
        )  # fmt: skip
        unseen, imported = store.get(8), store.get(101)
    assert unseen["form"] == {"command": ["hostname"]}  # no workdir the lab can use
    assert rerun_request(unseen) == (["hostname"], {"workdir": "/scratch/x"}, None)
    assert imported["form"] is None and form_of(imported) is None
    with pytest.raises(HistoryError) as refused:
        rerun_request(imported)
    assert str(refused.value) == (
        f"job {jobid.f58(101)} was recorded before flux-hub kept requests; submit it anew"
    )


# -- templates and the active records of a cluster ----------------------------------------


def test_templates_are_kept_checked_and_the_persons_own(names_path):
    with History(names_path=names_path, account="alice") as store:
        assert store.save_template("  MPI hello ", {
            "command": "mpirun hello", "num_nodes": "2", "num_tasks": 4, "runtime": "1h30m",
            "exclusive": False, "gpus_per_task": 0, "workdir": "/home/alice/mpi",
        }) == "MPI hello"  # fmt: skip
        store.save_template("resources only", {"command": "", "num_tasks": 8})
        store.save_template("b first", {"command": "true"})
        assert [(t["name"], t["request"]) for t in store.templates()] == [
            ("b first", {"command": "true"}),
            ("MPI hello", {"command": "mpirun hello", "num_nodes": 2, "num_tasks": 4,
                           "runtime": 5400, "workdir": "/home/alice/mpi"}),
            ("resources only", {"num_tasks": 8}),
        ]  # fmt: skip
        store.save_template("b first", {"command": "false"})  # replaced
        assert store.templates()[0]["request"] == {"command": "false"}
        saved = store.templates()[0]["saved"]
        assert isinstance(saved, float)

        with pytest.raises(JobRequestError) as bad:
            store.save_template("bad", {"command": "x", "num_tasks": "many", "colour": "red"})
        assert bad.value.problems == {"colour": "unknown field 'colour'"}
        with pytest.raises(JobRequestError) as bad:
            store.save_template("bad", {"command": "x", "num_tasks": "many"})
        assert bad.value.problems == {
            "num_tasks": "'num_tasks' must be a whole number of at least 1, not 'many'"
        }
        for name in ("", "   ", "x" * 81, None):
            with pytest.raises(ValueError, match="a template's name is 1 to 80 characters"):
                store.save_template(name, {"command": "true"})
        assert store.delete_template(" b first ") is True
        assert store.delete_template("b first") is False
        assert [t["name"] for t in store.templates()] == ["MPI hello", "resources only"]
    # Another account's (one file, two accounts) sees none of them
    with History(names_path=names_path, account="bob") as other:
        assert other.templates() == []
        assert other.delete_template("MPI hello") is False


def test_active_on_lists_what_a_cluster_should_still_know(names_path):
    old_files(names_path, {101: "imported"}, [])
    with History(names_path=names_path, account="alice") as store:
        for job_id, cluster, when in ((3, CLUSTER, 30.0), (1, CLUSTER, 10.0), (2, OTHER_CLUSTER,
                                      20.0), (4, CLUSTER, 40.0), (5, CLUSTER, 50.0)):  # fmt: skip
            store.record_submitted(
                job_id, cluster=cluster, request={"command": "true"}, origin_kind="cli",
                submitted=when,
            )  # fmt: skip
        store.record_final(4, cluster=CLUSTER, result="COMPLETED")
        store.record_gone(5, cluster=CLUSTER)
        assert store.active_on(CLUSTER) == [(3, 30.0), (1, 10.0)]  # in the order recorded
        assert store.active_on(OTHER_CLUSTER) == [(2, 20.0)]
        assert store.active_on("http://nowhere:1") == []
    with History(names_path=names_path, account="bob") as other:
        assert other.active_on(CLUSTER) == []


def test_a_job_imported_at_the_first_open_is_recorded_once(names_path):
    # The panel names a job in the name file, then records it in the background: the
    # history's first open, in between, imports the name; the record then replaces it.
    JobNames(names_path).set(301, "walk-steps")
    with History(names_path=names_path, account="alice") as store:
        assert store.get(301)["imported_from"] == "job-names.json"
        store.record_submitted(
            301, cluster=CLUSTER, request={"command": "true"}, origin_kind="panel",
            name="walk-steps",
        )  # fmt: skip
        (record,) = every(store)
    assert (record["id"], record["cluster"], record["imported_from"]) == (301, CLUSTER, None)
    assert record["form"] == {"command": "true", "name": "walk-steps"}


def test_a_recorded_request_runs_again_only_as_a_job_request(names_path):
    """The history file is the person's to edit: what it holds is checked as any job request
    before it is sent again (a launcher, which flux-restful would run in its own process, is
    no field of one)."""
    with History(names_path=names_path, account="alice") as store:
        store.record_submitted(
            9, cluster=CLUSTER, request={"command": "true", "is_launcher": True},
            origin_kind="cli",
        )  # fmt: skip
        record = store.get(9)
    with pytest.raises(HistoryError, match="a field flux-hub does not send"):
        rerun_request(record)
