"""The guard's per-person limits as a person's panel meets them, on one single-user cluster.

A flood of bob's jobs leaves alice's in her panel (flux-restful's single-user mode).

flux-restful 1.1.0 lists a person's jobs by walking the newest 1,000 of everyone's (every job
runs as the server's uid in that mode): 1,000 quick jobs of bob's push a finished job of
alice's out of her listing. flux-hub's guard knows whose each job is (it sees every submit)
and lists each person's own. The cluster here is single-user, as the local cluster is over the
simulation and on real Flux when the hub is not root.

Live output past the stream limit: when alice's other tabs or notebooks hold all the output
streams the cluster gives one person, her panel's live output still comes, read every few
seconds instead of streamed.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
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
