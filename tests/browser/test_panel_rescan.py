"""Jobs submitted outside flux-hub (straight to flux-restful) reach the panel too.

Between complete listings the panel's server follows only the jobs it knows of (issue 12), so a
job it was not told about shows at its next complete listing: at once when the user presses
Refresh, or by itself within the slow interval (c.FluxHub.full_listing_interval).
"""

import pytest
from lab_panel import Lab
from lab_support import LabServer
from playwright.sync_api import expect

SLOW_INTERVAL = 4  # seconds: the slow timer of this module's own server


@pytest.fixture(scope="module")
def quick_rescan_server(browser_setup, lab_cluster, tmp_path_factory):
    server = LabServer(
        tmp_path_factory.mktemp("lab-quick-rescan"),
        lab_cluster,
        "alice",
        extra_args=[f"--FluxHub.full_listing_interval={SLOW_INTERVAL}"],
    )
    server.start()
    yield server
    server.stop()
    server.save_log("quick-rescan")


def test_a_job_submitted_elsewhere_shows_at_once_after_refresh(lab, lab_server, flux_client):
    # This server lists everything only every 5 minutes (the default): only the button
    # can make the job show within this test.
    assert "full_listing_interval" not in " ".join(lab_server.extra_args)
    lab.open_panel()
    elsewhere = flux_client.submit("sleep 600")
    try:
        lab.press_refresh()
        expect(lab.cell(elsewhere, "state")).to_have_text("RUN")
        lab.expect_f58_id(elsewhere)
        # from now on it is followed like any other job: its end shows without the button
        flux_client.cancel(elsewhere)
        lab.wait_for_result(elsewhere, "CANCELED")
    finally:
        if flux_client.job(elsewhere)["state"] != "INACTIVE":
            flux_client.cancel(elsewhere)


def test_a_job_submitted_elsewhere_shows_within_the_slow_interval(
    browser, quick_rescan_server, flux_client
):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        lab = Lab(context.new_page(), quick_rescan_server, workspace="quick-rescan")
        lab.open()
        lab.open_panel()
        elsewhere = flux_client.submit("true")
        # nobody presses anything: the slow timer's complete listing brings it
        lab.wait_for_result(elsewhere, "COMPLETED")
    finally:
        context.close()
