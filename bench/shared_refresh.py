"""The jobs list of a research group sharing one flux-restful (issue 12), before and after.

On each lane (real Flux when this machine has flux-core, and the simulated instance with real
Flux's costs, FLUX_SIM_COSTS=flux-0.88), the extension's JobsService, driven in this process as
the panel drives it (a refresh passes the last answer's version back), is measured twice: as it
is now ("follow": one GET /v1/jobs/{id} per active or newly submitted job) and as it was before
issue 12 ("pages": a short page of flux-restful's details listing; bench/_jobs_before_issue12.py).

1. Two users. alice has --alice-finished finished jobs, then bob submits 500 (listed before
   hers), then alice starts 10 jobs that keep running. alice's panel: its first listing (median
   of three new JobsServices), then steady refreshes, each measured twice: with the requests to
   flux-restful made one at a time (concurrent_requests=1: their sum is the server's time) and
   as configured (8 at once: the wall time the refresh keeps flux-restful busy). "cpu" is the
   CPU flux-restful and the Flux brokers used (psutil), per refresh.
   Goals: steady refresh <= 10% of the first listing; flux-restful busy <= 60 ms with it.
   On real Flux the same case runs again on a multi-user flux-restful (each job runs as its
   owner, and its plain GET /v1/jobs lists only the caller's jobs: the panel's refresh reads it
   when that costs less than the lookups; FluxHub.server_mode). Over the simulation flux-restful
   stays single-user, so that part has no simulated column. --skip-multi-user leaves it out.
2. Fifty users, each --finished finished and 2 running jobs, one panel each refreshing every
   5 s for --seconds against the one flux-restful. The panels listed everything once before the
   run starts; their slow timers (full_listing_interval, 300 s) are spread over the last 300 s,
   so about a fifth of them list everything again during the run, as they would at any time.
   Printed: refresh p50/p90/max, errors, refreshes done, and flux-restful's CPU share (server and
   brokers, % of one core). Goals (follow): p90 <= 1 s, no error.

    .venv/bin/python bench/shared_refresh.py [--lanes both|sim|flux] [--users 50]
        [--finished 200] [--seconds 60] [--skip-group] [--skip-multi-user]
"""

import argparse
import asyncio
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import _jobs_before_issue12 as before
from _lanes import (
    ServerCpu,
    client,
    cluster,
    lanes,
    median,
    p,
    submit_finished,
    submit_running,
)

from flux_hub.serverextension import jobs as after
from flux_hub.serverextension.config import FluxHub

DESIGNS = {"follow": after.JobsService, "pages": before.JobsService}
LOG = logging.getLogger("bench")


class Panel:
    """One user's JobsService and the panel's side of its refreshes; upstream requests timed."""

    def __init__(self, design, c, user, workdir, concurrent=8, interval=300.0, mode="single-user"):
        settings = FluxHub(
            server_mode=mode,
            host=c.url,
            user=user,
            token=c.passwords[user],
            secret_key=c.secret_key,
            job_names_path=str(workdir / design / user / "job-names.json"),
            concurrent_requests=concurrent,
            full_listing_interval=interval,
            request_timeout=600.0,
        )
        self.service = DESIGNS[design](settings, LOG)
        self.version = None
        self.upstream = 0.0  # seconds spent in requests to flux-restful
        self.requests = 0
        client_ = self.service.client
        for method in ("job", "jobs", "jobs_body", "list_jobs"):
            original = getattr(client_, method)

            async def timed(*args, _original=original, **kwargs):
                started = time.perf_counter()
                try:
                    return await _original(*args, **kwargs)
                finally:
                    self.upstream += time.perf_counter() - started
                    self.requests += 1

            setattr(client_, method, timed)

    async def refresh(self):
        """One refresh; (seconds, seconds of flux-restful requests, requests made)."""
        import json

        upstream, requests = self.upstream, self.requests
        answers = []

        async def send(body):
            answers.append(body)

        started = time.perf_counter()
        await self.service.list_jobs(self.version, send)
        took = time.perf_counter() - started
        body = answers[0]
        self.version = json.loads(body)["version"]
        return took, self.upstream - upstream, self.requests - requests


