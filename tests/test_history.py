"""The person's job history (flux_hub/history.py): migration from the old files, what a record
keeps, search, privacy of the file, and several processes writing at once."""

import json
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from flux_hub.history import GONE, SCHEMA_VERSION, History, HistoryError, default_path
from flux_hub.jobnames import JobNames
from flux_hub.journal import SubmittedJobs, journal_path

CLUSTER = "http://127.0.0.1:5000"


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "share" / "flux-hub"


@pytest.fixture
def names_path(folder):
    return folder / "job-names.json"


def old_files(names_path, named, journalled):
    """The job-name file and the journal as today's code writes them."""
    names = JobNames(names_path)
    for job_id, name in named.items():
        names.set(job_id, name)
    journal = SubmittedJobs(journal_path(names_path))
    for job_id in journalled:
        journal.add(job_id)


def every(history, **search):
    return history.search(limit=500, **search)["records"]


def submit(history, job_id, **more):
    fields = {
        "cluster": CLUSTER,
        "request": {"command": ["python", "run.py"], "num_tasks": 2},
        "origin_kind": "panel",
    }
    history.record_submitted(job_id, **{**fields, **more})


def test_first_open_imports_the_old_files_once(names_path):
    named = {101: "walk-steps", 102: "walk-sleeper", 2**63 + 5: "big id"}
    journalled = [102, 103, 104, 2**63 + 5]
    old_files(names_path, named, journalled)

    with History(names_path=names_path, account="alice") as history:
        assert history.path == default_path(names_path) == names_path.with_name("history.sqlite3")
        assert history.schema_version == SCHEMA_VERSION
        records = {r["id"]: r for r in every(history)}
    assert set(records) == {101, 102, 103, 104, 2**63 + 5}
    for job_id, record in records.items():
        assert record["name"] == named.get(job_id)
        assert record["origin"]["kind"] == "unknown"
        assert record["account"] == "alice"
        assert record["cluster"] is None and record["request"] is None
    assert records[101]["imported_from"] == "job-names.json"
    assert records[103]["imported_from"] == "submitted-jobs"
    assert records[102]["imported_from"] == "submitted-jobs, job-names.json"
    # newest (largest id: Flux ids grow with time) first
    with History(names_path=names_path, account="alice") as history:
        assert [r["id"] for r in every(history)] == sorted(records, reverse=True)

    # The old files keep being written (the panel still uses them): never imported again.
    old_files(names_path, {105: "later"}, [106])
    JobNames(names_path).set(101, "renamed")
    with History(names_path=names_path, account="alice") as again:
        ids = [r["id"] for r in every(again)]
        assert sorted(ids) == sorted(records)
        assert again.get(101)["name"] == "walk-steps"
    assert names_path.exists() and journal_path(names_path).exists()


def test_no_old_files_makes_an_empty_history(names_path):
    with History(names_path=names_path) as history:
        assert history.search() == {"records": [], "more": False}


def test_an_imported_job_takes_its_cluster_when_its_end_is_recorded(names_path):
    old_files(names_path, {7: "old"}, [])
    with History(names_path=names_path, account="alice") as history:
        assert history.record_final(7, cluster=CLUSTER, result="COMPLETED", exit_code=0)
        record = history.get(7)
    assert (record["cluster"], record["status"], record["name"]) == (CLUSTER, "COMPLETED", "old")


