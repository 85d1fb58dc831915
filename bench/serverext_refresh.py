"""What a refresh of the Flux panel's job list costs, side by side with flux-restful itself.

One user with --finished finished and --active running jobs on the local MiniCluster. Each round
starts a new single-user server with the flux-hub extension (an empty cache) and measures, in turn:

- direct: flux-restful's own listing of the user's jobs with details
  (GET /v1/jobs?details=true&listing=true, what the extension would otherwise have to ask for);
- first:  the extension's GET flux-hub/api/jobs on the new server (fills its cache);
- again:  the panel's next refreshes: GET flux-hub/api/jobs?since=<the last answer's version>,
          which answers with the jobs that changed and the list's order, merged as the panel
          merges them (the running jobs change at every refresh: their runtime grows);
- page:   for reference, the one request a refresh made to flux-restful before issue 12, made
          directly (its jobs with details, limited to the active ones and four more). A refresh
          now asks GET /v1/jobs/{id} of each active job instead (bench/shared_refresh.py
          measures that with several users, where the page costs far more).

Targets: again <= 10% of first, and first <= 1.10x direct (same jobs in both answers).

Two costs are shown: the wall time of each call, and the work it made flux-restful do, read from
the server's access log: job details are what costs (one to three Flux RPCs each on a real
instance), so "jobs detailed" counts every job a listing had to look up.

On the simulated Flux instance the whole run is made twice, each on a MiniCluster of its own:
first as the simulator is, then with FLUX_SIM_RPC_LATENCY making its per-job RPCs wait, so that
a detailed job costs what the contract measured on a real instance (1.75 ms; each table shows
what it cost). The simulator alone details a job some 25 times faster than real Flux, so its
complete listing costs little more than ten times the fixed work of any request (checking the
token, the job-list call over the whole instance, sending the answer): on it, even the page
alone is more than 10 % of the first call, and the wall-time ratios say more about that fixed
work than about Flux. The work ratio does not depend on it. On a real Flux instance (`flux` on
PATH) there is one run.

    .venv/bin/python bench/serverext_refresh.py [--finished 2000] [--active 10] [--rounds 7]
"""

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from jupyterhub.utils import random_port

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient

REPO = Path(__file__).resolve().parents[1]
INACTIVE = 64
# The page a refresh asked flux-restful for before issue 12 (the active jobs and four more); a
# refresh now asks GET /v1/jobs/{id} for each active job instead. Kept as the reference "page".
PAGE_MARGIN = 4
# What a details listing costs flux-restful per job on a real Flux instance (0.35 s for 200 jobs,
# in the contract), made of three RPCs per job in flux-restful 1.1.0 (job-list.list-id for the
# owner, job-info.lookup of the jobspec, job-list.list-id of all attributes).
REAL_SECONDS_PER_JOB = 0.35 / 200
RPCS_PER_JOB = 3
ACCESS = re.compile(r'"(GET|POST) (/v1/[^ ]*) HTTP')


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


class UpstreamLog:
    """The requests flux-restful logged since the last look."""

    def __init__(self, path):
        self.path = path
        self.offset = path.stat().st_size

    def since(self):
        time.sleep(0.3)  # the access log line follows the answer
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode("utf-8", "replace")
            self.offset = log.tell()
        return ACCESS.findall(text)


def jobs_detailed(requests_made, listed):
    """Job lookups these requests cost flux-restful (a listing: one per job it returned)."""
    count = 0
    for _, path in requests_made:
        if path.startswith("/v1/jobs?") and "details=true" in path:
            limit = re.search(r"limit=(\d+)", path)
            count += min(int(limit.group(1)), listed) if limit else listed
        elif re.fullmatch(r"/v1/jobs/\d+", path):
            count += 1
    return count


