"""Issue 24's smaller holes, each shown as a person or an admin would see it.

allowed_users honoured by FluxAuthenticator; the accounts store's files private whatever the
umask; accounts flux-hub did not make are not taken over; deleted people's Unix accounts locked
and their homes not handed to a namesake; the legacy server's secret key withheld on Kubernetes;
new-passwords.txt forgets each password once its person has logged in; the real instance's
rundir closed to accounts outside flux-hub's people.
"""

import asyncio
import time

import pytest
from jupyterhub.crypto import CryptKeeper
from traitlets.config import Config

from flux_hub.hub import FluxAuthenticator

CRYPT_KEY = "ef" * 32


@pytest.fixture(autouse=True)
def crypt_key(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)
    CryptKeeper.clear_instance()
    yield
    CryptKeeper.clear_instance()


def config_for(tmp_path, cluster):
    c = Config()
    c.FluxAccounts.store_path = str(tmp_path / "accounts.sqlite")
    c.LocalProvisioner.server_dir = str(cluster.state_dir)
    c.LocalProvisioner.cluster_url = cluster.url
    c.LocalProvisioner.secret_key = cluster.secret_key
    return c


def unique(prefix):
    return f"{prefix}{time.monotonic_ns() % 10**9}"


class FakeUser:
    def __init__(self, name):
        self.name = name


def login(auth, name, password):
    return asyncio.run(auth.get_authenticated_user(None, {"username": name, "password": password}))


# -- 2. allowed_users ------------------------------------------------------------------------


def test_allowed_users_keeps_out_an_account_holder_not_on_the_list(tmp_path, cluster):
    c = config_for(tmp_path, cluster)
    c.Authenticator.allowed_users = {"bob"}
    auth = FluxAuthenticator(config=c)
    assert auth.allow_all is False
    # alice has a MiniCluster account and its right password, but is not on the list
    assert login(auth, "alice", cluster.passwords["alice"]) is None
    assert login(auth, "bob", cluster.passwords["bob"])["name"] == "bob"


def test_without_allow_settings_every_account_holder_may_log_in(tmp_path, cluster):
    auth = FluxAuthenticator(config=config_for(tmp_path, cluster))
    assert auth.allow_all is True
    assert login(auth, "carol", cluster.passwords["carol"])["name"] == "carol"
