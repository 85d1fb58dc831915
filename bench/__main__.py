"""Run every benchmark in bench/ and print their results against the goals, with the machine.

    python -m bench                       # all of them, one after the other (about 45 minutes:
                                          # shared_refresh fills two clusters per lane)
    python -m bench client_overhead ...   # only these
    python -m bench --list

Each script runs as a subprocess (its own output goes to a log file, named at the end); the
table is made from the RESULT lines it prints (see bench/__init__.py). A script that printed
no RESULT line is shown as failed, with the end of its output.
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = re.compile(
    r"^RESULT (?P<name>[^=\s]+)=(?P<value>\S+) goal=(?P<op><=|>=)?(?P<goal>\S+)(?P<what>.*)$"
)


@dataclass
class Result:
    bench: str
    name: str
    value: float
    op: str
    goal: float
    what: str

    @property
    def met(self):
        if self.op == "<=":
            return self.value <= self.goal
        if self.op == ">=":
            return self.value >= self.goal
        return self.value == self.goal

    @property
    def ratio(self):
        """value / goal: under 1 is inside a "<=" goal."""
        return self.value / self.goal if self.goal else None


def scripts():
    return sorted(p.stem for p in HERE.glob("*.py") if not p.name.startswith("_"))


def parse(bench, output):
    results = []
    for line in output.splitlines():
        match = RESULT.match(line.strip())
        if match:
            results.append(
                Result(
                    bench,
                    match["name"],
                    float(match["value"]),
                    match["op"] or "=",
                    float(match["goal"]),
                    match["what"].strip(),
                )
            )
    return results


def run(bench, logs, timeout):
    log_path = logs / f"{bench}.log"
    started = time.monotonic()
    print(f"running bench/{bench}.py ...", file=sys.stderr, flush=True)
    with open(log_path, "w") as log:
        try:
            done = subprocess.run(
                [sys.executable, str(HERE / f"{bench}.py")],
                cwd=HERE.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
            status = done.returncode
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout} s"
    output = log_path.read_text(errors="replace")
    return parse(bench, output), status, time.monotonic() - started, output


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    from bench.lane import describe

    return [
        f"machine: {platform.node()}: {cpu}, {os.cpu_count()} CPUs{memory}{load}",
        f"system:  {platform.platform()}, Python {platform.python_version()}",
        describe().replace("flux: ", "flux:    ", 1),
    ]


def table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per benchmark")
    args = parser.parse_args(argv)
    available = scripts()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(available)})")
    chosen = args.names or available

    logs = Path(tempfile.mkdtemp(prefix="flux-hub-bench-logs-"))
    before = machine()
    rows = [["benchmark", "result", "value", "goal", "value/goal", "verdict", "what"]]
    failures = []
    took = []
    for bench in chosen:
        results, status, seconds, output = run(bench, logs, args.timeout)
        took.append(f"{bench} {seconds:.0f} s")
        if not results:
            tail = "\n    ".join(output.strip().splitlines()[-8:])
            failures.append(f"{bench}: no RESULT line (exit status {status}):\n    {tail}")
            rows.append([bench, "-", "-", "-", "-", "FAILED", f"exit status {status}"])
        for r in results:
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
            goal = f"{r.op if r.op != '=' else ''}{r.goal:g}"
            verdict = "meets" if r.met else "MISSES"
            rows.append([bench, r.name, f"{r.value:g}", goal, ratio, verdict, r.what])

    print("\nflux-hub benchmarks, " + time.strftime("%Y-%m-%d %H:%M %Z"))
    print("\n".join(before))
    print(f"\n{table(rows)}\n")
    print("times: " + ", ".join(took))
    print(f"full output of each benchmark: {logs}/")
    for failure in failures:
        print(f"\n{failure}")
    missed = any(row[5] in ("MISSES", "FAILED") for row in rows[1:])
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
