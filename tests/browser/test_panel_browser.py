"""The Flux panel in a real JupyterLab, driven in chromium the way a person uses it.

JupyterLab runs as a real server with the built extension, logged in to a local MiniCluster
(a real flux-restful server) as alice. In the simulated lane that Flux instance has been up for
30 days, so every job id is above 2**53 (see conftest.py); real Flux's is new. The
unreachable-cluster test stops that cluster, so it comes last.
"""

import json
import re

import pytest
import requests
from lanes import REAL_FLUX
from playwright.sync_api import expect

from flux_hub.jobid import f58

TICKER = "sh -c 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 1; done'"


def test_submit_from_the_form_and_read_the_output(lab):
    panel = lab.open_panel(width=760)
    expect(panel.locator(".jp-FluxHub-nodes")).to_have_text(re.compile(r"^[1-9][0-9]*$"))
    lab.open_submit_form()
    lab.fill_form(command="echo hello from flux", name="greeting")
    lab.screenshot("submit-form")
    lab.press_submit()
    job_id = lab.submitted_job_id()
    # An id of an instance up for weeks: no JavaScript number holds it exactly (the simulated
    # instance starts 30 days old; real Flux's test instance is new, its ids are small).
    assert job_id > 2**53 or REAL_FLUX

    expect(lab.cell(job_id, "name")).to_have_text("greeting")
    lab.wait_for_result(job_id, "COMPLETED")
    expect(lab.cell(job_id, "state")).to_have_text("INACTIVE")
    lab.expect_f58_id(job_id)
    lab.screenshot("panel")

    detail = lab.open_job(job_id)
    expect(detail.get_by_label("Job output")).to_have_text("hello from flux\n")
    expect(detail.get_by_label("Status COMPLETED")).to_be_visible()
    expect(detail.get_by_label("Job ID (F58)")).to_have_text(f58(job_id))
    expect(detail.get_by_label("Job ID (decimal)")).to_have_text(str(job_id))
    fields = detail.get_by_role("table", name="All job fields")
    expect(fields).to_contain_text("returncode")
    expect(fields.locator("tr", has_text=re.compile(r"^id")).locator("td")).to_have_text(
        str(job_id)
    )
    lab.screenshot("job-detail")


def test_output_is_followed_live_and_the_end_is_announced(lab):
    job_id = lab.submit(command=TICKER, name="ticker")
    expect(lab.cell(job_id, "state")).to_have_text("RUN")
    detail = lab.open_job(job_id)
    output = detail.get_by_label("Job output")
    expect(detail.get_by_text("(following live)")).to_be_visible()
    # A line arrives while the job still runs: it is followed, not read at the end.
    expect(output).to_contain_text("tick 2")
    expect(detail.get_by_label("Status RUN")).to_be_visible()
    lab.screenshot("job-following")
    expect(detail.get_by_label("Status COMPLETED")).to_be_visible()
    expect(output).to_have_text("".join(f"tick {i}\n" for i in range(1, 7)))
    expect(detail.get_by_text("(following live)")).to_have_count(0)

    # The notification centre tells when a job ends; its button opens the job.
    detail.page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    expect(detail).to_have_count(0)
    toast = lab.page.locator(
        ".Toastify__toast", has_text=f"Flux job ticker ({f58(job_id)}) completed."
    )
    expect(toast).to_be_visible()
    toast.get_by_role("button", name="Show job").click()
    expect(lab.detail(job_id)).to_be_visible()


def test_a_long_job_is_cancelled_after_confirmation(lab, flux_client):
    """Cancelling from the panel cancels exactly the job shown, and no other job of alice."""
    other = flux_client.submit("sleep 600")
    job_id = lab.submit(command="sleep 600", name="long-sleep")
    try:
        lab.press_refresh()  # shows `other`, which went to the cluster without flux-hub
        assert (job_id > 2**53 and other > 2**53) or REAL_FLUX
        expect(lab.cell(job_id, "state")).to_have_text("RUN")
        expect(lab.cell(other, "state")).to_have_text("RUN")
        lab.expect_f58_id(job_id)
        detail = lab.open_job(job_id)
        expect(detail.locator(".jp-FluxHub-jobId")).to_have_text(f58(job_id))
        detail.get_by_role("button", name="Cancel job").click()
        dialog = lab.page.locator(".jp-Dialog")
        expect(dialog).to_contain_text(f"Cancel job {f58(job_id)} (long-sleep)?")
        lab.screenshot("cancel-dialog")
        dialog.get_by_role("button", name="Cancel job").click()
        expect(detail.get_by_label("Status CANCELED")).to_be_visible()
        expect(detail.get_by_role("button", name="Cancel job")).to_have_count(0)
        lab.wait_for_result(job_id, "CANCELED")

        # What the cluster itself says: that very job was cancelled, the other runs on.
        cancelled = flux_client.job(job_id)
        assert (cancelled["id"], cancelled["result"]) == (job_id, "CANCELED")
        still = flux_client.job(other)
        assert (still["id"], still["state"], still["result"]) == (other, "RUN", "")
        expect(lab.cell(other, "state")).to_have_text("RUN")
    finally:
        flux_client.cancel(other)


