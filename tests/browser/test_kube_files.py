"""A person's files and their jobs meet on Kubernetes, as a person works (issue 25, point 5).

The real ``jupyterhub`` runs each person's real JupyterLab (``jupyterhub.singleuser`` with
flux-hub's extension, as the one-machine hub runs it) in a mount namespace of its own, as a lab
pod: their folder of the volume at /home/jovyan (tests/kube/podns.py ``lab_argv``, through
PerUserHub's ``lab_binds``). The MiniClusters are the fake API server's, made into pods by the
fake operator, whose processes (flux-restful, the Flux instance, every job) see the same volume
at the cluster's path only (/shared/home/alice, or /home/alice on a person's own cluster). The
lab path of a folder does not exist where the job runs, nor the cluster path in the lab: a job
given the lab's path would not find ../data.csv.

In the browser, a notebook writes data.csv and analysis/run.py; "Submit as Flux Job…" on run.py
submits it; the job runs in analysis/ on the cluster, reads ../data.csv and writes result.txt,
which the file browser shows (through the detail's link to the lab path) and the notebook
reads. Deployments, each with its own hub:
- shared: a shared MiniCluster, single-user flux-restful, KubernetesProvisioner.shared_paths;
- shared-multi-user: the same with multi-user flux-restful (the lab as the account's uid, the
  owner of its folder, as KubeSpawner's uid from spawner_overrides);
- own-cluster: a MiniCluster per person (MiniClusterPerUserProvisioner) with flux-hub's claim.
"""

import re
import secrets
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from e2e.hubprocess import process_identity
from kube import schema_check
from kube.fake_operator import FakeFluxOperator
from kube.fakeapi import FakeKubeAPI
from kube.miniclusters import operator_minicluster
from kube.perclusterhub import NAMESPACE, PerUserHub
from kube.podns import SETPRIV, claim_dir, claims_root
from kubernetes.client import CustomObjectsApi
from lab_panel import Lab, log_in
from lab_support import ARTIFACTS
from playwright.sync_api import expect
from test_files_and_jobs import notebook, put_contents

from flux_hub.kubernetes.api import load_api_client

pytestmark = pytest.mark.timeout(600)

LAB_HOME = "/home/jovyan"  # the person's folder as their JupyterLab sees it (z2jh)
CLAIM = "flux-hub-shared"
MINICLUSTER = "flux-sample"
KEYS = {
    "FLUX_SECRET_KEY": "the-shared-secret-key",
    "FLUX_TOKEN_SIGNING_KEY": "signing-key",
    "FLUX_USER": "fluxadmin",
    "FLUX_TOKEN": "admin-pass-0123",
}
# A real JupyterLab as a lab pod starts it: HOME=/home/jovyan, the folder the file browser shows.
LAB_SERVER = ["env", f"HOME={LAB_HOME}", sys.executable, "-m", "jupyterhub.singleuser"]
# Multi-user: the lab runs as the account's uid and gid (KubeSpawner's uid and gid from
# spawner_overrides), i.e. the owner of its folder, which the hub made with the account.
AS_FOLDER_OWNER = [
    "sh",
    "-c",
    f'exec {SETPRIV} --reuid="$(stat -c %u {LAB_HOME})" --regid="$(stat -c %g {LAB_HOME})" '
    '--clear-groups -- "$@"',
    "as-folder-owner",
]
LAB_CONFIG = f"""
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = {LAB_HOME!r}
c.Spawner.args = ["--allow-root"]
"""
SHARED_CONFIG = """
c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.KubernetesProvisioner"
c.KubernetesProvisioner.minicluster = {minicluster!r}
c.KubernetesProvisioner.namespace = {namespace!r}
c.KubernetesProvisioner.kubeconfig = {kubeconfig!r}
c.KubernetesProvisioner.cluster_url = {url!r}
c.KubernetesProvisioner.timeout = 120.0
c.KubernetesProvisioner.shared_paths = {{{lab!r}: "/shared/home/{{account}}"}}
"""
OWN_CLUSTER_CONFIG = 'c.MiniClusterPerUserProvisioner.storage_class = "nfs-client"\n'

