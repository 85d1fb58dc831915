"""Provisioning 200 accounts through the KubernetesProvisioner vs. 200 bcrypt hashes.

Every new account costs one bcrypt hash (cost 12, as flux-restful makes them); the rest of
the work (discovery, one pods/exec per batch, the DB script, sqlite) should be small beside
it. The MiniCluster is the fake Kubernetes API server of the tests (tests/kube/fakeapi.py)
with a real flux-restful database behind the broker's flux-restful container; the kubernetes
client and the exec websocket are real.

Runs 200 bcrypt hashes in this process (the baseline), then provisions 200 new accounts in
one batch (single-user MiniCluster), then 200 more on a 4-pod multi-user MiniCluster (Linux
accounts on every pod too), then the baseline again; the baseline is the mean of both runs
so that noise on this shared machine hits both sides alike. Each batch is then sent again:
all accounts exist, so no hash is made, and its time is the fixed cost of a batch.

    python bench/kube_provision.py       # goal: ratio <= 1.30x, exec calls independent of 200
"""

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kube.fakeapi import FakeKubeAPI  # noqa: E402
from kube.miniclusters import add_minicluster  # noqa: E402

from flux_hub.accounts import EnsureOp  # noqa: E402
from flux_hub.kubernetes import KubernetesProvisioner  # noqa: E402

ACCOUNTS = 200
GOAL_RATIO = 1.30
NAMESPACE = "flux-operator"


def cpu():
    """CPU seconds of this process (client, fake API server) and its finished children (the
    exec'd commands): unlike wall time, not inflated by other work on a shared machine."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def hashes(count):
    started, started_cpu = time.perf_counter(), cpu()
    for i in range(count):
        bcrypt.hashpw(f"password-{i}".encode(), bcrypt.gensalt(12))
    return time.perf_counter() - started, cpu() - started_cpu


def restful_db(directory):
    directory.mkdir(parents=True)
    subprocess.run(
        [str(Path(sys.executable).parent / "flux-restful"), "init"],
        cwd=directory,
        env={"PATH": "/usr/bin:/bin", "FLUX_USER": "fluxadmin", "FLUX_TOKEN": "admin-pass"},
        check=True,
        capture_output=True,
    )
    return directory


def provision(api, workdir, name, *, multi_user, size):
    restful_dir = restful_db(workdir / name)
    api.add_secret(
        NAMESPACE,
        "flux-restful",
        {"FLUX_SECRET_KEY": "k", "FLUX_USER": "fluxadmin", "FLUX_TOKEN": "admin-pass"},
    )
    add_minicluster(api, NAMESPACE, name, restful_dir=restful_dir, multi_user=multi_user, size=size)
    provisioner = KubernetesProvisioner(
        minicluster=name,
        namespace=NAMESPACE,
        kubeconfig=api.kubeconfig(workdir / f"{name}.kubeconfig", NAMESPACE),
    )
    ops = [EnsureOp(f"user{i:03d}", f"pw-{name}-{i}") for i in range(ACCOUNTS)]
    before = len(api.exec_calls)
    started, started_cpu = time.perf_counter(), cpu()
    results = provisioner.ensure(ops)
    elapsed, used = time.perf_counter() - started, cpu() - started_cpu
    created = sum(r.status == "created" for r in results)
    if created != ACCOUNTS:
        errors = {r.error for r in results if not r.ok}
        raise SystemExit(f"only {created} of {ACCOUNTS} accounts were created: {errors}")
    execs = len(api.exec_calls) - before
    # The same batch again: every account exists, so no bcrypt at all; what is left is the
    # fixed cost of a batch (discovery, the execs, the script, sqlite, useradd checks).
    started = time.perf_counter()
    again = provisioner.ensure(ops)
    fixed = time.perf_counter() - started
    if {r.status for r in again} != {"unchanged"}:
        raise SystemExit("the second batch changed accounts")
    return elapsed, used, execs, fixed


def main():
    print("flux: none (provisioning by exec into the fake API server's pods; no Flux runs)")
    workdir = Path(tempfile.mkdtemp(prefix="flux-hub-bench-"))
    try:
        with FakeKubeAPI(workdir / "kube") as api:
            first = hashes(ACCOUNTS)
            single = provision(api, workdir, "single", multi_user=False, size=2)
            multi = provision(api, workdir, "multi", multi_user=True, size=4)
            second = hashes(ACCOUNTS)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    baseline = (first[0] + second[0]) / 2
    baseline_cpu = (first[1] + second[1]) / 2
    print(
        f"{ACCOUNTS} bcrypt hashes (cost 12), mean of 2 runs: {baseline:7.2f} s "
        f"({first[0]:.2f} / {second[0]:.2f}), cpu {baseline_cpu:.2f} s"
    )
    rows = (
        ("single-user MiniCluster, 2 pods", *single),
        ("multi-user MiniCluster, 4 pods x 2 containers", *multi),
    )
    worst = 0.0
    for label, elapsed, used, execs, fixed in rows:
        ratio = elapsed / baseline
        worst = max(worst, ratio)
        print(
            f"KubernetesProvisioner, {ACCOUNTS} new accounts, {label}:\n"
            f"    {elapsed:7.2f} s  ratio {ratio:.3f}x  (cpu {used:.2f} s, ratio "
            f"{used / baseline_cpu:.3f}x)  exec calls {execs}  "
            f"(same batch again, no new passwords: {fixed:.2f} s)"
        )
    verdict = "ok" if worst <= GOAL_RATIO else "OVER GOAL"
    print(f"RESULT kube_provisioning_vs_bcrypt={worst:.3f} goal=<={GOAL_RATIO} worst of both")
    print(f"goal: ratio <= {GOAL_RATIO:.2f}x -> {verdict}")
    return 0 if worst <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
