"""The Flux panel reached the way a person reaches it: log in to JupyterHub, then use it.

A real `jupyterhub` with the top-level jupyterhub_config.py (local MiniCluster, MiniCluster-
credentials login, single-user servers with flux-hub), and chromium at /hub/login.
"""

import pytest
from e2e.hubprocess import find_secrets
from lab_panel import lab_through_the_hub, log_in
from lab_support import ARTIFACTS
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(600)


def test_log_in_to_the_hub_then_submit_and_read_output(hub, browser):
    with lab_through_the_hub(hub, browser, "alice", "hub-login") as lab:
        lab.open_panel(width=760)
        job_id = lab.submit(command="echo logged in through the hub", name="via-hub")
        lab.wait_for_result(job_id, "COMPLETED")
        detail = lab.open_job(job_id)
        expect(detail.get_by_label("Job output")).to_have_text("logged in through the hub\n")
        lab.screenshot("hub-login-panel")
        # The hub's published template is in alice's form and fills it
        use_the_published_template(lab)
    # The password typed in the browser went nowhere it should not.
    assert not find_secrets(hub.logs(), [hub.announced_passwords()["alice"]])

    # bob, another person on the same hub, finds the same template in his form.
    with lab_through_the_hub(hub, browser, "bob", "hub-template-bob") as lab:
        use_the_published_template(lab)
        lab.screenshot("hub-published-template", lab.form)


# The template the one-machine hub publishes (jupyterhub_config.py's job_templates)
TEMPLATE = "Hello from every node"


def use_the_published_template(lab):
    """Pick the hub's template in the submit form: it fills the fields, and it is the group's
    (it cannot be deleted from here)."""
    form = lab.open_submit_form()
    select = form.locator(".jp-FluxHub-templateSelect")
    select.select_option(label=f"{TEMPLATE} (group)")
    expect(form.get_by_label("Command", exact=True)).to_have_value("hostname")
    expect(form.get_by_label("Nodes", exact=True)).to_have_value("2")
    expect(form.get_by_label("Tasks", exact=True)).to_have_value("2")
    expect(form.get_by_label("Time limit", exact=True)).to_have_value("1m")
    expect(form.get_by_role("button", name="Delete template")).to_be_disabled()


def test_the_accounts_pages_look_like_the_hubs_in_light_and_dark(hub, browser):
    """The flux-accounts service's pages wear the hub's own page: its navigation bar, CSS and
    dark theme, at JupyterLab's default window size."""
    password = hub.announced_passwords()["alice"]
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    page = context.new_page()
    try:
        log_in(page, hub, "alice", password, then="/services/flux-accounts/")
        page.wait_for_url("**/services/flux-accounts/", timeout=60_000)
        expect(page.get_by_role("heading", name="Your Flux account")).to_be_visible()
        # the hub's own navigation bar, with the way back to the hub and the admin page
        expect(page.locator("#jupyterhub-logo")).to_be_visible()
        expect(page.locator("nav.navbar").get_by_role("link", name="Home")).to_be_visible()
        expect(page.locator("nav.navbar").get_by_role("link", name="Admin")).to_be_visible()
        expect(page.locator("#login_widget")).to_contain_text("alice")
        expect(page.locator("td.state-active")).to_have_text("active")
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.screenshot(path=str(ARTIFACTS / "accounts-me-light.png"), full_page=True)

        page.locator("#dark-theme-toggle").click()
        expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert dark != light
        page.screenshot(path=str(ARTIFACTS / "accounts-me-dark.png"), full_page=True)

        page.get_by_role("link", name="All accounts").click()
        expect(page.get_by_role("heading", name="Flux accounts")).to_be_visible()
        for name in ("alice", "bob", "carol"):
            expect(page.locator("tbody tr", has_text=name).first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "accounts-admin-dark.png"), full_page=True)
        page.get_by_role("button", name="Reconcile now").click()
        expect(page.locator(".alert.message")).to_contain_text("Reconciled:")
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "FAILED-accounts-pages.png"))
        (ARTIFACTS / "FAILED-accounts-pages-hub.log").write_text(hub.tail(200))
        raise
    finally:
        context.close()