def test_the_form_checks_fields_and_shows_why_the_cluster_refuses(lab):
    form = lab.open_submit_form()
    lab.press_submit()
    expect(form.get_by_text("A command is required.")).to_be_visible()
    expect(form.get_by_label("Command", exact=True)).to_be_focused()

    lab.fill_form(command="hostname", nodes=5, tasks=5)
    lab.press_submit()
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("The job was not submitted.")
    expect(alert).to_contain_text(re.compile(r"only has 2 nodes, you requested 5"))
    lab.screenshot("submit-refused")
    # Nothing was lost: fixing the field and sending again works.
    lab.fill_form(nodes=1, tasks=1)
    lab.press_submit()
    job_id = lab.submitted_job_id()
    lab.wait_for_result(job_id, "COMPLETED")


def test_a_script_is_submitted_from_the_file_browser(lab):
    lab.show_sidebar("filebrowser")
    listing = lab.page.locator(".jp-DirListing-content")
    listing.get_by_text("scripts", exact=True).dblclick()
    script = listing.locator('.jp-DirListing-item[title^="Name: hello.sh"]')
    script.click(button="right")
    lab.page.locator(".lm-Menu-item", has_text="Submit as Flux Job…").click()

    form = lab.form
    expect(form.get_by_label("Command", exact=True)).to_have_value("bash hello.sh")
    workdir = str(lab.server.root / "scripts")
    expect(form.get_by_label("Working directory", exact=True)).to_have_value(workdir)
    lab.press_submit()
    job_id = lab.submitted_job_id()

    lab.open_panel()
    lab.wait_for_result(job_id, "COMPLETED")
    detail = lab.open_job(job_id)
    expect(detail.get_by_label("Job output")).to_have_text(f"script says hi from {workdir}\n")


def test_filter_sort_and_keyboard(lab):
    first = lab.submit(command="echo one", name="alpha-filter")
    second = lab.submit(command="echo two", name="beta-filter")
    lab.wait_for_result(first, "COMPLETED")
    lab.wait_for_result(second, "COMPLETED")
    panel = lab.panel

    panel.get_by_label("Filter jobs").fill("-filter")
    rows = panel.locator("tbody tr[data-job-id]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-job-id", str(second))  # newest first
    panel.get_by_role("button", name=re.compile(r"^Name")).click()
    expect(rows.first).to_have_attribute("data-job-id", str(first))
    panel.get_by_label("Filter jobs").fill("beta-filter")
    expect(rows).to_have_count(1)
    # By id, as `flux jobs` writes it (with ƒ or f) or in decimal.
    for text in (f58(first), "f" + f58(first)[1:], str(first)):
        panel.get_by_label("Filter jobs").fill(text)
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-job-id", str(first))
    panel.get_by_label("Filter jobs").fill("beta-filter")
    expect(rows).to_have_count(1)
    panel.get_by_label("Show jobs in state").select_option("active")
    expect(rows).to_have_count(0)
    panel.get_by_label("Show jobs in state").select_option("COMPLETED")
    expect(rows).to_have_count(1)

    # Keyboard only: through the column headers into the table, then open the row.
    panel.get_by_label("Show jobs in state").focus()
    lab.page.keyboard.press("Tab")
    expect(panel.get_by_role("button", name=re.compile(r"^Name"))).to_be_focused()
    table = panel.get_by_label("Jobs: arrow keys select, Enter opens")
    # From the last column header (how many fit depends on the panel's width) into the table
    panel.get_by_role("columnheader").last.get_by_role("button").focus()
    lab.page.keyboard.press("Tab")
    expect(table).to_be_focused()
    lab.page.keyboard.press("ArrowDown")
    lab.page.keyboard.press("Enter")
    expect(lab.detail(second)).to_be_visible()


