"""A person's files and their jobs on the fake Kubernetes: a path works on one side only once it
is translated (flux_hub.paths.PathMap).

The fake operator runs each MiniCluster's flux-restful, Flux instance and jobs in a mount
namespace of the broker pod's own (tests/kube/podns.py) with the MiniCluster's volumes at their
mount paths; the claim behind a volume is a folder of the fake API server's, which this test
(the lab side) sees at another path and which is hidden inside the pod. So a job given the lab's
path dies in chdir, the same job given the cluster's path runs, and what it writes is in the
lab's folder. Both lanes: the simulated instance and real Flux (FLUX_HUB_SIMULATE).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kubernetes.client import CustomObjectsApi
from restful_support import wait_done

from flux_hub.accounts.provisioner import EnsureOp
from flux_hub.kubernetes import KubernetesProvisioner
from flux_hub.kubernetes.api import load_api_client
from flux_hub.paths import PathMap
from flux_hub.restful import FluxRestfulClient

from .conftest import ADMIN_PASSWORD, ADMIN_USER, NAMESPACE, SECRET_KEY
from .fake_operator import FakeFluxOperator
from .miniclusters import operator_minicluster
from .perclusterhub import PerUserHub
from .podns import (
    NSENTER,
    SETPRIV,
    claim_dir,
    claims_root,
    lab_argv,
    mount_namespace,
    namespace_cost,
)

CLAIM = "flux-hub-shared"
SHARED = "/shared"  # the volume's mount path in every MiniCluster pod
LAB_HOME = "/home/jovyan"  # the person's folder as their JupyterLab sees it


@pytest.fixture
def operator(kube, tmp_path):
    op = FakeFluxOperator(kube, tmp_path / "operator")
    yield op
    op.stop()


@pytest.fixture
def shared_cluster(kube, operator, tmp_path):
    """A shared MiniCluster made through the API (as `kubectl apply` would), the shared claim
    mounted at /shared in its containers; -> (operator's LocalCluster, the claim's folder)."""
    kube.add_secret(
        NAMESPACE,
        "flux-restful",
        {
            "FLUX_SECRET_KEY": SECRET_KEY,
            "FLUX_TOKEN_SIGNING_KEY": "signing-key",
            "FLUX_USER": ADMIN_USER,
            "FLUX_TOKEN": ADMIN_PASSWORD,
        },
    )
    body = operator_minicluster(
        NAMESPACE, "flux-sample", volumes={"shared": {"path": SHARED, "claimName": CLAIM}}
    )
    api = CustomObjectsApi(load_api_client(kube.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)))
    api.create_namespaced_custom_object(
        "flux-framework.org", "v1alpha2", NAMESPACE, "miniclusters", body
    )
    operator.settle(timeout=180)
    assert not operator.errors, operator.errors
    return operator.clusters[(NAMESPACE, "flux-sample")], claim_dir(kube, NAMESPACE, CLAIM)


def _client(cluster):
    return FluxRestfulClient(cluster.url, ADMIN_USER, ADMIN_PASSWORD, SECRET_KEY)


def _output(client, jobid):
    return "".join(client.output(jobid))


WRITE_PY = """\
from pathlib import Path

Path("out.txt").write_text("made\\n")
print("cwd", Path.cwd())
"""


def test_untranslated_lab_path_does_not_exist_in_the_cluster(shared_cluster):
    """The same job twice: in the lab's path of a folder, then in the cluster's path of it."""
    cluster, claim = shared_cluster
    # The lab side: the person's folder of the claim, as this process sees it
    lab = claim / "home" / "alice"
    analysis = lab / "analysis"
    analysis.mkdir(parents=True)
    (analysis / "write.py").write_text(WRITE_PY)
    paths = PathMap.parse(f"{lab}=/shared/home/alice")
    client = _client(cluster)
    try:
        untranslated = client.submit(["python3", "write.py"], workdir=str(analysis))
        failed = wait_done(client, untranslated, timeout=120)
        failed_output = _output(client, untranslated)
        written_before = (analysis / "out.txt").exists()
        translated = client.submit(["python3", "write.py"], workdir=paths.to_cluster(str(analysis)))
        done = wait_done(client, translated, timeout=120)
        output = _output(client, translated)
    finally:
        client.close()

    # The lab's path is not in the pod: the job shell could not go there ("Could not change
    # dir", in the job's log), so Flux ran the task in /tmp, where there is no write.py
    assert "can't open file '/tmp/write.py': [Errno 2] No such file" in failed_output
    assert failed["result"] == "FAILED" and failed["returncode"] == 2, failed
    assert not written_before
    # The cluster's path is the same folder: the job ran there and the lab sees its file
    assert done["result"] == "COMPLETED", (done, output)
    assert "cwd /shared/home/alice/analysis" in output
    assert (analysis / "out.txt").read_text() == "made\n"
    # ... and the cluster's path means nothing outside the pod
    assert not Path("/shared/home/alice").exists()
    assert not any(Path(SHARED).iterdir()), "the mount point on this machine must stay empty"


RUN_PY = """\
import csv
from pathlib import Path

