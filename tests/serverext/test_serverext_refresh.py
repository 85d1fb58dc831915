"""What a refresh of the jobs list shows when it reuses what an earlier one read."""

from serverext_support import JobList

from flux_hub.notebook.names import JobNames
from flux_hub.serverextension.jobs import REFRESH_MARGINS

# More new jobs than any page of a refresh has room for
MANY = REFRESH_MARGINS[-1] + 5


async def listed(panel):
    return {job["id"]: job for job in await panel.refresh()}


async def test_a_name_given_after_a_job_was_listed_shows_on_the_next_refresh(
    api, service, client_for
):
    # A notebook names its job only once flux-restful has given the id: a refresh in between
    # lists (and keeps) the finished job under its command's name.
    alice = client_for("alice")
    panel = JobList(api)
    for _ in range(MANY):
        alice.submit("true")
    job_id = alice.submit("true")
    await api.wait(job_id)
    assert (await listed(panel))[job_id]["name"] == "true"
    assert (await listed(panel))[job_id]["name"] == "true"

    JobNames(service.names.path).set(job_id, "named later")
    refreshed = await listed(panel)
    assert refreshed[job_id]["name"] == "named later"
    assert refreshed[job_id]["result"] == "COMPLETED"


async def test_a_refresh_shows_what_flux_restful_shows(api, client_for):
    alice = client_for("alice")
    panel = JobList(api)
    for _ in range(MANY):
        alice.submit("true")
    done = alice.submit("true")
    running = alice.submit("sleep 60")
    await api.wait(done)
    await api.wait(running, "RUN")
    await listed(panel)
    fresh = alice.submit("true")
    await api.wait(fresh)
    alice.cancel(running)
    await api.wait(running)

    refreshed = await listed(panel)
    direct = {job["id"]: job for job in alice.jobs()}
    assert list(refreshed) == list(direct)

    def finished(jobs):  # (names are the extension's; other tests' jobs may still run)
        return {i: {**job, "name": None} for i, job in jobs.items() if job["state"] == "INACTIVE"}

    assert {done, running, fresh} <= set(finished(refreshed))
    assert finished(refreshed) == finished(direct)


async def test_more_new_jobs_than_a_page_holds_still_give_only_what_changed(api, client_for):
    alice = client_for("alice")
    panel = JobList(api)
    before = await listed(panel)
    new = [alice.submit("true") for _ in range(MANY)]
    await api.wait(new[-1])
    for job_id in new:
        await api.wait(job_id)

    refreshed = await listed(panel)
    assert list(refreshed) == [job["id"] for job in alice.jobs()]
    answer = panel.answers[-1]
    assert answer["complete"] is False
    assert set(new) <= {job["id"] for job in answer["jobs"]}
    assert not {job["id"] for job in answer["jobs"]} & {
        i for i, j in before.items() if j["state"] == "INACTIVE"
    }
