"""Issue 24's smaller holes, each shown as a person or an admin would see it.

allowed_users honoured by FluxAuthenticator; the accounts store's files private whatever the
umask; accounts flux-hub did not make are not taken over; deleted people's Unix accounts locked
and their homes not handed to a namesake; the legacy server's secret key withheld on Kubernetes;
new-passwords.txt forgets each password once its person has logged in; the real instance's
rundir closed to accounts outside flux-hub's people.
"""

import asyncio
import os
import sqlite3
import time
from contextlib import contextmanager

import pytest
from jupyterhub.crypto import CryptKeeper
from traitlets.config import Config

from flux_hub.accounts.store import ACTIVE, CredentialStore, Record
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


# -- 6. the accounts store's files -----------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def store_files(path):
    return {
        p.name: oct(p.stat().st_mode & 0o777)
        for p in sorted(path.parent.iterdir())
        if p.name.startswith(path.name)
    }


@contextmanager
def held_open(path):
    """Another process's connection to the store (sqlite removes its -wal and -shm files when
    the last connection closes)."""
    db = sqlite3.connect(path)
    db.execute("SELECT count(*) FROM accounts").fetchone()
    try:
        yield
    finally:
        db.close()


def test_the_store_and_its_write_ahead_log_are_private_under_umask_022(tmp_path, umask_022):
    path = tmp_path / "state" / "accounts.sqlite"
    store = CredentialStore(str(path), keys=[CRYPT_KEY.encode()])
    with held_open(path):  # as the accounts service holds it: the log stays between writes
        store.save([Record("alice", "alice", ACTIVE, store.encrypt("alice-password"))])
        files = store_files(path)
    assert {"accounts.sqlite", "accounts.sqlite-wal", "accounts.sqlite-shm"} <= set(files)
    assert set(files.values()) == {"0o600"}, files
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_a_store_left_readable_is_made_private_before_it_is_written(tmp_path, umask_022):
    # e.g. restored from a backup with cp: a 0644 database would give its -wal (which holds
    # the newest rows, encrypted passwords among them) mode 0644 too
    path = tmp_path / "accounts.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    (tmp_path / "accounts.sqlite-wal").touch(0o644)
    store = CredentialStore(str(path), keys=[CRYPT_KEY.encode()])
    with held_open(path):
        store.save([Record("bob", "bob", ACTIVE, store.encrypt("bob-password"))])
        files = store_files(path)
    assert "accounts.sqlite-shm" in files
    assert set(files.values()) == {"0o600"}, files
