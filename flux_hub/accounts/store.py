"""The credential store: which hub user has which account, its password, and its state.

Why a store of its own rather than only ``auth_state``: JupyterHub calls ``add_user`` with a bare
database row at start-up (no ``get_auth_state``), an admin adds users before they ever log in,
and the accounts service (another process) rotates and re-provisions. One sqlite file next to the
hub's database serves all of them; the hub and the service open it by path and sqlite serialises
their writes. Passwords are encrypted with keys derived from ``JUPYTERHUB_CRYPT_KEY`` (the key
that already protects ``auth_state``), so the file is worthless without the hub's key; the
file and sqlite's -wal and -shm files beside it are mode 0600 whatever the umask. ``auth_state``
carries a copy of what a user's server needs.
"""

import base64
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from flux_hub import fileutil, sqlitefile

from .status import AccountState

ACTIVE = AccountState.ACTIVE
DEACTIVATED = AccountState.DEACTIVATED
FAILED = AccountState.FAILED

_ACCOUNTS = """
CREATE TABLE IF NOT EXISTS accounts (
    hub_user TEXT PRIMARY KEY,
    account TEXT NOT NULL UNIQUE,
    secret BLOB,
    state TEXT NOT NULL,
    error TEXT,
    provisioned_at REAL,
    updated_at REAL NOT NULL
)
"""
# The per-person MiniCluster settings (flux_hub/kubernetes/percluster/settings.py) are kept in
# this file by default: its schema versions cover their table too.
_SETTINGS = """
CREATE TABLE IF NOT EXISTS minicluster_settings (
    account TEXT PRIMARY KEY,
    settings TEXT NOT NULL
)
"""
# Schema versions (flux_hub/sqlitefile.py): STEPS[i] takes version i to i + 1.
# 1: the accounts and minicluster_settings tables, as made before the file had a version (a
#    file made then is taken as it is).
STEPS = ((_ACCOUNTS, _SETTINGS),)


class CryptKeyMissing(RuntimeError):
    """Raised when no JUPYTERHUB_CRYPT_KEY is available to protect stored passwords."""

    def __init__(self):
        super().__init__(
            "flux-hub keeps MiniCluster account passwords encrypted with JUPYTERHUB_CRYPT_KEY "
            "(as JupyterHub does for auth_state), but it is not set. Set it in the hub's "
            "environment, e.g. export JUPYTERHUB_CRYPT_KEY=$(openssl rand -hex 32)."
        )


@dataclass
class Record:
    """One hub user's account. ``secret`` is the encrypted password (None: not known)."""

    hub_user: str
    account: str
    state: AccountState  # active, deactivated or failed
    secret: bytes | None = field(default=None, repr=False)
    error: str | None = None
    provisioned_at: float | None = None
    updated_at: float = 0.0

    def __post_init__(self):
        self.state = AccountState(self.state)  # a stored text is read back as its type

    @property
    def has_password(self):
        """Whether flux-hub keeps a password for this account."""
        return self.secret is not None


def _fernet(keys):
    """A MultiFernet over keys derived from the hub's crypt keys (first key encrypts)."""
    from cryptography.fernet import Fernet, MultiFernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not keys:
        raise CryptKeyMissing()
    derived = []
    for key in keys:
        # A derived key keeps this file's ciphertexts apart from auth_state's.
        hkdf = HKDF(hashes.SHA256(), length=32, salt=None, info=b"flux-hub credential store v1")
        derived.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(key))))
    return MultiFernet(derived)


def hub_crypt_keys():
    """The hub's crypt keys (JUPYTERHUB_CRYPT_KEY), parsed the way JupyterHub parses them."""
    from jupyterhub.crypto import CryptKeeper

    # Inside the hub the configured singleton is authoritative; elsewhere read the env now.
    keeper = CryptKeeper.instance() if CryptKeeper.initialized() else CryptKeeper()
    return list(keeper.keys)


class CredentialStore:
    """Account records in one sqlite file; passwords encrypted at rest."""

    def __init__(self, path, keys=None):
        self.path = os.path.abspath(path)
        self._cipher = _fernet(hub_crypt_keys() if keys is None else keys)
        self._lock = threading.Lock()
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        if not os.path.exists(self.path):
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        _make_private(self.path)
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                sqlitefile.upgrade(db, STEPS, what=f"the accounts store {self.path}")
            finally:
                db.close()

    def __repr__(self):
        return f"CredentialStore({self.path!r})"

    @contextmanager
    def _connect(self):
        # One short connection per operation: safe from any thread and any process.
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            try:
                with db:
                    yield db
            finally:
                db.close()

    @contextmanager
    def exclusive(self):
        """Hold the store's provisioning lock (across processes: the hub and the service).

        Held around read-provision-write so that two processes never provision the same user
        with two different passwords.
        """
        with fileutil.locked(self.path + ".lock"):
            yield

    def encrypt(self, password):
        """The password encrypted for a Record's ``secret``."""
        return self._cipher.encrypt(password.encode("utf-8"))

    def password(self, record):
        """The decrypted password of a record, or None when it is not known."""
        if record is None or record.secret is None:
            return None
        return self._cipher.decrypt(record.secret).decode("utf-8")

    def get(self, hub_user):
        """The hub user's Record, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM accounts WHERE hub_user = ?", (hub_user,)).fetchone()
        return Record(*_order(row)) if row else None

    def all(self):
        """Every record, keyed by hub user (one query; nothing decrypted)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM accounts").fetchall()
        return {row[0]: Record(*_order(row)) for row in rows}

    def save(self, records):
        """Insert or replace records in one transaction; returns them with updated_at set."""
        now = time.time()
        with self._connect() as db:
            for record in records:
                record.updated_at = now
                # An upsert on hub_user only: a second hub user claiming the same account
                # name fails on the UNIQUE constraint instead of replacing the first one's row.
                db.execute(
                    "INSERT INTO accounts (hub_user, account, secret, state, error,"
                    " provisioned_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(hub_user) DO UPDATE SET account = excluded.account,"
                    " secret = excluded.secret, state = excluded.state, error = excluded.error,"
                    " provisioned_at = excluded.provisioned_at, updated_at = excluded.updated_at",
                    (
                        record.hub_user,
                        record.account,
                        record.secret,
                        record.state,
                        record.error,
                        record.provisioned_at,
                        record.updated_at,
                    ),
                )
        return records


# The database and the files sqlite keeps next to it: the write-ahead log holds recent rows
# (encrypted passwords among them) before they reach the database.
_SIDE_FILES = ("", "-wal", "-shm", "-journal", ".lock")


def _make_private(path):
    """Make the store's files mode 0600, whatever the umask or their history.

    sqlite creates its -wal and -shm files with the database file's own mode (not the
    umask), so a database made 0644 (an older flux-hub, a restored copy) would hand that mode
    to the log of every change; each existing file is narrowed here, before any connection.
    """
    for suffix in _SIDE_FILES:
        try:
            mode = os.stat(path + suffix).st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(path + suffix, 0o600)


def _order(row):
    # Table column order -> Record field order.
    hub_user, account, secret, state, error, provisioned_at, updated_at = row
    return hub_user, account, state, secret, error, provisioned_at, updated_at
