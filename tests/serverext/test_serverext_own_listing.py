"""A refresh on a multi-user flux-restful: one plain listing of the user's own jobs instead of a
lookup per active job, lookups only for what changed, and jobs submitted elsewhere at once.

The cluster here is the local one with ``multi_user=True``: on real Flux a multi-user
flux-restful (its plain ``GET /v1/jobs`` lists only the caller's jobs); over the simulation
flux-restful stays single-user, and only alice's jobs are on this cluster while the listing is
read, so her listing is her own on both lanes. ``test_serverext_listing_safety.py`` has the
server that lists other people's jobs.
"""

import os

import pytest
from lanes import REAL_FLUX
from serverext_support import JobList, record_requests, server_config

from flux_hub.local import LocalCluster

ACTIVE = 12


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """This module's cluster, in place of the session's (``client_for`` and the server use it)."""
    assert os.geteuid() == 0, "a multi-user cluster runs jobs as their owners: it needs root"
    own = LocalCluster(
        tmp_path_factory.mktemp("own-listing"),
        users=("alice", "bob"),
        nodes=2,
        cores_per_node=8,
        multi_user=True,
    ).start(timeout=120)
    yield own
    own.stop()


@pytest.fixture
def jp_server_config(cluster):
    return server_config(cluster, "alice", server_mode="multi-user")


async def test_a_refresh_reads_the_own_listing_and_asks_only_about_what_changed(
    api, service, client_for
):
    alice = client_for("alice")
    done = alice.submit("true")
    running = [await api.submit(command="sleep 600") for _ in range(ACTIVE)]
    for job_id in running:
        await api.wait(job_id, "RUN")
    await api.wait(done)
    asked = record_requests(service)
    panel = JobList(api)

    first = {job["id"]: job for job in await panel.refresh()}
    assert asked == [("jobs_body", ())]  # the complete listing
    assert {job_id for job_id, job in first.items() if job["state"] == "RUN"} == set(running)

    # The first plain listing is the baseline: every active job is looked up once more.
    asked.clear()
    await panel.refresh()
    assert asked[0] == ("list_jobs", ())
    assert sorted(asked[1:]) == sorted(("job", (job_id,)) for job_id in running)

    # Nothing changed: one request, and the running jobs' runtimes are counted on.
    asked.clear()
    before = {job["id"]: job["runtime"] for job in panel.jobs()}
    steady = {job["id"]: job for job in await panel.refresh()}
    assert asked == [("list_jobs", ())]
    assert all(steady[job_id]["runtime"] > before[job_id] for job_id in running)
    assert all(steady[job_id]["state"] == "RUN" for job_id in running)
    assert steady[done]["result"] == "COMPLETED"

    # A job that ended: looked up (it shows as flux-restful tells); one submitted straight to
    # flux-restful: found in the listing, without the Refresh button.
    await api.post("jobs", str(running[0]), "cancel")
    await api.wait(running[0])
    elsewhere = alice.submit("true")
    await api.wait(elsewhere)
    asked.clear()
    after = {job["id"]: job for job in await panel.refresh()}
    assert asked[0] == ("list_jobs", ())
    assert sorted(asked[1:]) == sorted([("job", (running[0],)), ("job", (elsewhere,))])
    assert after[running[0]]["result"] == "CANCELED"
    assert after[elsewhere]["result"] == "COMPLETED"
    assert panel.answers[-1]["complete"] is False
    # ... in flux-restful's order, finished ones exactly as its own details listing has them
    direct = {job["id"]: job for job in alice.jobs()}
    assert list(after) == list(direct)
    assert {i: after[i]["result"] for i in (done, elsewhere, running[0])} == {
        i: direct[i]["result"] for i in (done, elsewhere, running[0])
    }
    for job_id in running[1:]:
        alice.cancel(job_id)


async def test_a_few_active_jobs_are_still_looked_up_one_by_one(api, service, client_for):
    """With one active job, one lookup costs less than the listing: no listing is read."""
    running = await api.submit(command="sleep 600")
    await api.wait(running, "RUN")
    asked = record_requests(service)
    panel = JobList(api)
    await panel.refresh()
    asked.clear()
    await panel.refresh()
    assert asked == [("job", (running,))]
    client_for("alice").cancel(running)


async def test_another_persons_jobs_never_show(api, service, client_for):
    """bob's job, submitted between two refreshes that read the listing, is not in alice's
    list. On real Flux the listing never holds it; over the simulation (a single-user server)
    it does, its lookup is refused, and alice's server follows jobs one by one from then on."""
    alice, bob = client_for("alice"), client_for("bob")
    running = [await api.submit(command="sleep 600") for _ in range(ACTIVE)]
    for job_id in running:
        await api.wait(job_id, "RUN")
    panel = JobList(api)
    await panel.refresh()
    await panel.refresh()  # the listing's baseline
    bobs = bob.submit("true")
    asked = record_requests(service)
    shown = {job["id"] for job in await panel.refresh()}
    shown |= {job["id"] for job in await panel.refresh()}
    assert bobs not in shown
    assert set(running) <= shown
    if REAL_FLUX:
        assert ("job", (bobs,)) not in asked
        assert asked[-1] == ("list_jobs", ())
    else:
        assert ("job", (bobs,)) in asked
        assert ("list_jobs", ()) not in asked[asked.index(("job", (bobs,))) + 1 :]
    for job_id in running:
        alice.cancel(job_id)
