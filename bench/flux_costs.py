"""What flux-restful's job requests cost on the simulated instance and on real Flux, side by side.

The shared cluster of issue 12: alice submits 500 short jobs, then bob 500, so that bob's are
listed first (newest first) and alice's page has to walk past all of his. Then, on each lane
(real Flux when this machine has flux-core, and the simulated instance with
FLUX_SIM_COSTS=flux-0.88), the requests measured on real Flux in /work/shared/flux-core/README.md:

- GET /v1/jobs (every user's ids);
- GET /v1/jobs?details=true&listing=true&limit=1 and limit=14, as bob and as alice;
- GET /v1/jobs/{id} of one's own running job (p50);
- sixteen clients (eight alice, eight bob) asking for limit=14 pages at once: answers a second;
- and the floor under every request: a public GET /v1/auth, and a request that passes the token
  check and stops before any Flux RPC (GET /v1/jobs/notanid, 400), p50.

Each is printed next to the number measured on real Flux (the reference) and, when both lanes
ran, next to each other: the simulator's number over real Flux's of the same run is what
"predicts real Flux within 2x" means (goal: between 0.5 and 2).

    .venv/bin/python bench/flux_costs.py [--lanes both|sim|flux] [--jobs 500]
"""

import argparse
import re
import tempfile
import threading
import time
from pathlib import Path

import requests
from _lanes import client, cluster, lanes, median, p, submit_finished, submit_running

# /work/shared/flux-core/README.md: flux-core 0.88, flux-restful 1.1.0, one worker, 500 + 500 jobs
REFERENCE = {
    "GET /v1/jobs": 0.150,
    "bob limit=1": 0.077,
    "bob limit=14": 0.103,
    "alice limit=1": 0.470,
    "alice limit=14": 0.420,
    "GET /v1/jobs/{id} p50": 0.0056,
    "16 at once: answers/s": 3.5,
}
ROUNDS = 5


def timed(call, rounds=ROUNDS):
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return median(took)


def at_once(clients, each=3):
    """Answers a second with len(clients) clients asking for limit=14 pages at once."""
    barrier = threading.Barrier(len(clients))

    def ask(c):
        barrier.wait()
        for _ in range(each):
            c.jobs(limit=14)

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(clients) * each / (time.perf_counter() - started)


def measure(workdir, simulate, env, jobs):
    with cluster(workdir, ("alice", "bob"), simulate, env) as c:
        alice, bob = client(c, "alice"), client(c, "bob")
        print(f"  {c.mode}: submitting {jobs} jobs as alice, then {jobs} as bob ...", flush=True)
        submit_finished([alice, bob], jobs)
        for who in (alice, bob):
            who.jobs(limit=1)  # logged in
        got = {
            "GET /v1/jobs": timed(alice.list_jobs),
            "bob limit=1": timed(lambda: bob.jobs(limit=1)),
            "bob limit=14": timed(lambda: bob.jobs(limit=14)),
            "alice limit=1": timed(lambda: alice.jobs(limit=1)),
            "alice limit=14": timed(lambda: alice.jobs(limit=14)),
        }
        running = submit_running(alice, 1)[0]  # (after the pages: an active job is listed first)
        lookups = []
        for _ in range(40):
            started = time.perf_counter()
            alice.job(running)
            lookups.append(time.perf_counter() - started)
        got["GET /v1/jobs/{id} p50"] = p(lookups, 0.5)
        got.update(floor(c, alice))
        alice.cancel(running)
        sixteen = [client(c, "alice") for _ in range(8)] + [client(c, "bob") for _ in range(8)]
        for each in sixteen:
            each.jobs(limit=1)
        got["16 at once: answers/s"] = at_once(sixteen)
        for each in [alice, bob, *sixteen]:
            each.close()
        return c.mode, got


def floor(c, alice, rounds=40):
    """What every request costs before any Flux RPC (p50): a public one, and one that passes
    the token check and stops at once (an id that is not one: 400)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {alice.login()}"
    got = {}
    for key, path, status in (
        ("GET /v1/auth (no token) p50", "/v1/auth", 200),
        ("token check only p50", "/v1/jobs/notanid", 400),
    ):
        took = []
        for _ in range(rounds):
            started = time.perf_counter()
            answer = session.get(c.url + path, timeout=60)
            took.append(time.perf_counter() - started)
            assert answer.status_code == status, (path, answer.status_code)
        got[key] = p(took, 0.5)
    session.close()
    return got


FLOOR = ("GET /v1/auth (no token) p50", "token check only p50")


def _name(key):
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", choices=("both", "sim", "flux"), default="both")
    parser.add_argument("--jobs", type=int, default=500, help="finished jobs per user")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="flux-hub-bench-") as tmp:
        for i, (label, simulate, env) in enumerate(lanes(args.lanes)):
            mode, got = measure(Path(tmp) / f"lane-{i}", simulate, env, args.jobs)
            results[label] = got
    labels = list(results)
    width = 24
    print(f"\nalice's {args.jobs} jobs behind bob's {args.jobs}; seconds unless said")
    head = f"{'request':<26}{'real Flux (README)':>{width}}"
    head += "".join(f"{label[: width - 2]:>{width}}" for label in labels)
    if len(labels) == 2:
        head += f"{'sim / real':>12}"
    print(head)
    for key, reference in REFERENCE.items():
        line = f"{key:<26}{reference:>{width}.4f}"
        line += "".join(f"{results[label][key]:>{width}.4f}" for label in labels)
        if len(labels) == 2:
            line += f"{results[labels[0]][key] / results[labels[1]][key]:>12.2f}"
        print(line)
    print("\nthe floor under every request (same flux-restful code on both lanes), p50 seconds")
    for key in FLOOR:
        line = f"{key:<26}{'-':>{width}}"
        line += "".join(f"{results[label][key]:>{width}.4f}" for label in labels)
        if len(labels) == 2:
            line += f"{results[labels[0]][key] / results[labels[1]][key]:>12.2f}"
        print(line)
    for label in labels:
        share = results[label]["token check only p50"] / results[label]["GET /v1/jobs/{id} p50"]
        print(f"{label}: the token check is {share:.0%} of a lookup of one's own job")
    for label in labels:
        tag = "real" if label.startswith("real") else "sim"
        for key, reference in REFERENCE.items():
            ratio = results[label][key] / reference
            name = _name(key)
            spread = max(ratio, 1 / ratio)
            print(f"RESULT flux_costs.{name}.{tag}_vs_readme={spread:.3f} goal=<=2 x off")
        if len(labels) == 2 and tag == "sim":
            for key in REFERENCE:
                ratio = results[labels[0]][key] / results[labels[1]][key]
                name = _name(key)
                spread = max(ratio, 1 / ratio)
                print(f"RESULT flux_costs.{name}.sim_vs_real={spread:.3f} goal=<=2 x off")


if __name__ == "__main__":
    main()
