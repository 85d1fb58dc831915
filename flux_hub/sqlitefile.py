"""Schema versions of flux-hub's SQLite files: one mechanism for all of them (issue 29.6).

Each file keeps its schema version in ``PRAGMA user_version`` (0 in a file that never had one:
a new file, or one made before the file had versions). ``upgrade(db, steps, what=...)`` brings
a file to the newest version when it is opened, in one transaction: ``steps[i]`` takes version
``i`` to ``i + 1``, so the newest version is ``len(steps)``. A step is a function of the
connection, or a sequence of such functions and SQL statements run in order. Step 1 of a store
that existed before it had a version makes its tables as that code made them, ``IF NOT
EXISTS``: a file made then is taken as it is, keeping its rows, and marked version 1.

A file written by a newer flux-hub (a version above ``len(steps)``) is refused with one sentence
(``NewerSchema``), never rewritten: an older flux-hub cannot know what the newer one changed.

The files: the job history (flux_hub/history.py), the accounts store (flux_hub/accounts/store.py,
which also holds the per-person cluster settings, flux_hub/kubernetes/percluster/settings.py),
the held jobs (flux_hub/holds/store.py) and the sweeps (flux_hub/serverextension/sweeps.py).
"""

import sqlite3


class NewerSchema(sqlite3.DatabaseError):
    """The file was written by a newer flux-hub (its message is one sentence)."""


def version(db):
    """The schema version of the file open in ``db``."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def upgrade(db, steps, *, what):
    """Bring the file open in ``db`` (a connection in autocommit mode: ``isolation_level=None``)
    to version ``len(steps)``, in one ``BEGIN IMMEDIATE`` transaction (two processes opening the
    same old file upgrade it once). ``what`` names the file in the refusal of a newer one, e.g.
    "the job history /home/a/.local/share/flux-hub/history.sqlite3". Returns the version found.
    """
    latest = len(steps)
    db.execute("BEGIN IMMEDIATE")
    try:
        found = version(db)
        if found > latest:
            raise NewerSchema(
                f"{what} was written by a newer flux-hub (schema {found}, this one knows up to "
                f"{latest}); upgrade flux-hub"
            )
        for step in steps[found:]:
            for part in [step] if callable(step) else step:
                if callable(part):
                    part(db)
                else:
                    db.execute(part)
        if found != latest:
            db.execute(f"PRAGMA user_version = {latest}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return found