async def two_users(c, workdir, repeats, firsts=3, mode="single-user"):
    """alice's panel: first listings (each by a new JobsService) and steady refreshes (after
    one that settles: on a multi-user server it reads the listing it compares the next with),
    with requests to flux-restful one at a time (their time is the server's) and as configured
    (8 at once: the wall time a refresh keeps flux-restful busy)."""
    cpu = ServerCpu(c)
    rows = {}
    for design in DESIGNS:
        row = rows[design] = {}
        for concurrent, tag in ((1, ""), (8, " (8 at once)")):
            first, first_cpu, steady, steady_cpu = [], [], [], []
            for i in range(firsts):
                panel = Panel(
                    design, c, "alice", workdir / f"{concurrent}-{i}", concurrent, mode=mode
                )
                await panel.service.client.login()
                used = cpu.seconds()
                first.append(await panel.refresh())
                first_cpu.append(cpu.seconds() - used)
            await panel.refresh()
            used = cpu.seconds()
            for _ in range(repeats):
                steady.append(await panel.refresh())
            steady_cpu = (cpu.seconds() - used) / repeats
            row["first" + tag] = median(f[0] for f in first)
            row["first cpu" + tag] = median(first_cpu)
            row["steady" + tag] = median(s[0] for s in steady)
            row["steady upstream" + tag] = median(s[1] for s in steady)
            row["steady cpu" + tag] = steady_cpu
            row["steady requests" + tag] = median(s[2] for s in steady)
    return rows


async def _run(panel, deadline, period, latencies, errors, full_listings):
    """One panel refreshing every ``period`` seconds until ``deadline``."""
    await asyncio.sleep(random.uniform(0, period))
    while time.monotonic() < deadline:
        tick = time.monotonic()
        listed_at = getattr(panel.service, "_listed_at", None)
        try:
            took, _, _ = await panel.refresh()
            latencies.append(took)
        except Exception as error:  # noqa: BLE001 - counted and shown
            errors.append(repr(error))
        if getattr(panel.service, "_listed_at", None) != listed_at:
            full_listings.append(panel)
        await asyncio.sleep(max(0.0, period - (time.monotonic() - tick)))


async def group(c, workdir, users, seconds, period=5.0):
    results = {}
    cpu = ServerCpu(c)
    for design in DESIGNS:
        panels = [Panel(design, c, user, workdir) for user in users]
        print(f"  {design}: first listings of {len(panels)} panels ...", flush=True)
        for panel in panels:  # before the run, one at a time (as people open JupyterLab)
            await panel.refresh()
        now = time.monotonic()
        for panel in panels:  # the slow timers, spread over their interval
            if hasattr(panel.service, "_listed_at"):
                panel.service._listed_at = now - random.uniform(0, 300)
        latencies, errors, full_listings = [], [], []
        deadline = time.monotonic() + seconds
        runs = [_run(panel, deadline, period, latencies, errors, full_listings) for panel in panels]
        cpu_before, started = cpu.seconds(), time.monotonic()
        await asyncio.gather(*runs)
        wall = time.monotonic() - started
        share = (cpu.seconds() - cpu_before) / wall
        results[design] = {
            "refreshes": len(latencies),
            "p50": p(latencies, 0.5) if latencies else float("nan"),
            "p90": p(latencies, 0.9) if latencies else float("nan"),
            "max": max(latencies) if latencies else float("nan"),
            "errors": len(errors),
            "first error": errors[0] if errors else "",
            "cpu share": share,
            # (the paged refresh also moves _listed_at after a short page: not counted there)
            "full listings": len(full_listings) if design == "follow" else "-",
        }
        print(f"  {design}: {results[design]}", flush=True)
    return results


def fill_two_users(c, alice_finished, bob_finished, active):
    alice, bob = client(c, "alice"), client(c, "bob")
    print(
        f"  {c.mode}: {alice_finished} jobs as alice, {bob_finished} as bob, then {active} "
        "running as alice ...",
        flush=True,
    )
    submit_finished([alice], alice_finished)
    submit_finished([bob], bob_finished)
    running = submit_running(alice, active)
    return alice, running


def fill_group(c, users, finished, active):
    print(f"  {c.mode}: {finished} finished + {active} running jobs for each of {len(users)} users")
    clients = [client(c, user) for user in users]
    submit_finished(clients, finished)
    running = []
    for each in clients:
        running += [(each, job_id) for job_id in submit_running(each, active)]
    return running


