"""What the guard's limits leave to the others: alice's lookups while bob streams, and the
server's memory with bob's largest allowed output (issue 24, point 4), on each lane.

Before the guard, 60 open output streams of bob's turned alice's GET /v1/jobs/{id} from 4-42 ms
into 30 s timeouts (flux-restful's 40 pool threads, one worker), and two 60 MB jobs grew the
server from 85 to 171 MiB over the simulation. Here, on one cluster per lane (multi-user as
root, as ./scripts/run-hub runs it; else single-user), with the default limits:

- alice's GET /v1/jobs/{id} of her running job, p50 and p90 of LOOKUPS in a row: with no stream
  open; with bob holding every stream he may (he tries 60: the rest are refused, 429); and,
  on a second start with streams_per_user raised to streams_total, with the whole server's
  stream cap held by bob (the thread pool is sized above it). Goal: p90 within 3x of none.
- the server's RSS before and after two of bob's jobs that each write 60 MB (cut at the
  output cap, 10M), one in lines of 1000 bytes and one in lines of 10 (a million output
  events: the worst case), after each job and after its output is read through
  GET /v1/jobs/{id}/output. Over the simulation the simulated broker, which keeps every
  job's output, is the server's own process; on real Flux the brokers are other processes.

    .venv/bin/python bench/guard_limits.py [--lanes both|sim|flux]
"""

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
from _lanes import lanes, p, rmtree

from flux_hub.guard.limits import Limits
from flux_hub.local import LocalCluster
from flux_hub.local.cluster import multi_user_problem

LOOKUPS = 100
TRIES = 60
BIG = 60_000_000
LINES = (1000, 10)
GOAL_RATIO = 3.0


class Person:
    def __init__(self, cluster, name):
        self.url = cluster.url
        self.session = requests.Session()
        answer = self.session.post(
            f"{cluster.url}/v1/login/access-token",
            data={"username": name, "password": cluster.passwords[name]},
            timeout=60,
        )
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def submit(self, command):
        answer = self.session.post(
            f"{self.url}/v1/jobs/submit", params={"command": command}, timeout=60
        )
        answer.raise_for_status()
        return answer.json()["id"]

    def info(self, jobid):
        return self.session.get(f"{self.url}/v1/jobs/{jobid}", timeout=60).json()

    def wait(self, jobid, states=("RUN", "INACTIVE"), timeout=300):
        deadline = time.monotonic() + timeout
        while (info := self.info(jobid))["state"] not in states:
            if time.monotonic() > deadline:
                raise SystemExit(f"job {jobid} still {info['state']}")
            time.sleep(0.2)
        return info

    def cancel(self, jobid):
        self.session.post(f"{self.url}/v1/jobs/{jobid}/cancel", timeout=60)


def lookups(alice, jobid):
    took = []
    for _ in range(LOOKUPS):
        started = time.perf_counter()
        answer = alice.session.get(f"{alice.url}/v1/jobs/{jobid}", timeout=60)
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return p(took, 0.5), p(took, 0.9)


def hold_streams(person, jobid, tries):
    """Open up to ``tries`` streams, each read by a thread; -> (open responses, refused)."""
    opened, refused = [], 0
    for _ in range(tries):
        response = requests.get(
            f"{person.url}/v1/jobs/{jobid}/output/stream",
            headers={"Authorization": f"Bearer {person.token}"},
            stream=True,
            timeout=60,
        )
        if response.status_code == 429:
            refused += 1
            response.close()
            continue
        assert response.status_code == 200, response.text
        opened.append(response)
        threading.Thread(target=_drain, args=(response,), daemon=True).start()
    return opened, refused


def _drain(response):
    try:
        for _ in response.iter_content(None):
            pass
    except Exception:
        pass


def close(streams):
    for response in streams:
        response.close()
    time.sleep(2.5)  # each stream's thread notices within its 1 s poll


def rss_mib(cluster):
    return psutil.Process(cluster.server_pid).memory_info().rss / 2**20


def start(workdir, simulate, server_env, multi_user, limits=None):
    return LocalCluster(
        workdir,
        users=["alice", "bob"],
        simulate=simulate,
        server_env=server_env,
        multi_user=multi_user,
        limits=limits,
        cores_per_node=8,
    ).start(timeout=180)


