"""What a refresh of the jobs list shows when it follows known jobs instead of listing them all."""

import asyncio
import time

from serverext_support import JobList, record_requests

from flux_hub.jobnames import JobNames
from flux_hub.notebook import connect


async def listed(panel, **params):
    return {job["id"]: job for job in await panel.refresh(**params)}


def finished(jobs):
    """Finished records without names (names are the extension's; other tests' jobs may run)."""
    return {i: {**job, "name": None} for i, job in jobs.items() if job["state"] == "INACTIVE"}


async def test_a_name_given_after_a_job_was_listed_shows_on_the_next_refresh(
    api, service, client_for
):
    # A notebook names its job only once flux-restful has given the id: a refresh in between
    # lists (and keeps) the finished job under its command's name.
    alice = client_for("alice")
    panel = JobList(api)
    job_id = alice.submit("true")
    await api.wait(job_id)
    assert (await listed(panel))[job_id]["name"] == "true"
    assert (await listed(panel))[job_id]["name"] == "true"

    JobNames(service.names.path).set(job_id, "named later")
    refreshed = await listed(panel)
    assert refreshed[job_id]["name"] == "named later"
    assert refreshed[job_id]["result"] == "COMPLETED"


async def test_jobs_submitted_through_flux_hub_show_at_the_next_refresh(api, cluster, client_for):
    alice = client_for("alice")
    panel = JobList(api)
    running = await api.submit(command="sleep 60")
    await api.wait(running, "RUN")
    before = await listed(panel)
    assert before[running]["state"] == "RUN"

    # From the panel's form, and from a notebook (the notebook API and %%flux tell the
    # extension through the journal next to the job-name file)
    from_panel = await api.submit(command="true", name="from the panel")
    notebook = connect(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key)
    from_notebook = notebook.submit("hostname").id
    notebook.close()
    await api.wait(from_panel)
    await api.wait(from_notebook)
    alice.cancel(running)
    await api.wait(running)

    refreshed = await listed(panel)
    assert panel.answers[-1]["complete"] is False
    assert refreshed[from_panel]["name"] == "from the panel"
    assert refreshed[from_notebook]["result"] == "COMPLETED"
    assert refreshed[running]["result"] == "CANCELED"
    # ... in flux-restful's order, and the finished ones exactly as it lists them
    direct = {job["id"]: job for job in alice.jobs()}
    assert list(refreshed) == list(direct)
    assert finished(refreshed) == finished(direct)


async def test_a_job_submitted_elsewhere_shows_after_the_refresh_button(api, client_for):
    alice = client_for("alice")
    panel = JobList(api)
    await listed(panel)
    elsewhere = alice.submit("true")  # straight to flux-restful: flux-hub cannot know of it
    await api.wait(elsewhere)

    refreshed = await listed(panel, rescan="1")
    assert refreshed[elsewhere]["result"] == "COMPLETED"
    # the button's answer is still a delta against what the panel has
    assert panel.answers[-1]["complete"] is False
    assert [job["id"] for job in panel.answers[-1]["jobs"]] == [elsewhere]
    direct = {job["id"]: job for job in alice.jobs()}
    assert list(refreshed) == list(direct)
    assert finished(refreshed) == finished(direct)


async def test_a_burst_of_refresh_presses_costs_one_listing_per_interval(api, service, client_for):
    """Five tabs (or five clicks) pressing Refresh at once: every answer shows the job submitted
    elsewhere before the presses, and flux-restful's complete listings are at least
    rescan_interval (2 s) apart: the burst costs one (two when a press arrives only after the
    listing started, as on a busy machine), not five."""
    alice = client_for("alice")
    tabs = [JobList(api) for _ in range(5)]
    for tab in tabs:
        await listed(tab)
    elsewhere = alice.submit("true")
    await api.wait(elsewhere)

    listings = []
    original = service.client.jobs_body

    async def counted(*args, **kwargs):
        listings.append(time.monotonic())
        return await original(*args, **kwargs)

    service.client.jobs_body = counted
    answers = await asyncio.gather(*(listed(tab, rescan="1") for tab in tabs))
    assert all(answer[elsewhere]["result"] == "COMPLETED" for answer in answers)
    assert 1 <= len(listings) <= 2
    # A press right after them waits for the interval, then lists again.
    again = await listed(tabs[0], rescan="1")
    assert elsewhere in again and len(listings) >= 2
    gaps = [later - earlier for earlier, later in zip(listings, listings[1:], strict=False)]
    assert min(gaps) >= service.settings.rescan_interval - 0.05


async def test_a_refresh_asks_only_about_jobs_that_can_still_change(api, service, client_for):
    alice = client_for("alice")
    for _ in range(20):
        alice.submit("true")
    running = await api.submit(command="sleep 60")
    await api.wait(running, "RUN")
    await api.wait(alice.submit("true"))

    asked = record_requests(service)
    panel = JobList(api)
    first = await panel.refresh()
    assert asked == [("jobs_body", ())]  # the complete listing, once
    asked.clear()
    second = await panel.refresh()
    assert [job["id"] for job in second] == [job["id"] for job in first]
    # then one lookup: the running job (the user's other jobs are finished and never change)
    assert asked == [("job", (running,))]
    delta = panel.answers[-1]
    assert [job["id"] for job in delta["jobs"]] == [running] and "ids" not in delta

    await api.post("jobs", str(running), "cancel")
    newer = await api.submit(command="true", name="newer")
    await api.wait(running)
    await api.wait(newer)
    asked.clear()
    third = await panel.refresh()
    assert sorted(asked) == sorted([("job", (running,)), ("job", (newer,))])
    states = {job["id"]: (job["state"], job["name"]) for job in third}
    assert states[running] == ("INACTIVE", "sleep") and states[newer] == ("INACTIVE", "newer")
    assert panel.answers[-1]["ids"] == [job["id"] for job in third]  # a new job, and one moved

    # Nothing active: a refresh asks flux-restful nothing and answers that nothing changed.
    asked.clear()
    assert await panel.refresh() == third
    assert asked == []
    assert panel.answers[-1]["jobs"] == [] and "ids" not in panel.answers[-1]


async def test_rescan_must_be_a_yes_or_no(api):
    code, error = await api.get("jobs", params={"rescan": "maybe"})
    assert code == 400 and "rescan" in error["message"]
