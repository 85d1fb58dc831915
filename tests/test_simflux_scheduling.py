"""Scheduling on a small cluster of its own (2 nodes x 2 cores): jobs that do not fit wait."""

import pytest
from local_support import api

from flux_hub.local import LocalCluster

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    cluster = LocalCluster(
        tmp_path_factory.mktemp("small"), users=["alice"], nodes=2, cores_per_node=2
    ).start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture
def alice(small):
    return api(small, "alice")


def test_job_waits_while_the_cores_are_busy(alice):
    busy = alice.submit("sleep 3", num_tasks=4)  # every core of both nodes
    assert alice.wait(busy, "RUN")["ranks"] == "[0-1]"
    waiting = alice.submit("true")
    info = alice.info(waiting)
    assert info["state"] == "SCHED"
    assert not {"t_run", "ranks"} & set(info)
    assert (info["nodelist"], info["result"], info["returncode"]) == ("", "", "")

    jobs = alice.get("/v1/jobs").json()["jobs"]
    ids = [job["id"] for job in jobs]
    assert ids.index(waiting) < ids.index(busy)  # pending, then running
    assert jobs[ids.index(waiting)]["state"] == 8

    done = alice.wait(waiting)
    first = alice.info(busy)
    assert done["result"] == first["result"] == "COMPLETED"
    assert done["t_run"] >= first["t_cleanup"]


def test_first_come_first_served(alice):
    busy = alice.submit("sleep 2", num_tasks=3)
    alice.wait(busy, "RUN")
    big = alice.submit("true", num_tasks=2)  # does not fit in the one free core
    small = alice.submit("true")  # would fit, but waits behind big
    assert alice.info(small)["state"] == "SCHED"
    big_info, small_info = alice.wait(big), alice.wait(small)
    assert big_info["result"] == small_info["result"] == "COMPLETED"
    assert small_info["t_run"] >= big_info["t_run"]


def test_request_larger_than_the_cluster_is_denied(alice):
    info, _ = alice.run("true", num_tasks=5)
    assert (info["result"], info["exception_type"]) == ("FAILED", "alloc")
    assert info["returncode"] == 1 and "t_run" not in info
    info, _ = alice.run("true", cores_per_task=3)
    assert info["exception_type"] == "alloc"


def test_cancel_pending_job(alice):
    busy = alice.submit("sleep 30", num_tasks=4)
    alice.wait(busy, "RUN")
    pending = alice.submit("true")
    assert alice.post(f"/v1/jobs/{pending}/cancel").status_code == 200
    info = alice.wait(pending)
    assert (info["result"], info["returncode"], info["exception_type"]) == (
        "CANCELED",
        -128,
        "cancel",
    )
    assert "t_run" not in info and info["waitstatus"] == ""
    alice.post(f"/v1/jobs/{busy}/cancel")
    assert alice.wait(busy)["result"] == "CANCELED"


def test_nodes_option_spreads_tasks(alice):
    info, text = alice.run(
        "sh -c 'echo $FLUX_TASK_RANK $FLUX_JOB_NNODES'", num_tasks=2, num_nodes=2
    )
    assert (info["nnodes"], info["ranks"], info["ncores"]) == (2, "[0-1]", 2)
    assert sorted(text.splitlines()) == ["0 2", "1 2"]
    info, _ = alice.run("true", num_tasks=1, num_nodes=1, exclusive=True)
    assert (info["nnodes"], info["ncores"]) == (1, 2)  # the whole node
