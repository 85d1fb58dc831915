"""The guard's per-person limits as a person's panel meets them, on one multi-user cluster.

A flood of bob's jobs leaves alice's in her panel. flux-restful 1.1.0 in single-user mode lists
a person's jobs by walking the newest 1,000 of everyone's (every job runs as the server's uid):
1,000 quick jobs of bob's pushed a finished job of alice's out of her listing. flux-hub's guard
knows whose each job is (it sees every submit) and lists each person's own. alice and bob are
real Unix accounts and their jobs run as them. Over the simulation flux-restful itself stays in
single-user mode, which is the case the guard mends. On real Flux it is in multi-user mode,
whose listing is the caller's uid's. There bob floods the way a Flux user would, with
``flux submit --cc`` from a job of his.

Live output past the stream limit: when alice's other tabs or notebooks hold all the output
streams the cluster gives one person, her panel's live output still comes, read every few
seconds instead of streamed.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from lanes import FLUX, REAL_FLUX
from local_support import api as rest_api
from serverext_support import JobList, server_config

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient, LimitReached
from flux_hub.serverextension import jobs

pytestmark = pytest.mark.timeout(600)

INACTIVE = 64  # a plain listing's state number
FLOOD = 1010  # more than the 1,000 ids flux-restful's listing looks at
# The flood is not about the active-jobs limit: bob's quick jobs may overlap while they run
LIMITS = {"active_jobs_per_user": 5000, "streams_per_user": 1}


@pytest.fixture(scope="module")
def flood_cluster(tmp_path_factory):
    assert os.geteuid() == 0, "a multi-user cluster runs jobs as their owners: it needs root"
    cluster = LocalCluster(
        tmp_path_factory.mktemp("flood"),
        users=("alice", "bob"),
        nodes=2,
        cores_per_node=4,
        multi_user=True,
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

    started = time.monotonic()
    if REAL_FLUX:
        # bob's one job submits his FLOOD quick ones straight to the instance
        command = f"{FLUX} submit --cc=1-{FLOOD} --quiet --wait true"
        submitter = bob.submit(command, runtime=300)
        assert bob.wait(submitter, timeout=300)["result"] == "COMPLETED", bob.output(submitter)
        # (his plain listing, of his uid's jobs, holds the newest 1,000 of them)
        bobs = [job["id"] for job in bob.get("/v1/jobs").json()["jobs"]]
        bobs.remove(submitter)
        assert len(bobs) == 999
    else:

        def flood(count):
            client = rest_api(flood_cluster, "bob")
            return [client.submit("true") for _ in range(count)]

        with ThreadPoolExecutor(2) as pool:
            halves = pool.map(flood, [FLOOD // 2, FLOOD - FLOOD // 2])
            bobs = [jobid for ids in halves for jobid in ids]
        assert len(bobs) == FLOOD
    deadline = time.monotonic() + 300
    while True:  # until every job of bob's has ended
        listed = bob.get("/v1/jobs").json()["jobs"]
        if not [job["id"] for job in listed if job["state"] != INACTIVE and job["id"] in bobs]:
            break
        assert time.monotonic() < deadline, "bob's jobs did not end"
        time.sleep(0.5)
    print(f"bob's {FLOOD} jobs ran in {time.monotonic() - started:.1f} s")
    if not REAL_FLUX:
        # The attack worked: Flux's newest 1,000 (what single-user flux-restful's listing
        # walks, and bob's plain listing shows) hold no finished job of alice's any more
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
    # As the hub tells each server (FLUX_SERVER_MODE): multi-user on real Flux only
    mode = "multi-user" if REAL_FLUX else "single-user"
    return server_config(flood_cluster, "alice", server_mode=mode)


async def test_alices_panel_shows_her_jobs_behind_bobs_flood(api, flooded):
    panel = JobList(api)
    shown = [job["id"] for job in await panel.refresh()]
    assert shown == [flooded["running"], flooded["finished"]]
    assert not set(shown) & flooded["bobs"]
    assert all(str(job_id) not in str(panel.answers) for job_id in list(flooded["bobs"])[:50])


async def test_live_output_past_the_stream_limit_is_read_instead(
    api, service, flood_cluster, jp_fetch, monkeypatch
):
    monkeypatch.setattr(jobs, "OUTPUT_POLL_SECONDS", 0.3)
    alice = rest_api(flood_cluster, "alice")
    held = alice.submit("sleep 600")
    alice.wait(held, "RUN")
    # Her one stream, held open (another tab, a notebook)
    holder = requests.get(
        f"{flood_cluster.url}/v1/jobs/{held}/output/stream",
        headers={"Authorization": f"Bearer {alice.token}"},
        stream=True,
        timeout=30,
    )
    try:
        assert holder.status_code == 200
        refused = alice.get(f"/v1/jobs/{held}/output/stream")
        assert refused.status_code == 429 and "STREAMS_PER_USER=1" in refused.text
        # The client library says so with its own error (the notebook API and CLI use it)
        client = FluxRestfulClient(
            host=flood_cluster.url, user="alice", token=flood_cluster.passwords["alice"]
        )
        with client, pytest.raises(LimitReached, match="most one person may have at once"):
            next(iter(client.stream_output(held)))

        job_id = await api.submit(
            command=["sh", "-c", "for i in 1 2 3 4 5; do echo tick $i; sleep 0.5; done"]
        )
        answer = await jp_fetch("flux-hub", "api", "jobs", str(job_id), "output", "stream")
        assert answer.code == 200
        assert answer.body.decode() == "".join(f"tick {i}\n" for i in range(1, 6))
        assert service.open_streams == 0
    finally:
        holder.close()
        alice.post(f"/v1/jobs/{held}/cancel")
