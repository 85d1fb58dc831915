"""`flux-hub status` and the reason column of `flux-hub jobs` (issue 27), as someone in a
JupyterLab terminal sees them: with the hub's reader of the cluster (FLUX_HUB_READER_URL and
JUPYTERHUB_API_TOKEN in the environment, as a terminal has them from its server: a stub answering
the contract's shapes, tests/reader_stub.py, and the hub's own endpoints and Reader), without it,
and with it failing. A cluster of its own (2 nodes x 2 cores), small enough for a job to wait
behind another."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
from reader_stub import HubReader, StubReader
from test_reader_service import Accounts, Hub

from flux_hub import jobid
from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient
from flux_hub.service import handlers
from flux_hub.waiting import why_waiting

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    cluster = LocalCluster(
        tmp_path_factory.mktemp("status-small"), users=["alice"], nodes=2, cores_per_node=2
    ).start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def alice(small):
    with FluxRestfulClient(small.url, "alice", small.passwords["alice"], small.secret_key) as c:
        yield c


@pytest.fixture
def env(small, tmp_path):
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLUX_") and k != "JUPYTERHUB_API_TOKEN"
    }
    environ.update(
        FLUX_RESTFUL_HOST=small.url,
        FLUX_USER="alice",
        FLUX_TOKEN=small.passwords["alice"],
        FLUX_SECRET_KEY=small.secret_key,
        HOME=str(tmp_path),
    )
    return environ


@pytest.fixture
def reader(small, env):
    stub = StubReader(small, "alice")
    env.update(FLUX_HUB_READER_URL=stub.url, JUPYTERHUB_API_TOKEN=stub.token)
    yield stub
    stub.stop()


def flux_hub(env, *args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "flux_hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def queue(env, alice):
    """A job holding every core for 5 minutes at most (running) and one of 1 minute at most
    waiting behind it, named "behind": their ids; both cancelled after the test."""
    busy = int(alice.submit(["sleep", "120"], num_tasks=4, runtime=300))
    deadline = time.monotonic() + 60
    while alice.job(busy)["state"] != "RUN":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    submitted = flux_hub(env, "submit", "--name", "behind", "-t", "1m", "true")
    assert submitted.returncode == 0, submitted.stderr
    waiting = jobid.parse(submitted.stdout.strip())
    assert alice.job(waiting)["state"] == "SCHED"
    yield busy, waiting
    for job_id in (waiting, busy):
        alice.cancel(job_id)
    for job_id in (waiting, busy):
        deadline = time.monotonic() + 30
        while alice.job(job_id)["state"] != "INACTIVE" and time.monotonic() < deadline:
            time.sleep(0.2)


def lines_of(text):
    """{key: value} of the status's first block (``key  value`` lines)."""
    block = text.split("\n\n")[0]
    return dict(line.split(None, 1) for line in block.splitlines())


def starts(t_estimate):
    return datetime.fromtimestamp(t_estimate).strftime("%H:%M")


def test_status_with_the_reader_shows_free_cores_the_queue_and_why_a_job_waits(
    env, reader, queue, small
):
    busy, waiting = queue
    done = flux_hub(env, "status")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    shown = lines_of(done.stdout)
    assert shown["cluster"] == small.url and shown["account"] == "alice"
    assert shown["source"] == "the hub's reader of the cluster"
    assert shown["cores"] == "0 free / 4"
    assert shown["nodes"] == "0 free / 2"
    assert shown["GPUs"] == "none"
    assert shown["jobs"] == "1 running, 1 waiting (everyone's)"
    said = reader.records()[waiting]["waiting"]
    assert said["t_estimate"], said  # the scheduler's estimate: the job has a time limit
    table = done.stdout.split("\n\n")[1].splitlines()
    assert table[0] == "Your waiting jobs (1):"
    assert table[1].split() == ["id", "name", "position", "reason", "starts"]
    row = table[2]
    assert row.startswith(jobid.f58(waiting)) and "behind" in row
    assert "1 (0 ahead)" in row and said["reason"] in row
    assert starts(said["t_estimate"]) in row
    # asked the reader (with the server's hub token), not flux-restful
    assert [(path, a) for path, _, a in reader.asked] == [
        ("cluster", f"token {reader.token}"),
        ("jobs", f"token {reader.token}"),
    ]

    as_json = json.loads(flux_hub(env, "status", "--json").stdout)
    assert as_json["reader"] is True
    assert as_json["resources"]["cores"]["free"] == 0
    assert as_json["queue"] == {"running": 1, "waiting": 1}
    assert as_json["waiting"] == [{"id": waiting, "name": "behind", "state": "SCHED", **said}]


