"""Jobs on the local MiniCluster, seen through the flux-restful HTTP API.

Each job record is compared field by field with what flux-restful 1.1.0 answers on a real
Flux instance (/work/shared/flux-restful-api.md): the keys present in each state, results,
return codes, wait statuses and exceptions.
"""

import os
import socket
import sys
import time

import pytest
from lanes import CANCEL_RETURNCODES
from local_support import api

from flux_hub.local.cluster import node_names

pytestmark = pytest.mark.cluster

COMPLETED_KEYS = set(
    """
    id userid urgency priority t_submit t_depend t_priority t_sched t_run t_cleanup t_inactive
    state name ntasks ncores duration nnodes ranks nodelist success exception_occurred result
    expiration annotations waitstatus returncode runtime exception
    """.split()
    # flux-hub's guard gives a job submitted without a working directory the person's folder
    + ["cwd"]
)
EXCEPTION_KEYS = {"exception_type", "exception_severity", "exception_note"}
TIMES = ("t_submit", "t_depend", "t_priority", "t_sched", "t_run", "t_cleanup", "t_inactive")


@pytest.fixture
def alice(cluster):
    return api(cluster, "alice")


def test_completed_job_reports_what_it_ran(alice):
    jobid = alice.submit("hostname")
    info = alice.wait(jobid)
    assert set(info) == COMPLETED_KEYS
    assert info["id"] == jobid
    assert info["userid"] == os.getuid()  # single-user mode: the server's uid
    assert (info["urgency"], info["priority"]) == (16, 16)
    assert (info["state"], info["result"], info["success"]) == ("INACTIVE", "COMPLETED", True)
    assert (info["name"], info["ntasks"], info["ncores"], info["nnodes"]) == ("hostname", 1, 1, 1)
    assert (info["ranks"], info["nodelist"]) == ("0", node_names(1)[0])
    assert (info["duration"], info["expiration"]) == (0.0, 0.0)
    assert (info["waitstatus"], info["returncode"], info["exception_occurred"]) == (0, 0, False)
    assert info["exception"] == {"occurred": False, "severity": "", "type": "", "note": ""}
    times = [info[key] for key in TIMES]
    assert times == sorted(times)
    assert info["runtime"] == pytest.approx(info["t_cleanup"] - info["t_run"])
    assert isinstance(info["annotations"], dict)
    assert alice.output(jobid) == [socket.gethostname() + "\n"]


def test_output_is_what_the_command_printed(alice):
    info, text = alice.run("sh -c 'echo out; echo err >&2; printf tail'")
    assert info["result"] == "COMPLETED"
    # stdout and stderr come merged, in no fixed order between the two (as on real Flux): the
    # unterminated "tail" may be followed by stderr's "err\n" on the same line
    rest = text
    for piece in ("out\n", "err\n", "tail"):
        assert piece in rest, (piece, text)
        rest = rest.replace(piece, "", 1)
    assert rest == "", text


def test_exit_code_fails_the_job(alice):
    info, text = alice.run("sh -c 'echo bye; exit 3'")
    assert (info["result"], info["success"]) == ("FAILED", False)
    assert (info["returncode"], info["waitstatus"]) == (3, 3 << 8)
    assert info["exception_occurred"] is False
    assert not EXCEPTION_KEYS & set(info)
    assert text == "bye\n"


def test_missing_executable(alice):
    jobid = alice.submit("/no/such/command --flag")
    info = alice.wait(jobid)
    assert set(info) == COMPLETED_KEYS | EXCEPTION_KEYS
    assert (info["result"], info["returncode"], info["waitstatus"]) == ("FAILED", 127, 127 << 8)
    assert info["name"] == "command"
    assert info["exception"]["type"] == info["exception_type"] == "exec"
    assert info["exception"]["occurred"] is True and info["exception_severity"] == 0
    assert "/no/such/command" in info["exception_note"]
    assert "No such file or directory" in info["exception_note"]
    answer = alice.get(f"/v1/jobs/{jobid}/output")
    assert answer.status_code == 200
    assert answer.json() == {"Message": "The output does not exist yet, or the jobid is incorrect."}


def test_runtime_exceeded_times_out(alice):
    info, _ = alice.run("sleep 30", runtime=1)
    assert info["result"] == "TIMEOUT"
    assert (info["returncode"], info["exception_type"]) == (142, "timeout")
    assert info["duration"] == 1.0
    assert info["expiration"] == pytest.approx(info["t_run"] + 1.0, abs=0.5)
    assert info["runtime"] < 10


