"""What a person does with the Flux panel in JupyterLab, as Playwright steps."""

import re
import time
from contextlib import contextmanager
from types import SimpleNamespace

import requests
from lab_support import ARTIFACTS, TIMEOUT_MS, open_sidebar_tab
from playwright.sync_api import expect

from flux_hub.jobid import f58
from flux_hub.jobid import parse as parse_job_id

# The panel names jobs as `flux jobs` does: F58, "ƒ" and base58 digits.
SUBMITTED = re.compile(r"Submitted Flux job (\u0192[1-9A-HJ-NP-Za-km-z]+)\.")


def log_in(page, hub, name, password, then=None):
    """The hub's login form, filled in and sent as a person does."""
    page.goto(f"{hub.url}/hub/login" + (f"?next={then}" if then else ""))
    page.locator("#username_input").fill(name)
    page.locator("#password_input").fill(password)
    page.locator("#login_submit").click()


@contextmanager
def lab_through_the_hub(hub, browser, name, failure):
    """JupyterLab reached as a person reaches it: the hub's login form with ``name``'s announced
    password, the hub spawning their server, a page at JupyterLab's default window size. On a
    failure the page's screenshot and the hub's log are kept as FAILED-``failure``."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        log_in(page, hub, name, hub.announced_passwords()[name])
        page.wait_for_url(f"**/user/{name}/lab**", timeout=180_000)
        # The hub's login cookie stands in for a token; the panel only needs the account name.
        lab = Lab(page, SimpleNamespace(user=name), workspace=None)
        lab.wait_until_ready()
        yield lab
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{failure}.png"))
        (ARTIFACTS / f"FAILED-{failure}-hub.log").write_text(hub.tail(200))
        raise
    finally:
        context.close()


def notebook_model(cells):
    """A Python notebook (the contents API's JSON) of code cells, each (cell id, source)."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            {
                "cell_type": "code",
                "id": cell_id,
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for cell_id, source in cells
        ],
    }


