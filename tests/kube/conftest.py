"""Fixtures for the Kubernetes tests: the fake API server and MiniClusters in it.

Each MiniCluster's broker has a real flux-restful database (made by `flux-restful init`)
behind the server's working directory, so account changes are checked in the real DB. A v1alpha1
MiniCluster has the real legacy flux-restful-api at /flux-restful-api (flux_hub.local.legacy),
and its container's python3 is that server's own environment.
"""

import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest

from flux_hub.kubernetes import KubernetesProvisioner, MiniClusterLocator
from flux_hub.kubernetes.api import load_api_client
from flux_hub.local import legacy

from . import schema_check
from .fakeapi import FakeKubeAPI
from .miniclusters import add_minicluster

NAMESPACE = "flux-operator"
ADMIN_USER = "fluxadmin"
ADMIN_PASSWORD = "admin-pass-0123"
SECRET_KEY = "the-shared-secret-key"


@dataclass
class Cluster:
    api: FakeKubeAPI
    name: str
    pods: list
    restful_dir: Path
    kubeconfig: str
    namespace: str = NAMESPACE

    def provisioner(self, **traits):
        traits.setdefault("minicluster", self.name)
        traits.setdefault("namespace", self.namespace)
        traits.setdefault("kubeconfig", self.kubeconfig)
        traits.setdefault("timeout", 120.0)
        return KubernetesProvisioner(**traits)

    def locator(self, name=None, **kwargs):
        return MiniClusterLocator(
            load_api_client(self.kubeconfig), name or self.name, self.namespace, **kwargs
        )

    def db_users(self):
        """{name: {"hash", "active", "superuser"}} straight from the server's database."""
        with sqlite3.connect(self.restful_dir / "flux-restful.db") as db:
            rows = db.execute(
                "SELECT user_name, hashed_password, is_active, is_superuser FROM user"
            ).fetchall()
        return {
            name: {"hash": h, "active": bool(active), "superuser": bool(su)}
            for name, h, active, su in rows
        }

    def password_works(self, name, password):
        """What the server checks at login: bcrypt against the stored hash."""
        user = self.db_users().get(name)
        return bool(user) and bcrypt.checkpw(password.encode(), user["hash"].encode())

    def exec_argv(self):
        return [argv for *_, argv in self.api.exec_calls]


@pytest.fixture(scope="session")
def restful_db_template(tmp_path_factory):
    """A flux-restful.db made by the real `flux-restful init` (superuser fluxadmin)."""
    directory = tmp_path_factory.mktemp("restful-db")
    subprocess.run(
        [str(Path(sys.executable).parent / "flux-restful"), "init"],
        cwd=directory,
        env={"PATH": "/usr/bin:/bin", "FLUX_USER": ADMIN_USER, "FLUX_TOKEN": ADMIN_PASSWORD},
        check=True,
        capture_output=True,
    )
    return directory / "flux-restful.db"


@pytest.fixture(scope="session")
def legacy_server_template(tmp_path_factory):
    """/flux-restful-api as a v1alpha1 MiniCluster has it: the real legacy flux-restful-api,
    its DB made by its own entrypoint steps (superuser fluxadmin); and its Python's bin/."""
    folder = tmp_path_factory.mktemp("legacy-server") / "flux-restful-api"
    env = {"PATH": "/usr/bin:/bin", "FLUX_SECRET_KEY": SECRET_KEY}
    built = legacy.prepare(folder, env, ADMIN_USER, ADMIN_PASSWORD, {})
    return folder, Path(built["python"]).parent


@pytest.fixture
def kube(tmp_path):
    """The fake API server; every object it answers with must pass the real schemas (the
    newest Kubernetes version's, and the MiniCluster CRD's), checked when the test ends."""
    api = FakeKubeAPI(tmp_path / "kube")
    api.check_body = lambda body: schema_check.problems(body, schema_check.KUBE_VERSIONS[-1:])
    api.check_connect = schema_check.connect_problems
    api.start()
    yield api
    api.stop()
    assert not api.schema_problems, "the fake API server answered with objects a real one " + (
        "would not serve: " + "; ".join(dict.fromkeys(api.schema_problems))
    )


@pytest.fixture
def make_minicluster(kube, tmp_path, restful_db_template, request):
    """make_minicluster(name, version=..., size=..., multi_user=...) -> Cluster."""

    def make(name="flux-sample", **kwargs):
        restful_dir = tmp_path / f"{name}-restful"
        if kwargs.get("version") == "v1alpha1":
            folder, kwargs["legacy_bin"] = request.getfixturevalue("legacy_server_template")
            shutil.copytree(folder, restful_dir, symlinks=True)
        else:
            restful_dir.mkdir()
            shutil.copy(restful_db_template, restful_dir / "flux-restful.db")
        kube.add_secret(
            NAMESPACE,
            kwargs.get("secret_name", "flux-restful"),
            {
                "FLUX_SECRET_KEY": SECRET_KEY,
                "FLUX_TOKEN_SIGNING_KEY": "signing-key",
                "FLUX_USER": ADMIN_USER,
                "FLUX_TOKEN": ADMIN_PASSWORD,
            },
        )
        pods = add_minicluster(kube, NAMESPACE, name, restful_dir=restful_dir, **kwargs)
        kubeconfig = kube.kubeconfig(tmp_path / f"{name}.kubeconfig", NAMESPACE)
        return Cluster(kube, name, pods, restful_dir, kubeconfig)

    return make
