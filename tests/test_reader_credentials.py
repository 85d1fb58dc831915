"""Where the hub's reader gets its superuser: the local cluster's state file, a MiniCluster's
Secret; no reader for the legacy server or per-person clusters (their provisioners say None)."""

import json

import pytest

from flux_hub.accounts.provisioner import LocalProvisioner, Provisioner, ProvisioningError
from flux_hub.kubernetes.discovery import ServerCredentials
from flux_hub.kubernetes.percluster.provisioner import MiniClusterPerUserProvisioner
from flux_hub.kubernetes.provisioner import KubernetesProvisioner
from flux_hub.local.cluster import STATE_FILE


def test_no_reader_by_default():
    assert Provisioner().reader_credentials() is None
    assert MiniClusterPerUserProvisioner().reader_credentials() is None


def test_local_cluster_superuser_from_its_state_file(tmp_path):
    state = {"secret_key": "shh", "passwords": {"fluxadmin": "admin-pw", "alice": "a-pw"}}
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    provisioner = LocalProvisioner(
        cluster_state_dir=str(tmp_path),
        cluster_url="http://127.0.0.1:5999",
        superusers=["fluxadmin"],
    )
    creds = provisioner.reader_credentials()
    assert (creds.url, creds.user, creds.password, creds.secret_key) == (
        "http://127.0.0.1:5999",
        "fluxadmin",
        "admin-pw",
        "shh",
    )
    # The password never shows in its repr (it reaches logs through tracebacks and reprs)
    assert "admin-pw" not in repr(creds) and "shh" not in repr(creds)


def test_local_cluster_not_started_yet_is_asked_again_later(tmp_path):
    provisioner = LocalProvisioner(cluster_state_dir=str(tmp_path), superusers=["fluxadmin"])
    with pytest.raises(ProvisioningError, match="not made yet"):
        provisioner.reader_credentials()
    (tmp_path / STATE_FILE).write_text(json.dumps({"secret_key": "s", "passwords": {}}))
    with pytest.raises(ProvisioningError):
        provisioner.reader_credentials()


def test_local_cluster_without_state_dir_or_legacy_has_no_reader(tmp_path):
    (tmp_path / STATE_FILE).write_text(json.dumps({"passwords": {"fluxadmin": "pw"}}))
    assert LocalProvisioner(superusers=["fluxadmin"]).reader_credentials() is None
    legacy = LocalProvisioner(
        cluster_state_dir=str(tmp_path), superusers=["fluxadmin"], layout="legacy"
    )
    assert legacy.reader_credentials() is None


def _kube(monkeypatch, keys, legacy=False):
    provisioner = KubernetesProvisioner(
        minicluster="flux-sample",
        namespace="flux",
        cluster_url="http://flux-sample:5000",
        secret_key="cluster-secret",
        superusers=["fluxuser"],
    )
    monkeypatch.setattr(provisioner, "_credentials", lambda: keys)
    monkeypatch.setattr(provisioner, "_legacy_or_unknown", lambda: legacy)
    return provisioner


def test_minicluster_superuser_from_its_secret(monkeypatch):
    keys = ServerCredentials(secret_key="k", admin_user="fluxuser", admin_password="pw")
    creds = _kube(monkeypatch, keys).reader_credentials()
    assert (creds.url, creds.user, creds.password, creds.secret_key) == (
        "http://flux-sample:5000",
        "fluxuser",
        "pw",
        "cluster-secret",
    )


def test_minicluster_legacy_or_without_superuser_password_has_no_reader(monkeypatch):
    keys = ServerCredentials(secret_key="k", admin_user="fluxuser", admin_password="pw")
    assert _kube(monkeypatch, keys, legacy=True).reader_credentials() is None
    no_password = ServerCredentials(secret_key="k", admin_user="fluxuser")
    assert _kube(monkeypatch, no_password).reader_credentials() is None
