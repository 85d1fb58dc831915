"""Run B after A, from the panel's form, with the person's JupyterLab stopped while A runs
(issue 28.3).

A real `jupyterhub` with the top-level jupyterhub_config.py (the one-machine hub, its local
MiniCluster and the accounts service that holds jobs), chromium at /hub/login. alice submits two
A jobs (one fails, one succeeds) and for each a B with "Run after: when it succeeds" in the form;
the table shows the Bs as DEPEND with what they wait for. Her server is stopped while the As run:
the hub, not her server, settles both Bs (asked through the hub's own API meanwhile). When she
logs in again the panel shows the B after the failed A as never run, with the reason, and the B
after the good A as a completed job under its name, with its output.
"""

import re
import time

import pytest
from lab_panel import lab_through_the_hub
from playwright.sync_api import expect

from flux_hub.jobid import f58

pytestmark = pytest.mark.timeout(900)

# Long enough to stop the server while the As still run
A_SECONDS = 45


def _held(lab, name, after, kind="afterok"):
    """Submit a job held until ``after`` from the form's Run after; the held row's id."""
    form = lab.open_submit_form()
    lab.fill_form(command=f"echo {name} ran", name=name)
    form.get_by_label("Run after (optional)").fill(f58(after))
    form.get_by_label("Run after the jobs").select_option(kind)
    form.get_by_role("button", name="Submit").click()
    expect(form).to_have_count(0)
    row = lab.panel.locator('tr[data-job-id^="h"]', has_text=name)
    expect(row).to_have_count(1)
    return row.get_attribute("data-job-id")


def _holds(hub, token):
    """alice's holds as the hub keeps them (its own API, not her server's)."""
    answer = hub.service(token, "GET", "api/holds?all=1")
    assert answer.status_code == 200, answer.text
    return {hold["id"]: hold for hold in answer.json()["holds"]}


def test_b_runs_after_a_as_the_hub_decides_with_the_persons_server_stopped(hub, browser):
    password = hub.announced_passwords()["alice"]
    token = hub.token_for(hub.login("alice", password), "alice")
    with lab_through_the_hub(hub, browser, "alice", "chains") as lab:
        lab.open_panel(width=760)  # wide enough for both the State and the Result columns
        a_fails = lab.submit(command=f"sh -c 'sleep {A_SECONDS}; exit 3'", name="a-fails")
        a_works = lab.submit(command=f"sleep {A_SECONDS}", name="a-works")
        b_never = _held(lab, "b-never", a_fails)
        b_runs = _held(lab, "b-runs", a_works)
        for hold, after in ((b_never, a_fails), (b_runs, a_works)):
            row = lab.panel.locator(f'tr[data-job-id="{hold}"]')
            expect(row.locator(".jp-FluxHub-col-state")).to_have_text("DEPEND")
            expect(row.locator(".jp-FluxHub-col-result")).to_have_text(f"after {f58(after)} ok")
            expect(row).to_have_attribute(
                "title", re.compile(rf"^Runs when {f58(after)} completes successfully")
            )
        lab.screenshot("panel-chain-held", lab.panel)

    # Her server stops while the As still run: only the hub can settle the Bs now.
    hub.stop_server(token, "alice")
    deadline = time.monotonic() + 60
    while hub.api(token, "GET", "users/alice").json().get("servers"):
        assert time.monotonic() < deadline, "alice's server did not stop"
        time.sleep(0.5)
    holds = _holds(hub, token)
    assert holds[b_never]["state"] == "DEPEND" and holds[b_runs]["state"] == "DEPEND", holds
    deadline = time.monotonic() + A_SECONDS + 90
    while True:
        holds = _holds(hub, token)
        if holds[b_never]["state"] != "DEPEND" and holds[b_runs]["state"] != "DEPEND":
            break
        assert time.monotonic() < deadline, f"the hub did not settle the holds: {holds}"
        time.sleep(1)
    assert holds[b_never]["state"] == "NEVER_RUN", holds[b_never]
    assert f"job {f58(a_fails)} did not succeed" in holds[b_never]["reason"]
    assert holds[b_runs]["state"] == "SUBMITTED", holds[b_runs]
    b_job = holds[b_runs]["job"]
    assert not hub.api(token, "GET", "users/alice").json().get("servers"), "her server started"

    # She comes back: the panel says what became of each.
    with lab_through_the_hub(hub, browser, "alice", "chains-after") as lab:
        lab.open_panel(width=760)
        never = lab.panel.locator(f'tr[data-job-id="{b_never}"]')
        expect(never.locator(".jp-FluxHub-col-result")).to_have_text("NEVER RUN")
        expect(never).to_have_attribute(
            "title", re.compile(rf"Never run: job {f58(a_fails)} did not succeed")
        )
        lab.wait_for_result(a_fails, "FAILED")
        lab.wait_for_result(a_works, "COMPLETED")
        lab.wait_for_result(b_job, "COMPLETED")
        expect(lab.cell(b_job, "name")).to_have_text("b-runs")
        expect(lab.panel.locator(f'tr[data-job-id="{b_runs}"]')).to_have_count(0)
        lab.screenshot("panel-chain-settled", lab.panel)
        detail = lab.open_job(b_job)
        expect(detail.get_by_label("Job output")).to_have_text("b-runs ran\n")