rows = list(csv.DictReader(open("../data.csv")))
total = sum(int(row["count"]) for row in rows)
Path("result.txt").write_text(f"{len(rows)} rows, total {total}\\n")
print("cwd", Path.cwd())
"""


def test_a_script_in_the_lab_runs_in_its_folder_and_its_result_comes_back(shared_cluster):
    """The round trip a person makes: data.csv and analysis/run.py written in the lab, run.py
    submitted in its folder (translated), the job reads the data and writes result.txt, which
    the lab then has."""
    cluster, claim = shared_cluster
    lab = claim / "home" / "alice"  # the lab's /home/jovyan (z2jh: subPath home/alice)
    analysis = lab / "analysis"
    analysis.mkdir(parents=True)
    (lab / "data.csv").write_text("name,count\na,1\nb,2\nc,4\n")
    (analysis / "run.py").write_text(textwrap.dedent(RUN_PY))
    paths = PathMap.parse(f"{lab}=/shared/home/alice")
    client = _client(cluster)
    try:
        jobid = client.submit(["python3", "run.py"], workdir=paths.to_cluster(str(analysis)))
        info = wait_done(client, jobid, timeout=120)
        output = _output(client, jobid)
    finally:
        client.close()

    assert info["result"] == "COMPLETED", (info, output)
    assert "cwd /shared/home/alice/analysis" in output
    assert (analysis / "result.txt").read_text() == "3 rows, total 7\n"
    assert paths.to_lab("/shared/home/alice/analysis/result.txt") == str(analysis / "result.txt")


NOTEBOOK = """\
import json, os
from pathlib import Path
from flux_hub.notebook import connect

