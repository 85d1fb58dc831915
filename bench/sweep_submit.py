"""A 1,000-job sweep through the person's server against 1,000 plain submits in a loop (issue 28.1).

On each lane (real Flux when this machine has flux-core, and the simulated instance with real
Flux's costs, FLUX_SIM_COSTS=flux-0.88), one user's Jupyter server with the flux-hub extension
(its sweeps' routes: flux_hub/serverextension/sweeps.py) runs against a MiniCluster, and three
ways of submitting --jobs jobs of ``true`` are timed:

- loop:   POST flux-hub/api/jobs --jobs times, one after another (what the panel's form, or a
          script, would do for each job; each is named and recorded in the history);
- direct: the same loop straight to flux-restful (the least a submit costs, for reference);
- sweep:  one POST flux-hub/api/sweeps with --jobs inputs, then its progress read every 0.1 s
          until done: the time until the last job has its id;
- the same sweep again with the panel's refresh (GET flux-hub/api/jobs?since=...) timed every
          0.5 s as well: the table stays responsive while the sweep lands. Its refreshes look
          up each waiting job at flux-restful, which slows the submits down: shown apart. Its
          server reads the complete listing every LISTING_EVERY seconds instead of 300, so that
          one falls due during the sweep (on real Flux it costs ~7.5 s for 1,000 jobs: a
          refresh that waited for it took 27.8 s in an earlier run).

Each way runs on a new MiniCluster with a new server (Flux's submits slow down as its jobs pile
up, so ways sharing one cluster pay for the ways before them). Goals: sweep <= 1.3x loop;
refresh p90 during the sweep <= 1 s; and no refresh during the sweep much longer (max).

    .venv/bin/python bench/sweep_submit.py [--lanes both|sim|flux] [--jobs 1000]
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from _lanes import client, cluster, lanes, p, wait_inactive
from jupyterhub.utils import random_port

REPO = Path(__file__).resolve().parents[1]
# Seconds between the complete listings of the panel's server during the sweep with the panel
LISTING_EVERY = 20


class Server:
    """A `jupyter server` with flux-hub (its jupyter-config file; the extension has the sweeps'
    routes), the user's credentials in its environment as the hub gives them."""

    def __init__(self, workdir, cluster_, user, *options):
        token = secrets.token_hex(16)
        port = random_port()
        conf_d = workdir / "etc" / "jupyter_server_config.d"
        conf_d.mkdir(parents=True)
        shutil.copy(REPO / "jupyter-config" / "server-config" / "flux_hub.json", conf_d)
        (workdir / "config").mkdir()
        extensions = dict.fromkeys(
            ["jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals"], False
        )
        (workdir / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": extensions}})
        )
        env = {
            **os.environ,
            "HOME": str(workdir),
            "JUPYTER_CONFIG_DIR": str(workdir / "config"),
            "JUPYTER_CONFIG_PATH": str(workdir / "etc"),
            "JUPYTER_DATA_DIR": str(workdir / "data"),
            "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
            "JUPYTER_TOKEN": token,
            "FLUX_RESTFUL_HOST": cluster_.url,
            "FLUX_USER": user,
            "FLUX_TOKEN": cluster_.passwords[user],
            "FLUX_SECRET_KEY": cluster_.secret_key,
        }
        env.pop("XDG_DATA_HOME", None)
        self._log = open(workdir / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             "--ServerApp.open_browser=False", "--allow-root", f"--ServerApp.root_dir={workdir}",
             *options],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.api = f"http://127.0.0.1:{port}/flux-hub/api/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        self.version = None
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.session.get(self.api + "cluster", timeout=10).json()["reachable"]:
                    break
            except (requests.ConnectionError, ValueError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Jupyter server did not start; see {workdir / 'server.log'}")
            time.sleep(0.3)

    def call(self, method, path, **kwargs):
        response = self.session.request(method, self.api + path, timeout=300, **kwargs)
        if response.status_code >= 400:
            sys.exit(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def refresh(self):
        params = {"since": self.version} if self.version else None
        self.version = self.call("GET", "jobs", params=params)["version"]

    def stop(self):
        self.session.close()
        self.process.terminate()
        self.process.wait(30)
        self._log.close()


def sweep(server, jobs, refresh):
    """(seconds from POST sweeps until done, its last progress, refresh seconds)."""
    server.refresh()
    refreshes = []
    start = time.perf_counter()
    answer = server.call(
        "POST",
        "sweeps",
        json={"request": {"command": ["true", "{}"]}, "inputs": [list(range(jobs))]},
    )
    while True:
        time.sleep(0.5 if refresh else 0.1)
        if refresh:
            began = time.perf_counter()
            server.refresh()
            refreshes.append(time.perf_counter() - began)
        progress = server.call("GET", f"sweeps/{answer['sweep']}")
        if progress["done"]:
            return time.perf_counter() - start, progress, refreshes


def run_lane(workdir, simulate, server_env, jobs):
    """Each way on a new MiniCluster with a new server: none pays for the jobs of the ways before
    it (Flux's submits slow down as its jobs pile up: with one cluster for all, the straight
    loop, run second, took 1.38x the loop through the server, run first, on real Flux)."""
    result = {}

    def fresh(way):
        return cluster(workdir / way / "cluster", ("alice",), simulate, server_env)

    with fresh("loop") as cl:
        direct, server = client(cl, "alice"), Server(workdir / "loop" / "server", cl, "alice")
        try:
            server.refresh()
            start = time.perf_counter()
            for i in range(jobs):
                server.call("POST", "jobs", json={"command": ["true"], "name": f"loop [{i + 1}]"})
            result["loop"] = time.perf_counter() - start
            wait_inactive(direct)
        finally:
            server.stop()
            direct.close()

    with fresh("direct") as cl:
        direct = client(cl, "alice")
        try:
            start = time.perf_counter()
            for _ in range(jobs):
                direct.submit("true")
            result["direct"] = time.perf_counter() - start
            wait_inactive(direct)
        finally:
            direct.close()

    # The sweep alone (its progress read, as a page showing the bar), then on another cluster
    # with the panel's table refreshing too: the table's lookups of the waiting jobs load
    # flux-restful, so only the first is compared with the loops.
    with fresh("sweep") as cl:
        direct, server = client(cl, "alice"), Server(workdir / "sweep" / "server", cl, "alice")
        try:
            result["sweep"], progress, _ = sweep(server, jobs, refresh=False)
            result["sweep_submitted"] = progress["submitted"]
            result["sweep_failed"] = progress["failed"]
            wait_inactive(direct)
        finally:
            server.stop()
            direct.close()

    # The panel's server reads the complete listing every LISTING_EVERY s instead of 300 s, so
    # that it falls due during the sweep (it did once in a run before, a refresh of 27.8 s)
    with fresh("panel") as cl:
        direct = client(cl, "alice")
        server = Server(
            workdir / "panel" / "server",
            cl,
            "alice",
            f"--FluxHub.full_listing_interval={LISTING_EVERY}",
        )
        try:
            result["sweep_with_panel"], progress, refreshes = sweep(server, jobs, refresh=True)
            result["refresh_p90"] = p(refreshes, 0.9)
            result["refresh_max"] = max(refreshes)
            result["refreshes"] = len(refreshes)
            wait_inactive(direct)
        finally:
            server.stop()
            direct.close()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", choices=("both", "sim", "flux"), default="both")
    parser.add_argument("--jobs", type=int, default=1000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="flux-hub-bench-") as tmp:
        for label, simulate, server_env in lanes(args.lanes):
            print(f"{label}: {args.jobs} jobs each way ...", flush=True)
            tag = "sim" if simulate else "real"
            results[tag] = (label, run_lane(Path(tmp) / tag, simulate, server_env, args.jobs))
    print()
    print(f"{'':44}" + "".join(f"{tag:>12}" for tag in results))
    rows = [
        ("loop of POST jobs (s)", "loop"),
        ("loop straight to flux-restful (s)", "direct"),
        ("sweep: POST sweeps until done (s)", "sweep"),
        ("sweep: jobs submitted", "sweep_submitted"),
        ("sweep: jobs failed", "sweep_failed"),
        ("sweep with the panel refreshing (s)", "sweep_with_panel"),
        ("panel refresh during the sweep p90 (s)", "refresh_p90"),
        ("panel refresh during the sweep max (s)", "refresh_max"),
        ("panel refreshes timed", "refreshes"),
    ]
    for title, key in rows:
        cells = "".join(f"{r[key]:>12.3f}" if isinstance(r[key], float) else f"{r[key]:>12}"
                        for _label, r in results.values())  # fmt: skip
        print(f"{title:44}{cells}")
    print()
    for tag, (label, r) in results.items():
        ratio = r["sweep"] / r["loop"]
        print(f"{label}: sweep / loop {ratio:.3f}, sweep / direct {r['sweep'] / r['direct']:.3f}")
        print(f"RESULT sweep_submit.sweep_vs_loop.{tag}={ratio:.4f} goal=<=1.3 time ratio")
        print(f"RESULT sweep_submit.submitted.{tag}={r['sweep_submitted']} goal=>={args.jobs} jobs")
        print(f"RESULT sweep_submit.refresh_p90_s.{tag}={r['refresh_p90']:.4f} goal=<=1 s")


if __name__ == "__main__":
    main()
