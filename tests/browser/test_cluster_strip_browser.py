"""The cluster as everyone sees it (issue 27), through the hub: the strip's counts and why a job
waits.

A real `jupyterhub` with the top-level jupyterhub_config.py (the local MiniCluster: 2 nodes of 4
cores, the accounts service's reader), alice logged in through the hub's form. She fills the
cluster with one job and sends another behind it: the strip says no core is free, one job runs
and one waits; the waiting job says why, its place in the queue, and when the scheduler thinks
it starts (sched-simple gives an estimate to the first jobs of the queue when the jobs ahead
have time limits; the simulated instance gives it the same way). On real Flux the strip's
counts are those of ``flux resource list`` and ``flux jobs -A`` run on the instance itself.
"""

import os
import re
import subprocess

import psutil
import pytest
from lab_panel import lab_through_the_hub
from lab_support import ARTIFACTS
from lanes import REAL_FLUX
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(600)


def instance_uri(hub):
    """The FLUX_URI of the hub's local cluster: that of its guard (flux-restful), which runs in
    the cluster's folder under the hub's state directory."""
    for process in psutil.process_iter(["cmdline"]):
        if "flux_hub.guard" not in " ".join(process.info["cmdline"] or []):
            continue
        try:
            if process.cwd().startswith(str(hub.state)) and process.environ().get("FLUX_URI"):
                return process.environ()["FLUX_URI"]
        except psutil.Error:
            continue
    raise AssertionError("the hub's cluster has no guard process with a FLUX_URI")


def top_of(lab, name, area, last):
    """A picture of ``area`` down to ``last`` (and a little more): what the README shows,
    without the notifications at the window's foot."""
    outer, inner = area.bounding_box(), last.bounding_box()
    height = inner["y"] + inner["height"] + 24 - outer["y"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lab.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), clip={**outer, "height": height})


def flux(hub, *argv):
    env = {**os.environ, "FLUX_URI": instance_uri(hub)}
    done = subprocess.run(["flux", *argv], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_strip_counts_and_why_a_job_waits(hub, browser):
    with lab_through_the_hub(hub, browser, "alice", "cluster-strip") as lab:
        lab.open_panel()
        strip = lab.panel.get_by_role("group", name="The cluster now")
        cores = strip.locator(".jp-FluxHub-stat-cores")
        # The reader's numbers: an idle cluster of 2 nodes of 4 cores
        expect(cores).to_have_text("Cores 8 free / 8")
        expect(strip.locator(".jp-FluxHub-stat-nodes")).to_have_text("2 nodes up")

        big = lab.submit(command="sleep 300", nodes=2, tasks=8, time_limit="5m", name="all of it")
        expect(lab.cell(big, "state")).to_have_text("RUN")
        small = lab.submit(command="hostname", tasks=1, time_limit="1m", name="behind it")
        expect(cores).to_have_text("Cores 0 free / 8")
        expect(strip.locator(".jp-FluxHub-stat-running")).to_have_text("Running 1")
        expect(strip.locator(".jp-FluxHub-stat-waiting")).to_have_text("Waiting 1")
        top_of(lab, "cluster-strip", lab.panel, lab.row(big))

        # The waiting job says why, where it is in the queue, and when it should start
        row = lab.row(small)
        expect(row).to_have_attribute(
            "title", re.compile(r"^Why it waits: Waiting for resources: it asks for 1 core, 0 free")
        )
        expect(row).to_contain_text("#1")  # first in the queue
        expect(row).to_have_attribute("title", re.compile(r"Should start: about "))
        detail = lab.open_job(small)
        waits = detail.get_by_role("status", name="Why it waits")
        expect(waits).to_contain_text("Why it waits: Waiting for resources: it asks for 1 core")
        expect(waits).to_contain_text("Position: 1")
        expect(waits.locator(".jp-FluxHub-waitingStart")).to_contain_text("Should start:")
        top_of(lab, "job-waiting", detail, waits)

        if REAL_FLUX:
            # The strip's counts are the instance's own
            free = flux(hub, "resource", "list", "-s", "free", "-no", "{ncores}").split()
            total = flux(hub, "resource", "list", "-s", "all", "-no", "{ncores}").split()
            assert (sum(map(int, free or ["0"])), sum(map(int, total))) == (0, 8)
            running = flux(hub, "jobs", "-A", "-f", "running", "-no", "{id}").split()
            pending = flux(hub, "jobs", "-A", "-f", "pending", "-no", "{id}").split()
            assert (len(running), len(pending)) == (1, 1)

        # Cancelling the big job lets the other run: the strip follows
        detail = lab.open_job(big)
        detail.get_by_role("button", name="Cancel job").click()
        lab.page.locator(".jp-Dialog").get_by_role("button", name="Cancel job").click()
        expect(strip.locator(".jp-FluxHub-stat-waiting")).to_have_text("Waiting 0", timeout=60_000)
        lab.wait_for_result(small, "COMPLETED")
        expect(cores).to_have_text("Cores 8 free / 8", timeout=60_000)