def test_the_file_and_folder_are_the_persons_only(folder, names_path):
    with History(names_path=names_path) as history:
        submit(history, 1)
        files = [history.path, *history.path.parent.glob("history.sqlite3-*")]
        assert {f.name for f in files} >= {"history.sqlite3", "history.sqlite3-wal"}
        for path in files:  # (the -wal and -shm files go when the last writer closes)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_record_keeps_the_request_but_not_environment_values(names_path):
    request = {
        "command": ["python", "train.py", "--lr", "0.1"],
        "num_tasks": 4,
        "workdir": "/shared/home/alice/project",
        "envars": {"API_KEY": "s3cret", "OMP_NUM_THREADS": "4"},
    }
    with History(names_path=names_path, account="alice") as history:
        history.record_submitted(
            11,
            cluster=CLUSTER,
            request=request,
            origin_kind="magic",
            origin_path="project/analysis.ipynb",
            origin_cell="c3f1",
            name="train",
            lab_workdir="/home/jovyan/project",
            submitted=1_700_000_000,
        )
        history.record_submitted(
            12,
            cluster=CLUSTER,
            request=request,
            origin_kind="cli",
            origin_command="flux-hub submit --env API_KEY python train.py",
            keep_env_values=True,
        )
        kept, asked = history.get(11), history.get(12)
        with sqlite3.connect(history.path) as db:
            holding = db.execute("SELECT job_id FROM jobs WHERE request LIKE '%s3cret%'").fetchall()
    assert kept["request"] == {k: v for k, v in request.items() if k != "envars"}
    assert kept["env_names"] == ["API_KEY", "OMP_NUM_THREADS"]
    assert kept["command"] == "python train.py --lr 0.1"
    assert kept["workdir"] == "/shared/home/alice/project"
    assert kept["lab_workdir"] == "/home/jovyan/project"
    assert kept["origin"] == {
        "kind": "magic",
        "path": "project/analysis.ipynb",
        "cell": "c3f1",
        "command": None,
    }
    assert (kept["submitted"], kept["status"], kept["cluster"]) == (
        1_700_000_000,
        "ACTIVE",
        CLUSTER,
    )
    assert asked["request"]["envars"] == request["envars"]
    assert asked["origin"]["command"] == "flux-hub submit --env API_KEY python train.py"
    assert holding == [("12",)]  # only the job whose submitter asked to keep the values
    with History(names_path=names_path) as history, pytest.raises(ValueError, match="origin"):
        submit(history, 13, origin_kind="unknown")


def test_final_record_and_cluster_gone(names_path):
    with History(names_path=names_path, account="alice") as history:
        submit(history, 21)
        submit(history, 22)
        assert history.record_final(
            21, cluster=CLUSTER, result="FAILED", exit_code=3, runtime=1.5, nodes=["node-1"]
        )
        assert not history.record_final(99, cluster=CLUSTER, result="COMPLETED")  # not ours
        # The cluster restarted: both are gone from it. 22 never ended as far as we know.
        assert history.record_gone(21, cluster=CLUSTER)
        assert history.record_gone(22, cluster=CLUSTER)
        ended, gone = history.get(21), history.get(22)
        assert [r["id"] for r in every(history, state="gone")] == [22]
        assert [r["id"] for r in every(history, state="failed")] == [21]
    assert (ended["status"], ended["exit_code"], ended["runtime"], ended["nodes"]) == (
        "FAILED",
        3,
        1.5,
        ["node-1"],
    )
    assert ended["cluster_gone"] and ended["ended"] is not None
    assert gone["status"] == GONE and gone["cluster_gone"]
    assert gone["request"] == {"command": ["python", "run.py"], "num_tasks": 2}


def test_search_by_text_state_origin_dates_newest_first_paged(names_path):
    day = 86400
    with History(names_path=names_path, account="alice") as history:
        for i in range(30):
            submit(
                history,
                1000 + i,
                name=f"{'walk' if i % 2 else 'fit'}-{i}",
                request={"command": f"python step_{i}.py --x=50%", "num_tasks": 1},
                origin_kind=("panel", "notebook", "cli")[i % 3],
                submitted=1_700_000_000 + i * day,
            )
            if i % 5 == 0:
                history.record_final(1000 + i, cluster=CLUSTER, result="COMPLETED")

        def ids(**search):
            return [r["id"] - 1000 for r in every(history, **search)]

        assert ids()[:3] == [29, 28, 27]
        assert ids(q="walk") == list(range(29, 0, -2))
        assert ids(q="WALK-2") == [29, 27, 25, 23, 21]  # case-insensitive, any part of the name
        assert ids(q="step_1") == [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1]  # the command
        assert ids(q="_1") == ids(q="step_1")  # short text: no trigram; "_" is not a wildcard
        assert ids(q="50%") == ids()
        assert ids(q='x="') == []
        assert ids(state="COMPLETED") == [25, 20, 15, 10, 5, 0]
        assert ids(state="active", origin="cli", q="fit") == [26, 14, 8, 2]
        assert ids(origin="cli") == [29, 26, 23, 20, 17, 14, 11, 8, 5, 2]
        assert ids(origin="cli", state="active", q="walk") == [29, 23, 17, 11]
        since, until = 1_700_000_000 + 10 * day, 1_700_000_000 + 13 * day
        assert ids(since=since, until=until) == [12, 11, 10]
        first = history.search(limit=12)
        second = history.search(limit=12, offset=12)
        last = history.search(limit=12, offset=24)
        assert first["more"] and second["more"] and not last["more"]
        pages = first["records"] + second["records"] + last["records"]
        assert [r["id"] - 1000 for r in pages] == list(range(29, -1, -1))
        assert [r["id"] - 1000 for r in history.search(q="walk", limit=2, offset=2)["records"]] == [
            25,
            23,
        ]


