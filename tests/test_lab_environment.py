"""The provisioner's two hooks for a person's server (issue 25): ``lab_environment`` (merged into
FluxAccounts.credentials(), so FLUX_HUB_PATHS reaches the server, its kernels and terminals) and
``spawner_overrides`` (set on a spawner that has the trait, as KubeSpawner's uid and volumes)."""

from types import SimpleNamespace

import pytest
from test_authenticator_unit import FakeUser, config_for, unique, works
from traitlets import Dict, HasTraits, Int, List

from flux_hub.accounts import LocalProvisioner
from flux_hub.hub import FluxAuthenticator
from flux_hub.paths import render

# JUPYTERHUB_CRYPT_KEY for everything the hub encrypts (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("crypt_key")


class PathsProvisioner(LocalProvisioner):
    """A provisioner with the hooks a Kubernetes one has."""

    def lab_environment(self, account, hub_user):
        paths = render(
            {"/home/jovyan": "/shared/home/{account}"}, account=account, username=hub_user
        )
        return {"FLUX_HUB_PATHS": paths, "FLUX_USER": "not-the-account"}

    def spawner_overrides(self, account, hub_user):
        return {"uid": 4321, "volumes": [{"name": f"home-{account}"}], "no_such_trait": 1}


class KubeLikeSpawner(HasTraits):
    environment = Dict()
    uid = Int(None, allow_none=True)
    volumes = List()
    volume_mounts = List()


class MountingProvisioner(LocalProvisioner):
    """As the per-person provisioner: the person's claim at the lab's home."""

    def spawner_overrides(self, account, hub_user):
        return {
            "volumes": [{"name": "flux-hub-files", "persistentVolumeClaim": {"claimName": "c"}}],
            "volume_mounts": [{"name": "flux-hub-files", "mountPath": "/home/jovyan"}],
        }


@pytest.mark.asyncio
async def test_the_hooks_reach_the_server(tmp_path, cluster):
    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c.FluxAccounts.provisioner_class = PathsProvisioner
    auth = FluxAuthenticator(config=c)
    user = FakeUser(unique("paths"))
    await auth.add_user(user)
    account = auth.accounts.record(user.name).account
    paths = f"/home/jovyan=/shared/home/{account}"
    # credentials() holds what lab_environment gives; the FLUX_* credentials still win
    env = auth.accounts.credentials(user.name)
    assert (env["FLUX_HUB_PATHS"], env["FLUX_USER"]) == (paths, account)
    assert works(env)
    spawner = KubeLikeSpawner(environment={"EXISTING": "1"})
    await auth.pre_spawn_start(user, spawner)
    assert spawner.environment["FLUX_HUB_PATHS"] == paths
    assert spawner.environment["EXISTING"] == "1"
    assert (spawner.uid, spawner.volumes) == (4321, [{"name": f"home-{account}"}])
    assert not hasattr(spawner, "no_such_trait")  # only the traits the spawner has
    # A spawner without traits gets the environment only
    plain = SimpleNamespace(environment={})
    await auth.pre_spawn_start(user, plain)
    assert plain.environment["FLUX_HUB_PATHS"] == paths


def test_the_base_provisioner_adds_nothing(tmp_path):
    provisioner = LocalProvisioner(server_dir=str(tmp_path))
    assert provisioner.lab_environment("alice", "alice") == {}
    assert provisioner.spawner_overrides("alice", "alice") == {}


@pytest.mark.asyncio
async def test_the_deployments_own_volumes_stay_beside_flux_hubs(tmp_path, cluster):
    """z2jh's extraVolumes (a dataset, a scratch folder) are kept; a mount flux-hub puts at the
    same path (z2jh's own home) is replaced, not doubled (Kubernetes refuses two mounts at one
    path)."""
    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c.FluxAccounts.provisioner_class = MountingProvisioner
    auth = FluxAuthenticator(config=c)
    user = FakeUser(unique("mounts"))
    await auth.add_user(user)
    spawner = KubeLikeSpawner(
        volumes=[{"name": "datasets", "nfs": {"server": "nfs", "path": "/data"}}],
        volume_mounts=[
            {"name": "datasets", "mountPath": "/data"},
            {"name": "home", "mountPath": "/home/jovyan"},
        ],
    )
    await auth.pre_spawn_start(user, spawner)
    assert [v["name"] for v in spawner.volumes] == ["datasets", "flux-hub-files"]
    assert [(m["name"], m["mountPath"]) for m in spawner.volume_mounts] == [
        ("datasets", "/data"),
        ("flux-hub-files", "/home/jovyan"),
    ]