home = Path.home()  # /home/jovyan
(home / "analysis").mkdir()
(home / "data.csv").write_text("name,count\\na,1\\nb,2\\nc,4\\n")
(home / "analysis" / "run.py").write_text(RUN_PY)
os.chdir(home / "analysis")
flux = connect()
job = flux.submit("python3 run.py", name="analysis").wait(timeout=120)
print(json.dumps({
    "result": job.info["result"],
    "workdir": job.workdir,
    "lab_workdir": job.lab_workdir,
    "output": job.output(),
    "result.txt": (home / "analysis" / "result.txt").read_text(),
}))
"""


def test_a_notebook_in_the_lab_pod_submits_its_folder_and_reads_the_result(
    shared_cluster, kube, tmp_path
):
    """As point 5 of issue 25 has it, minus the browser: the hub makes alice's account in the
    MiniCluster and gives her server FLUX_HUB_PATHS (KubernetesProvisioner.shared_paths); her
    notebook kernel runs in a lab pod of its own (the claim's home/alice at /home/jovyan, as
    z2jh's subPath mounts it), writes data.csv and analysis/run.py, submits run.py from its
    folder and reads result.txt there."""
    cluster, claim = shared_cluster
    provisioner = KubernetesProvisioner(
        minicluster="flux-sample",
        namespace=NAMESPACE,
        kubeconfig=kube.kubeconfig(tmp_path / "hub.kubeconfig", NAMESPACE),
        cluster_url=cluster.url,
        timeout=120.0,
        shared_paths={LAB_HOME: "/shared/home/{account}"},
    )
    [made] = provisioner.ensure([EnsureOp("alice", "alice-password-0123")])
    assert made.ok, made
    env = {
        "PATH": os.environ["PATH"],
        "HOME": LAB_HOME,
        "JUPYTERHUB_USER": "alice",
        "FLUX_RESTFUL_HOST": cluster.url,
        "FLUX_USER": "alice",
        "FLUX_TOKEN": "alice-password-0123",
        "FLUX_SECRET_KEY": SECRET_KEY,
        **provisioner.lab_environment("alice", "alice"),
    }
    assert env["FLUX_HUB_PATHS"] == "/home/jovyan=/shared/home/alice"
    script = NOTEBOOK.replace("RUN_PY", repr(RUN_PY))
    kernel = subprocess.run(
        lab_argv({LAB_HOME: claim / "home" / "{user}"}, [sys.executable, "-c", script]),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert kernel.returncode == 0, kernel.stderr
    seen = json.loads(kernel.stdout)
    assert seen["result"] == "COMPLETED", seen
    assert seen["workdir"] == "/shared/home/alice/analysis"  # what the job was given
    assert seen["lab_workdir"] == "/home/jovyan/analysis"  # what the notebook shows
    assert "cwd /shared/home/alice/analysis" in seen["output"]
    assert seen["result.txt"] == "3 rows, total 7\n"
    # The same file, on the volume; neither side's path exists on this machine
    assert (claim / "home" / "alice" / "analysis" / "result.txt").exists()
    assert not Path(LAB_HOME).exists()
    assert not any(Path(SHARED).iterdir())


LAB_MULTI_USER = """\
import json, os, sys
from pathlib import Path
from flux_hub.notebook import connect

home = Path.home()  # /home/jovyan: her folder of the volume, as her uid
(home / "analysis").mkdir()
(home / "data.csv").write_text("name,count\\na,1\\nb,2\\nc,4\\n")
(home / "analysis" / "run.py").write_text(RUN_PY)
os.chdir(home / "analysis")
flux = connect()
job = flux.submit("python3 run.py").wait(timeout=120)
result = home / "analysis" / "result.txt"
if not result.exists():  # say why, for the assertion on the lab's exit
    print("the job wrote no result.txt:", job.info, repr(job.output()), file=sys.stderr)
seen = {
    "uid": os.getuid(),
    "result": job.info["result"],
    "output": job.output(),
    "result.txt": result.read_text(),
    "owner": result.stat().st_uid,
    "mode": oct(home.stat().st_mode & 0o777),
}
result.unlink()  # the lab deletes what the job wrote
seen["deleted"] = not result.exists()
print(json.dumps(seen))
"""


def test_multi_user_the_lab_and_her_jobs_share_her_folder_and_others_cannot_read_it(
    kube, operator, tmp_path
):
    """A multi-user shared MiniCluster (issue 25 points 3 and 5): the hub makes ines's and
    omar's accounts in its pods (homes on the volume; neither exists on this machine); ines's
    lab runs as her uid with her folder at /home/jovyan, writes the data and the script, her
    job (as her uid) reads them and writes result.txt, which her lab reads and deletes;
    omar's job cannot read her folder."""
    kube.add_secret(
        NAMESPACE,
        "flux-restful",
        {
            "FLUX_SECRET_KEY": SECRET_KEY,
            "FLUX_TOKEN_SIGNING_KEY": "signing-key",
            "FLUX_USER": ADMIN_USER,
            "FLUX_TOKEN": ADMIN_PASSWORD,
        },
    )
    body = operator_minicluster(
        NAMESPACE,
        "flux-sample",
        multi_user=True,
        volumes={"shared": {"path": SHARED, "claimName": CLAIM}},
        environment={"FLUX_HUB_HOME_TEMPLATE": "/shared/home/{user}"},
    )
    kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)
    CustomObjectsApi(load_api_client(kubeconfig)).create_namespaced_custom_object(
        "flux-framework.org", "v1alpha2", NAMESPACE, "miniclusters", body
    )
    operator.settle(timeout=180)
    assert not operator.errors, operator.errors
    cluster = operator.clusters[(NAMESPACE, "flux-sample")]
    claim = claim_dir(kube, NAMESPACE, CLAIM)
    provisioner = KubernetesProvisioner(
        minicluster="flux-sample",
        namespace=NAMESPACE,
        kubeconfig=kubeconfig,
        cluster_url=cluster.url,
        timeout=120.0,
        shared_paths={LAB_HOME: "/shared/home/{account}"},
    )
    passwords = {"ines": "ines-password-0123", "omar": "omar-password-0123"}
    assert all(o.ok for o in provisioner.ensure([EnsureOp(n, p) for n, p in passwords.items()]))
    broker = next(p for p in kube.pods.values() if p.name.startswith("flux-sample-0-"))
    uids = broker.containers["flux-restful"].users()
    assert uids["ines"] != uids["omar"] and os.stat(claim / "home" / "ines").st_uid == uids["ines"]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": LAB_HOME,
        "JUPYTERHUB_USER": "ines",
        "FLUX_RESTFUL_HOST": cluster.url,
        "FLUX_USER": "ines",
        "FLUX_TOKEN": passwords["ines"],
        "FLUX_SECRET_KEY": SECRET_KEY,
        **provisioner.lab_environment("ines", "ines"),
    }
    script = LAB_MULTI_USER.replace("RUN_PY", repr(RUN_PY))
    as_ines = [SETPRIV, f"--reuid={uids['ines']}", f"--regid={uids['ines']}", "--clear-groups"]
    lab = subprocess.run(
        lab_argv({LAB_HOME: claim / "home" / "{user}"}, [*as_ines, sys.executable, "-c", script]),
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=300,
    )
    with FluxRestfulClient(cluster.url, "omar", passwords["omar"], SECRET_KEY) as omar:
        snoop = omar.submit(["cat", "/shared/home/ines/data.csv"])
        snooped = wait_done(omar, snoop, timeout=120)
        snoop_output = _output(omar, snoop)
        own = omar.submit(["sh", "-c", "pwd; id -u"])  # no working directory given
        wait_done(omar, own, timeout=120)
        own_output = _output(omar, own)

    assert lab.returncode == 0, lab.stderr
    seen = json.loads(lab.stdout)
    assert seen["uid"] == uids["ines"] and seen["mode"] == "0o700"
    assert seen["result"] == "COMPLETED", seen
    assert "cwd /shared/home/ines/analysis" in seen["output"]
    assert seen["result.txt"] == "3 rows, total 7\n"
    assert seen["owner"] == uids["ines"]  # the job ran as her account of the pod
    assert seen["deleted"]
    assert snooped["result"] == "FAILED", snooped
    assert "cat: /shared/home/ines/data.csv: Permission denied" in snoop_output, snooped
    # A job given no working directory starts in its owner's folder on the volume
    assert own_output == f"/shared/home/omar\n{uids['omar']}\n"


