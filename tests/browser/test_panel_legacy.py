"""The Flux panel on the legacy flux-restful-api (the seed's server, run for real): it works,
and it tells its user, in its header, that this server keeps no one apart."""

import pytest
from lab_panel import Lab
from lab_support import ARTIFACTS, LabServer
from playwright.sync_api import expect

from flux_hub.restful import LEGACY_WARNING


@pytest.fixture(scope="module")
def legacy_lab_server(browser_setup, legacy_cluster, tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("lab-legacy"), legacy_cluster, "alice")
    server.start()
    yield server
    server.stop()
    server.save_log("legacy")


def test_the_panel_works_on_the_legacy_server_and_warns_in_its_header(browser, legacy_lab_server):
    # JupyterLab's default window size
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    page = context.new_page()
    try:
        lab = Lab(page, legacy_lab_server, workspace="legacy")
        lab.open()
        panel = lab.open_panel(width=700)
        warning = panel.locator(".jp-FluxHub-header").get_by_role("note")
        expect(warning).to_have_text(f"Not private. {LEGACY_WARNING}")

        done = lab.submit(command="echo hello from the legacy server", name="legacy-hello")
        lab.wait_for_result(done, "COMPLETED")
        detail = lab.open_job(done)
        expect(detail.get_by_label("Job output")).to_have_text("hello from the legacy server\n")

        running = lab.submit(command="sleep 600", name="legacy-sleep")
        expect(lab.cell(running, "state")).to_have_text("RUN")
        detail = lab.open_job(running)
        expect(detail.get_by_role("status")).to_have_text(
            "(shown when the job ends: this server cannot stream it)"
        )
        lab.screenshot("legacy-panel")
        detail.get_by_role("button", name="Cancel job").click()
        page.locator(".jp-Dialog").get_by_role("button", name="Cancel job").click()
        expect(detail.get_by_label("Status CANCELED")).to_be_visible()
        lab.wait_for_result(running, "CANCELED")
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "FAILED-legacy-panel.png"))
        raise
    finally:
        context.close()
