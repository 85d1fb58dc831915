"""What the fake operator's pod mount namespace costs per pod start (tests/kube/podns.py).

Each MiniCluster's broker "pod" of the fake operator starts its flux-restful (and so its Flux
instance and jobs) in a mount namespace of its own: ``unshare -m`` plus ``sh`` binding the
volumes and hiding the fake API server's claims. This measures, in the lane FLUX_HUB_SIMULATE
picks (run it once per lane):
- one process start with that wrapper (one bind, one hidden folder) and without it;
- a whole local cluster start (LocalCluster.start() until flux-restful answers), 2 nodes, with
  the namespace (PodCluster, /shared bound) and without, alternating, RUNS times each.
Needs root (as the tests do).

    FLUX_HUB_SIMULATE=1 python bench/pod_namespace.py [RUNS]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kube.podns import PodCluster, namespace_cost  # noqa: E402

from flux_hub.local import LocalCluster  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with_ns, without = namespace_cost(runs=50)
    print(
        f"process start (/bin/true, median of 50): {without * 1e3:.2f} ms; in a pod namespace "
        f"(unshare, sh, 1 bind, 1 tmpfs): {with_ns * 1e3:.2f} ms "
        f"(+{(with_ns - without) * 1e3:.2f} ms)"
    )
    times = {"without": [], "with": []}
    mode = None
    with tempfile.TemporaryDirectory() as top:
        top = Path(top)
        claim = top / "volumes" / "ns" / "claim"
        claim.mkdir(parents=True)
        for run in range(runs):
            for kind in times:
                state = top / f"{kind}-{run}"
                if kind == "without":
                    cluster = LocalCluster(state, nodes=2, cores_per_node=2)
                else:
                    cluster = PodCluster(
                        state,
                        nodes=2,
                        cores_per_node=2,
                        mounts=[(claim, "/shared", False)],
                        hidden=[top / "volumes"],
                    )
                started = time.perf_counter()
                cluster.start(timeout=120)
                times[kind].append(time.perf_counter() - started)
                mode = cluster.mode
                cluster.stop()
    for kind, values in times.items():
        print(
            f"{mode}: cluster start {kind} the namespace: median {statistics.median(values):.3f} s "
            f"(min {min(values):.3f}, max {max(values):.3f}, {runs} runs)"
        )


if __name__ == "__main__":
    main()