def envserver_pid(hub, name):
    """The pid of the person's stand-in JupyterLab server of this hub."""
    wanted = [f"JUPYTERHUB_USER={name}".encode(), f"FAKE_ENV_OUT={hub.envs}".encode()]
    for entry in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"envserver.py" in argv and all(item in environ for item in wanted):
            return int(entry)
    return None


def test_a_persons_lab_server_and_own_cluster_see_their_files_at_their_own_paths(
    kube, operator, tmp_path
):
    """A MiniCluster per person with flux-hub's claim (at /home/alice in the cluster): the
    real hub starts alice's server in a lab pod of its own (the same claim at /home/jovyan);
    a kernel of that server writes and submits as a notebook does, the job runs in her
    cluster's pod at the translated path, and the kernel reads its result."""
    hub = PerUserHub(
        tmp_path / "hub",
        kube,
        operator,
        extra='c.MiniClusterPerUserProvisioner.storage_class = "nfs-client"\n',
        lab_binds={LAB_HOME: claims_root(kube) / NAMESPACE / "flux-{user}-files"},
    ).start(timeout=180)
    try:
        hub.login("alice", "any password")
        assert hub.spawn_with_progress("alice")[-1].get("ready")
        env = hub.server_env("alice")
        pid = envserver_pid(hub, "alice")
        assert pid, hub.tail()
        # A kernel of her server: in its mount namespace, with its FLUX_* environment
        kernel = subprocess.run(
            [
                NSENTER,
                f"--target={pid}",
                "--mount",
                "--",
                sys.executable,
                "-c",
                NOTEBOOK.replace("RUN_PY", repr(RUN_PY)),
            ],
            env={"PATH": os.environ["PATH"], "HOME": LAB_HOME, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        hub.stop()

    assert env["FLUX_HUB_PATHS"] == "/home/jovyan=/home/alice"
    assert kernel.returncode == 0, kernel.stderr
    seen = json.loads(kernel.stdout)
    assert seen["result"] == "COMPLETED", seen
    assert seen["workdir"] == "/home/alice/analysis"
    assert seen["lab_workdir"] == "/home/jovyan/analysis"
    assert "cwd /home/alice/analysis" in seen["output"]
    assert seen["result.txt"] == "3 rows, total 7\n"
    claim = claim_dir(kube, NAMESPACE, "flux-alice-files")
    assert (claim / "analysis" / "result.txt").read_text() == "3 rows, total 7\n"
    assert not Path(LAB_HOME).exists()


def test_the_pod_has_its_own_mount_namespace(shared_cluster):
    cluster, claim = shared_cluster
    assert mount_namespace(cluster.server_pid) != mount_namespace("self")
    # A file of the claim shows at /shared in the pod only
    (claim / "marker").write_text("x")
    assert not Path(SHARED, "marker").exists()
    assert Path(f"/proc/{cluster.server_pid}/root/shared/marker").read_text() == "x"
    # and the fake API server's folder of it is hidden there
    assert not Path(f"/proc/{cluster.server_pid}/root{claim}").exists()


def test_what_a_namespace_costs():
    """Not an assertion of speed: the cost is printed (pytest -s) and must stay small."""
    with_ns, without = namespace_cost(runs=20)
    print(f"process start: {without * 1e3:.2f} ms; in a pod namespace: {with_ns * 1e3:.2f} ms")
    assert with_ns - without < 0.5
