"""``flux-hub history`` and ``flux-hub resubmit`` (issue 26.4), as someone in a terminal sees them.

Most tests run the real command line (``flux_hub.cli.main``, its own argument parser) in this
process against a client that keeps each request it would send to flux-restful instead of sending
it (the query parameters and environment restful.protocol builds: the request as sent), so that a
resubmitted request can be compared with the first one exactly. The last one runs the installed
command in a process of its own against the local cluster.
"""

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
from recorder import HOST, Recorder

from flux_hub import cli, jobid
from flux_hub.history import History
from flux_hub.jobnames import JobNames
from flux_hub.notebook import api
from flux_hub.paths import PathMap


@pytest.fixture
def lab(tmp_path):
    """The person's folder as the terminal sees it (the cluster sees it as /shared/alice)."""
    folder = tmp_path / "lab"
    (folder / "run1").mkdir(parents=True)
    (folder / "other").mkdir()
    return folder


@pytest.fixture
def flux(tmp_path, lab, monkeypatch):
    client = Recorder()
    cluster = api.FluxCluster(
        client,
        JobNames(tmp_path / "data" / "job-names.json"),
        PathMap.parse(f"{lab}=/shared/alice"),
    )
    monkeypatch.setattr(api, "connect", lambda: cluster)
    monkeypatch.chdir(lab)
    return cluster


def history(flux):
    return History(names_path=flux.names.path, account="alice")


def run(monkeypatch, capsys, *args):
    """``flux-hub ARGS`` as typed: (exit status, standard output, standard error)."""
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/flux-hub", *args])
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_resubmit_sends_exactly_the_request_first_sent(flux, lab, monkeypatch, capsys):
    first = ["submit", "-N", "1", "-n", "2", "-c", "2", "-t", "90s", "--exclusive"]
    first += ["-o", "cpu-affinity=per-task", "--name", "walk-steps", "--cwd", "run1"]
    status, out, err = run(monkeypatch, capsys, *first, "sh", "-c", "echo $PWD")
    assert (status, err) == (0, "")
    original = jobid.parse(out.strip())

    monkeypatch.chdir(lab / "other")  # the terminal is elsewhere now: the job is not
    status, out, err = run(monkeypatch, capsys, "resubmit", jobid.f58(original))
    assert (status, err) == (0, "")
    again = jobid.parse(out.strip())
    assert out == jobid.f58(again) + "\n" and again != original

    sent, resent = flux.client.sent
    assert resent == sent
    assert dict(sent[0])["workdir"] == "/shared/alice/run1"
    with history(flux) as h:
        first_record, rerun = h.get(original), h.get(again)
    assert rerun["rerun_of"] == original and first_record["rerun_of"] is None
    assert rerun["origin"] == first_record["origin"]
    assert rerun["origin"]["kind"] == "cli"
    assert rerun["origin"]["command"] == (
        "flux-hub submit -N 1 -n 2 -c 2 -t 90s --exclusive -o cpu-affinity=per-task "
        "--name walk-steps --cwd run1 sh -c 'echo $PWD'"
    )
    assert rerun["name"] == "walk-steps" and flux.names.get(again) == "walk-steps"
    assert rerun["request"] == first_record["request"]


def test_resubmit_takes_submits_flags_as_overrides(flux, lab, monkeypatch, capsys):
    status, out, _ = run(
        monkeypatch, capsys, "submit", "-n", "2", "-t", "5m", "--cwd", "run1", "--name", "a", "true"
    )
    assert status == 0
    original = out.strip()
    status, out, err = run(
        monkeypatch,
        capsys,
        "resubmit",
        original,
        "-n",
        "4",
        "--time-limit",
        "1h30m",
        "--cwd",
        "other",
        "--name",
        "b",
    )
    assert (status, err) == (0, "")
    sent, resent = (dict(params) for params, _env in flux.client.sent)
    changed = {key for key in {*sent, *resent} if sent.get(key) != resent.get(key)}
    assert changed == {"num_tasks", "runtime", "workdir"}
    assert (resent["num_tasks"], resent["runtime"]) == ("4", "5400")
    assert resent["workdir"] == "/shared/alice/other"
    assert flux.names.get(jobid.parse(out.strip())) == "b"

    # A bad override is submit's own usage error: nothing is sent
    status, out, err = run(monkeypatch, capsys, "resubmit", original, "-n", "0")
    assert (status, out) == (2, "")
    assert err == (
        "flux-hub: The job was not submitted: 'num_tasks' must be a whole number of at least 1, "
        "not '0'\n"
    )
    assert len(flux.client.sent) == 2


