"""A real JupyterLab server with flux-hub, and Debian's chromium to drive it."""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from jupyterhub.utils import random_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Browser-side waits: a job on the local cluster finishes in well under this.
TIMEOUT_MS = 60_000


def check_browser_setup():
    """What is missing for the browser tests, as sentences; empty when all is there."""
    problems = []
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does).")
    labext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "flux-hub"
    if not (labext / "package.json").exists():
        problems.append(
            f"the flux-hub JupyterLab extension is not installed in {labext}: "
            "pip install -e . builds and installs it."
        )
    return problems


class LabServer:
    """`jupyter lab` as a subprocess, logged in to the cluster as one user, with its own home.

    The Jupyter token and the Flux password reach the server through its environment, never
    its argv; the saved log has the token taken out.
    """

    def __init__(self, base, cluster, user, *, refresh_interval=2, extra_args=()):
        self.base = Path(base)
        self.cluster = cluster
        self.user = user
        self.token = secrets.token_hex(16)
        self.port = random_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = self.base / "work"
        self.home = self.base / "home"
        self.refresh_interval = refresh_interval
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = self.base / "jupyter.log"

    def start(self, timeout=90):
        for folder in (self.root, self.home):
            folder.mkdir(parents=True, exist_ok=True)
        # Settings a person could set in the Settings Editor: a quicker refresh, and no
        # question about Jupyter news covering the corner where notifications appear.
        for plugin, values in (
            ("flux-hub/plugin", {"refreshInterval": self.refresh_interval}),
            ("@jupyterlab/apputils-extension/notification", {"fetchNews": "false"}),
        ):
            path = self.base / "lab-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "HOME": str(self.home),
            "JUPYTER_TOKEN": self.token,
            "JUPYTER_CONFIG_DIR": str(self.base / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.base / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
            "FLUX_RESTFUL_HOST": self.cluster.url,
            "FLUX_USER": self.user,
            "FLUX_TOKEN": self.cluster.passwords[self.user],
            "FLUX_SECRET_KEY": self.cluster.secret_key,
        }
        args = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            *self.extra_args,
        ]
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed by the process lifetime
        self.proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited at start:\n{self.log_text()}")
            try:
                response = requests.get(
                    f"{self.url}/api/status",
                    headers={"Authorization": f"token {self.token}"},
                    timeout=5,
                )
                if response.status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer in {timeout}s:\n{self.log_text()}")
            time.sleep(0.3)

    def log_text(self):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text.replace(self.token, "<token>")

    def save_log(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}-jupyter.log").write_text(self.log_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def lab_url(self, workspace):
        """A fresh workspace of its own for each test, so layouts never leak between tests."""
        return f"{self.url}/lab/workspaces/{workspace}?reset&token={self.token}"


def open_sidebar_tab(page, tab, timeout=60.0):
    """Select a sidebar tab (a Locator) and see it stay selected.

    JupyterLab restores the person's saved layout after the tabs show: a tab may open by itself
    a moment later, and a click made meanwhile would then close it again. So: click when it is
    not selected, and return only once it has stayed selected for half a second.
    """
    deadline = time.monotonic() + timeout
    while True:
        if tab.get_attribute("aria-selected") != "true":
            tab.click()
        page.wait_for_timeout(500)
        if tab.get_attribute("aria-selected") == "true":
            return
        assert time.monotonic() < deadline, "the sidebar tab did not stay selected"


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
