"""The panel on a server whose files the cluster cannot see (FLUX_HUB_PATHS="": Kubernetes with
no shared volume), as a person meets it in JupyterLab.

The submit form opens with no working directory and says under the field where the job starts,
so a job goes through as it is (before, the file browser's folder was filled in and every submit
was refused until the person cleared it). "Submit as Flux Job…" on a script says in one line why
it cannot run and where the documentation is, instead of a form that can never be accepted.
"""

import os

import pytest
from lab_panel import Lab
from lab_support import LabServer
from playwright.sync_api import expect

HINT = "The cluster cannot see your files here; the job starts in your folder on the cluster."


@pytest.fixture(scope="module")
def unshared_server(browser_setup, lab_cluster, tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("lab-unshared"), lab_cluster, "alice")
    old = os.environ.get("FLUX_HUB_PATHS")
    os.environ["FLUX_HUB_PATHS"] = ""  # as the hub hands it to the server: nothing shared
    try:
        server.start()
    finally:
        if old is None:
            del os.environ["FLUX_HUB_PATHS"]
        else:
            os.environ["FLUX_HUB_PATHS"] = old
    (server.root / "analysis").mkdir()
    (server.root / "analysis" / "run.py").write_text("print('hi')\n")
    yield server
    server.stop()
    server.save_log("files-not-shared")


@pytest.fixture
def lab(request, browser, unshared_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    lab = Lab(page, unshared_server, workspace=request.node.name)
    lab.open()
    yield lab
    context.close()


def test_the_form_starts_with_no_working_directory_and_says_where_the_job_starts(lab):
    lab.show_files()
    lab.file_item("analysis").dblclick()  # the file browser's folder: not the cluster's
    expect(lab.page.locator(".jp-BreadCrumbs")).to_contain_text("analysis")
    form = lab.open_submit_form()
    workdir = form.get_by_label("Working directory", exact=True)
    expect(workdir).to_have_value("")
    # the hint under the working directory (the time limit has one of its own)
    expect(form.locator("#jp-FluxHub-submit-workdir-hint")).to_have_text(HINT)
    lab.screenshot("form-files-not-shared", form)

    lab.fill_form(command="pwd")
    lab.press_submit()
    job_id = lab.submitted_job_id()  # accepted as it was opened: nothing to clear
    lab.open_panel()
    lab.wait_for_result(job_id, "COMPLETED")

    # A folder typed anyway is refused at the field in the server's words, before sending
    lab.open_submit_form()
    lab.fill_form(command="pwd", workdir=str(lab.server.root / "analysis"))
    lab.form.get_by_role("button", name="Submit").click()
    expect(lab.form.locator(".jp-FluxHub-fieldError")).to_have_text(
        "The Flux cluster cannot see your files: no shared storage is configured "
        "(see examples/kubernetes/README.md, 'Your files on the cluster')."
    )
    expect(workdir).to_be_focused()


def test_submit_as_flux_job_on_a_script_says_why_it_cannot_run(lab):
    lab.show_files()
    lab.file_item("analysis").dblclick()
    lab.file_item("run.py").click(button="right")
    lab.page.locator(".lm-Menu-item", has_text="Submit as Flux Job…").click()
    toast = lab.page.locator(".Toastify__toast", has_text="cannot run as Flux jobs")
    # All of it shown (JupyterLab cuts a notification's text at 140 characters)
    expect(toast).to_have_text(
        "Scripts cannot run as Flux jobs here: the cluster cannot see your files "
        "(no shared storage; flux-hub docs: 'Your files on the cluster')."
    )
    expect(lab.form).to_have_count(0)
    lab.page.wait_for_timeout(1500)
    expect(toast).to_be_visible()  # it stays until the person closes it
    lab.screenshot("submit-file-not-shared", lab.page)