class Lab:
    def __init__(self, page, server, workspace):
        self.page = page
        self.server = server
        self.workspace = workspace
        self.panel = page.locator("#flux-hub-jobs")
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)

    def open(self):
        self.page.goto(self.server.lab_url(self.workspace))
        self.wait_until_ready()

    def reload(self):
        """Load the page again once JupyterLab has saved the layout, as a browser reload does."""
        self.wait_for_saved_layout()
        self.page.goto(f"{self.server.url}/lab/workspaces/{self.workspace}")
        self.wait_until_ready()

    def wait_for_saved_layout(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            response = requests.get(
                f"{self.server.url}/lab/api/workspaces/{self.workspace}",
                headers={"Authorization": f"token {self.server.token}"},
                timeout=10,
            )
            left = response.json()["data"].get("layout-restorer:data", {}).get("left", {})
            if left.get("current") == "flux-hub-jobs":
                return
            assert time.monotonic() < deadline, f"the layout was not saved: {left}"
            time.sleep(0.3)

    def show_sidebar(self, widget_id):
        tab = self.page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{widget_id}"]')
        open_sidebar_tab(self.page, tab)

    def wait_until_ready(self):
        expect(self.page.locator("#jp-main-dock-panel")).to_be_visible()
        expect(self.flux_tab).to_be_visible()

    @property
    def flux_tab(self):
        return self.page.locator('.jp-SideBar .lm-TabBar-tab[data-id="flux-hub-jobs"]')

    def open_panel(self, width=None):
        self.show_sidebar("flux-hub-jobs")
        expect(self.panel).to_be_visible()
        expect(self.panel.locator(".jp-FluxHub-account")).to_have_text(self.server.user)
        if width:
            self.widen_sidebar(width)
        return self.panel

    def widen_sidebar(self, width):
        """Drag the handle between the sidebar and the main area, as a person would."""
        handle = self.page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
        box = handle.bounding_box()
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.down()
        self.page.mouse.move(width, box["y"] + box["height"] / 2, steps=5)
        self.page.mouse.up()

    def screenshot(self, name, locator=None):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path

    # -- submitting -------------------------------------------------------------------------

    @property
    def form(self):
        return self.page.get_by_role("form", name="Submit a Flux job")

    def open_submit_form(self, clear=True):
        """The toolbar's submit form; ``clear``: emptied of the last job's values it starts
        with (each test fills in what it needs)."""
        self.open_panel()
        self.panel.get_by_role("button", name="Submit a job to the Flux cluster").click()
        expect(self.form).to_be_visible()
        if clear:
            self.form.get_by_role("button", name="Clear").click()
            expect(self.form.get_by_label("Command", exact=True)).to_have_value("")
        return self.form

    def fill_form(self, **fields):
        labels = {
            "command": "Command",
            "name": "Name (optional)",
            "nodes": "Nodes",
            "tasks": "Tasks",
            "cores": "Cores per task",
            "gpus": "GPUs per task",
            "time_limit": "Time limit",
            "workdir": "Working directory",
            "environment": "Environment (one NAME=value per line)",
        }
        for key, value in fields.items():
            self.form.get_by_label(labels[key], exact=True).fill(str(value))

    def press_submit(self):
        self._announced = self._submitted_ids()
        self.form.get_by_role("button", name="Submit").click()

    def _submitted_ids(self):
        toasts = self.page.locator(".Toastify__toast", has_text=SUBMITTED).all_inner_texts()
        return {parse_job_id(m.group(1)) for text in toasts for m in SUBMITTED.finditer(text)}

    def submitted_job_id(self, timeout=TIMEOUT_MS / 1000):
        """The id (an int) in the new "Submitted Flux job ƒ…." notification, read as Flux does."""
        deadline = time.monotonic() + timeout
        while True:
            new = self._submitted_ids() - self._announced
            if new:
                (job_id,) = new
                return job_id
            assert time.monotonic() < deadline, "no notification of the submitted job"
            time.sleep(0.1)

    def submit(self, **fields):
        self.open_submit_form()
        self.fill_form(**fields)
        self.press_submit()
        job_id = self.submitted_job_id()
        expect(self.form).to_have_count(0)
        return job_id

    def press_refresh(self):
        """The panel toolbar's Refresh button (it also finds jobs submitted outside flux-hub)."""
        self.panel.locator('[data-command="flux-hub:refresh"]').click()

    # -- the table and the detail -----------------------------------------------------------

    def row(self, job_id):
        """A job's row; rows carry the exact decimal id."""
        return self.panel.locator(f'tr[data-job-id="{job_id}"]')

    def expect_f58_id(self, job_id):
        """The row shows the id as `flux jobs` does, with the exact decimal as its tooltip."""
        cell = self.cell(job_id, "id")
        expect(cell).to_have_text(f58(job_id))
        expect(cell).to_have_attribute("title", str(job_id))

    def cell(self, job_id, column):
        """The job's cell of a column. State and result are one Status column where the panel
        is too narrow for both, so they fall back to it: it shows the state while the job is
        active (RUN), its result once it has ended (COMPLETED)."""
        if column in ("state", "result"):
            return self.row(job_id).locator(f".jp-FluxHub-col-{column}, .jp-FluxHub-col-status")
        return self.row(job_id).locator(f".jp-FluxHub-col-{column}")

    def wait_for_result(self, job_id, result):
        expect(self.cell(job_id, "result")).to_have_text(result)

    def detail(self, job_id):
        return self.page.locator(f"#flux-hub-job-{job_id}")

    def open_job(self, job_id):
        self.row(job_id).click()
        detail = self.detail(job_id)
        expect(detail).to_be_visible()
        return detail

    # -- the file browser and notebooks --------------------------------------------------------

    @property
    def file_browser(self):
        return self.page.locator("#filebrowser")

    def show_files(self):
        self.show_sidebar("filebrowser")
        expect(self.file_browser).to_be_visible()
        return self.file_browser

    def file_item(self, name):
        """An entry of the folder the file browser shows, by its exact name."""
        return self.file_browser.locator(
            ".jp-DirListing-item",
            has=self.page.locator(
                ".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")
            ),
        )

    def open_in_file_browser(self, name):
        """Double-click an entry (a folder opens in the file browser, a file in the main area)."""
        self.file_item(name).dblclick()

    def go_home_in_file_browser(self):
        self.file_browser.locator(".jp-BreadCrumbs-home").click()

    def context_menu(self, item, label):
        item.click(button="right")
        self.page.locator(".lm-Menu-item", has_text=label).click()

    def run_cell(self, notebook, index):
        """Run one cell of a notebook as a person does: click into it, Shift+Enter."""
        notebook.locator(".jp-Cell").nth(index).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        return notebook.locator(".jp-Cell").nth(index).locator(".jp-OutputArea-output")

    def clear_notifications(self):
        """Let the notifications in the corner close by themselves (those of jobs do, in
        seconds), and answer No to JupyterLab's question about its news, which stays."""
        toasts = self.page.locator(".Toastify__toast")
        news = toasts.filter(has_text="Jupyter news")
        expect(toasts.filter(has_not_text="Jupyter news")).to_have_count(0)
        if news.count():
            news.get_by_role("button", name="No", exact=True).click()
        expect(toasts).to_have_count(0)
