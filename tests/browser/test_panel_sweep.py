"""A 20-job sweep from the panel's form: one group in the table, its waiting jobs cancelled with one
action (issue 28.1 and 28.2).

The panel at JupyterLab's default sidebar width, in chromium, against the panel tests' local
MiniCluster (2 nodes of 4 cores): the form's Parameters make `sleep 600 {}` over `{1..20}` into
20 jobs (the preview says so before anything is sent), 8 run and 12 wait, and the table shows them
as one collapsible row with its counts by state. "Cancel waiting" on that row, with one
confirmation, cancels the 12 and leaves the 8 running; the cluster itself says the same.
"""

import re

import requests
from playwright.sync_api import expect

GROUP = "sweep-20"


def _sweep_ids(lab_server):
    """The ids of the sweep's jobs as the person's server knows them (GET sweeps), in order."""
    api = f"{lab_server.url}/flux-hub/api/sweeps"
    headers = {"Authorization": f"token {lab_server.token}"}
    listed = requests.get(api, headers=headers, timeout=30).json()["sweeps"]
    ours = [s for s in listed if s["group"] == GROUP]
    if not ours:
        return []
    (sweep,) = ours
    return requests.get(f"{api}/{sweep['sweep']}", headers=headers, timeout=30).json()["ids"]


def test_a_20_job_sweep_from_the_form_is_one_group_and_its_waiting_jobs_cancel_at_once(
    lab, lab_server, flux_client
):
    ids = []
    try:
        panel = lab.open_panel()  # JupyterLab's default sidebar width
        form = lab.open_submit_form()
        lab.fill_form(command="sleep 600 {}")
        form.get_by_role("button", name=re.compile("^Parameters")).click()
        form.get_by_label("Values", exact=True).fill("{1..20}")
        form.get_by_label("Group", exact=True).fill(GROUP)
        # The preview: the count and the first commands, before anything is sent
        expect(form.locator(".jp-FluxHub-sweepCount")).to_have_text(re.compile(r"^20 jobs"))
        first = form.get_by_label("The first jobs")
        expect(first).to_contain_text("sleep 600 1")
        expect(first).to_contain_text(f"{GROUP} [1/20]")
        lab.screenshot("panel-sweep-form", form)
        assert not _sweep_ids(lab_server), "the preview submitted jobs"
        form.get_by_role("button", name="Submit 20 jobs").click()
        expect(form).to_have_count(0)

        # One group row, collapsed, with its counts by state once all 20 are in.
        group = panel.locator("tr.jp-FluxHub-groupRow", has_text=GROUP)
        expect(group).to_have_count(1)
        expect(group.locator(".jp-FluxHub-groupCount")).to_have_text("20 jobs", timeout=90_000)
        expect(group.locator(".jp-FluxHub-groupStates")).to_have_text(
            re.compile(r"^8 running · 12 pending$"), timeout=60_000
        )
        toggle = group.get_by_role("button", name=GROUP, exact=True)
        expect(toggle).to_have_attribute("aria-expanded", "false")
        ids = _sweep_ids(lab_server)
        assert len(set(ids)) == 20
        for job_id in ids:
            expect(lab.row(job_id)).to_have_count(0)  # inside the closed group
        lab.screenshot("panel-sweep-group", panel)

        # Opened, its jobs are rows under it (the table's own rows; those scrolled far out of
        # sight are not drawn).
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        inside = panel.locator("tr.jp-mod-inGroup[data-job-id]")
        expect(inside.first).to_be_visible()
        shown = [int(row.get_attribute("data-job-id")) for row in inside.all()]
        assert len(shown) >= 10 and set(shown) <= set(ids), shown
        lab.screenshot("panel-sweep-open", panel)
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "false")

        # The waiting ones, with one action and one question that says how many.
        group.get_by_role("button", name=f"Actions for {GROUP}").click()
        item = lab.page.locator(".jp-FluxHub-groupMenu .lm-Menu-item", has_text="Cancel waiting")
        expect(item).to_have_text(re.compile(r"Cancel waiting \(12\)"))
        lab.screenshot("panel-sweep-menu")
        item.click()
        dialog = lab.page.locator(".jp-Dialog")
        expect(dialog).to_contain_text(f"Cancel the 12 jobs of “{GROUP}” waiting to start?")
        dialog.get_by_role("button", name="Cancel 12 jobs").click()
        expect(group.locator(".jp-FluxHub-groupStates")).to_have_text(
            re.compile(r"^8 running · 12 cancell?ed$", re.IGNORECASE), timeout=60_000
        )
        expect(panel.locator(".jp-FluxHub-bulkStatus")).to_contain_text(
            f"Waiting jobs of “{GROUP}”: 12 cancelled."
        )
        lab.screenshot("panel-sweep-cancelled", panel)

        # What the cluster says: 12 cancelled before they started, 8 running on.
        jobs = [flux_client.job(job_id) for job_id in ids]
        results = sorted((job["state"], job["result"]) for job in jobs)
        assert results.count(("INACTIVE", "CANCELED")) == 12, results
        assert results.count(("RUN", "")) == 8, results
        for job in jobs:
            if job["result"] == "CANCELED":
                assert not job.get("t_run"), f"a running job was cancelled: {job}"
    finally:
        for job_id in ids or _sweep_ids(lab_server):
            try:
                flux_client.cancel(job_id)
            except Exception:  # noqa: BLE001 - already ended, which is what we want
                pass
