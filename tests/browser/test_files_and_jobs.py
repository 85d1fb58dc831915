"""A person's files and their jobs meet, as a person works: a notebook writes data.csv and
analysis/run.py, "Submit as Flux Job…" on run.py runs it in its folder on the cluster, and the
result.txt it writes comes back to the file browser and the notebook.

On the one-machine hub (the top-level jupyterhub_config.py, logged in through /hub/login): the
lab and the cluster share one filesystem, so a lab path is its own cluster path (no
FLUX_HUB_PATHS: the identity mapping). Each run works in a folder of its own in alice's home,
with numbers of its own, so nothing a run before left there can pass for this run's result.
"""

import json
import re
import secrets
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from lab_panel import Lab, log_in, notebook_model
from lab_support import ARTIFACTS
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(600)

# The script the notebook writes: it reads the data one folder up, so it only works when the
# job runs in analysis/, and writes its result next to itself.
RUN_PY = """import csv
import os

with open("../data.csv") as data:
    values = [int(row["value"]) for row in csv.DictReader(data)]
with open("result.txt", "w") as out:
    out.write(f"sum={sum(values)} rows={len(values)}\\n")
print("wrote result.txt in", os.getcwd())
"""


def notebook(values):
    """The person's notebook: a cell that writes the files, and one that reads the result."""
    write = (
        "from pathlib import Path\n"
        f"Path('data.csv').write_text('value\\n' + ''.join(f'{{v}}\\n' for v in {values!r}))\n"
        "Path('analysis').mkdir(exist_ok=True)\n"
        f"Path('analysis/run.py').write_text({RUN_PY!r})\n"
        "print('wrote data.csv and analysis/run.py')"
    )
    read = "print(Path('analysis/result.txt').read_text())"
    return {
        "type": "notebook",
        "format": "json",
        "content": notebook_model([("write", write), ("read", read)]),
    }


def put_contents(page, base_url, path, model):
    """Save through the lab's contents API, with the lab's own cookie and XSRF token."""
    status = page.evaluate(
        """async ([url, model]) => {
            const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
            const response = await fetch(url, {
                method: 'PUT',
                headers: {
                    'Content-Type': 'application/json',
                    'X-XSRFToken': xsrf ? xsrf.slice('_xsrf='.length) : ''
                },
                body: JSON.stringify(model)
            });
            return response.status;
        }""",
        [f"{base_url}api/contents/{path}", model],
    )
    assert status in (200, 201), f"saving {path}: {status}"


def test_a_notebooks_script_runs_in_its_folder_and_its_result_comes_back(hub, browser):
    password = hub.announced_passwords()["alice"]
    project = f"project-{secrets.token_hex(3)}"
    values = [secrets.randbelow(1000) for _ in range(5)]
    expected = f"sum={sum(values)} rows={len(values)}"
    # JupyterLab's default window and sidebar sizes
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    root = None
    try:
        log_in(page, hub, "alice", password)
        page.wait_for_url("**/user/alice/lab**", timeout=180_000)
        # A fresh workspace: JupyterLab's default layout, whatever alice's earlier sessions left
        page.goto(f"{hub.url}/user/alice/lab/workspaces/{project}?reset")
        lab = Lab(page, SimpleNamespace(user="alice"), workspace=project)
        lab.wait_until_ready()
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        base_url, root = config["baseUrl"], config["serverRoot"].rstrip("/")
        folder = f"{root}/{project}/analysis"  # as the lab sees it, and (one machine) the cluster

        # The person's notebook, in a project folder; running its first cell writes the files.
        put_contents(page, base_url, project, {"type": "directory"})
        put_contents(page, base_url, f"{project}/work.ipynb", notebook(values))
        lab.show_files()
        lab.open_in_file_browser(project)
        lab.open_in_file_browser("work.ipynb")
        nb = page.locator(".jp-NotebookPanel", has_text="analysis/result.txt")
        expect(nb).to_be_visible()
        # Its kernel up (a cell run before it is asks which kernel to start)
        expect(page.get_by_role("button", name="Python 3 (ipykernel) | Idle")).to_be_visible()
        expect(lab.run_cell(nb, 0)).to_have_text("wrote data.csv and analysis/run.py\n")

        # Right-click run.py in the file browser: "Submit as Flux Job…", and submit.
        lab.open_in_file_browser("analysis")
        lab.context_menu(lab.file_item("run.py"), "Submit as Flux Job…")
        expect(lab.form.get_by_label("Command", exact=True)).to_have_value("python3 run.py")
        expect(lab.form.get_by_label("Working directory", exact=True)).to_have_value(folder)
        lab.press_submit()
        job_id = lab.submitted_job_id()
        expect(lab.form).to_have_count(0)

        lab.open_panel()
        lab.wait_for_result(job_id, "COMPLETED")
        detail = lab.open_job(job_id)
        # It ran in the script's folder: it found ../data.csv, and says where it was
        expect(detail.get_by_label("Job output")).to_have_text(f"wrote result.txt in {folder}\n")
        # The detail shows the working directory as the lab's path, a link to the folder
        workdir = detail.get_by_role("table", name="Job summary").locator(
            "tr", has=page.locator("th", has_text="Working directory")
        )
        expect(workdir.locator("td")).to_have_text(folder)
        link = workdir.get_by_role("link", name=folder)
        expect(link).to_have_attribute("href", re.compile(f"/lab/tree/{project}/analysis$"))
        expect(link).to_have_css("text-decoration-line", "underline")  # it looks like a link

        # The file browser elsewhere; the link takes it to the folder, result.txt in it.
        lab.show_files()
        lab.go_home_in_file_browser()
        expect(lab.file_item(project)).to_be_visible()
        link.click()
        expect(lab.file_browser).to_be_visible()
        expect(lab.file_browser.locator(".jp-BreadCrumbs")).to_contain_text("analysis")
        expect(lab.file_item("result.txt")).to_be_visible()
        expect(lab.file_item("run.py")).to_be_visible()
        expect(detail).to_be_visible()
        lab.clear_notifications()
        lab.screenshot("files-and-jobs-result")

        # The notebook reads what the job wrote.
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="work.ipynb").click()
        expect(lab.run_cell(nb, 1)).to_have_text(f"{expected}\n\n")
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "FAILED-files-and-jobs.png"))
        (ARTIFACTS / "FAILED-files-and-jobs-hub.log").write_text(hub.tail(200))
        raise
    finally:
        context.close()
        # alice's home is a real one, other tests' too: take this run's folder and workspace away
        if root:
            shutil.rmtree(Path(root) / project, ignore_errors=True)
            for saved in (Path(root) / ".jupyter/lab/workspaces").glob(f"{project}-*"):
                saved.unlink()