def test_environment_values_not_kept_must_be_given_again(flux, monkeypatch, capsys):
    status, out, _ = run(
        monkeypatch, capsys, "submit", "--env", "API_TOKEN=s3cret", "--env", "MODE=fast", "env"
    )
    assert status == 0
    original = out.strip()
    status, out, err = run(monkeypatch, capsys, "resubmit", original)
    assert (status, out) == (1, "")
    assert err == (
        f"flux-hub: job {original}'s environment values were not kept (API_TOKEN, MODE): give "
        "them (--env API_TOKEN=…) or use Edit and run\n"
    )
    assert len(flux.client.sent) == 1

    status, out, err = run(
        monkeypatch, capsys, "resubmit", original, "--env", "API_TOKEN=new", "--env", "MODE=slow"
    )
    assert (status, err) == (0, "")
    assert flux.client.sent[1][1] == {"API_TOKEN": "new", "MODE": "slow"}
    with history(flux) as h:
        assert "new" not in json.dumps(h.get(jobid.parse(out.strip())))


def test_an_imported_job_or_one_not_in_the_history_cannot_be_resubmitted(flux, monkeypatch, capsys):
    # A job named before the history existed: imported with its name, no request
    JobNames(flux.names.path).set(12345678, "from before")
    status, out, err = run(monkeypatch, capsys, "resubmit", "12345678")
    assert (status, out) == (1, "")
    label = jobid.f58(12345678)
    assert err == (
        f"flux-hub: job {label} was recorded before flux-hub kept requests; submit it anew\n"
    )
    status, out, err = run(monkeypatch, capsys, "resubmit", "ƒ2Vj1dB9")
    assert (status, out) == (1, "")
    assert err == "flux-hub: job ƒ2Vj1dB9 is not in your job history\n"
    status, out, err = run(monkeypatch, capsys, "resubmit", "soon")
    assert status == 2 and "'soon' is not a job id" in err
    assert flux.client.sent == []


def _recorded(flux, job_id, *, ago, **kwargs):
    kwargs.setdefault("request", {"command": "true"})
    kwargs.setdefault("origin_kind", "cli")
    with history(flux) as h:
        h.record_submitted(job_id, cluster=HOST, submitted=time.time() - ago, **kwargs)
    return job_id