MODES = ["shared", "shared-multi-user", "own-cluster"]


@pytest.fixture
def fake_kube(tmp_path):
    """The fake API server (its answers checked against the real schemas, as tests/kube's)."""
    api = FakeKubeAPI(tmp_path / "kube")
    api.check_body = lambda body: schema_check.problems(body, schema_check.KUBE_VERSIONS[-1:])
    api.check_connect = schema_check.connect_problems
    api.start()
    yield api
    api.stop()
    assert not api.schema_problems, "; ".join(dict.fromkeys(api.schema_problems))


@pytest.fixture
def operator(fake_kube, tmp_path):
    op = FakeFluxOperator(fake_kube, tmp_path / "operator")
    yield op
    op.stop()


def shared_minicluster(kube, operator, tmp_path, multi_user):
    """A shared MiniCluster applied through the API, the shared claim at /shared in its
    containers; -> its flux-restful's URL."""
    kube.add_secret(NAMESPACE, "flux-restful", KEYS)
    body = operator_minicluster(
        NAMESPACE,
        MINICLUSTER,
        volumes={"shared": {"path": "/shared", "claimName": CLAIM}},
        multi_user=multi_user,
        environment={"FLUX_HUB_HOME_TEMPLATE": "/shared/home/{user}"} if multi_user else None,
    )
    api = CustomObjectsApi(load_api_client(kube.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)))
    api.create_namespaced_custom_object(
        "flux-framework.org", "v1alpha2", NAMESPACE, "miniclusters", body
    )
    operator.settle(timeout=180)
    assert not operator.errors, operator.errors
    return operator.clusters[(NAMESPACE, MINICLUSTER)].url


@pytest.fixture(params=MODES)
def deployment(request, fake_kube, operator, tmp_path):
    """The hub of one deployment, started: its mode, the hub, the cluster's path of alice's
    folder and the volume's folder behind it on this machine."""
    mode = request.param
    if mode == "own-cluster":
        # flux-hub's claim flux-alice-files: /home/alice in her cluster, /home/jovyan in her lab
        binds = {LAB_HOME: claims_root(fake_kube) / NAMESPACE / "flux-{user}-files"}
        extra, cluster_home, server = OWN_CLUSTER_CONFIG, "/home/alice", LAB_SERVER
        volume_home = claims_root(fake_kube) / NAMESPACE / "flux-alice-files"
    else:
        multi_user = mode == "shared-multi-user"
        url = shared_minicluster(fake_kube, operator, tmp_path, multi_user)
        # z2jh's static storage: the claim's home/{username} at /home/jovyan
        binds = {LAB_HOME: claim_dir(fake_kube, NAMESPACE, CLAIM) / "home" / "{user}"}
        extra = SHARED_CONFIG.format(
            minicluster=MINICLUSTER,
            namespace=NAMESPACE,
            kubeconfig=fake_kube.kubeconfig(tmp_path / "hub.kubeconfig", NAMESPACE),
            url=url,
            lab=LAB_HOME,
        )
        cluster_home = "/shared/home/alice"
        volume_home = claim_dir(fake_kube, NAMESPACE, CLAIM) / "home" / "alice"
        server = AS_FOLDER_OWNER + LAB_SERVER if multi_user else LAB_SERVER
    hub = PerUserHub(
        tmp_path / "hub",
        fake_kube,
        operator,
        extra=LAB_CONFIG + extra,
        lab_binds=binds,
        server=server,
    ).start(timeout=180)
    yield SimpleNamespace(mode=mode, hub=hub, cluster_home=cluster_home, volume_home=volume_home)
    hub.stop()


