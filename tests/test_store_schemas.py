"""Every flux-hub sqlite file has a schema version (issue 29.6, flux_hub/sqlitefile.py): a file
made before the stores had one opens, is upgraded and keeps its rows; a file written by a newer
flux-hub is refused in one sentence and left as it was.

The "today's file" of each store is made here with the SQL its code ran before it had a
version (copied, so that later changes to the stores cannot change what is tested).
"""

import json
import sqlite3

import pytest

from flux_hub import history, sqlitefile
from flux_hub.accounts import ACTIVE, CredentialStore
from flux_hub.accounts import store as accounts_store
from flux_hub.holds import store as holds_store
from flux_hub.holds.store import DEPEND, HoldStore
from flux_hub.kubernetes.percluster.settings import ClusterSettings, SettingsStore
from flux_hub.serverextension import sweeps
from flux_hub.serverextension.sweeps import SweepStore, jobs_of_sweeps

KEY = bytes(range(32))

OLD_ACCOUNTS = """
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
OLD_SETTINGS = """
CREATE TABLE IF NOT EXISTS minicluster_settings (
    account TEXT PRIMARY KEY,
    settings TEXT NOT NULL
)
"""
OLD_HOLDS = """
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
OLD_SWEEPS = """
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    group_name TEXT NOT NULL,
    total INTEGER NOT NULL,
    created REAL NOT NULL,
    origin TEXT NOT NULL,
    done REAL
);
CREATE TABLE IF NOT EXISTS items (
    sweep TEXT NOT NULL,
    idx INTEGER NOT NULL,
    request TEXT NOT NULL,
    claimed REAL,
    job_id TEXT,
    error TEXT,
    PRIMARY KEY (sweep, idx)
);
"""


