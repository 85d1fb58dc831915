"""End to end: a real JupyterHub whose accounts live in a MiniCluster reached through Kubernetes.

The MiniCluster's broker is the fake API server's pod; behind its flux-restful container's
working directory is the state directory of a real flux-restful server (a LocalCluster), so
what the hub does through pods/exec lands in the database that server logs people in with.
The hub itself only knows the MiniCluster's name, namespace and a kubeconfig; the cluster's
URL is set because the pod's cluster DNS name does not resolve on this machine.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from jupyterhub.utils import random_port

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient

from .conftest import NAMESPACE
from .miniclusters import add_minicluster

CRYPT_KEY = "ab" * 32


def _wait_for(url, proc, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"jupyterhub exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"jupyterhub did not answer at {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture
def restful(tmp_path):
    cluster = LocalCluster(tmp_path / "restful", users=("ada",)).start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture
def hub(tmp_path, kube, restful):
    kube.add_secret(
        NAMESPACE,
        "flux-restful",
        {
            "FLUX_SECRET_KEY": restful.secret_key,
            "FLUX_USER": restful.admin_user,
            "FLUX_TOKEN": restful.passwords[restful.admin_user],
        },
    )
    pods = add_minicluster(kube, NAMESPACE, "flux-sample", restful_dir=restful.state_dir)
    kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    url = f"http://127.0.0.1:{random_port()}"
    announced = hub_dir / "new-passwords.txt"
    (hub_dir / "jupyterhub_config.py").write_text(
        f"""
c.JupyterHub.bind_url = {url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{random_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{random_port()}"
c.JupyterHub.db_url = "sqlite:///{hub_dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{hub_dir}/cookie_secret"
c.JupyterHub.pid_file = "{hub_dir}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "flux"
c.Authenticator.admin_users = {{"ada"}}
c.FluxAuthenticator.announce_passwords_to = [{str(announced)!r}]
c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.KubernetesProvisioner"
c.FluxAccounts.store_path = "{hub_dir}/flux-hub-accounts.sqlite"
c.KubernetesProvisioner.minicluster = "flux-sample"
c.KubernetesProvisioner.namespace = {NAMESPACE!r}
c.KubernetesProvisioner.kubeconfig = {kubeconfig!r}
c.KubernetesProvisioner.cluster_url = {restful.url!r}
"""
    )
    log = hub_dir / "jupyterhub.log"
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(hub_dir),
        "JUPYTERHUB_CRYPT_KEY": CRYPT_KEY,
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=hub_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(f"{url}/hub/api", proc, log)
        yield {"url": url, "broker": pods[0].name, "announced": announced, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _login(url, name, password):
    session = requests.Session()
    session.get(f"{url}/hub/login", timeout=30)
    response = session.post(
        f"{url}/hub/login",
        data={"username": name, "password": password, "_xsrf": session.cookies.get("_xsrf")},
        allow_redirects=False,
        timeout=60,
    )
    assert response.status_code == 302, response.text
    return session


def _db_user(restful, name):
    import sqlite3

    with sqlite3.connect(restful.db_path) as db:
        return db.execute(
            "SELECT is_active, is_superuser FROM user WHERE user_name = ?", (name,)
        ).fetchone()


def test_admin_adds_a_user_and_the_account_exists_in_the_minicluster(hub, restful, kube):
    admin = _login(hub["url"], "ada", restful.passwords["ada"])
    xsrf = {"X-XSRFToken": admin.cookies.get("_xsrf")}

    response = admin.post(f"{hub['url']}/hub/api/users/dave", headers=xsrf, timeout=120)

    assert response.status_code == 201, response.text
    assert _db_user(restful, "dave") == (1, 0)
    broker_execs = [c for c in kube.exec_calls if c[1] == hub["broker"] and c[3][0] == "python3"]
    assert broker_execs and all(c[2] == "flux-restful" for c in broker_execs)
    # The password the hub made for dave is the one in the DB: dave can submit with it.
    found = re.search(r"Adding 'dave' with password '([^']+)'", hub["announced"].read_text())
    assert found
    client = FluxRestfulClient(restful.url, "dave", found.group(1), restful.secret_key)
    try:
        assert isinstance(client.submit("true"), int)
    finally:
        client.close()
    assert found.group(1) not in hub["log"].read_text()

    response = admin.delete(f"{hub['url']}/hub/api/users/dave", headers=xsrf, timeout=120)

    assert response.status_code == 204, response.text
    assert _db_user(restful, "dave") == (0, 0)