class SingleUserServer:
    """A `jupyter server` with the extension enabled by flux-hub's jupyter-config file and the
    user's credentials in its environment, as the hub starts it."""

    def __init__(self, workdir, cluster, user):
        token = secrets.token_hex(16)
        port = random_port()
        conf_d = workdir / "etc" / "jupyter_server_config.d"
        conf_d.mkdir(parents=True)
        shutil.copy(REPO / "jupyter-config" / "server-config" / "flux_hub.json", conf_d)
        # Only flux-hub: other server extensions' start-up work would land in the timings.
        (workdir / "config").mkdir()
        others = ["jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals"]
        (workdir / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(others, False)}})
        )
        env = {
            **os.environ,
            "HOME": str(workdir),
            "JUPYTER_CONFIG_DIR": str(workdir / "config"),
            "JUPYTER_CONFIG_PATH": str(workdir / "etc"),
            "JUPYTER_DATA_DIR": str(workdir / "data"),
            "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
            "JUPYTER_TOKEN": token,
            "FLUX_RESTFUL_HOST": cluster.url,
            "FLUX_USER": user,
            "FLUX_TOKEN": cluster.passwords[user],
            "FLUX_SECRET_KEY": cluster.secret_key,
        }
        self._log = open(workdir / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             "--ServerApp.open_browser=False", "--allow-root", f"--ServerApp.root_dir={workdir}"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.api = f"http://127.0.0.1:{port}/flux-hub/api/"
        self.version, self.records = None, {}
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        deadline = time.monotonic() + 90
        while True:  # ready once the extension answers; this also logs it in to the cluster
            try:
                if self.session.get(self.api + "cluster", timeout=10).json()["reachable"]:
                    break
            except (requests.ConnectionError, ValueError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Jupyter server did not start; see {workdir / 'server.log'}")
            time.sleep(0.3)

    def jobs(self):
        """A refresh as the panel makes it (the version of the last answer passed back), then
        merged as the panel merges it; returns the whole list."""
        params = {"since": self.version} if self.version else None
        response = self.session.get(self.api + "jobs", params=params, timeout=300)
        response.raise_for_status()
        answer = response.json()
        records = {job["id"]: job for job in answer["jobs"]}
        if not answer["complete"]:
            ids = answer.get("ids", self.records)  # no ids: the same jobs in the same order
            records = {i: records.get(i) or self.records[i] for i in ids}
        self.records, self.version = records, answer["version"]
        return list(records.values())

    def stop(self):
        self.session.close()
        self.process.terminate()
        self.process.wait(30)
        self._log.close()


def fill(client, finished, active):
    print(f"submitting {finished} short jobs ...", flush=True)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: client.submit("true"), range(finished)))
    while any(record["state"] != INACTIVE for record in client.list_jobs()):
        time.sleep(1)
    running = [client.submit("sleep 3600") for _ in range(active)]
    while sum(record["state"] != INACTIVE for record in client.list_jobs()) < active:
        time.sleep(0.5)
    return running


def run(workdir, args, server_env=None):
    """Fill a new MiniCluster and time the calls: ({call: [seconds]}, {call: [requests made]},
    number of jobs listed, the cluster's mode)."""
    seconds = {"direct": [], "first": [], "again": [], "page": []}
    work = {"direct": [], "first": [], "again": [], "page": []}
    cluster = LocalCluster(
        workdir / "cluster", users=("alice",), cores_per_node=8, server_env=server_env
    )
    with cluster:
        client = FluxRestfulClient(
            cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key
        )
        running = fill(client, args.finished, args.active)
        page = args.active + PAGE_MARGIN  # what a refresh asked flux-restful for before
        client.jobs(limit=1)  # logged in before anything is timed
        for round_ in range(args.rounds):
            server = SingleUserServer(workdir / f"server-{round_}", cluster, "alice")
            upstream = UpstreamLog(cluster.log_path)
            try:
                took, expected = timed(client.jobs)
                seconds["direct"].append(took)
                work["direct"].append(upstream.since())
                took, listed = timed(server.jobs)
                seconds["first"].append(took)
                work["first"].append(upstream.since())
                seconds["direct"].append(timed(client.jobs)[0])
                upstream.since()
                for _ in range(args.repeats):
                    took, relisted = timed(server.jobs)
                    seconds["again"].append(took)
                    work["again"].append(upstream.since())
                    seconds["page"].append(timed(lambda: client.jobs(limit=page))[0])
                    work["page"].append(upstream.since())
            finally:
                server.stop()
            check(expected, listed, relisted)
        for job_id in running:
            client.cancel(job_id)
        client.close()
        mode = cluster.mode
    return seconds, work, len(listed), mode


