"""A flood of bob's jobs leaves alice's in her panel (flux-restful's single-user mode).

flux-restful 1.1.0 lists a person's jobs by walking the newest 1,000 of everyone's (every job
runs as the server's uid in that mode): 1,000 quick jobs of bob's push a finished job of
alice's out of her listing. flux-hub's guard knows whose each job is (it sees every submit)
and lists each person's own. The cluster here is single-user, as the local cluster is over the
simulation and on real Flux when the hub is not root.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from local_support import api as rest_api
from serverext_support import JobList, server_config

from flux_hub.local import LocalCluster

pytestmark = pytest.mark.timeout(600)

INACTIVE = 64  # a plain listing's state number
FLOOD = 1010  # more than the 1,000 ids flux-restful's listing looks at
# The flood is not about the active-jobs limit: bob's quick jobs may overlap while they run
LIMITS = {"active_jobs_per_user": 5000}


@pytest.fixture(scope="module")
def flood_cluster(tmp_path_factory):
    cluster = LocalCluster(
        tmp_path_factory.mktemp("flood"),
        users=("alice", "bob"),
        nodes=2,
        cores_per_node=4,
        limits=LIMITS,
    ).start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def flooded(flood_cluster):
    """alice's finished and running jobs, then FLOOD finished jobs of bob's after them."""
    alice, bob = rest_api(flood_cluster, "alice"), rest_api(flood_cluster, "bob")
    finished = alice.submit("echo alice-finished")
    alice.wait(finished)
    running = alice.submit("sleep 600")
    alice.wait(running, "RUN")

    def flood(count):
        client = rest_api(flood_cluster, "bob")
        return [client.submit("true") for _ in range(count)]

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        bobs = [j for ids in pool.map(flood, [FLOOD // 2, FLOOD - FLOOD // 2]) for j in ids]
    deadline = time.monotonic() + 300
    while True:  # until every job of bob's has ended (alice's sleep is the one active job)
        listed = bob.get("/v1/jobs").json()["jobs"]
        if [job["id"] for job in listed if job["state"] != INACTIVE] == [running]:
            break
        assert time.monotonic() < deadline, "bob's jobs did not end"
        time.sleep(0.5)
    print(f"bob submitted {len(bobs)} jobs in {time.monotonic() - started:.1f} s")
    # The attack worked: Flux's newest 1,000 (what flux-restful's listing walks) hold no
    # finished job of alice's any more
    window = {job["id"] for job in bob.get("/v1/jobs").json()["jobs"]}
    assert len(window) == 1000 and finished not in window
    yield {"finished": finished, "running": running, "bobs": set(bobs)}
    alice.post(f"/v1/jobs/{running}/cancel")


def test_alices_listing_still_holds_her_jobs_and_none_of_bobs(flood_cluster, flooded):
    alice = rest_api(flood_cluster, "alice")
    started = time.monotonic()
    answer = alice.get("/v1/jobs", params={"details": "true", "listing": "true"})
    took = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    ids = [job["id"] for job in answer.json()]
    # Her running job first (Flux's order: active, then finished), then her finished one
    assert ids == [flooded["running"], flooded["finished"]]
    print(f"alice's listing behind {len(flooded['bobs'])} of bob's jobs: {took * 1000:.0f} ms")
    # bob's own listing is his jobs only, all of them (the superuser's is flux-restful's own)
    bob = rest_api(flood_cluster, "bob")
    mine = {job["id"] for job in bob.get("/v1/jobs", params={"details": "true"}).json().values()}
    assert flooded["finished"] not in mine and flooded["running"] not in mine
    assert len(mine) >= 1000


@pytest.fixture
def jp_server_config(flood_cluster):
    return server_config(flood_cluster, "alice")


async def test_alices_panel_shows_her_jobs_behind_bobs_flood(api, flooded):
    panel = JobList(api)
    shown = [job["id"] for job in await panel.refresh()]
    assert shown == [flooded["running"], flooded["finished"]]
    assert not set(shown) & flooded["bobs"]
    assert all(str(job_id) not in str(panel.answers) for job_id in list(flooded["bobs"])[:50])
