"""The credential store: encrypted at rest, private, survives reopening, refuses collisions."""

import os
import sqlite3
import stat

import pytest
from cryptography.fernet import InvalidToken

from flux_hub.accounts import ACTIVE, CredentialStore, CryptKeyMissing, Record

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PASSWORD = "correct-horse-battery-staple-1234"


def test_passwords_are_encrypted_and_the_file_is_private(tmp_path):
    path = tmp_path / "accounts.sqlite"
    store = CredentialStore(path, keys=[KEY])
    store.save([Record("alice", "alice", ACTIVE, store.encrypt(PASSWORD))])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert PASSWORD.encode() not in on_disk
    assert PASSWORD not in repr(store.get("alice"))
    assert store.password(store.get("alice")) == PASSWORD


def test_records_survive_reopening_with_the_same_key(tmp_path):
    path = tmp_path / "accounts.sqlite"
    first = CredentialStore(path, keys=[KEY])
    first.save([Record("bob", "bob", ACTIVE, first.encrypt(PASSWORD), provisioned_at=1.0)])
    again = CredentialStore(path, keys=[KEY])
    record = again.get("bob")
    assert (record.account, record.state, record.provisioned_at) == ("bob", ACTIVE, 1.0)
    assert again.password(record) == PASSWORD
    assert set(again.all()) == {"bob"}


def test_a_rotated_hub_key_still_reads_old_records(tmp_path):
    # JupyterHub takes several keys in JUPYTERHUB_CRYPT_KEY; the first one encrypts.
    path = tmp_path / "accounts.sqlite"
    old = CredentialStore(path, keys=[KEY])
    old.save([Record("bob", "bob", ACTIVE, old.encrypt(PASSWORD))])
    rotated = CredentialStore(path, keys=[OTHER_KEY, KEY])
    assert rotated.password(rotated.get("bob")) == PASSWORD
    stranger = CredentialStore(path, keys=[OTHER_KEY])
    with pytest.raises(InvalidToken):
        stranger.password(stranger.get("bob"))


def test_missing_crypt_key_is_a_clear_error(tmp_path):
    with pytest.raises(CryptKeyMissing, match="JUPYTERHUB_CRYPT_KEY.*openssl rand -hex 32"):
        CredentialStore(tmp_path / "accounts.sqlite", keys=[])


def test_two_hub_users_cannot_share_an_account(tmp_path):
    store = CredentialStore(tmp_path / "accounts.sqlite", keys=[KEY])
    store.save([Record("alice", "shared", ACTIVE)])
    with pytest.raises(sqlite3.IntegrityError):
        store.save([Record("mallory", "shared", ACTIVE)])
    assert store.get("alice").account == "shared"
    assert store.get("mallory") is None


def test_states_are_stored_as_their_text_and_read_back_as_their_type(tmp_path):
    """AccountState: what the file holds is the same text as before the type existed."""
    from flux_hub.accounts import AccountState

    path = tmp_path / "accounts.sqlite"
    store = CredentialStore(path, keys=[KEY])
    store.save([Record("dora", "dora", "failed", error="no cluster")])
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT state, typeof(state) FROM accounts").fetchall() == [
            ("failed", "text")
        ]
    state = store.get("dora").state
    assert state is AccountState.FAILED and f"{state}" == str(state) == "failed"
    with pytest.raises(ValueError):
        Record("eve", "eve", "pending")  # not a state flux-hub knows