def test_status_without_a_reader_shows_the_nodes_and_why_a_job_waits(env, alice, queue):
    busy, waiting = queue
    done = flux_hub(env, "status")
    assert done.returncode == 0, done.stderr
    shown = lines_of(done.stdout)
    assert shown["source"].startswith("flux-restful directly")
    nodes = sorted(alice.nodes())
    assert shown["nodes"] == f"{len(nodes)} up: {', '.join(nodes)}"
    assert "cores" not in shown and "jobs" not in shown
    said = why_waiting(alice.job(waiting))
    row = done.stdout.split("\n\n")[1].splitlines()[2]
    assert row.startswith(jobid.f58(waiting)) and said["reason"] in row
    assert "ahead" not in row  # only the reader knows the queue


def test_status_with_a_failing_reader_says_so_and_asks_flux_restful(env, reader, queue):
    reader.mode = "503"
    done = flux_hub(env, "status")
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("flux-hub: ")
    assert "answered 503" in done.stderr and "asked flux-restful directly" in done.stderr
    assert lines_of(done.stdout)["source"].startswith("flux-restful directly")
    assert "behind" in done.stdout


def test_status_of_a_cluster_that_cannot_be_reached_is_one_line(env):
    away = flux_hub(dict(env, FLUX_RESTFUL_HOST="http://127.0.0.1:9"), "status")
    assert away.returncode == 1
    assert away.stdout == ""
    assert away.stderr.startswith("flux-hub: ") and "127.0.0.1:9" in away.stderr
    assert away.stderr.count("\n") == 1 and "Traceback" not in away.stderr


@pytest.mark.parametrize("with_reader", [False, True], ids=["direct", "reader"])
def test_jobs_has_the_reason_a_job_waits(env, small, queue, with_reader, request):
    busy, waiting = queue
    if with_reader:
        stub = request.getfixturevalue("reader")
    done = flux_hub(env, "jobs")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split()[-1] == "reason"
    reason_at = header.index("reason")
    by_id = {row.split()[0]: row for row in rows}
    assert by_id[jobid.f58(busy)][reason_at:].strip() == ""
    listed = json.loads(flux_hub(env, "jobs", "--json").stdout)
    record = next(info for info in listed if info["id"] == waiting)
    assert by_id[jobid.f58(waiting)][reason_at:] == record["waiting"]["reason"]
    assert "waiting" not in next(info for info in listed if info["id"] == busy)
    if with_reader:
        assert record["waiting"] == stub.records()[waiting]["waiting"]
        assert record["waiting"]["position"] == 1
        assert {path for path, _, _ in stub.asked} == {"jobs"}
    else:
        assert record["waiting"]["position"] is None


def test_jobs_shows_a_job_submitted_a_moment_ago_that_the_reader_has_not_read(env, reader):
    reader.hide_after = time.time()  # the reader reads the cluster a few seconds later
    time.sleep(0.05)
    submitted = flux_hub(env, "submit", "--name", "just now", "sleep", "5")
    assert submitted.returncode == 0, submitted.stderr
    f58 = submitted.stdout.strip()
    done = flux_hub(env, "jobs")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith(f58))
    assert "just now" in row
    assert jobid.parse(f58) not in [job["id"] for job in reader.person(None)["jobs"]]
    flux_hub(env, "cancel", f58)


def test_status_and_jobs_with_the_hubs_own_reader(env, small, queue, monkeypatch):
    # The accounts service's reader endpoints and a Reader polling the guard (as on the hub)
    monkeypatch.setattr(handlers.BaseHandler, "hub_auth", Hub())
    hub = HubReader(small, Accounts())
    try:
        env.update(FLUX_HUB_READER_URL=hub.url, JUPYTERHUB_API_TOKEN="alice-server")
        busy, waiting = queue
        deadline = time.monotonic() + 60
        while True:
            status = json.loads(flux_hub(env, "status", "--json").stdout)
            if status["queue"] == {"running": 1, "waiting": 1} and status["waiting"]:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
        assert status["reader"] is True
        assert status["waiting"][0]["id"] == waiting
        assert (status["waiting"][0]["position"], status["waiting"][0]["ahead"]) == (1, 0)

        done = flux_hub(env, "status")
        assert done.returncode == 0 and done.stderr == ""
        shown = lines_of(done.stdout)
        assert shown["source"] == "the hub's reader of the cluster"
        assert shown["cores"] == "0 free / 4" and shown["GPUs"] == "none"
        assert shown["jobs"] == "1 running, 1 waiting (everyone's)"
        row = done.stdout.split("\n\n")[1].splitlines()[2]
        assert row.startswith(jobid.f58(waiting)) and "behind" in row and "1 (0 ahead)" in row
        assert status["waiting"][0]["reason"] in row

        table = flux_hub(env, "jobs")
        header, *rows = table.stdout.splitlines()
        reason_at = header.index("reason")
        by_id = {line.split()[0]: line for line in rows}
        assert by_id[jobid.f58(waiting)][reason_at:] == status["waiting"][0]["reason"]
        assert hub.reader.error is None
    finally:
        hub.stop()
