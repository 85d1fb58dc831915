"""Helpers of the benches that compare the simulated Flux instance with real Flux.

A *lane* is one LocalCluster: real Flux (``flux`` on PATH, or the cached build
scripts/build-flux-core made) or the simulated instance with real Flux's costs
(``FLUX_SIM_COSTS=flux-0.88``). Benches run every lane this machine has, one after the other,
and print their numbers side by side.
"""

import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
from lane import use_real_flux_if_built

from flux_hub.local import LocalCluster
from flux_hub.local.cluster import find_flux
from flux_hub.restful import FluxRestfulClient

INACTIVE = 64
SIM_COSTS = {"FLUX_SIM_COSTS": "flux-0.88"}


def find_real_flux():
    """Put a flux-core that scripts/build-flux-core built on PATH if none is; True if found."""
    use_real_flux_if_built()
    return bool(find_flux())


def lanes(wanted):
    """[(label, simulate, server_env)] of the lanes asked for ("sim", "flux", "both") that this
    machine can run."""
    chosen = []
    if wanted in ("sim", "both"):
        chosen.append(("simulated Flux (FLUX_SIM_COSTS=flux-0.88)", True, SIM_COSTS))
    if wanted in ("flux", "both"):
        if find_real_flux():
            chosen.append(("real Flux", False, {}))
        else:
            print("no flux-core on this machine (scripts/build-flux-core): real Flux left out")
    return chosen


def cluster(workdir, users, simulate, server_env, cores_per_node=8, multi_user=False):
    return LocalCluster(
        workdir,
        users=users,
        cores_per_node=cores_per_node,
        simulate=simulate,
        server_env=server_env,
        multi_user=multi_user,
    )


def client(cluster_, user, timeout=600):
    return FluxRestfulClient(
        cluster_.url, user, cluster_.passwords[user], cluster_.secret_key, timeout=timeout
    )


def submit_finished(clients, count, threads=8):
    """Submit ``count`` short jobs for each client (in turn) and wait until all have ended."""
    for c in clients:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _, c=c: c.submit("true"), range(count)))
    wait_inactive(clients[0])


def wait_inactive(c, timeout=1800):
    deadline = time.monotonic() + timeout
    while any(record["state"] != INACTIVE for record in c.list_jobs()):
        if time.monotonic() > deadline:
            raise SystemExit("jobs did not finish in time")
        time.sleep(1)


def submit_running(c, count):
    running = [c.submit("sleep 3600") for _ in range(count)]
    deadline = time.monotonic() + 300
    while any(c.job(job_id)["state"] != "RUN" for job_id in running):
        if time.monotonic() > deadline:
            raise SystemExit("jobs did not start in time")
        time.sleep(0.3)
    return running


class ServerCpu:
    """CPU seconds used by the cluster's flux-restful server and Flux brokers (not the jobs)."""

    def __init__(self, cluster_):
        self.processes = []
        # multi-user real Flux: the server runs apart from `flux start` and its brokers
        for proc in (cluster_._proc, cluster_._instance):
            if proc is not None:
                root = psutil.Process(proc.pid)
                self.processes.append(root)
                self.processes += [p for p in root.children(recursive=True) if self._is_server(p)]

    @staticmethod
    def _is_server(process):
        try:
            name = process.name()
            cmdline = " ".join(process.cmdline())
        except psutil.Error:
            return False
        return name.startswith("flux-broker") or any(
            mark in cmdline
            # flux-hub's guard is flux-restful's server process on real Flux (python -m
            # flux_hub.guard under flux start): without it only the brokers were counted there
            for mark in ("flux_restful", "flux_hub.guard", "simserve", "flux-sim-cost-broker")
        )

    def seconds(self):
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total


def p(values, q):
    """The q-quantile (0-1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def median(values):
    return statistics.median(values)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
