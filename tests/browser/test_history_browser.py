"""A person's job history outlasts the cluster and runs a job again (issue 26, must-show).

A notebook cell runs ``%%flux``; the cluster restarts (a new Flux instance: the job is gone from
Flux); JupyterLab is opened again. The job is in the panel's History with its command, the
notebook and cell it came from and how it ended; "Open the origin" opens that notebook at the
cell; "Run again" submits a request identical to the first one, compared field by field as the
history kept each (the request as sent to flux-restful), and the new job is the cluster's.

The panel's package cluster and JupyterLab server (tests/browser/conftest.py); the restart is the
cluster's own stop and start, as tests/browser/test_panel_browser.py's unreachable-cluster test
does, so the test after this one finds the cluster up again.
"""

import json
import re
import secrets
import time

import pytest
import requests
from lab_panel import SUBMITTED, notebook_model
from playwright.sync_api import expect

from flux_hub.jobid import f58
from flux_hub.jobid import parse as parse_job_id

pytestmark = pytest.mark.timeout(600)

CELL = '%%flux -n 2 -t 5m\necho "history says $((6 * 7))"\n'
# What the cell prints: "Submitted job ƒ… (name) as alice to http://…"
CELL_SUBMITTED = re.compile(r"Submitted job (\u0192[1-9A-HJ-NP-Za-km-z]+) \((.+)\) as ")


def history(lab_server, **query):
    """GET history as the person's server answers it (what the panel reads)."""
    response = requests.get(
        f"{lab_server.url}/flux-hub/api/history",
        params=query,
        headers={"Authorization": f"token {lab_server.token}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["records"]


def test_a_cells_job_outlasts_its_cluster_in_history_and_runs_again(
    lab, lab_server, lab_cluster, flux_client
):
    page = lab.page
    name = f"history-{secrets.token_hex(3)}.ipynb"
    cells = [("load", "%load_ext flux_hub"), ("flux", CELL)]
    (lab_server.root / name).write_text(json.dumps(notebook_model(cells)))

    # The person runs the %%flux cell; it says which job it submitted.
    lab.show_files()
    lab.go_home_in_file_browser()
    lab.open_in_file_browser(name)
    nb = page.locator(".jp-NotebookPanel", has_text="history says")
    expect(nb).to_be_visible()
    expect(page.get_by_role("button", name="Python 3 (ipykernel) | Idle")).to_be_visible()
    lab.run_cell(nb, 0)
    output = lab.run_cell(nb, 1).first  # what it printed (the Job it returns shows after)
    expect(output).to_have_text(CELL_SUBMITTED)
    found = CELL_SUBMITTED.search(output.inner_text())
    job_id, job_name = parse_job_id(found.group(1)), found.group(2)
    assert job_name == f"{name} [2]"  # named after its notebook and cell

    # It ends while the panel is open: its end goes into the history.
    lab.open_panel()
    lab.wait_for_result(job_id, "COMPLETED")
    # The person saves the notebook and closes it.
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name)
    nb.locator(".jp-Cell").nth(1).click()
    page.keyboard.press("Control+s")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(nb).to_have_count(0)

    # The cluster restarts: a new Flux instance, which has never heard of the job.
    lab_cluster.stop()
    lab_cluster.start(timeout=120)
    assert job_id not in {job["id"] for job in flux_client.jobs()}

    # JupyterLab, opened again: the job is in History, as it was.
    lab.reload()
    lab.open_panel()
    lab.panel.locator(".jp-FluxHub-viewSwitch button", has_text="History").click()
    view = lab.panel.locator(".jp-FluxHub-history")
    row = view.locator(f'.jp-FluxHub-historyRow[data-id="{job_id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text(job_name)
    expect(row).to_contain_text(f58(job_id))
    expect(row.locator(".jp-FluxHub-historyCommand")).to_contain_text("history says")
    expect(row.locator(".jp-FluxHub-historyState")).to_have_text(re.compile("COMPLETED", re.I))
    expect(row.locator(".jp-FluxHub-historyOrigin")).to_contain_text(f"{name} [2]")
    # A search by the command and the day finds it
    view.locator(".jp-FluxHub-historySearch").fill("history says")
    view.get_by_label("Show recorded jobs submitted").select_option(label="Today")
    expect(view.locator(".jp-FluxHub-historyRow")).to_have_count(1)
    lab.screenshot("history-after-restart", lab.panel)

    # "Open the origin": the notebook, at the cell that submitted the job.
    row.click()
    lab.screenshot("history-row-actions", lab.panel)
    row.get_by_role("button", name="Open the origin").click()
    nb = page.locator(".jp-NotebookPanel", has_text="history says")
    expect(nb).to_be_visible()
    expect(nb.locator(".jp-Cell.jp-mod-active")).to_contain_text("%%flux -n 2 -t 5m")

    # "Run again": the same request, to the cluster as it is now.
    before = {record["id"] for record in history(lab_server)}
    announced = len(page.locator(".Toastify__toast", has_text=SUBMITTED).all())
    lab.show_sidebar("flux-hub-jobs")
    row.click()
    row.get_by_role("button", name="Run again").click()
    expect(page.locator(".Toastify__toast", has_text=SUBMITTED)).to_have_count(announced + 1)
    records = history(lab_server)
    (again,) = [r for r in records if r["id"] not in before]
    (first,) = [r for r in records if r["id"] == job_id]
    assert again["request"] == first["request"]  # identical, field by field, as sent
    assert (again["command"], again["workdir"]) == (first["command"], first["workdir"])
    assert again["rerun_of"] == job_id
    assert again["origin"]["kind"] == "magic" and again["origin"]["path"] == first["origin"]["path"]
    # The cluster has it, as the person asked for it the first time: 2 tasks, 5 minutes, the
    # notebook's folder, the cell's script (what it prints)
    info = flux_client.job(again["id"])
    assert (info["ntasks"], info["duration"], info["cwd"]) == (2, 300.0, first["workdir"])
    deadline = time.monotonic() + 60
    while flux_client.job(again["id"])["state"] != "INACTIVE":
        assert time.monotonic() < deadline, "the job run again did not end"
        time.sleep(0.3)
    assert "".join(flux_client.output(again["id"])) == "history says 42\n" * 2  # 2 tasks
    new_row = view.locator(f'.jp-FluxHub-historyRow[data-id="{again["id"]}"]')
    expect(new_row).to_be_visible()
