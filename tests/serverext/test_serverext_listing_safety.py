"""FluxHub.server_mode says multi-user, but flux-restful is single-user (its plain listing holds
everybody's jobs): nobody sees a job that is not theirs, and the refresh goes back to lookups."""

import pytest
from serverext_support import JobList, record_requests, server_config

from flux_hub.serverextension import jobs


@pytest.fixture
def jp_server_config(cluster):
    return server_config(cluster, "alice", server_mode="multi-user")


@pytest.mark.parametrize("most_new", [jobs._MOST_NEW, 0], ids=["few-new", "many-new"])
async def test_a_listing_with_another_persons_job_shows_it_to_nobody_and_ends(
    api, service, client_for, monkeypatch, most_new
):
    """many-new: more new jobs in the listing than are looked up one by one; the first is
    looked up, found not to be alice's, and none of the others is."""
    # Whatever the session's cluster holds by now, the listing is the cheaper way here.
    monkeypatch.setattr(jobs, "_RECORDS_PER_LOOKUP", 10**9)
    monkeypatch.setattr(jobs, "_MOST_NEW", most_new)
    alice, bob = client_for("alice"), client_for("bob")
    running = [await api.submit(command="sleep 600") for _ in range(3)]
    for job_id in running:
        await api.wait(job_id, "RUN")
    panel = JobList(api)
    await panel.refresh()
    await panel.refresh()  # reads the listing: its baseline
    bobs = bob.submit("echo bob-was-here")
    asked = record_requests(service)

    shown = {job["id"] for job in await panel.refresh()}
    assert bobs not in shown and set(running) <= shown
    assert ("list_jobs", ()) in asked and ("job", (bobs,)) in asked
    assert all(str(bobs) not in str(answer) for answer in panel.answers)

    # From now on the jobs are followed one by one: no listing.
    asked.clear()
    shown = {job["id"] for job in await panel.refresh()}
    assert bobs not in shown and set(running) <= shown
    assert asked and all(method == "job" for method, _ in asked)
    for job_id in running:
        alice.cancel(job_id)