def test_running_job_then_cancel(alice):
    jobid = alice.submit("sleep 60")
    info = alice.wait(jobid, "RUN")
    # While running: no end times, result/returncode/waitstatus are ""
    assert not {"t_cleanup", "t_inactive", "success", "exception_occurred"} & set(info)
    assert (info["result"], info["returncode"], info["waitstatus"]) == ("", "", "")
    assert info["runtime"] > 0

    answer = alice.post(f"/v1/jobs/{jobid}/cancel")
    assert answer.status_code == 200
    assert answer.json() == {"Message": "Job is requested to cancel.", "id": str(jobid)}
    info = alice.wait(jobid, timeout=20)
    assert (info["result"], info["exception_type"]) == ("CANCELED", "cancel")
    assert info["returncode"] in CANCEL_RETURNCODES
    assert info["runtime"] < 10

    again = alice.post(f"/v1/jobs/{jobid}/cancel")
    assert again.status_code == 400
    assert again.json()["Message"] == "Job cannot be cancelled: [Errno 2] job is inactive."


def test_cancel_kills_a_job_that_ignores_sigterm(alice):
    jobid = alice.submit("sh -c 'trap \"\" TERM; echo ready; sleep 60'")
    while not alice.output(jobid):
        time.sleep(0.1)
    alice.post(f"/v1/jobs/{jobid}/cancel")
    time.sleep(1)
    assert alice.info(jobid)["state"] == "CLEANUP"  # SIGTERM changed nothing
    info = alice.wait(jobid, timeout=30)  # SIGKILL after the kill timeout
    assert (info["result"], info["returncode"]) == ("CANCELED", 137)
    assert info["t_inactive"] - info["t_cleanup"] > 3


def test_num_tasks_run_as_separate_processes(alice):
    info, text = alice.run("sh -c 'echo rank=$FLUX_TASK_RANK pid=$$'", num_tasks=3)
    assert (info["result"], info["ntasks"], info["ncores"]) == ("COMPLETED", 3, 3)
    lines = text.splitlines()
    assert sorted(line.split()[0] for line in lines) == ["rank=0", "rank=1", "rank=2"]
    assert len({line.split()[1] for line in lines}) == 3


def test_workdir(alice, cluster, tmp_path):
    info, text = alice.run("pwd", workdir=str(tmp_path))
    assert (info["result"], text) == ("COMPLETED", f"{tmp_path}\n")
    # no workdir: the person's own folder, which flux-hub's guard fills in (it was the
    # instance's, where flux-restful was started: tests/test_guard_workdir.py)
    _, text = alice.run("pwd")
    assert text == f"{cluster.state_dir}/homes/alice\n"


def test_job_environment_is_the_jobspec_environment(alice, cluster):
    info, text = alice.run("env", envars={"GREETING": "hello world"})
    assert info["result"] == "COMPLETED"
    env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert env["GREETING"] == "hello world"
    assert "PATH" in env
    for name in ("FLUX_SECRET_KEY", "FLUX_TOKEN_SIGNING_KEY", "FLUX_TOKEN", "FLUX_AUTH_BACKEND"):
        assert name not in env
    secrets = [cluster.secret_key, *cluster.passwords.values()]
    assert not any(secret in text for secret in secrets)


def test_jobs_cannot_import_the_simulated_flux(alice):
    """A job never gets the simulation's bindings: no flux at all, or flux-core's own."""
    probe = "import flux, os; print(os.path.realpath(flux.__file__))"
    for python in ("python3", sys.executable):
        info, text = alice.run(f"{python} -c '{probe}'")
        if info["result"] == "FAILED":
            assert info["returncode"] == 1
            assert "ModuleNotFoundError: No module named 'flux'" in text
        else:  # flux-core's bindings are installed for this Python (scripts/build-flux-core)
            assert info["result"] == "COMPLETED", text
            assert "simflux" not in text and text.strip().endswith("/flux/__init__.py"), text


def test_nodes(alice):
    # flux-restful lists the up nodes' names through a set: their order is not kept
    assert sorted(alice.get("/v1/nodes").json()["nodes"]) == node_names(2)


def test_bad_requests(alice):
    answer = alice.get("/v1/jobs/notanid")
    assert (answer.status_code, answer.json()) == (
        400,
        {"detail": "'notanid' is not a valid job id"},
    )
    answer = alice.get("/v1/jobs/123456")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Job 123456 not found"})
    answer = alice.post("/v1/jobs/123456/cancel")
    assert answer.status_code == 400
    assert answer.json()["Message"].startswith("Job cannot be cancelled: [Errno 2]")
    answer = alice.post("/v1/jobs/submit", params={"command": "true", "num_tasks": 0})
    assert answer.status_code == 400
    assert answer.json()["Error"] == "task count must be a integer >= 1"
    answer = alice.post("/v1/jobs/submit", params={"command": "true", "num_nodes": 5})
    assert answer.json()["Errors"] == ["The server only has 2 nodes, you requested 5"]