def run_lane(label, simulate, server_env, workdir):
    mode = "simulated" if simulate else "flux"
    multi_user = os.geteuid() == 0 and multi_user_problem(mode) is None
    limits = Limits()
    rows = {}
    cluster = start(workdir, simulate, server_env, multi_user)
    try:
        alice, bob = Person(cluster, "alice"), Person(cluster, "bob")
        mine = alice.submit("sleep 3600")
        ticks = bob.submit("sh -c 'while :; do echo tick; sleep 1; done'")
        alice.wait(mine, ("RUN",))
        bob.wait(ticks, ("RUN",))
        lookups(alice, mine)  # warm up: connections, the server's per-thread handles
        rows["none"] = lookups(alice, mine)
        streams, refused = hold_streams(bob, ticks, TRIES)
        rows[f"bob {len(streams)} (his limit; {refused} of {TRIES} refused)"] = lookups(alice, mine)
        close(streams)
        rows["none, again"] = lookups(alice, mine)  # the machine's load may change meanwhile
        # the largest output bob may make, twice, read back through the server
        memory = [("before", rss_mib(cluster), None)]
        for line in LINES:
            jobid = bob.submit(f"sh -c 'yes {'x' * (line - 1)} | head -c {BIG}'")
            bob.wait(jobid, ("INACTIVE",))
            memory.append((f"{line}-byte lines: the job ended", rss_mib(cluster), None))
            answer = bob.session.get(f"{bob.url}/v1/jobs/{jobid}/output", timeout=300).json()
            size = sum(len(chunk) for chunk in answer.get("Output", []))
            del answer
            memory.append((f"{line}-byte lines: its output read", rss_mib(cluster), size))
        bob.cancel(ticks)
        alice.cancel(mine)
    finally:
        cluster.stop()
    # the server's whole stream cap held by one person
    cluster = start(
        workdir,
        simulate,
        server_env,
        multi_user,
        {"streams_per_user": limits.streams_total},
    )
    try:
        alice, bob = Person(cluster, "alice"), Person(cluster, "bob")
        mine = alice.submit("sleep 3600")
        ticks = bob.submit("sh -c 'while :; do echo tick; sleep 1; done'")
        alice.wait(mine, ("RUN",))
        bob.wait(ticks, ("RUN",))
        lookups(alice, mine)
        streams, refused = hold_streams(bob, ticks, TRIES)
        key = f"bob {len(streams)} (the server's cap; {refused} of {TRIES} refused)"
        rows[key] = lookups(alice, mine)
        close(streams)
        bob.cancel(ticks)
        alice.cancel(mine)
    finally:
        cluster.stop()
    how = "multi-user as root" if multi_user else "single-user"
    return {
        "label": f"{label}, {how}",
        "rows": rows,
        "rss": memory,
    }


def baseline(rows):
    """alice's p90 with no stream open: the mean of the runs before and after bob's streams."""
    return (rows["none"][1] + rows["none, again"][1]) / 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", default="both", choices=("both", "sim", "flux"))
    args = parser.parse_args()
    chosen = lanes(args.lanes)
    results = []
    top = Path(tempfile.mkdtemp(prefix="guard-limits-"))
    try:
        for index, (label, simulate, env) in enumerate(chosen):
            print(f"lane: {label} ...", flush=True)
            results.append(run_lane(label, simulate, env, top / f"lane{index}"))
    finally:
        rmtree(top)
    limits = Limits()
    print(
        f"\nalice's GET /v1/jobs/{{id}} of her running job, {LOOKUPS} in a row, p50 / p90 ms, "
        f"while bob holds open output streams (limits: {limits.streams_per_user} a person, "
        f"{limits.streams_total} in all, {limits.threads} threads)"
    )
    for result in results:
        print(f"\n{result['label']}")
        none90 = baseline(result["rows"])
        for what, (p50, p90) in result["rows"].items():
            print(
                f"  {what:<44} {p50 * 1000:7.1f} / {p90 * 1000:7.1f}"
                f"   p90 x{p90 / none90:.2f} of none's"
            )
    print(
        f"\nthe server's RSS, MiB: two of bob's jobs writing {BIG // 10**6} MB each (output cap "
        f"{limits.output_limit // 2**20} MiB), one after the other, each output read back"
    )
    for result in results:
        print(f"\n{result['label']}")
        start = result["rss"][0][1]
        for what, rss, size in result["rss"]:
            read = f"   ({size / 2**20:.1f} MiB of output read)" if size is not None else ""
            print(f"  {what:<38} {rss:7.1f}  (+{rss - start:.1f}){read}")
    for result in results:
        lane = "sim" if result["label"].startswith("simulated") else "real"
        none90 = baseline(result["rows"])
        for what, (_, p90) in result["rows"].items():
            if what.startswith("none"):
                continue
            name = "bob_at_his_limit" if "his limit" in what else "server_stream_cap"
            print(
                f"RESULT guard_limits.lookup_p90_{name}.{lane}={p90 / none90:.3f} "
                f"goal=<={GOAL_RATIO} x alice's p90 with none open"
            )
        sizes = [size for _, _, size in result["rss"] if size is not None]
        print(
            f"RESULT guard_limits.output_read_mib.{lane}={max(sizes) / 2**20:.2f} "
            f"goal=<={limits.output_limit / 2**20:.0f} MiB a job's output, at the cap"
        )


if __name__ == "__main__":
    main()