def test_panel_is_restored_on_reload_and_follows_the_dark_theme(lab):
    panel = lab.open_panel()
    light = panel.evaluate("node => getComputedStyle(node).backgroundColor")
    lab.reload()
    expect(panel).to_be_visible()  # restored without clicking its tab

    lab.page.get_by_role("menuitem", name="Settings").click()
    lab.page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme$")).hover()
    lab.page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
    expect(lab.page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    expect(lab.page.locator("#jupyterlab-splash")).to_have_count(0)
    dark = panel.evaluate("node => getComputedStyle(node).backgroundColor")
    assert dark != light
    layout_color = panel.evaluate(
        "node => getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim()"
    )
    assert layout_color  # the dark theme's own variable is what the panel is painted with
    lab.screenshot("panel-dark")
    lab.page.get_by_role("menuitem", name="Settings").click()
    lab.page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme$")).hover()
    lab.page.get_by_role("menuitem", name="JupyterLab Light", exact=True).click()
    expect(lab.page.locator("body")).to_have_attribute("data-jp-theme-light", "true")


@pytest.fixture
def restore_settings(lab_server):
    """The settings are the server's: put back what the other tests run with."""
    yield
    response = requests.put(
        f"{lab_server.url}/lab/api/settings/flux-hub:plugin",
        headers={"Authorization": f"token {lab_server.token}"},
        data=json.dumps({"raw": json.dumps({"refreshInterval": lab_server.refresh_interval})}),
        timeout=10,
    )
    assert response.status_code == 204, response.text


def test_settings_editor_changes_the_panel(lab, restore_settings):
    panel = lab.open_panel(width=900)  # room for every column
    headers = panel.get_by_role("columnheader")
    expect(headers).to_have_count(8)
    lab.page.get_by_role("menuitem", name="Settings").click()
    lab.page.locator(".lm-Menu-item", has_text="Settings Editor").click()
    lab.page.locator(".jp-PluginList-entry", has_text="Flux jobs").click()
    form = lab.page.locator(".jp-SettingsForm")
    expect(form.get_by_text("Refresh interval (seconds)")).to_be_visible()
    lab.screenshot("settings")

    columns = form.locator(".field-array .array-item")
    state_column = columns.nth(2)
    expect(state_column.locator("select option:checked")).to_have_text("state")
    state_column.locator('jp-button[title="Remove item"]').click()
    # Saved by the editor and taken up by the open panel at once.
    expect(headers).to_have_count(7)
    expect(panel.get_by_role("columnheader", name="State")).to_have_count(0)

    form.get_by_label("Notifications").uncheck()
    server = lab.server
    deadline = 30
    saved = {}
    for _ in range(deadline * 10):
        saved = requests.get(
            f"{server.url}/lab/api/settings/flux-hub:plugin",
            headers={"Authorization": f"token {server.token}"},
            timeout=10,
        ).json()["settings"]
        if saved.get("notifications") is False:
            break
        lab.page.wait_for_timeout(100)
    assert saved.get("notifications") is False
    assert "state" not in saved["columns"]


def test_unreachable_cluster_banner_comes_and_goes(lab, lab_cluster):
    panel = lab.open_panel(width=760)
    expect(panel.get_by_role("alert")).to_have_count(0)
    lab_cluster.stop()
    try:
        alert = panel.get_by_role("alert")
        expect(alert).to_contain_text("The Flux cluster is unreachable.")
        expect(alert).to_contain_text(lab_cluster.url)
        lab.screenshot("cluster-unreachable")
    finally:
        lab_cluster.start(timeout=120)
    # No click: the panel notices by itself (its poll backs off to at most a minute).
    expect(panel.get_by_role("alert")).to_have_count(0, timeout=90_000)
    expect(panel.locator(".jp-FluxHub-nodes")).to_have_text(re.compile(r"^[1-9][0-9]*$"))


def test_the_panel_at_jupyterlabs_default_width_and_the_wide_table(lab):
    """At the sidebar's default width the table shows each job's name first and whole, its ID
    smaller under it, and its status whole, with no sideways scrolling; the table opened in
    the main area shows every column, the name first."""
    lab.page.set_viewport_size({"width": 1400, "height": 850})  # as a new user tried it
    lab.open()  # a fresh workspace: the sidebar as JupyterLab first lays it out
    panel = lab.open_panel()  # JupyterLab's default sidebar width, not dragged
    # Names alike at the start (issue 26: all three used to show as "walk…")
    names = ("walk-steps", "walk-sleeper", "walk-bash")
    jobs = [lab.submit(command="echo narrow", name=name) for name in names]
    for job in jobs:
        lab.wait_for_result(job, "COMPLETED")
    done = jobs[-1]
    headers = panel.get_by_role("columnheader")
    expect(headers).to_have_text(["Name", "Status"])
    for job, name in zip(jobs, names, strict=True):
        shown = lab.cell(job, "name")
        expect(shown).to_have_text(name)
        # whole: no ellipsis, nothing hidden past the cell's edge
        assert shown.evaluate("node => node.scrollWidth <= node.clientWidth"), name
        lab.expect_f58_id(job)  # under the name, smaller
    expect(lab.cell(done, "status")).to_have_text("COMPLETED")
    scroller = panel.locator(".jp-FluxHub-tableScroller")
    assert scroller.evaluate("node => node.scrollWidth <= node.clientWidth")
    # the status is on screen whole, inside the sidebar
    cell, side = lab.cell(done, "status").bounding_box(), panel.bounding_box()
    assert cell["x"] + cell["width"] <= side["x"] + side["width"] + 1
    # the filter row wraps instead of cutting its controls
    filters = panel.locator(".jp-FluxHub-filters")
    for control in (panel.get_by_label("Filter jobs"), panel.get_by_label("Show jobs in state")):
        box = control.bounding_box()
        assert box["x"] + box["width"] <= filters.bounding_box()["x"] + side["width"] + 1
    lab.screenshot("panel-default-width", panel)

    panel.get_by_title("Open your jobs in the main area, with every column").click()
    wide = lab.page.locator("#flux-hub-jobs-table")
    expect(wide).to_be_visible()
    labels = ["Name", "ID", "State", "Result", "Nodes", "Tasks", "Runtime", "Submitted"]
    # (the column sorted on carries its mark: newest submitted first)
    expect(wide.get_by_role("columnheader")).to_have_text(
        [re.compile(rf"^{label}[▲▼]?$") for label in labels]
    )
    row = wide.locator(f'tr[data-job-id="{done}"]')
    expect(row.locator(".jp-FluxHub-col-result")).to_have_text("COMPLETED")
    lab.clear_notifications()  # the picture in the README is of the table, not of toasts
    lab.screenshot("jobs-table-wide")
    row.click()  # a row opens the job, as in the sidebar
    expect(lab.detail(done)).to_be_visible()


def test_the_launcher_has_a_flux_job_card_that_opens_the_submit_form(lab):
    # (a new workspace opens on the Launcher)
    card = lab.page.locator(".jp-LauncherCard:visible", has_text="Flux Job")
    expect(card.first).to_be_visible()
    lab.screenshot("launcher-card")
    card.first.click()
    expect(lab.form).to_be_visible()


SHELL_LOOP = "for i in 1 2 3; do echo step $i; sleep 1; done"


def test_a_shell_script_from_the_form_runs_with_bash(lab):
    """Shell typed as a command is pointed out; run as a script, it completes with its
    output. Shell syntax submitted as a command fails, and its detail says why at the top."""
    lab.open_submit_form()
    lab.fill_form(command=SHELL_LOOP, name="as-command")
    hint = lab.form.get_by_role("note")
    expect(hint).to_contain_text("This looks like shell syntax")
    lab.press_submit()
    failed = lab.submitted_job_id()
    lab.wait_for_result(failed, "FAILED")
    detail = lab.open_job(failed)
    banner = detail.locator(".jp-FluxHub-startFailure")
    expect(banner).to_contain_text("The job failed to start.")
    expect(banner).to_contain_text("for: No such file or directory")
    expect(banner).to_contain_text("Submit it again as a shell script")
    lab.screenshot("start-failure-hint", detail)

    lab.open_submit_form()
    lab.form.get_by_label("A shell script (bash)").check()
    lab.form.get_by_label("Script (run with bash)").fill(
        "for i in 1 2 3; do\n  echo step $i\n  sleep 0.2\ndone"
    )
    lab.fill_form(name="as-script")
    expect(lab.form.get_by_label("Runs")).to_have_text("Runs: bash -c <your script, 4 lines>")
    lab.screenshot("submit-form-script", lab.form)
    lab.press_submit()
    job_id = lab.submitted_job_id()
    lab.wait_for_result(job_id, "COMPLETED")
    detail = lab.open_job(job_id)
    expect(detail.get_by_label("Job output")).to_have_text("step 1\nstep 2\nstep 3\n")
