"""The person's job history (flux_hub/history.py, issue 26): search time with 5,000 and 50,000
recorded jobs, side by side in one run.

A history file is filled with N synthetic records (names, commands, origins, states and
submission times spread over two years, as a busy person's would be), then each search the
panel, ``flux-hub history`` and the server extension's ``GET history`` make is timed as the
handler runs it: ``History.search`` and the answer's JSON encoding. Each query runs
``--repeat`` times; the median and p90 are printed for both sizes, with the 50,000/5,000 ratio
(an index that works keeps it near 1; a full scan makes it near 10).

Writing costs are printed too: ``record_submitted`` and ``record_final`` each one transaction,
into the 50,000-record file (per call), and opening the history (schema check).

Goal: every query <= 20 ms median with 50,000 records.

Usage: python bench/history.py [--repeat 30] [--sizes 5000,50000]
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flux_hub.history import ACTIVE, GONE, History

DAY = 86400.0
NOW = 1_780_000_000.0
WORDS = "walk sleeper bash train sweep fit plot align merge render blast sim".split()
ORIGINS = ["panel"] * 3 + ["notebook"] * 3 + ["magic"] * 2 + ["file", "cli"]


def fill(history, count, seed=26):
    """``count`` records in one transaction (as many record_submitted/record_final would make;
    the per-call cost is measured separately)."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        word = WORDS[i % len(WORDS)]
        at = NOW - (count - i) * (2 * 365 * DAY / count)  # oldest first, over two years
        roll = rng.random()
        if i >= count - 20:
            status, result, state = ACTIVE, None, None
        elif roll < 0.02:
            status, result, state = GONE, None, None
        elif roll < 0.12:
            status, result, state = "FAILED", "FAILED", "INACTIVE"
        elif roll < 0.15:
            status, result, state = "CANCELED", "CANCELED", "INACTIVE"
        else:
            status, result, state = "COMPLETED", "COMPLETED", "INACTIVE"
        origin = ORIGINS[i % len(ORIGINS)]
        command = f"python analysis/{word}.py --seed {i} --steps {rng.randint(1, 10_000)}"
        request = {"command": command, "num_tasks": 1 + i % 8, "runtime": 3600}
        rows.append(
            (
                str(6_000_000_000_000 + i * 7919),
                "http://flux-restful:5000",
                "alice",
                f"{word}-{i}",
                command,
                json.dumps(request),
                json.dumps(["OMP_NUM_THREADS"] if i % 3 == 0 else []),
                f"/home/alice/project-{i % 40}",
                f"/home/jovyan/project-{i % 40}",
                origin,
                f"project-{i % 40}/notebook.ipynb" if origin in ("notebook", "magic") else None,
                str(i % 30) if origin in ("notebook", "magic") else None,
                f"flux-hub submit {command}" if origin == "cli" else None,
                at,
                at,
                status,
                state,
                result,
                None if result is None else (0 if result == "COMPLETED" else 1),
                None if result is None else rng.uniform(1, 7200),
                json.dumps(["node-1"]) if result else None,
                None if result is None else at + 60,
                at + 30 * DAY if status == GONE else None,
            )
        )
    columns = (
        "job_id cluster account name command request env_names workdir lab_workdir origin_kind "
        "origin_path origin_cell origin_command submitted at status state result exit_code "
        "runtime nodes ended gone"
    ).split()
    with history._write() as db:
        db.executemany(
            f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows,
        )
        db.execute("ANALYZE")


QUERIES = {
    "newest page (50)": {},
    "page 21 (offset 1000)": {"offset": 1000},
    "name 'sweep' (1 in 12)": {"q": "sweep"},
    "'python' (every record)": {"q": "python"},
    "'seed 12' (1 in 45)": {"q": "seed 12"},
    "'ep-4' (1 in 500)": {"q": "ep-4"},
    "command 'seed 4242 '": {"q": "seed 4242 "},
    "text not there": {"q": "no-such-job"},
    "state FAILED": {"state": "FAILED"},
    "state ACTIVE": {"state": "active"},
    "cluster gone": {"state": "gone"},
    "origin magic": {"origin": "magic"},
    "last 7 days": {"since": NOW - 7 * DAY},
    "a week a year ago": {"since": NOW - 372 * DAY, "until": NOW - 365 * DAY},
    "notebook+FAILED+'train'": {"origin": "notebook", "state": "failed", "q": "train"},
}


