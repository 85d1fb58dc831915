"""Selecting several jobs in the Flux panel and cancelling them with one confirmation (issue 28.2).

The panel at JupyterLab's default sidebar width, in chromium, against the panel tests' local
MiniCluster (2 nodes of 4 cores): three jobs run, one more fills the other five cores, three wait
behind it. Two running jobs are selected (Ctrl-click, then Shift-click) and cancelled with "Cancel
selected"; then "Cancel all waiting" from the Cancel menu. The rows say what became of each, and
so does the cluster itself.
"""

import re

from playwright.sync_api import expect


def _cleanup(flux_client, ids):
    for job_id in ids:
        try:
            flux_client.cancel(job_id)
        except Exception:  # noqa: BLE001 - already ended, which is what we want
            pass


def test_select_two_cancel_them_then_cancel_all_waiting(lab, flux_client):
    running = [flux_client.submit("sleep 600") for _ in range(3)]
    filler = flux_client.submit("sleep 600", num_tasks=5)  # the other 5 of 8 cores
    # Each asks for all 8 cores: they wait while any job runs, also once two are cancelled.
    waiting = [flux_client.submit("sleep 600", num_tasks=8) for _ in range(3)]
    everyone = [*running, filler, *waiting]
    try:
        panel = lab.open_panel()  # JupyterLab's default sidebar width
        lab.press_refresh()  # submitted outside flux-hub: the rescan shows them at once
        for job_id in [*running, filler]:
            expect(lab.cell(job_id, "state")).to_have_text("RUN")
        for job_id in waiting:
            expect(lab.cell(job_id, "state")).to_contain_text("PENDING")
        for job_id in waiting:
            assert flux_client.job(job_id)["state"] in ("DEPEND", "PRIORITY", "SCHED")

        # No checkboxes until something is selected: they take no room before.
        expect(panel.locator(".jp-FluxHub-check")).to_have_count(0)
        first, second = running[1], running[0]  # adjacent rows: newest first
        lab.row(first).click(modifiers=["Control"])
        lab.row(second).click(modifiers=["Shift"])
        expect(lab.row(first)).to_have_attribute("aria-selected", "true")
        expect(lab.row(second)).to_have_attribute("aria-selected", "true")
        expect(panel.locator('tr[aria-selected="true"]')).to_have_count(2)
        bar = panel.get_by_role("toolbar", name="Selected jobs")
        expect(bar).to_contain_text("2 selected")
        expect(lab.row(first).get_by_role("checkbox")).to_be_checked()
        # The checkboxes do not push the status out of the sidebar.
        scroller = panel.locator(".jp-FluxHub-tableScroller")
        assert scroller.evaluate("node => node.scrollWidth <= node.clientWidth")
        lab.screenshot("panel-selection", panel)

        bar.get_by_role("button", name="Cancel selected").click()
        dialog = lab.page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Cancel the 2 selected jobs?")
        lab.screenshot("panel-selection-dialog")
        dialog.get_by_role("button", name="Cancel 2 jobs").click()
        status = panel.locator(".jp-FluxHub-bulkStatus")
        expect(status).to_contain_text("Selected jobs: 2 cancelled.")
        for job_id in (first, second):
            lab.wait_for_result(job_id, "CANCELED")
        expect(panel.locator('tr[aria-selected="true"]')).to_have_count(0)

        # Every waiting job, with one question that says how many.
        panel.get_by_role("button", name="Cancel several jobs").click()
        item = lab.page.locator(".jp-FluxHub-cancelMenu .lm-Menu-item", has_text="waiting")
        expect(item).to_have_text(re.compile(r"Cancel all waiting \(3\)"))
        lab.screenshot("panel-cancel-menu")
        item.click()
        expect(dialog).to_contain_text("Cancel all 3 of your jobs waiting to start?")
        dialog.get_by_role("button", name="Cancel 3 jobs").click()
        expect(status).to_contain_text("Waiting jobs: 3 cancelled.")
        for job_id in waiting:
            lab.wait_for_result(job_id, "CANCELED")
        status.get_by_text("Each job").click()
        expect(status.locator("li")).to_have_count(3)
        expect(status.locator("li", has_text="cancelled")).to_have_count(3)
        lab.screenshot("panel-selection-result", panel)
        # That summary says it once: no notification of each job's end.
        toasts = lab.page.locator(".Toastify__toast", has_text="was canceled")
        expect(toasts).to_have_count(0)

        # What the cluster itself says: those five were cancelled, the others run on.
        for job_id in (first, second, *waiting):
            record = flux_client.job(job_id)
            assert (record["id"], record["result"]) == (job_id, "CANCELED"), record
        for job_id in (running[2], filler):
            record = flux_client.job(job_id)
            assert (record["id"], record["state"], record["result"]) == (job_id, "RUN", ""), record
            expect(lab.cell(job_id, "state")).to_have_text("RUN")
    finally:
        _cleanup(flux_client, everyone)
