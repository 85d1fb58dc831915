"""20 people log in at once to a hub that gives each their own MiniCluster.

A real JupyterHub (with_flux_accounts(DummyAuthenticator), MiniClusterPerUserProvisioner) and
the real kubernetes client talk to the fake API server of the tests (tests/kube/fakeapi.py) with
the fake Flux operator (tests/kube/fake_operator.py). 20 logins are sent at the same moment;
meanwhile an admin client asks the hub's REST API for its user list again and again.

What is real and what is not:
- real: the hub process, its logins, the accounts core and its store, the kubernetes client and
  every API call it makes (a Secret and a MiniCluster per person, through HTTP);
- not real: the API server and operator are the tests' fakes; the operator makes pod records
  but starts NO flux-restful server for these 20 clusters (nobody spawns here; a login only
  creates the cluster). The spawn's wait on a real flux-restful is measured by the tests
  (tests/kube/test_kube_percluster_hub.py), not here.

Goals: exactly one MiniCluster create per person (20 for 20) and the hub's API answers with
p90 under 1 s while the logins and the creates happen.

    python bench/percluster_logins.py
"""

import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kube.fake_operator import FakeFluxOperator  # noqa: E402
from kube.fakeapi import FakeKubeAPI  # noqa: E402
from kube.perclusterhub import NAMESPACE, TOKEN, PerUserHub  # noqa: E402

PEOPLE = 20
GOAL_P90 = 1.0


def p90(values):
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


def poll_api(hub, stop, into):
    with requests.Session() as session:
        session.headers["Authorization"] = f"token {TOKEN}"
        while not stop.is_set():
            started = time.perf_counter()
            response = session.get(f"{hub.url}/hub/api/users", timeout=30)
            into.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"the hub's API answered {response.status_code}")
            time.sleep(0.02)


def main():
    print(
        "flux: none (no flux-restful is started: the fake operator makes pod records only; "
        "hub, kubernetes client and API calls are real)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="flux-hub-bench-"))
    try:
        with FakeKubeAPI(workdir / "kube") as api:
            operator = FakeFluxOperator(api, workdir / "operator", start_servers=False)
            hub = PerUserHub(workdir / "hub", api, operator).start(timeout=180)
            try:
                return run(hub, api, operator)
            finally:
                hub.stop()
                operator.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(hub, api, operator):
    idle, during, stop = [], [], threading.Event()
    poller = threading.Thread(target=poll_api, args=(hub, stop, idle))
    poller.start()
    time.sleep(3)
    stop.set()
    poller.join()

    names = [f"person{i:02d}" for i in range(PEOPLE)]
    barrier = threading.Barrier(PEOPLE)
    logins, failures = {}, []

    def login(name):
        barrier.wait()
        started = time.perf_counter()
        try:
            hub.login(name, "any password")
        except Exception as e:  # reported below
            failures.append(f"{name}: {e}")
        logins[name] = time.perf_counter() - started

    stop = threading.Event()
    poller = threading.Thread(target=poll_api, args=(hub, stop, during))
    poller.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=login, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logged_in = time.perf_counter() - started
    wanted = {f"flux-{n}" for n in names}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        made = {name for (v, ns, name) in api.objects if ns == NAMESPACE}
        if wanted <= made:
            break
        time.sleep(0.05)
    all_made = time.perf_counter() - started
    time.sleep(1)  # the API keeps being asked a little after the last create
    stop.set()
    poller.join()

    creates = [p for m, p in api.requests if m == "POST" and p.endswith("/miniclusters")]
    secrets = [p for m, p in api.requests if m == "POST" and p.endswith("/secrets")]
    made = sorted(name for (v, ns, name) in api.objects if ns == NAMESPACE)
    if failures:
        print("login failures:", *failures, sep="\n  ")
    print(
        f"{PEOPLE} logins at once: all answered in {logged_in:.2f} s "
        f"(each: median {statistics.median(logins.values()):.2f} s, "
        f"max {max(logins.values()):.2f} s); {len(failures)} failed"
    )
    print(
        f"MiniClusters: {len(creates)} create calls, {len(set(made) & wanted)} of {PEOPLE} "
        f"people have one, {len(made)} in the namespace, {len(secrets)} Secrets created; "
        f"all {PEOPLE} existed {all_made:.2f} s after the logins began"
    )
    print(
        f"hub API GET /hub/api/users: idle p90 {p90(idle) * 1000:.0f} ms ({len(idle)} calls); "
        f"during the logins p50 {statistics.median(during) * 1000:.0f} ms, "
        f"p90 {p90(during) * 1000:.0f} ms, max {max(during) * 1000:.0f} ms ({len(during)} calls); "
        f"ratio p90 during/idle {p90(during) / p90(idle):.1f}x"
    )
    one_each = len(creates) == PEOPLE and set(made) == wanted and not failures
    print(
        f"RESULT percluster_creates_per_person={len(creates) / PEOPLE:.2f} goal=1 "
        f"({len(creates)} creates for {PEOPLE} people)"
    )
    print(
        f"RESULT percluster_hub_api_p90_s={p90(during):.3f} goal=<={GOAL_P90} "
        "during 20 simultaneous logins"
    )
    ok = one_each and p90(during) <= GOAL_P90
    print(f"goal: one create each and API p90 <= {GOAL_P90:.1f} s -> {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
