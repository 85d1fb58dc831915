"""The reader against a real local cluster (flux-restful behind flux-hub's guard; simulated or
real Flux, as the lane chooses): the Reader polls the guard's snapshot as the cluster's
superuser, and people's servers ask the accounts service's endpoints with their own tokens
(the hub's token check stood in for, as in test_reader_service). What each person gets is what
flux-restful itself answers them, only their own jobs, with their place in everyone's queue."""

import asyncio
import os
import time

import pytest
import test_reader_service
from lanes import REAL_FLUX
from local_support import Api, assert_same_as_restful

from flux_hub.local.cluster import LocalCluster, multi_user_problem
from flux_hub.reader import ReaderCredentials
from flux_hub.reader.poller import Reader

pytestmark = [pytest.mark.cluster, pytest.mark.asyncio]

# The accounts service's routes with the hub's token check stood in for
service = test_reader_service.service

TIMEOUT = 60


@pytest.fixture(scope="module")
def multi_user_cluster(tmp_path_factory):
    """A multi-user flux-restful (jobs run as their owners' Unix accounts; the guard tells
    owners from uids), as a shared MiniCluster runs it."""
    assert os.geteuid() == 0, "the multi-user cluster runs as root, as ./scripts/run-hub does"
    problem = multi_user_problem("flux" if REAL_FLUX else "simulated")
    assert problem is None, problem
    cluster = LocalCluster(
        tmp_path_factory.mktemp("multi"),
        users=["alice", "bob", "carol"],
        nodes=2,
        cores_per_node=4,
        multi_user=True,
    )
    cluster.start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture(params=["single-user", "multi-user"])
def shared_cluster(request):
    """The session's single-user cluster, then a multi-user one."""
    if request.param == "single-user":
        return request.getfixturevalue("cluster")
    return request.getfixturevalue("multi_user_cluster")


def superuser(cluster, user=None):
    user = user or cluster.admin_user
    return ReaderCredentials(cluster.url, user, cluster.passwords[user], cluster.secret_key)


async def until(get, path, token, check, timeout=TIMEOUT):
    """Ask ``path`` until ``check(answer)`` holds; returns the answer."""
    deadline = time.monotonic() + timeout
    while True:
        status, answer = await get(path, token)
        if status == 200 and check(answer):
            return answer
        assert time.monotonic() < deadline, (status, answer)
        await asyncio.sleep(0.2)


def records(answer):
    return {job["id"]: job for job in answer["jobs"]}


def same_as_restful(api, job):
    """The record is flux-restful's own answer for the job, plus why it waits."""
    assert_same_as_restful(api, job, ("waiting",), slack=10)


async def test_people_get_their_own_jobs_and_places_in_the_queue_from_the_real_guard(
    shared_cluster, service
):
    service, get, cluster = *service, shared_cluster
    alice = Api(cluster.url, "alice", cluster.passwords["alice"])
    bob = Api(cluster.url, "bob", cluster.passwords["bob"])
    reader = Reader(superuser(cluster), min_interval=0.2, max_interval=0.5)
    service.reader = reader.start()
    jobs = []
    try:
        done = bob.submit("true")
        bob.wait(done)
        # alice fills all 8 cores; bob's job and then alice's second wait behind it
        full = alice.submit("sleep 300", num_tasks=8)
        jobs.append(full)
        alice.wait(full, "RUN")
        bobs = bob.submit("true", num_tasks=4)
        alices = alice.submit("true", num_tasks=2)
        jobs += [bobs, alices]

        mine = await until(get, "jobs", "alice-server", lambda a: alices in records(a))
        assert mine["complete"] is True
        assert set(mine["ids"]) >= {full, alices}
        assert not {done, bobs} & set(mine["ids"])
        assert mine["ids"][:2] == [alices, full]  # waiting first, in Flux's order
        listed = records(mine)
        assert all("owner" not in job for job in mine["jobs"])
        for job in listed.values():
            same_as_restful(alice, job)
        waiting = listed[alices]["waiting"]
        assert (waiting["position"], waiting["ahead"]) == (2, 1)
        assert "behind 1 job" in waiting["reason"]
        assert "0 free now" in waiting["reason"]
        assert "waiting" not in listed[full]

        theirs = await until(get, "jobs", "bob-server", lambda a: bobs in records(a))
        assert {done, bobs} <= set(theirs["ids"])
        assert not {full, alices} & set(theirs["ids"])
        assert records(theirs)[bobs]["waiting"]["position"] == 1
        same_as_restful(bob, records(theirs)[done])

        status, summary = await get("cluster", "alice-server")
        assert status == 200
        assert summary["jobs"] == {"running": 1, "waiting": 2}
        assert summary["resources"]["cores"] == {
            "total": 8,
            "up": 8,
            "down": 0,
            "busy": 8,
            "free": 0,
        }
        assert summary["resources"]["nodes"]["up"] == 2
        assert (await get("cluster", "bob-server"))[1]["jobs"] == summary["jobs"]

        # alice's long job is cancelled: the queue moves; her next refresh gets what changed
        version = mine["version"]
        alice.post(f"/v1/jobs/{full}/cancel")
        for jobid in (full, bobs, alices):
            (bob if jobid == bobs else alice).wait(jobid)
        changed = await until(
            get,
            f"jobs?since={version}",
            "alice-server",
            lambda a: (
                {full, alices} <= set(records(a))
                and all(j["state"] == "INACTIVE" for j in a["jobs"])
            ),
        )
        assert changed["complete"] is False
        assert bobs not in changed.get("ids", []) and bobs not in records(changed)
        for job in changed["jobs"]:
            same_as_restful(alice, job)
        # bob's list never showed alice's jobs meanwhile
        theirs = await until(get, "jobs", "bob-server", lambda a: True)
        assert not {full, alices} & set(theirs["ids"])
        status, summary = await get("cluster", "bob-server")
        assert summary["jobs"] == {"running": 0, "waiting": 0}
        assert summary["resources"]["cores"]["free"] == 8
    finally:
        for jobid in jobs:
            alice.post(f"/v1/jobs/{jobid}/cancel")
            bob.post(f"/v1/jobs/{jobid}/cancel")
    assert reader.error is None


async def test_a_reader_that_is_not_a_superuser_is_told_so_in_one_line(cluster, service):
    service, get = service
    service.reader = Reader(superuser(cluster, "carol"), min_interval=0.2).start()
    status, answer = await get("jobs", "alice-server")
    assert status == 503
    assert answer == {
        "message": "Reading the cluster's snapshot was refused: "
        "Only a superuser of this server may read its snapshot."
    }
    assert cluster.passwords["carol"] not in answer["message"]


async def test_the_clients_snapshot_logs_in_again_when_its_token_is_refused(cluster):
    from flux_hub.restful import AsyncFluxRestfulClient, InvalidRequest

    admin = superuser(cluster)
    client = AsyncFluxRestfulClient(admin.url, admin.user, admin.password, admin.secret_key)
    first = await client.snapshot()
    assert set(first) >= {"instance", "time", "jobs", "resources"}
    client._core.token = "forged"
    later = await client.snapshot(since=first["time"], limit=5)
    assert later["instance"] == first["instance"] and later["time"] >= first["time"]
    assert client.handshakes == 2
    with pytest.raises(InvalidRequest):
        await client.snapshot(limit=0)
