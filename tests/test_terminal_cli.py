"""`flux-hub submit|jobs|job|logs|cancel` against the local cluster, as someone in a terminal.

Each test runs the real command in a process of its own with the environment the hub gives a
user's server (FLUX_RESTFUL_HOST, FLUX_USER, FLUX_TOKEN, FLUX_SECRET_KEY), and checks what that
person sees: standard output, the one-line errors and the exit status.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from flux_hub import jobid
from flux_hub.local import LocalCluster

pytestmark = pytest.mark.cluster


@pytest.fixture
def env(cluster, tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    environ.update(
        FLUX_RESTFUL_HOST=cluster.url,
        FLUX_USER="alice",
        FLUX_TOKEN=cluster.passwords["alice"],
        FLUX_SECRET_KEY=cluster.secret_key,
        HOME=str(tmp_path),  # the job-name file the panel reads lives here
    )
    return environ


def flux_hub(env, *args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "flux_hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def record(env, job):
    done = flux_hub(env, "job", "--json", job)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_running(env, job, timeout=60):
    deadline = time.monotonic() + timeout
    while (info := record(env, job))["state"] != "RUN":
        assert time.monotonic() < deadline, f"{job} is still {info['state']}"
        time.sleep(0.3)
    return info


def wait_inactive(env, job, timeout=60):
    deadline = time.monotonic() + timeout
    while (info := record(env, job))["state"] != "INACTIVE":
        assert time.monotonic() < deadline, f"{job} is still {info['state']}"
        time.sleep(0.3)
    return info


def test_submit_prints_the_id_as_flux_does_and_takes_flux_options(env, cluster, tmp_path):
    done = flux_hub(
        env,
        "submit",
        "-N1",
        "-n",
        "2",
        "-c",
        "1",
        "-t",
        "5m",
        "--name",
        "two tasks",
        "--cwd",
        str(tmp_path),
        "--env",
        "GREETING=hello world",
        "sh",
        "-c",
        'echo "$GREETING from $(pwd)"',
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip()
    assert printed.startswith("ƒ") and done.stderr == ""
    info = wait_inactive(env, printed)
    assert info["id"] == jobid.parse(printed)
    assert (info["result"], info["ntasks"], info["nnodes"], info["duration"]) == (
        "COMPLETED",
        2,
        1,
        300.0,
    )
    logs = flux_hub(env, "logs", printed)
    assert logs.stdout == f"hello world from {tmp_path}\n" * 2
    # the name is the panel's too: `jobs -a` shows it
    table = flux_hub(env, "jobs", "-a")
    assert table.returncode == 0
    line = next(line for line in table.stdout.splitlines() if line.startswith(printed))
    assert "two tasks" in line and "COMPLETED" in line


def test_submit_wait_follows_the_output_and_exits_with_the_jobs_code(env):
    done = flux_hub(env, "submit", "--wait", "sh", "-c", "echo one; sleep 1; echo two; exit 3")
    assert done.stdout == "one\ntwo\n"
    assert done.returncode == 3
    assert "flux-hub: job ƒ" in done.stderr and "failed" in done.stderr
    ok = flux_hub(env, "submit", "--wait", "--", "echo", "fine")
    assert (ok.returncode, ok.stdout) == (0, "fine\n")


def test_a_job_that_cannot_start_says_why(env):
    done = flux_hub(env, "submit", "--wait", "/no/such/program")
    assert done.returncode == 127
    assert "No such file or directory" in done.stderr


def test_jobs_lists_active_jobs_and_logs_follow_ends_with_the_job(env):
    # (long enough to be still running when `jobs` answers on a loaded machine)
    ticker = ["sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 3; done"]
    job = flux_hub(env, "submit", "--name", "ticker", *ticker).stdout.strip()
    deadline = time.monotonic() + 60
    while record(env, job)["state"] != "RUN":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    active = flux_hub(env, "jobs")
    assert any(line.startswith(job) and "ticker" in line for line in active.stdout.splitlines())
    followed = flux_hub(env, "logs", "-f", job)
    assert (followed.returncode, followed.stdout) == (0, "tick 1\ntick 2\ntick 3\n")
    assert record(env, job)["state"] == "INACTIVE"  # -f returned because the job ended
    listed = json.loads(flux_hub(env, "jobs", "--json").stdout)
    assert jobid.parse(job) not in [info["id"] for info in listed]  # no longer active
    everything = json.loads(flux_hub(env, "jobs", "-a", "--json").stdout)
    assert jobid.parse(job) in [info["id"] for info in everything]


def test_cancel_takes_ids_in_any_form(env):
    first = flux_hub(env, "submit", "sleep", "600").stdout.strip()
    second = flux_hub(env, "submit", "sleep", "600").stdout.strip()
    done = flux_hub(env, "cancel", first, str(jobid.parse(second)))
    assert done.returncode == 0, done.stderr
    assert f"cancelled {first}" in done.stderr and f"cancelled {second}" in done.stderr
    for job in (first, second):
        assert wait_inactive(env, job)["result"] == "CANCELED"
    again = flux_hub(env, "cancel", first)
    assert again.returncode == 1
    assert "Job cannot be cancelled" in again.stderr


@pytest.fixture(scope="module")
def two_cores(tmp_path_factory):
    """A cluster of its own, one node of 2 cores: which jobs run and which wait is known."""
    cluster = LocalCluster(
        tmp_path_factory.mktemp("two-cores"), users=["alice", "bob"], nodes=1, cores_per_node=2
    ).start(timeout=120)
    yield cluster
    cluster.stop()


def test_cancel_all_cancels_every_active_job_of_yours_or_those_of_some_states(two_cores, tmp_path):
    """As flux cancel --all [--states]: the person's own active jobs, no one else's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env.update(
        FLUX_RESTFUL_HOST=two_cores.url,
        FLUX_USER="alice",
        FLUX_TOKEN=two_cores.passwords["alice"],
        FLUX_SECRET_KEY=two_cores.secret_key,
        HOME=str(tmp_path),
    )
    (tmp_path / "bob").mkdir()
    bob = dict(
        env, FLUX_USER="bob", FLUX_TOKEN=two_cores.passwords["bob"], HOME=str(tmp_path / "bob")
    )
    bobs = flux_hub(bob, "submit", "-t", "10m", "sleep", "600").stdout.strip()
    mine = [flux_hub(env, "submit", "sleep", "600").stdout.strip()]
    # Both cores are taken: this one waits
    big = flux_hub(env, "submit", "-n", "2", "true").stdout.strip()
    assert record(env, mine[0])["state"] == "RUN" or wait_running(env, mine[0])
    assert record(env, big)["state"] == "SCHED"
    mine.append(flux_hub(env, "submit", "sleep", "600").stdout.strip())  # waits too
    try:
        dry = flux_hub(env, "cancel", "--all", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert all(f"would cancel {job}" in dry.stderr for job in [*mine, big])
        assert bobs not in dry.stderr
        assert all(record(env, job)["state"] != "INACTIVE" for job in mine)

        pending = flux_hub(env, "cancel", "--all", "-S", "pending")
        assert pending.returncode == 0, pending.stderr
        assert f"cancelled {big}" in pending.stderr and f"cancelled {mine[1]}" in pending.stderr
        assert mine[0] not in pending.stderr
        assert wait_inactive(env, big)["result"] == "CANCELED"
        assert wait_inactive(env, mine[1])["result"] == "CANCELED"

        everything = flux_hub(env, "cancel", "--all")
        assert everything.returncode == 0, everything.stderr
        assert f"cancelled {mine[0]}" in everything.stderr
        assert wait_inactive(env, mine[0])["result"] == "CANCELED"
        assert record(bob, bobs)["state"] != "INACTIVE"  # bob's job runs on

        none = flux_hub(env, "cancel", "--all")
        assert (none.returncode, none.stderr) == (0, "flux-hub: no job of yours to cancel\n")
    finally:
        flux_hub(bob, "cancel", bobs)
        flux_hub(env, "cancel", "--all")


def test_someone_elses_job_is_not_yours(env, cluster):
    bob = dict(env, FLUX_USER="bob", FLUX_TOKEN=cluster.passwords["bob"])
    job = flux_hub(bob, "submit", "sleep", "30").stdout.strip()
    try:
        for args in (("job", job), ("logs", job), ("cancel", job)):
            done = flux_hub(env, *args)
            assert done.returncode == 1, args
            assert done.stderr.startswith("flux-hub: ") and "Traceback" not in done.stderr
        assert record(bob, job)["state"] != "INACTIVE"  # alice's cancel did nothing
    finally:
        flux_hub(bob, "cancel", job)


@pytest.mark.parametrize(
    "args, message",
    [
        (("submit",), "'command' is required"),
        (("submit", "--env", "NOEQUALS", "true"), "--env takes NAME=VALUE, not 'NOEQUALS'"),
        (("submit", "-t", "soon", "true"), "'soon' is not a time limit"),
        (("submit", "--name", "", "true"), "a job name must not be empty"),
        (("job", "not-an-id"), "'not-an-id' is not a job id"),
        (("cancel", "ƒ0OIl"), "is not a job id"),
        (("cancel",), "give job ids, or --all"),
        (("cancel", "--all", "ƒ2"), "give job ids, or --all (not both)"),
        (("cancel", "--all", "-S", "sleeping"), "--states takes pending, running, active"),
        (("cancel", "-S", "pending", "ƒ2"), "--states and --dry-run go with --all"),
    ],
)
def test_a_command_line_that_cannot_run_exits_2_with_one_line(env, args, message):
    done = flux_hub(env, *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stdout == ""


def test_a_bad_count_is_argparses_usage_error(env):
    done = flux_hub(env, "submit", "-n", "0", "true")
    assert done.returncode == 2
    assert "must be a whole number of at least 1, not '0'" in done.stderr


def test_an_unknown_job_and_an_unreachable_cluster_are_one_line(env):
    missing = flux_hub(env, "job", "ƒ2Vj1dB9")
    assert missing.returncode == 1
    assert missing.stderr == "flux-hub: there is no job ƒ2Vj1dB9 of yours\n"
    away = flux_hub(dict(env, FLUX_RESTFUL_HOST="http://127.0.0.1:9"), "jobs")
    assert away.returncode == 1
    assert away.stderr.startswith("flux-hub: ") and "127.0.0.1:9" in away.stderr
    assert away.stderr.count("\n") == 1 and "Traceback" not in away.stderr
