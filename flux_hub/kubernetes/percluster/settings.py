"""A person's MiniCluster settings (size, image, node selector), their checks and their store,
and the cluster's state as the pages show it."""

import json
import os
import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, field

from flux_hub import sqlitefile
from flux_hub.accounts import store
from flux_hub.names import is_label_value

# Node selector keys and values as Kubernetes accepts them (qualified names, label values).
_LABEL_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)


@dataclass
class ClusterSettings:
    """What a person's MiniCluster is made of. None: the provisioner's configured default."""

    size: int | None = None
    image: str | None = None
    node_selector: dict | None = None

    def check(self):
        """ValueError with a readable message for settings Kubernetes would refuse."""
        if self.size is not None and (not isinstance(self.size, int) or not 1 <= self.size):
            raise ValueError(f"size must be a whole number of at least 1, not {self.size!r}")
        if self.image is not None and (not self.image or any(c.isspace() for c in self.image)):
            raise ValueError(f"image must be a container image name, not {self.image!r}")
        if self.node_selector is not None:
            check_node_selector(self.node_selector)
        return self


def check_node_selector(selector):
    if not isinstance(selector, dict):
        raise ValueError("node selector must map label names to values")
    for key, value in selector.items():
        if not (isinstance(key, str) and len(key) <= 316 and _LABEL_KEY.fullmatch(key)):
            raise ValueError(f"node selector: {key!r} is not a valid label name")
        if not is_label_value(value):
            raise ValueError(f"node selector: {value!r} (for {key}) is not a valid label value")
    return selector


@dataclass
class ClusterState:
    """A person's MiniCluster as Kubernetes shows it now (no secrets)."""

    account: str
    name: str
    state: str  # absent | starting | running | foreign
    pods_running: int = 0
    size: int | None = None
    image: str | None = None
    node_selector: dict = field(default_factory=dict)
    created: str | None = None
    message: str | None = None


class SettingsStore:
    """Per-person settings in a sqlite file (the accounts store's, by default)."""

    _lock = threading.Lock()

    def __init__(self, path):
        self.path = path

    def _db(self):
        # The accounts store's schema (its file by default): the table made, an older file
        # upgraded, a newer one refused (sqlitefile.NewerSchema).
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            sqlitefile.upgrade(db, store.STEPS, what=f"the cluster settings store {self.path}")
        except BaseException:
            db.close()
            raise
        db.isolation_level = ""  # each with-block one transaction, as before
        return db

    def get(self, account):
        """The person's own settings (fields None: the configured default)."""
        with self._lock, self._db() as db:
            row = db.execute(
                "SELECT settings FROM minicluster_settings WHERE account = ?", (account,)
            ).fetchone()
        return ClusterSettings(**json.loads(row[0])) if row else ClusterSettings()

    def set(self, account, settings):
        """Keep a person's settings (checked first)."""
        settings.check()
        with self._lock, self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO minicluster_settings (account, settings) VALUES (?, ?)",
                (account, json.dumps(asdict(settings))),
            )
        if os.path.exists(self.path):
            os.chmod(self.path, 0o600)
