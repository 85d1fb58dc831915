"""What a refresh of the jobs list shows when it reuses what an earlier one read."""

from flux_hub.notebook.names import JobNames
from flux_hub.serverextension.jobs import NEW_JOBS_PER_REFRESH


async def listed(api):
    code, data = await api.get("jobs")
    assert code == 200, data
    return {job["id"]: job for job in data["jobs"]}


async def test_a_name_given_after_a_job_was_listed_shows_on_the_next_refresh(
    api, service, client_for
):
    # A notebook names its job only once flux-restful has given the id: a refresh in between
    # lists (and keeps) the finished job under its command's name.
    alice = client_for("alice")
    for _ in range(NEW_JOBS_PER_REFRESH + 5):  # more than a refresh reads again
        alice.submit("true")
    job_id = alice.submit("true")
    await api.wait(job_id)
    assert (await listed(api))[job_id]["name"] == "true"
    assert (await listed(api))[job_id]["name"] == "true"

    JobNames(service.names.path).set(job_id, "named later")
    refreshed = await listed(api)
    assert refreshed[job_id]["name"] == "named later"
    assert refreshed[job_id]["result"] == "COMPLETED"


async def test_a_refresh_shows_what_flux_restful_shows(api, client_for):
    alice = client_for("alice")
    for _ in range(NEW_JOBS_PER_REFRESH + 5):
        alice.submit("true")
    done = alice.submit("true")
    running = alice.submit("sleep 60")
    await api.wait(done)
    await api.wait(running, "RUN")
    await listed(api)
    fresh = alice.submit("true")
    await api.wait(fresh)
    alice.cancel(running)
    await api.wait(running)

    refreshed = await listed(api)
    direct = {job["id"]: job for job in alice.jobs()}
    assert list(refreshed) == list(direct)

    def finished(jobs):  # (names are the extension's; other tests' jobs may still run)
        return {i: {**job, "name": None} for i, job in jobs.items() if job["state"] == "INACTIVE"}

    assert {done, running, fresh} <= set(finished(refreshed))
    assert finished(refreshed) == finished(direct)