def timed_queries(history, repeat):
    times = {}
    for label, params in QUERIES.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            json.dumps(history.search(**params))
            samples.append((time.perf_counter() - started) * 1000)
        times[label] = samples
    return times


def write_costs(history, count=300):
    started = time.perf_counter()
    for i in range(count):
        history.record_submitted(
            9_000_000_000_000 + i,
            cluster="http://flux-restful:5000",
            request={"command": ["python", "run.py"], "num_tasks": 2, "envars": {"A": "secret"}},
            origin_kind="magic",
            origin_path="a.ipynb",
            origin_cell="3",
            name=f"bench-{i}",
        )
    submitted = (time.perf_counter() - started) * 1000 / count
    started = time.perf_counter()
    for i in range(count):
        history.record_final(
            9_000_000_000_000 + i,
            cluster="http://flux-restful:5000",
            result="COMPLETED",
            exit_code=0,
            runtime=1.5,
            nodes=["node-1"],
        )
    final = (time.perf_counter() - started) * 1000 / count
    return submitted, final


def p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * len(ordered)) - 1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sizes", default="5000,50000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    small, large = sizes[0], sizes[-1]
    results = {}
    with tempfile.TemporaryDirectory(prefix="flux-hub-bench-history-") as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            history = History(folder / "history.sqlite3", names_path=folder / "job-names.json",
                              account="alice")  # fmt: skip
            started = time.perf_counter()
            fill(history, size)
            fill_s = time.perf_counter() - started
            history.close()
            started = time.perf_counter()
            history = History(folder / "history.sqlite3", names_path=folder / "job-names.json",
                              account="alice")  # fmt: skip
            open_ms = (time.perf_counter() - started) * 1000
            times = timed_queries(history, args.repeat)
            submitted, final = write_costs(history)
            history.close()
            size_mb = os.path.getsize(folder / "history.sqlite3") / 2**20
            results[size] = (times, open_ms, submitted, final, fill_s, size_mb)

    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"Job history search (History.search + JSON), {args.repeat} runs each; "
          f"load average {load} on {os.cpu_count()} CPUs")  # fmt: skip
    head = f"{'query':28}" + "".join(f"{f'{s:,} med':>12}{'p90':>8}" for s in sizes)
    print(head + f"{'ratio':>8}")
    worst = 0.0
    for label in QUERIES:
        line = f"{label:28}"
        for size in sizes:
            samples = results[size][0][label]
            line += f"{statistics.median(samples):12.2f}{p90(samples):8.2f}"
        ratio = statistics.median(results[large][0][label]) / statistics.median(
            results[small][0][label]
        )
        worst = max(worst, statistics.median(results[large][0][label]))
        print(line + f"{ratio:7.2f}x")
    for size in sizes:
        _, open_ms, submitted, final, fill_s, size_mb = results[size]
        print(f"{size:,} records: file {size_mb:.1f} MiB (filled in {fill_s:.1f} s); open "
              f"{open_ms:.1f} ms; record_submitted {submitted:.2f} ms, record_final "
              f"{final:.2f} ms per call")  # fmt: skip
    verdict = "meets" if worst <= 20 else "MISSES"
    print(f"goal <= 20 ms median for every query with {large:,} records: {verdict}")
    print(f"RESULT history.search_worst_median_ms={worst:.2f} goal=<=20 ms, "
          f"slowest query's median with {large:,} records")  # fmt: skip
    small_newest = statistics.median(results[small][0]["newest page (50)"])
    large_newest = statistics.median(results[large][0]["newest page (50)"])
    print(f"RESULT history.newest_page_ratio={large_newest / small_newest:.2f} goal=<=2 "
          f"newest page, {large:,} vs {small:,} records")  # fmt: skip
    return 0 if worst <= 20 else 1


if __name__ == "__main__":
    sys.exit(main())