def test_a_notebooks_script_runs_in_its_folder_on_the_cluster_and_its_result_comes_back(
    deployment, browser
):
    hub, mode = deployment.hub, deployment.mode
    project = f"project-{secrets.token_hex(3)}"
    values = [secrets.randbelow(1000) for _ in range(5)]
    expected = f"sum={sum(values)} rows={len(values)}"
    folder = f"{LAB_HOME}/{project}/analysis"  # as the lab sees it
    cluster_folder = f"{deployment.cluster_home}/{project}/analysis"  # as the job does
    assert folder != cluster_folder
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        log_in(page, hub, "alice", "any password")
        page.wait_for_url("**/user/alice/lab**", timeout=240_000)
        page.goto(f"{hub.url}/user/alice/lab/workspaces/{project}?reset")
        lab = Lab(page, SimpleNamespace(user="alice"), workspace=project)
        lab.wait_until_ready()
        base_url = page.evaluate(
            "JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl"
        )

        # The person's notebook in a project folder; its first cell writes the files.
        put_contents(page, base_url, project, {"type": "directory"})
        put_contents(page, base_url, f"{project}/work.ipynb", notebook(values))
        lab.show_files()
        lab.open_in_file_browser(project)
        lab.open_in_file_browser("work.ipynb")
        nb = page.locator(".jp-NotebookPanel", has_text="analysis/result.txt")
        expect(nb).to_be_visible()
        expect(page.get_by_role("button", name="Python 3 (ipykernel) | Idle")).to_be_visible()
        expect(lab.run_cell(nb, 0)).to_have_text("wrote data.csv and analysis/run.py\n")

        # Right-click run.py: "Submit as Flux Job…"; the form shows the lab's folder.
        lab.open_in_file_browser("analysis")
        lab.context_menu(lab.file_item("run.py"), "Submit as Flux Job…")
        expect(lab.form.get_by_label("Command", exact=True)).to_have_value("python3 run.py")
        expect(lab.form.get_by_label("Working directory", exact=True)).to_have_value(folder)
        lab.press_submit()
        job_id = lab.submitted_job_id()
        expect(lab.form).to_have_count(0)

        lab.open_panel()
        lab.wait_for_result(job_id, "COMPLETED")
        detail = lab.open_job(job_id)
        # It ran in the script's folder as the cluster sees it (and found ../data.csv there)
        expect(detail.get_by_label("Job output")).to_have_text(
            f"wrote result.txt in {cluster_folder}\n"
        )
        # The detail shows the lab's path, a link to the folder, the cluster's beside it
        workdir = detail.get_by_role("table", name="Job summary").locator(
            "tr", has=page.locator("th", has_text="Working directory")
        )
        expect(workdir.locator("td")).to_have_text(f"{folder} (on the cluster: {cluster_folder})")
        link = workdir.get_by_role("link", name=folder, exact=True)
        expect(link).to_have_attribute("href", re.compile(f"/lab/tree/{project}/analysis$"))

        # The file browser elsewhere; the link takes it to the folder, result.txt in it.
        lab.show_files()
        lab.go_home_in_file_browser()
        expect(lab.file_item(project)).to_be_visible()
        link.click()
        expect(lab.file_browser.locator(".jp-BreadCrumbs")).to_contain_text("analysis")
        expect(lab.file_item("result.txt")).to_be_visible()
        expect(detail).to_be_visible()
        lab.clear_notifications()
        lab.screenshot(f"kube-files-{mode}")

        # The notebook reads what the job wrote.
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="work.ipynb").click()
        expect(lab.run_cell(nb, 1)).to_have_text(f"{expected}\n\n")

        # On the volume, where neither side's path exists on this machine
        result = deployment.volume_home / project / "analysis" / "result.txt"
        assert result.read_text() == f"{expected}\n"
        assert not Path(folder).exists() and not Path(cluster_folder).exists()
        if mode == "shared-multi-user":
            # The lab ran as the account's uid, the owner of its folder and of what its job wrote
            uid, _, _ = process_identity(hub.server_pid("alice"))
            assert uid != 0
            assert deployment.volume_home.stat().st_uid == uid
            assert result.stat().st_uid == uid
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-kube-files-{mode}.png"))
        (ARTIFACTS / f"FAILED-kube-files-{mode}-hub.log").write_text(hub.tail(300))
        raise
    finally:
        context.close()