def test_search_answers_only_the_accounts_own_records(names_path):
    with History(names_path=names_path, account="bob") as bob:
        submit(bob, 1, name="bob's")
    with History(names_path=names_path, account="alice") as alice:
        submit(alice, 2, name="alice's")
        assert [r["name"] for r in every(alice)] == ["alice's"]
        assert alice.get(1) is None
        assert not alice.record_final(1, cluster=CLUSTER, result="COMPLETED")


def test_a_newer_schema_is_refused_not_rewritten(names_path):
    History(names_path=names_path).close()
    path = default_path(names_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer flux-hub"):
        History(names_path=names_path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99


WRITER = textwrap.dedent(
    """
    import sys
    from flux_hub.history import History
    names, who, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    history = History(names_path=names, account="alice", timeout=60)
    for i in range(count):
        job_id = who * 100_000 + i
        history.record_submitted(job_id, cluster="http://c", request={"command": "true"},
                                 origin_kind="notebook", name=f"w{who}-{i}")
        history.record_final(job_id, cluster="http://c", result="COMPLETED", exit_code=0)
        history.search(q=f"w{who}-", limit=5)
    print("done")
    """
)


def test_several_processes_migrate_and_write_at_once(names_path):
    """Kernels, the server and a CLI open a new history at the same moment (each would import
    the old files) and write: every job once, nothing lost, nobody refused."""
    old_files(names_path, {i: f"old-{i}" for i in range(1, 200)}, range(150, 260))
    writers, count = 5, 120
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(names_path), str(who), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for who in range(1, writers + 1)
    ]
    started = time.monotonic()
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0 and out.strip() == b"done", err.decode()[-2000:]
    assert time.monotonic() - started < 300
    with History(names_path=names_path, account="alice") as history:
        records = every(history, q="old-") + every(history, state="completed")
        records += history.search(state="completed", limit=500, offset=500)["records"]
        imported = [r for r in records if r["imported_from"]]
        written = [r for r in records if not r["imported_from"]]
    assert sorted(r["id"] for r in imported if r["name"]) == list(range(1, 200))
    assert len(written) == writers * count
    assert {(r["id"], r["name"], r["status"]) for r in written} == {
        (who * 100_000 + i, f"w{who}-{i}", "COMPLETED")
        for who in range(1, writers + 1)
        for i in range(count)
    }
    with sqlite3.connect(default_path(names_path)) as db:
        (total,) = db.execute("SELECT count(*) FROM jobs").fetchone()
        (imports,) = db.execute("SELECT count(*) FROM jobs WHERE imported_from NOT NULL").fetchone()
    assert imports == 259 and total == 259 + writers * count
    assert json.loads(json.dumps(written[0]))["origin"]["kind"] == "notebook"


def test_without_fts5_text_search_still_works(names_path, monkeypatch):
    """An sqlite built without FTS5 (or older than 3.34, no trigrams): the history is made
    without its text index and a text search reads every record instead."""
    from flux_hub import history as module

    monkeypatch.setattr(module, "_TEXT_SCHEMA", ("CREATE VIRTUAL TABLE jobs_text USING nope(a)",))
    with History(names_path=names_path) as history:
        submit(history, 1, name="walk-steps")
        submit(history, 2, name="walk-sleeper")
        assert not history._text_index
        assert [r["id"] for r in every(history, q="sleep")] == [2]
        assert [r["id"] for r in every(history, q="WALK")] == [2, 1]