def test_history_is_a_table_newest_first_with_where_each_job_came_from(flux, monkeypatch, capsys):
    status, out, err = run(monkeypatch, capsys, "history")
    assert (status, out, err) == (0, "", "No jobs in your history.\n")

    old = _recorded(flux, 1001, ago=3 * 3600, name="walk-sleeper", origin_kind="panel")
    cell = _recorded(
        flux,
        1002,
        ago=3600,
        name="analysis.ipynb [3]",
        request={"command": ["bash", "-c", "sleep 1"]},
        origin_kind="magic",
        origin_path="analysis.ipynb",
        origin_cell=3,
    )
    typed = _recorded(flux, 1003, ago=60, name="walk-bash", origin_command="flux-hub submit true")
    with history(flux) as h:
        h.record_final(old, cluster=HOST, result="COMPLETED", exit_code=0)
        h.record_gone(cell, cluster=HOST)

    status, out, err = run(monkeypatch, capsys, "history")
    assert (status, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["id", "name", "status", "exit", "origin", "submitted", "command"]
    assert [row.split()[0] for row in rows] == [jobid.f58(i) for i in (typed, cell, old)]
    when = datetime.fromtimestamp(time.time() - 3600).strftime("%Y-%m-%d %H:")
    assert rows[1].startswith(f"{jobid.f58(cell)}  analysis.ipynb [3]  cluster gone")
    assert "analysis.ipynb [3]" in rows[1].split("cluster gone")[1] and when in rows[1]
    assert rows[1].endswith("bash -c 'sleep 1'")
    assert "walk-bash" in rows[0] and "ACTIVE" in rows[0] and "terminal" in rows[0]
    assert rows[2].split()[1:5] == ["walk-sleeper", "COMPLETED", "0", "panel"]

    # --since: an ISO date and time or a time back from now
    status, out, _ = run(monkeypatch, capsys, "history", "--since", "2h")
    assert [row.split()[0] for row in out.splitlines()[1:]] == [jobid.f58(i) for i in (typed, cell)]
    since = datetime.fromtimestamp(time.time() - 2 * 60).isoformat(timespec="seconds")
    status, out, _ = run(monkeypatch, capsys, "history", "--since", since)
    assert [row.split()[0] for row in out.splitlines()[1:]] == [jobid.f58(typed)]
    status, out, _ = run(monkeypatch, capsys, "history", "--state", "gone", "--origin", "magic")
    assert [row.split()[0] for row in out.splitlines()[1:]] == [jobid.f58(cell)]
    status, out, _ = run(monkeypatch, capsys, "history", "-q", "sleeper", "--limit", "1")
    assert [row.split()[0] for row in out.splitlines()[1:]] == [jobid.f58(old)]
    status, out, err = run(monkeypatch, capsys, "history", "--state", "failed")
    assert (status, out, err) == (0, "", "No jobs in your history match.\n")


def test_history_json_is_the_records_as_the_panels_api_gives_them(flux, monkeypatch, capsys):
    _recorded(flux, 1001, ago=60, request={"command": "env", "envars": {"TOKEN": "x"}})
    _recorded(flux, 1002, ago=30, name="second", origin_kind="panel")
    status, out, err = run(monkeypatch, capsys, "history", "--json")
    assert (status, err) == (0, "")
    records = json.loads(out)
    with history(flux) as h:
        assert records == h.search()["records"]
    assert [r["id"] for r in records] == [1002, 1001]
    assert records[1]["form"] == {"command": "env", "envars": {"TOKEN": ""}}
    assert records[1]["env_values_kept"] is False and "rerun_of" in records[1]
    status, out, _ = run(monkeypatch, capsys, "history", "--json", "--since", "45s")
    assert [r["id"] for r in json.loads(out)] == [1002]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--since", "yesterday"),
            "--since must be a date (2026-12-07), a date and time (2026-12-07T09:30) or a time "
            "back from now (2h, 3d), not 'yesterday'",
        ),
        (
            ("--state", "done"),
            "--state must be one of active, completed, failed, canceled, timeout or cluster "
            "gone, not 'done'",
        ),
        (
            ("--origin", "mail"),
            "--origin must be one of panel, file, notebook, magic, cli, unknown (terminal is "
            "cli, %%flux is magic), not 'mail'",
        ),
        (("--limit", "501"), "--limit must be at most 500, not 501"),
    ],
)
def test_a_bad_search_is_a_usage_error_in_one_line(flux, monkeypatch, capsys, args, message):
    status, out, err = run(monkeypatch, capsys, "history", *args)
    assert (status, out, err) == (2, "", f"flux-hub: {message}\n")


@pytest.mark.cluster
def test_in_a_terminal_resubmit_runs_the_job_again_and_history_shows_both(cluster, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env.update(
        FLUX_RESTFUL_HOST=cluster.url,
        FLUX_USER="alice",
        FLUX_TOKEN=cluster.passwords["alice"],
        FLUX_SECRET_KEY=cluster.secret_key,
        HOME=str(tmp_path),
    )
    env.pop("XDG_DATA_HOME", None)

    def flux_hub(*args):
        return subprocess.run(
            [sys.executable, "-m", "flux_hub.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    first = flux_hub("submit", "--wait", "-n", "2", "--name", "twice", "sh", "-c", "echo hi")
    assert (first.returncode, first.stdout) == (0, "hi\nhi\n"), first.stderr
    original = first.stderr.split()[2]  # flux-hub: job ƒ… submitted
    again = flux_hub("resubmit", "--wait", original, "-n", "3")
    assert (again.returncode, again.stdout) == (0, "hi\nhi\nhi\n"), again.stderr
    rerun = again.stderr.split()[2]

    table = flux_hub("history")
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [rerun, original]
    assert all(row.split()[1] == "twice" and "terminal" in row for row in rows), rows
    records = json.loads(flux_hub("history", "--json").stdout)
    assert records[0]["rerun_of"] == jobid.parse(original)
    assert records[0]["request"] == {**records[1]["request"], "num_tasks": 3}
