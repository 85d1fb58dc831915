"""Fixtures of the browser tests: a cluster, a JupyterLab server logged in to it, chromium.

These tests need Debian's chromium and the built extension. When either is missing they fail
with what to install; they never skip.
"""

import shutil

import pytest
from e2e.hubprocess import TOP_CONFIG, HubProcess
from lab_panel import Lab
from lab_support import ARTIFACTS, LabServer, check_browser_setup, launch_browser
from playwright.sync_api import sync_playwright

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient

SCRIPT = """#!/bin/sh
echo "script says hi from $(pwd)"
"""


@pytest.fixture(scope="package")
def browser_setup():
    problems = check_browser_setup()
    if problems:
        pytest.fail("Browser tests cannot run: " + " ".join(problems), pytrace=False)


# How long the panel tests' Flux instance has already been up when it starts. Past 2**29 ms
# (6.2 days) every job id is above 2**53, which a JavaScript number cannot hold exactly: the
# panel must carry them exactly, as on a real long-running system.
UPTIME_SECONDS = 30 * 86400


@pytest.fixture(scope="package")
def lab_cluster(tmp_path_factory):
    """The panel tests' own cluster, up for 30 days: one of the tests stops and restarts it."""
    cluster = LocalCluster(
        tmp_path_factory.mktemp("panel-cluster"),
        users=("alice",),
        nodes=2,
        cores_per_node=4,
        server_env={"FLUX_SIM_UPTIME": str(UPTIME_SECONDS)},
    ).start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture
def flux_client(lab_cluster):
    """flux-restful's own answers, as alice: what the panel did, seen from the cluster."""
    client = FluxRestfulClient(
        host=lab_cluster.url,
        user="alice",
        token=lab_cluster.passwords["alice"],
        secret_key=lab_cluster.secret_key,
    )
    yield client
    client.close()


@pytest.fixture(scope="package")
def lab_server(browser_setup, lab_cluster, tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("lab"), lab_cluster, "alice")
    server.start()
    (server.root / "scripts").mkdir()
    (server.root / "scripts" / "hello.sh").write_text(SCRIPT)
    yield server
    server.stop()
    server.save_log("session")


@pytest.fixture
def hub(tmp_path):
    """A real `jupyterhub` with the top-level jupyterhub_config.py: the one-machine hub."""
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    hub = HubProcess(TOP_CONFIG, tmp_path / "hub")
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="package")
def browser(browser_setup):
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def lab(request, browser, lab_server):
    """JupyterLab in a fresh workspace; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    name = request.node.name
    lab = Lab(page, lab_server, workspace=name.replace("[", "-").replace("]", ""))
    lab.open()
    yield lab
    if getattr(request.node, "failed_call", True):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"))
        lab_server.save_log(name)
    context.close()