def lane(workdir, simulate, env, args):
    out = {"load": [os.getloadavg()[0]]}
    with cluster(workdir / "two", ("alice", "bob"), simulate, env) as c:
        alice, running = fill_two_users(c, args.alice_finished, 500, 10)
        out["mode"] = c.mode
        out["two"] = asyncio.run(two_users(c, workdir / "two", args.repeats))
        out["load"].append(os.getloadavg()[0])
        for job_id in running:
            alice.cancel(job_id)
    if not simulate and not args.skip_multi_user:
        # flux-restful in multi-user mode (jobs run as their owners; its plain listing is the
        # caller's own), as the local hub runs it on real Flux. Over the simulation flux-restful
        # stays single-user, so this part is real Flux's only.
        with cluster(workdir / "multi", ("alice", "bob"), simulate, env, multi_user=True) as c:
            alice, running = fill_two_users(c, args.alice_finished, 500, 10)
            out["two multi-user"] = asyncio.run(
                two_users(c, workdir / "multi", args.repeats, mode="multi-user")
            )
            out["load"].append(os.getloadavg()[0])
            for job_id in running:
                alice.cancel(job_id)
    if args.skip_group:
        return out
    users = tuple(f"user{i:02d}" for i in range(args.users))
    with cluster(workdir / "group", users, simulate, env, cores_per_node=64) as c:
        started = time.monotonic()
        running = fill_group(c, users, args.finished, 2)
        print(f"  filled in {time.monotonic() - started:.0f} s", flush=True)
        out["group"] = asyncio.run(group(c, workdir / "group", users, args.seconds))
        out["load"].append(os.getloadavg()[0])
        for each, job_id in running:
            each.cancel(job_id)
    return out