def make_old(path, script, *rows):
    """A file as the stores made it before they had a version: WAL, the tables, some rows."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(script)
    for sql, args in rows:
        db.execute(sql, args)
    db.commit()
    db.close()


def version_of(path):
    db = sqlite3.connect(path)
    try:
        return sqlitefile.version(db)
    finally:
        db.close()


def set_version(path, number):
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {number}")
    db.close()


def old_accounts(path, settings=True):
    make_old(
        path,
        OLD_ACCOUNTS + (";" + OLD_SETTINGS if settings else ""),
        (
            "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("alice", "alice", None, "active", None, 1.0, 2.0),
        ),
        *(
            [
                (
                    "INSERT INTO minicluster_settings VALUES (?, ?)",
                    ("alice", json.dumps({"size": 3, "image": None, "node_selector": None})),
                )
            ]
            if settings
            else []
        ),
    )


def test_an_accounts_store_of_today_is_upgraded_keeping_its_accounts_and_settings(tmp_path):
    path = str(tmp_path / "accounts.sqlite")
    old_accounts(path)
    assert version_of(path) == 0
    store = CredentialStore(path, keys=[KEY])
    assert version_of(path) == len(accounts_store.STEPS) == 1
    record = store.get("alice")
    assert (record.account, record.state, record.provisioned_at) == ("alice", ACTIVE, 1.0)
    assert SettingsStore(path).get("alice") == ClusterSettings(size=3)
    # Still usable: a new account is kept beside the old one.
    store.save([accounts_store.Record("bob", "bob", ACTIVE)])
    assert set(CredentialStore(path, keys=[KEY]).all()) == {"alice", "bob"}


def test_the_settings_store_upgrades_the_accounts_file_it_shares(tmp_path):
    # The per-person cluster settings open the accounts file first (a hub that has not yet
    # opened its accounts store): the same steps, so the accounts store finds it done.
    path = str(tmp_path / "accounts.sqlite")
    old_accounts(path, settings=False)
    settings = SettingsStore(path)
    assert settings.get("alice") == ClusterSettings()
    settings.set("alice", ClusterSettings(size=2))
    assert version_of(path) == len(accounts_store.STEPS)
    assert CredentialStore(path, keys=[KEY]).get("alice").account == "alice"
    assert SettingsStore(path).get("alice") == ClusterSettings(size=2)


@pytest.mark.parametrize("with_origin", [False, True], ids=["before-origin", "today"])
def test_a_holds_store_of_today_is_upgraded_keeping_its_holds(tmp_path, with_origin):
    # Two shapes exist: files made before holds kept their origin, and today's.
    path = str(tmp_path / "holds.sqlite")
    columns = "id, owner, account, request, after, name, state, job, reason, created, updated"
    values = ["h1", "alice", "alice", json.dumps({"command": ["true"]}), json.dumps([]), "b",
              DEPEND, None, None, 1.0, 1.0]  # fmt: skip
    if with_origin:
        columns += ", origin"
        values.append(json.dumps({"origin_kind": "panel"}))
    script = OLD_HOLDS + ("ALTER TABLE holds ADD COLUMN origin TEXT;" if with_origin else "")
    make_old(
        path,
        script,
        (f"INSERT INTO holds ({columns}) VALUES ({','.join('?' * len(values))})", values),
    )
    store = HoldStore(path)
    assert version_of(path) == len(holds_store.STEPS) == 1
    hold = store.get("h1")
    assert (hold.owner, hold.name, hold.state, hold.request) == (
        "alice", "b", DEPEND, {"command": ["true"]},
    )  # fmt: skip
    assert hold.origin == ({"origin_kind": "panel"} if with_origin else None)
    added = store.add("alice", "alice", {"command": ["false"]}, [], origin={"origin_kind": "cli"})
    assert store.get(added.id).origin == {"origin_kind": "cli"}
    store.close()


def test_a_sweeps_store_of_today_is_upgraded_keeping_its_sweeps(tmp_path):
    path = tmp_path / "sweeps.sqlite3"
    make_old(
        path,
        OLD_SWEEPS,
        (
            "INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?)",
            ("s1", "fit", 2, 1.0, json.dumps({"origin_kind": "panel"}), None),
        ),
        ("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", ("s1", 0, "{}", 1.0, "1234", None)),
        ("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", ("s1", 1, "{}", None, None, None)),
    )
    store = SweepStore(str(path))
    assert version_of(path) == len(sweeps.STEPS) == 1
    progress = store.progress("s1")
    assert (progress["group"], progress["total"], progress["submitted"], progress["ids"]) == (
        "fit", 2, 1, [1234],
    )  # fmt: skip
    assert store.unfinished() == ["s1"]
    assert store.jobs() == {1234: {"id": "s1", "group": "fit", "index": 1, "total": 2}}


def newer(path, opener, latest):
    """Mark the file newer than this code; opening it must fail in one sentence naming it,
    and leave it (version and rows) as it was."""
    set_version(path, latest + 1)
    with open(path, "rb") as f:
        before = f.read()
    with pytest.raises(sqlitefile.NewerSchema) as refused:
        opener()
    message = str(refused.value)
    assert "\n" not in message
    assert message.endswith(
        f"{path} was written by a newer flux-hub (schema {latest + 1}, this one knows up to "
        f"{latest}); upgrade flux-hub"
    )
    assert version_of(path) == latest + 1
    with open(path, "rb") as f:
        assert f.read() == before
    return message


def test_newer_files_are_refused_in_one_line_and_left_as_they_were(tmp_path):
    accounts = str(tmp_path / "accounts.sqlite")
    old_accounts(accounts)
    CredentialStore(accounts, keys=[KEY])
    message = newer(
        accounts, lambda: CredentialStore(accounts, keys=[KEY]), len(accounts_store.STEPS)
    )
    assert message.startswith("the accounts store ")
    message = newer(accounts, lambda: SettingsStore(accounts).get("alice"), 1)
    assert message.startswith("the cluster settings store ")

    holds = str(tmp_path / "holds.sqlite")
    HoldStore(holds).close()
    assert newer(holds, lambda: HoldStore(holds), len(holds_store.STEPS)).startswith(
        "the held jobs store "
    )

    swept = tmp_path / "sweeps.sqlite3"
    SweepStore(str(swept)).db.close()
    assert newer(swept, lambda: SweepStore(str(swept)), len(sweeps.STEPS)).startswith(
        "the sweeps store "
    )


def test_the_jobs_listing_does_not_read_a_newer_sweeps_store(tmp_path):
    names = tmp_path / "job-names.json"
    path = history.default_path(names).with_name(sweeps.FILE_NAME)
    store = SweepStore(str(path))
    sweep_id = store.add("fit", [(0, {"command": ["true"]})], {"origin_kind": "panel"})
    store.submitted(sweep_id, 0, 99)
    assert list(jobs_of_sweeps(names)) == [99]
    store.db.close()
    set_version(path, len(sweeps.STEPS) + 1)
    assert jobs_of_sweeps(names) == {}


def test_the_history_uses_the_same_mechanism(tmp_path):
    # Its version is PRAGMA user_version, its steps go through sqlitefile.upgrade: a newer one
    # is refused with the same sentence (as HistoryError, which its callers handle).
    path = tmp_path / "history.sqlite3"
    with history.History(path, names_path=tmp_path / "job-names.json") as opened:
        assert opened.schema_version == history.SCHEMA_VERSION == version_of(path)
    set_version(path, history.SCHEMA_VERSION + 1)
    with pytest.raises(history.HistoryError) as refused:
        history.History(path, names_path=tmp_path / "job-names.json")
    assert str(refused.value) == (
        f"the job history {path} was written by a newer flux-hub (schema "
        f"{history.SCHEMA_VERSION + 1}, this one knows up to {history.SCHEMA_VERSION}); "
        "upgrade flux-hub"
    )


def test_an_upgraded_file_is_not_upgraded_again(tmp_path):
    # The second opener finds the version the first wrote (each in BEGIN IMMEDIATE: two at
    # once take turns) and runs no step again.
    path = str(tmp_path / "holds.sqlite")
    make_old(path, OLD_HOLDS)
    first = sqlite3.connect(path, isolation_level=None)
    second = sqlite3.connect(path, isolation_level=None, timeout=5)
    assert sqlitefile.upgrade(first, holds_store.STEPS, what="holds") == 0
    assert sqlitefile.upgrade(second, holds_store.STEPS, what="holds") == 1
    columns = [row[1] for row in second.execute("PRAGMA table_info(holds)")]
    assert columns.count("origin") == 1
    first.close()
    second.close()
