"""Where the hub keeps held jobs: one SQLite file in the hub's state, next to the accounts store.

A hold must outlive the hub and the accounts service (issue 28: a chain survives a restart), so
every change is written before it is acted on. The file holds job requests (commands,
environments): it is made readable by the hub's user only (0600), as the accounts store is.

A hold's ``state``:

- ``DEPEND``: waiting for its conditions (``after``);
- ``SUBMITTING``: being submitted now. A hold found in this state at start was being submitted
  when the service stopped: whether flux-restful got it cannot be told, so it is not sent again
  (never two jobs for one hold) but marked ``NEVER_RUN`` saying so;
- ``SUBMITTED``: released, ``job`` its job id;
- ``NEVER_RUN``: its conditions can no longer hold, or flux-restful refused it; ``reason`` why;
- ``CANCELED``: its owner cancelled it while it waited.

A hold also keeps where it was made (``origin``: the person's history's origin keywords, e.g.
``{"origin_kind": "panel"}``), so that the person's server can put the job the hub submits into
their history as if it had submitted it (flux_hub/serverextension/holds.py).
"""

import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass

from flux_hub import depend, sqlitefile

DEPEND, SUBMITTING, SUBMITTED, NEVER_RUN, CANCELED = (
    "DEPEND",
    "SUBMITTING",
    "SUBMITTED",
    "NEVER_RUN",
    "CANCELED",
)
WAITING = (DEPEND, SUBMITTING)
ENDED = (SUBMITTED, NEVER_RUN, CANCELED)
# At most this many of a person's holds in a listing (the newest)
MOST_LISTED = 1000
# A listing leaves out holds ended longer ago than this (seconds), unless asked for all
ENDED_SHOWN = 7 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    account TEXT NOT NULL,
    request TEXT NOT NULL,
    after TEXT NOT NULL,
    name TEXT,
    state TEXT NOT NULL,
    job INTEGER,
    reason TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_owner ON holds (owner, created);
CREATE INDEX IF NOT EXISTS holds_state ON holds (state);
"""


def _add_origin(db):
    # Files made before holds kept their origin lack the column (they were upgraded in place
    # then, without a version): added unless there.
    if "origin" not in {row[1] for row in db.execute("PRAGMA table_info(holds)")}:
        db.execute("ALTER TABLE holds ADD COLUMN origin TEXT")


# Schema versions (flux_hub/sqlitefile.py): STEPS[i] takes version i to i + 1.
# 1: the holds table with ``origin``, as made before the file had a version (a file made then
#    is taken as it is, its ``origin`` column added if it had none).
STEPS = ((*[s for s in _SCHEMA.split(";") if s.strip()], _add_origin),)


@dataclass
class Hold:
    """One held job: its ``owner`` (hub user) and Flux ``account``, flux-restful's submit
    ``request`` (jobrequest.parse's, the cluster's workdir), the conditions ``after`` (depend),
    its ``name``, state, ``job`` once submitted, ``reason`` when never run."""

    id: str
    owner: str
    account: str
    request: dict
    after: list
    name: str | None
    state: str
    job: int | None
    reason: str | None
    created: float
    updated: float
    origin: dict | None = None

    def public(self):
        """The hold as its owner sees it (the API's JSON): no owner or account, the request as
        it will be sent; ``hold`` is its id too (as the person's server answers a held job),
        ``after_text`` its conditions as flux submit writes them (afterok:ƒ...)."""
        model = asdict(self)
        del model["account"], model["owner"]
        return {"hold": self.id, **model, "after_text": depend.text(self.after)}


class HoldStore:
    """The holds in the SQLite file at ``path`` (made 0600); safe to use from threads."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            sqlitefile.upgrade(self._db, STEPS, what=f"the held jobs store {path}")
        except BaseException:
            self._db.close()
            raise
        for extra in (path + "-wal", path + "-shm"):
            if os.path.exists(extra):
                os.chmod(extra, 0o600)

    def close(self):
        with self._lock:
            self._db.close()

    def _rows(self, sql, args=()):
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_hold(row) for row in rows]

    def add(self, owner, account, request, after, name=None, origin=None):
        """A new hold in state DEPEND; returns it."""
        now = time.time()
        hold = Hold(
            "h" + secrets.token_hex(8), owner, account, request, after, name, DEPEND, None, None,
            now, now, origin,
        )  # fmt: skip
        with self._lock:
            self._db.execute(
                f"INSERT INTO holds ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    hold.id, owner, account, json.dumps(request), json.dumps(after), name,
                    DEPEND, None, None, now, now, None if origin is None else json.dumps(origin),
                ),
            )  # fmt: skip
        return hold

    def get(self, hold_id):
        """The hold of that id, or None."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM holds WHERE id = ?", (hold_id,))
        return rows[0] if rows else None

    def of(self, owner, limit=MOST_LISTED, ended_since=None):
        """The owner's newest ``limit`` holds, newest first; with ``ended_since`` (unix time)
        those ended (ENDED) before then are left out."""
        where, args = "owner = ?", [owner]
        if ended_since is not None:
            where += f" AND (state NOT IN ({','.join('?' * len(ENDED))}) OR updated >= ?)"
            args += [*ENDED, ended_since]
        return self._rows(
            f"SELECT {_COLUMNS} FROM holds WHERE {where} ORDER BY created DESC, rowid DESC LIMIT ?",
            (*args, limit),
        )

    def count_waiting(self, owner):
        """How many of the owner's holds wait."""
        with self._lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM holds WHERE owner = ? AND state IN (?, ?)", (owner, *WAITING)
            ).fetchone()
        return n

    def in_state(self, state):
        """Every hold in ``state``, oldest first."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM holds WHERE state = ? ORDER BY created", (state,)
        )

    def move(self, hold_id, frm, to, job=None, reason=None):
        """Set a hold's state to ``to`` only if it is in ``frm`` (a state or a tuple of them);
        whether it moved. Each move is one transaction: a cancel and a release never both win."""
        frm = (frm,) if isinstance(frm, str) else tuple(frm)
        marks = ",".join("?" * len(frm))
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE holds SET state = ?, job = COALESCE(?, job), reason = ?, updated = ? "
                f"WHERE id = ? AND state IN ({marks})",
                (to, job, reason, time.time(), hold_id, *frm),
            )
        return cursor.rowcount == 1


_COLUMNS = "id, owner, account, request, after, name, state, job, reason, created, updated, origin"


def _hold(row):
    (id_, owner, account, request, after, name, state, job, reason, created, updated, origin) = row
    return Hold(
        id_, owner, account, json.loads(request), json.loads(after), name, state, job, reason,
        created, updated, None if origin is None else json.loads(origin),
    )  # fmt: skip