def check(expected, listed, relisted):
    """The extension lists what flux-restful lists, and a refresh the same finished jobs."""

    def finished(jobs):
        return [job for job in jobs if job["state"] == "INACTIVE"]

    ids = [job["id"] for job in expected]
    if [job["id"] for job in listed] != ids or [job["id"] for job in relisted] != ids:
        sys.exit("the extension did not list the same jobs as flux-restful")
    if not finished(expected) == finished(listed) == finished(relisted):
        sys.exit("the extension did not list the same finished jobs as flux-restful")


def report(title, seconds, work, listed):
    """Print one table; returns its ratios."""
    d, f, a, p = (statistics.median(seconds[k]) for k in ("direct", "first", "again", "page"))
    w = {k: statistics.median(jobs_detailed(r, listed) for r in v) for k, v in work.items()}
    calls = {k: statistics.median(len(r) for r in v) for k, v in work.items()}
    print(f"\n{title}")
    print(f"{'call':<45}{'median s':>9}{'samples':>8}{'requests':>9}{'jobs detailed':>14}")
    for label, key, value in [
        ("direct  GET /v1/jobs?details=true&listing", "direct", d),
        ("first   GET flux-hub/api/jobs (empty cache)", "first", f),
        ("again   GET flux-hub/api/jobs?since=", "again", a),
        ("page    GET /v1/jobs?details=true&limit=", "page", p),
    ]:
        samples = len(seconds[key])
        print(f"{label:<45}{value:>9.3f}{samples:>8}{calls[key]:>9g}{w[key]:>14g}")
    print(
        f"direct listing: {d / listed * 1000:.3f} ms per job "
        f"(real Flux: {REAL_SECONDS_PER_JOB * 1000:.2f} ms, flux-restful-api.md)"
    )
    print(f"{'':<16}{'time':>8}{'work':>8}   target")
    print(f"{'again / first':<16}{a / f:>8.3f}{w['again'] / w['first']:>8.3f}   <= 0.10")
    print(f"{'first / direct':<16}{f / d:>8.3f}{w['first'] / w['direct']:>8.3f}   <= 1.10")
    print(
        f"floor: the one flux-restful request a refresh makes (page), alone, costs {p / f:.3f} "
        "of the first call"
    )
    return {
        "time": {"again/first": round(a / f, 4), "first/direct": round(f / d, 4)},
        "work": {
            "again/first": round(w["again"] / w["first"], 4),
            "first/direct": round(w["first"] / w["direct"], 4),
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--finished", type=int, default=2000)
    parser.add_argument("--active", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5, help="refreshes after the first")
    args = parser.parse_args()

    summary = {}
    with tempfile.TemporaryDirectory(prefix="flux-hub-bench-") as tmp:
        seconds, work, listed, mode = run(Path(tmp) / "plain", args)
        print(f"\njobs listed: {listed} ({args.finished} finished + {args.active} active "
              "submitted; flux-restful lists at most 1000)")  # fmt: skip
        title = "real Flux" if mode == "flux" else "simulated Flux (as it is)"
        summary[mode] = report(title, seconds, work, listed)
        if mode != "flux":
            # What the simulator spends per job already stays; the RPCs wait for the rest.
            plain = statistics.median(seconds["direct"]) / listed
            latency = max(0.0, REAL_SECONDS_PER_JOB - plain) / RPCS_PER_JOB
            env = {"FLUX_SIM_RPC_LATENCY": f"{latency:.6f}"}
            seconds, work, listed, _ = run(Path(tmp) / "charged", args, env)
            title = (
                f"simulated Flux with real Flux's per-job cost (FLUX_SIM_RPC_LATENCY="
                f"{latency * 1000:.3f} ms per job RPC, {RPCS_PER_JOB} per job)"
            )
            summary["simulated+rpc-latency"] = report(title, seconds, work, listed)
    print(json.dumps(summary))
    for name, costs in summary.items():
        for cost, ratios in costs.items():
            for ratio, goal in (("again/first", 0.10), ("first/direct", 1.10)):
                label = f"refresh_{ratio.replace('/', '_vs_')}.{name}.{cost}"
                print(f"RESULT {label}={ratios[ratio]} goal=<={goal} {cost} ratio")


if __name__ == "__main__":
    main()