def report(results, args):
    labels = list(results)
    cores = os.cpu_count()
    for label in labels:
        loads = ", ".join(f"{load:.1f}" for load in results[label]["load"])
        print(f"{label}: load average (1 min) at its start, after each part: {loads} "
              f"({cores} CPUs; other work on the machine shows in every number)")  # fmt: skip
    width = 22
    print(f"\n== two users: alice's {args.alice_finished} finished jobs behind 500 of bob's, "
          "10 of hers running; seconds")  # fmt: skip
    print(f"{'':<44}" + "".join(f"{label[: width - 2]:>{width}}" for label in labels))
    keys = (
        "first",
        "first (8 at once)",
        "first cpu",
        "steady",
        "steady (8 at once)",
        "steady upstream",
        "steady cpu",
        "steady requests",
    )
    for design in DESIGNS:
        for key in keys:
            line = f"{design + ': ' + key:<44}"
            for label in labels:
                value = results[label]["two"][design][key]
                line += f"{value:>{width}g}" if key.endswith("requests") else f"{value:>{width}.4f}"
            print(line)
    for label in labels:
        rows = results[label]["two"]
        tag = "real" if results[label]["mode"] == "flux" else "sim"
        new, old = rows["follow"], rows["pages"]
        ratio = new["steady (8 at once)"] / new["first (8 at once)"]
        busy = new["steady (8 at once)"] * 1000
        print(f"\n{label}: follow steady / first listing: {ratio:.3f} (pages: "
              f"{old['steady (8 at once)'] / old['first (8 at once)']:.3f}); flux-restful busy "
              f"with a steady refresh: {busy:.1f} ms as configured, its requests one at a time "
              f"{new['steady upstream'] * 1000:.1f} ms, its CPU {new['steady cpu'] * 1000:.1f} ms "
              f"(pages: {old['steady (8 at once)'] * 1000:.1f} ms)")  # fmt: skip
        print(f"RESULT shared_refresh.two_users.steady_vs_first.{tag}={ratio:.4f} "
              "goal=<=0.10 time ratio")  # fmt: skip
        print(f"RESULT shared_refresh.two_users.steady_ms.{tag}={busy:.2f} "
              "goal=<=60 ms flux-restful busy with a refresh (10 active jobs)")  # fmt: skip
    multi = [label for label in labels if "two multi-user" in results[label]]
    if multi:
        print("\n== the same two users on a multi-user flux-restful (FLUX_SERVER_MODE=multi-user, "
              "jobs run as their owners; real Flux only: over the simulation flux-restful stays "
              "single-user); seconds")  # fmt: skip
        print(f"{'':<44}" + "".join(f"{label[: width - 2]:>{width}}" for label in multi))
        for design in DESIGNS:
            for key in keys:
                line = f"{design + ': ' + key:<44}"
                for label in multi:
                    value = results[label]["two multi-user"][design][key]
                    line += (
                        f"{value:>{width}g}" if key.endswith("requests") else f"{value:>{width}.4f}"
                    )
                print(line)
        for label in multi:
            new = results[label]["two multi-user"]["follow"]
            ratio = new["steady (8 at once)"] / new["first (8 at once)"]
            busy = new["steady (8 at once)"] * 1000
            print(f"\n{label}, multi-user: follow steady / first listing: {ratio:.3f}; "
                  f"flux-restful busy with a steady refresh: {busy:.1f} ms as configured, its "
                  f"requests one at a time {new['steady upstream'] * 1000:.1f} ms, its CPU "
                  f"{new['steady cpu'] * 1000:.1f} ms")  # fmt: skip
            print(f"RESULT shared_refresh.two_users_multi_user.steady_vs_first.real={ratio:.4f} "
                  "goal=<=0.10 time ratio")  # fmt: skip
            print(f"RESULT shared_refresh.two_users_multi_user.steady_ms.real={busy:.2f} "
                  "goal=<=60 ms flux-restful busy with a refresh (10 active jobs)")  # fmt: skip
    if args.skip_group:
        return
    print(f"\n== {args.users} users, each {args.finished} finished + 2 running jobs, a refresh "
          f"every 5 s for {args.seconds} s; seconds")  # fmt: skip
    print(f"{'':<30}" + "".join(f"{label[: width - 2]:>{width}}" for label in labels))
    for design in DESIGNS:
        for key in ("refreshes", "full listings", "p50", "p90", "max", "errors", "cpu share"):
            line = f"{design + ': ' + key:<30}"
            for label in labels:
                value = results[label]["group"][design][key]
                if key == "cpu share":
                    line += f"{f'{value * 100:.0f}% of a core':>{width}}"
                elif isinstance(value, float):
                    line += f"{value:>{width}.3f}"
                else:
                    line += f"{value:>{width}}"
            print(line)
    for label in labels:
        tag = "real" if results[label]["mode"] == "flux" else "sim"
        for design in DESIGNS:
            first_error = results[label]["group"][design]["first error"]
            if first_error:
                print(f"{label} {design}: first error: {first_error}")
        g = results[label]["group"]["follow"]
        print(f"RESULT shared_refresh.group.p90_s.{tag}={g['p90']:.4f} goal=<=1 s")
        print(f"RESULT shared_refresh.group.errors.{tag}={g['errors']} goal=<=0 errors")
    if len(labels) == 2:
        sim, real = labels
        print("\nsimulator / real Flux, same run:")
        for design in DESIGNS:
            two_s, two_r = results[sim]["two"][design], results[real]["two"][design]
            print(f"  {design}: first {two_s['first'] / two_r['first']:.2f}, steady "
                  f"{two_s['steady'] / two_r['steady']:.2f} (one at a time), "
                  f"{two_s['steady (8 at once)'] / two_r['steady (8 at once)']:.2f} (8 at once)",
                  end="")  # fmt: skip
            if not args.skip_group:
                g_s, g_r = results[sim]["group"][design], results[real]["group"][design]
                print(f", group p90 {g_s['p90'] / g_r['p90']:.2f}, cpu share "
                      f"{g_s['cpu share'] / g_r['cpu share']:.2f}", end="")  # fmt: skip
            print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", choices=("both", "sim", "flux"), default="both")
    parser.add_argument("--alice-finished", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=10, help="steady refreshes measured")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--finished", type=int, default=200, help="finished jobs per user")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skip-group", action="store_true", help="only the two-user case")
    parser.add_argument(
        "--skip-multi-user",
        action="store_true",
        help="not the two-user case on a multi-user flux-restful (real Flux only)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    random.seed(12)

    results = {}
    with tempfile.TemporaryDirectory(prefix="flux-hub-bench-") as tmp:
        for i, (label, simulate, env) in enumerate(lanes(args.lanes)):
            results[label] = lane(Path(tmp) / f"lane-{i}", simulate, env, args)
    report(results, args)


if __name__ == "__main__":
    main()
