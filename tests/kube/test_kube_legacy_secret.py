"""On a MiniCluster with the legacy server, people's servers are not handed FLUX_SECRET_KEY (it
signs every access token there); the hub keeps it for its own logins (issue 24, point 5)."""

import pytest

from flux_hub.accounts import FluxAccounts

from .conftest import SECRET_KEY

# JUPYTERHUB_CRYPT_KEY for everything the hub encrypts (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("crypt_key")


def accounts_for(cluster, tmp_path):
    return FluxAccounts(
        store_path=str(tmp_path / "accounts.sqlite"), provisioner=cluster.provisioner()
    )


def test_a_legacy_minicluster_hands_people_no_secret_key(make_minicluster, tmp_path):
    cluster = make_minicluster("legacy", version="v1alpha1")
    (made,) = accounts_for(cluster, tmp_path).ensure(["alice"])
    assert made.ok, made.error
    # what alice's server is given, by a hub that has not looked at the MiniCluster yet (a
    # restart: her account is current, nothing is provisioned before her spawn)
    restarted = accounts_for(cluster, tmp_path)
    env = restarted.credentials("alice")
    assert env["FLUX_USER"] == "alice" and env["FLUX_TOKEN"] == made.password
    assert "FLUX_SECRET_KEY" not in env
    # the hub itself still uses it (its logins, cancelling a deleted person's jobs)
    hub_key = restarted.provisioner.endpoint("alice")[1]
    assert hub_key == "legacy-secret-key"  # the v1alpha1 MiniCluster's spec.fluxRestful
    assert hub_key not in env.values()


def test_flux_restful_1_1_minicluster_still_hands_it_on(make_minicluster, tmp_path):
    cluster = make_minicluster("flux-sample")
    accounts = accounts_for(cluster, tmp_path)
    (made,) = accounts.ensure(["bob"])
    assert made.ok, made.error
    assert accounts.credentials("bob")["FLUX_SECRET_KEY"] == SECRET_KEY
