"""A person's job history: every job submitted through flux-hub, kept on their side (issue 26).

One SQLite database per person, ``history.sqlite3`` next to the job-name file
(``~/.local/share/flux-hub/``, flux_hub/jobnames.py ``default_path()``), so it lives in their home
(which moves with them on Kubernetes) and outlasts any cluster: a job whose cluster restarted or
was removed keeps what was known of it and is marked "cluster gone". The file is 0600 and its
folder 0700: nobody else can read it.

What a record holds (``History.record_submitted`` when a job is submitted, ``record_final`` when
it ends, ``record_gone`` when its cluster no longer knows it):

- the job id and its cluster (the cluster's URL), the account, the name given in flux-hub;
- the request as sent (command, tasks, ...): environment variable *names* only, unless the person
  asked to keep the values (``keep_env_values``);
- the working directory as the cluster sees it and as the lab sees it;
- where it came from: ``origin_kind`` one of ORIGINS (panel, file, notebook, magic, cli), with
  the notebook's path and cell, the file's path, or the terminal's command line;
- when it was submitted; its final state, result, exit code, runtime, nodes and end time.

Several writers at once (kernels, the Jupyter server, a CLI) are safe: WAL journal, each write a
short ``BEGIN IMMEDIATE`` transaction, and a busy timeout (``timeout``) so a writer waits for
another instead of failing.

Schema versions (``PRAGMA user_version``, by flux_hub/sqlitefile.py as every flux-hub file),
each upgraded to the next in place, in one transaction, when the file is opened:

- 0 is the person's data before this file existed (the job-name file and the submitted-jobs
  journal, flux_hub/journal.py); the first open imports their ids and names once (origin
  "unknown", ``imported_from`` naming the old file). The old files are left in place (the panel
  still reads them).
- 1: the jobs table (``_SCHEMA``).
- 2: ``jobs.rerun_of`` (the job a record runs again: "Run again", ``flux-hub resubmit``) and the
  ``templates`` table (a person's saved forms, by name).
- 3: ``jobs.sweep``: a sweep's job's place in it (issue 28), JSON ``{"id", "group", "index"
  (from 1), "total"}`` (flux_hub/serverextension/sweeps.py).

A newer version than this code knows is refused with a sentence, never rewritten.

Every record (``search``, ``get``) also carries ``"form"``: its request in the shape of the
panel's ``POST jobs`` body (``form_of``), ``"env_values_kept"``, ``"rerun_of"`` and ``"sweep"``
(None for a job that is no sweep's).
``rerun_request`` gives what to submit to run a recorded job again, exactly as first sent (or
with overrides); ``templates``/``save_template``/``delete_template`` keep the person's templates;
``active_on`` lists the jobs a cluster should still know (the server's reconcile marks the
others "cluster gone").

Search (``History.search``): by text in the name or command (``q``), state, origin, a date range,
newest first, paged; indexed so that 50,000 records answer in a few ms (bench/history.py).
"""

import copy
import json
import os
import re
import shlex
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from flux_hub import jobid, jobnames, jobrequest, sqlitefile
from flux_hub.journal import SubmittedJobs, journal_path

SCHEMA_VERSION = 3  # len of the steps in History._upgrade
# A template's name: 1 to this many characters (surrounding spaces dropped)
MAX_TEMPLATE_NAME = 80
# The hub's published templates, as JSON, in a server's environment (the hub's job_templates)
TEMPLATES_ENV = "FLUX_HUB_TEMPLATES"
FILE_NAME = "history.sqlite3"
# Where a job came from; "unknown": imported from the files before the history existed.
ORIGINS = ("panel", "file", "notebook", "magic", "cli", "unknown")
# A job whose final record never came and whose cluster no longer knows it
GONE = "GONE"
# A job submitted whose end is not known yet
ACTIVE = "ACTIVE"
MAX_LIMIT = 500
# A job found under a recorded id but submitted more than this after the record is another
# job (a new Flux instance reused the id: ids are milliseconds since the instance started)
SAME_JOB_SECONDS = 5.0
# A Flux hostlist (RFC 29): "vm", "node[0-3,7]", "a,b[01-02]"; at most this many names expanded
_HOSTS = r"([^,\[\]]+)(?:\[([\d,-]+)\]([^,\[\]]*))?"
_MOST_HOSTS = 10_000

_SCHEMA = """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,            -- decimal: Flux ids use all 64 bits, sqlite's are signed
    cluster TEXT NOT NULL,           -- the cluster's URL ('' unknown: imported)
    account TEXT NOT NULL DEFAULT '',
    name TEXT,
    command TEXT NOT NULL DEFAULT '',
    request TEXT,                    -- JSON, as sent (environment values only if kept)
    env_names TEXT,                  -- JSON list of the environment's variable names
    workdir TEXT,                    -- as the cluster sees it
    lab_workdir TEXT,                -- as the lab sees it
    origin_kind TEXT NOT NULL,
    origin_path TEXT,                -- the notebook or file
    origin_cell TEXT,                -- the notebook's cell (id or index)
    origin_command TEXT,             -- the terminal's command line
    submitted REAL,                  -- unix time, NULL: unknown (imported)
    at REAL NOT NULL,                -- submitted, or when imported (date searches)
    status TEXT NOT NULL,            -- ACTIVE, the result (COMPLETED, FAILED, ...), or GONE
    state TEXT,
    result TEXT,
    exit_code INTEGER,
    runtime REAL,
    nodes TEXT,                      -- JSON list
    ended REAL,
    gone REAL,                       -- when the cluster was found not to know the job
    imported_from TEXT,              -- the old files it came from (schema 0), else NULL
    UNIQUE (cluster, job_id)
);
CREATE INDEX jobs_newest ON jobs (account);
CREATE INDEX jobs_by_time ON jobs (account, at);
CREATE INDEX jobs_by_status ON jobs (account, status);
CREATE INDEX jobs_by_origin ON jobs (account, origin_kind);
CREATE INDEX jobs_by_id ON jobs (job_id);
"""

# Text search in names and commands: an FTS5 trigram index (any substring of 3 characters or
# more, case-insensitive), kept by triggers. Without it (an sqlite built without FTS5) a search
# scans the table: 30 ms with 50,000 records instead of a few.
_TEXT_SCHEMA = (
    """CREATE VIRTUAL TABLE jobs_text USING fts5(
        name, command, content='jobs', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER jobs_text_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO jobs_text (rowid, name, command) VALUES (new.id, new.name, new.command);
    END""",
    """CREATE TRIGGER jobs_text_delete AFTER DELETE ON jobs BEGIN
        INSERT INTO jobs_text (jobs_text, rowid, name, command)
            VALUES ('delete', old.id, old.name, old.command);
    END""",
    """CREATE TRIGGER jobs_text_update AFTER UPDATE OF name, command ON jobs BEGIN
        INSERT INTO jobs_text (jobs_text, rowid, name, command)
            VALUES ('delete', old.id, old.name, old.command);
        INSERT INTO jobs_text (rowid, name, command) VALUES (new.id, new.name, new.command);
    END""",
)

# Schema 1 -> 2
_SCHEMA_2 = (
    "ALTER TABLE jobs ADD COLUMN rerun_of TEXT",  # the decimal id of the job this one runs again
    """CREATE TABLE templates (
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        request TEXT NOT NULL,       -- JSON, the panel's POST jobs body shape (template_request)
        saved REAL NOT NULL,         -- unix time
        PRIMARY KEY (account, name)
    )""",
)

# Schema 2 -> 3
_SCHEMA_3 = ("ALTER TABLE jobs ADD COLUMN sweep TEXT",)  # JSON {id, group, index, total}

_COLUMNS = (
    "job_id cluster account name command request env_names workdir lab_workdir origin_kind "
    "origin_path origin_cell origin_command submitted at status state result exit_code runtime "
    "nodes ended gone imported_from rerun_of sweep"
).split()
# The request's fields a form shows as they were sent (the panel's POST jobs body)
_FORM_FIELDS = (
    "num_nodes", "num_tasks", "cores_per_task", "gpus_per_task", "runtime", "exclusive",
    "option_flags",
)  # fmt: skip


class HistoryError(Exception):
    """The history cannot be used (a newer schema, a file that is not a database)."""


def default_path(names_path=None):
    """The history next to the job-name file ``names_path`` (default: the default one)."""
    return Path(names_path or jobnames.default_path()).with_name(FILE_NAME)


def _command_text(command):
    if isinstance(command, list | tuple):
        return shlex.join(str(word) for word in command)
    return "" if command is None else str(command)


def _time(value):
    """Unix time from a number or an aware/naive datetime (None stays None)."""
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value)


class History:
    """One person's job history (see the module's docstring). Safe to share between threads."""

    def __init__(self, path=None, *, names_path=None, account="", timeout=30.0):
        """Open (and make, or upgrade) the history at ``path`` (default: next to the job-name
        file ``names_path``, itself defaulting to ~/.local/share/flux-hub/job-names.json).
        ``account``: the person's Flux account; records are written with it and ``search``
        answers only its records. ``timeout``: seconds a writer waits for another."""
        self.names_path = Path(names_path) if names_path else jobnames.default_path()
        self.path = Path(path) if path else default_path(self.names_path)
        self.account = account or ""
        self._lock = threading.Lock()
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid == os.getuid():
            os.chmod(folder, 0o700)
        # Made 0600 before sqlite opens it: its -wal and -shm files take the same mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._upgrade()
            self._text_index = bool(
                self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs_text'").fetchone()
            )
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise HistoryError(f"the job history {self.path} cannot be opened: {error}") from None
        except BaseException:
            self._db.close()
            raise

    def __repr__(self):
        return f"History({str(self.path)!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._db.close()

    @property
    def schema_version(self):
        with self._lock:
            return self._db.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def _write(self):
        """One write transaction, taken at once (no deadlock between two readers upgrading)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- schema and migration ----------------------------------------------------------------

    def _upgrade(self):
        try:
            sqlitefile.upgrade(
                self._db,
                (self._schema_1, _SCHEMA_2, _SCHEMA_3),
                what=f"the job history {self.path}",
            )
        except sqlitefile.NewerSchema as error:
            raise HistoryError(str(error)) from None
        if self.account:
            with self._write() as db:
                # Imported before anyone knew the account: they are the opener's (the old
                # files are in the person's own folder).
                db.execute(
                    "UPDATE jobs SET account = ? WHERE account = '' AND imported_from IS NOT NULL",
                    (self.account,),
                )

    def _schema_1(self, db):
        """Schema 0 -> 1: the jobs table (with its text index where sqlite has FTS5), and the
        person's files from before the history."""
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        try:
            db.execute("SAVEPOINT text")
            for statement in _TEXT_SCHEMA:
                db.execute(statement)
            db.execute("RELEASE text")
        except sqlite3.OperationalError:  # no FTS5 (or no trigram: sqlite < 3.34)
            db.execute("ROLLBACK TO text")
            db.execute("RELEASE text")
        self._import_old_files(db)

    def _import_old_files(self, db):
        """Schema 0 -> 1: the ids and names of the job-name file and the submitted-jobs
        journal, each once, origin unknown, oldest (smallest id) first."""
        names = jobnames.JobNames(self.names_path).all()
        journal = self.names_path.parent / journal_path(self.names_path).name
        journalled = SubmittedJobs(journal).new()
        sources = {}
        for job_id in journalled:
            sources.setdefault(job_id, []).append(journal.name)
        for job_id in names:
            sources.setdefault(job_id, []).append(self.names_path.name)
        now = time.time()
        rows = [
            (str(job_id), "", self.account, names.get(job_id), "", "unknown", now, ACTIVE,
             ", ".join(files))
            for job_id, files in sorted(sources.items())
        ]  # fmt: skip
        db.executemany(
            "INSERT OR IGNORE INTO jobs (job_id, cluster, account, name, command, origin_kind, "
            "at, status, imported_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    # -- writing -----------------------------------------------------------------------------

    def record_submitted(
        self,
        job_id,
        *,
        cluster,
        request,
        origin_kind,
        origin_path=None,
        origin_cell=None,
        origin_command=None,
        name=None,
        workdir=None,
        lab_workdir=None,
        submitted=None,
        keep_env_values=False,
        rerun_of=None,
        sweep=None,
    ):
        """Record a job flux-hub just submitted.

        ``job_id``: Flux's id (int). ``cluster``: the cluster's URL (FLUX_RESTFUL_HOST).
        ``request``: the request as sent, a dict with ``command`` (text or list of words) and
        the submit fields (num_tasks, ..., ``envars``: {name: value}); environment values are
        dropped, names kept, unless ``keep_env_values``. ``origin_kind``: one of ORIGINS but
        "unknown"; ``origin_path`` the notebook or file, ``origin_cell`` the notebook's cell,
        ``origin_command`` the terminal's command line (secrets already removed by the caller).
        ``name``: the name given in flux-hub. ``workdir`` the cluster's path (default: the
        request's), ``lab_workdir`` the lab's. ``submitted``: unix time or datetime (default
        now). ``rerun_of``: the id of the job this one runs again (Run again, resubmit).
        ``sweep``: a sweep's job's ``{"id", "group", "index", "total"}``.
        Recording the same job again replaces its submission record (not its end).
        """
        if origin_kind not in ORIGINS[:-1]:
            raise ValueError(f"origin_kind must be one of {', '.join(ORIGINS[:-1])}")
        request = dict(request or {})
        envars = request.pop("envars", None) or {}
        if keep_env_values and envars:
            request["envars"] = dict(envars)
        when = _time(submitted) or time.time()
        values = {
            "job_id": str(int(job_id)),
            "cluster": cluster or "",
            "account": self.account,
            "name": name,
            "command": _command_text(request.get("command")),
            "request": json.dumps(request, sort_keys=True),
            "env_names": json.dumps(sorted(envars)),
            "workdir": workdir if workdir is not None else request.get("workdir"),
            "lab_workdir": lab_workdir,
            "origin_kind": origin_kind,
            "origin_path": None if origin_path is None else str(origin_path),
            "origin_cell": None if origin_cell is None else str(origin_cell),
            "origin_command": origin_command,
            "submitted": when,
            "at": when,
            "status": ACTIVE,
            "imported_from": None,
            "rerun_of": None if rerun_of is None else str(int(rerun_of)),
            "sweep": None if sweep is None else json.dumps(sweep),
        }
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        update = ", ".join(f"{k} = excluded.{k}" for k in values if k not in ("job_id", "cluster"))
        update = update.replace("status = excluded.status", "status = jobs.status")
        with self._write() as db:
            # The same job imported from the old files (the history's first open can come
            # between a submit and its record, with the job's name already in the name file):
            # this record replaces it
            db.execute(
                "DELETE FROM jobs WHERE job_id = ? AND cluster = '' AND account = ?"
                " AND imported_from IS NOT NULL AND request IS NULL",
                (values["job_id"], self.account),
            )
            db.execute(
                f"INSERT INTO jobs ({names}) VALUES ({marks}) "
                f"ON CONFLICT (cluster, job_id) DO UPDATE SET {update}",
                tuple(values.values()),
            )

    def record_final(
        self,
        job_id,
        *,
        cluster,
        state="INACTIVE",
        result=None,
        exit_code=None,
        runtime=None,
        nodes=None,
        ended=None,
    ):
        """Record how a job ended: Flux's ``state`` (INACTIVE), ``result`` (COMPLETED, FAILED,
        CANCELED, TIMEOUT), ``exit_code``, ``runtime`` (seconds), ``nodes`` (host names),
        ``ended`` (unix time or datetime, default now). Returns False when the history has no
        such job (submitted outside flux-hub): nothing is recorded then.

        A job imported from the old files (cluster unknown) takes ``cluster`` here.
        """
        nodes = None if nodes is None else json.dumps(list(nodes))
        status = (result or state or ACTIVE).upper()
        with self._write() as db:
            row = self._find(db, job_id, cluster)
            if row is None:
                return False
            db.execute(
                "UPDATE jobs SET cluster = ?, state = ?, result = ?, exit_code = ?, runtime = ?,"
                " nodes = ?, ended = ?, status = ?, gone = NULL WHERE id = ?",
                (cluster, state, result, exit_code, runtime, nodes,
                 _time(ended) or time.time(), status, row),
            )  # fmt: skip
        return True

    def record_gone(self, job_id, *, cluster, when=None):
        """Record that ``cluster`` no longer knows the job (it restarted or was removed).
        A job whose end was recorded keeps its result; one still active becomes GONE, with
        everything known before. Returns False when the history has no such job."""
        with self._write() as db:
            row = self._find(db, job_id, cluster)
            if row is None:
                return False
            db.execute(
                "UPDATE jobs SET cluster = ?, gone = ?,"
                " status = CASE WHEN status = ? THEN ? ELSE status END WHERE id = ?",
                (cluster, _time(when) or time.time(), ACTIVE, GONE, row),
            )
        return True

    def _find(self, db, job_id, cluster):
        """The row of this job on ``cluster``, else the imported one of unknown cluster."""
        found = db.execute(
            "SELECT id FROM jobs WHERE job_id = ? AND cluster IN (?, '') AND account = ?"
            " ORDER BY cluster = '' LIMIT 1",
            (str(int(job_id)), cluster or "", self.account),
        ).fetchone()
        return found[0] if found else None

    # -- reading -----------------------------------------------------------------------------

    def get(self, job_id, cluster=None):
        """The record of a job (the newest if ``cluster`` is not given), or None."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE job_id = ? AND account = ?"
        args = [str(int(job_id)), self.account]
        if cluster is not None:
            sql += " AND cluster = ?"
            args.append(cluster)
        with self._lock:
            row = self._db.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return None if row is None else _record(row)

    def search(
        self, q=None, *, state=None, origin=None, since=None, until=None, limit=50, offset=0
    ):
        """The person's records, newest (last recorded) first: ``{"records": [...], "more": bool}``.

        ``q``: text found in the name or the command (case-insensitive). ``state``: ACTIVE,
        GONE, or a result (COMPLETED, FAILED, CANCELED, TIMEOUT), any case. ``origin``: one of
        ORIGINS. ``since``/``until``: unix times or datetimes, submitted at or after / before
        (an imported job's time is when it was imported). ``limit`` (1 to MAX_LIMIT) records
        from ``offset``; ``more`` says whether there are more after them.
        """
        where, args = ["account = ?"], [self.account]
        if state:
            where.append("status = ?")
            args.append(state.upper())
        if origin:
            where.append("origin_kind = ?")
            args.append(origin)
        if since is not None:
            where.append("at >= ?")
            args.append(_time(since))
        if until is not None:
            where.append("at < ?")
            args.append(_time(until))
        limit = max(1, min(int(limit), MAX_LIMIT))
        offset = max(0, int(offset))
        columns = ", ".join(f"jobs.{c}" for c in _COLUMNS)
        if q and len(q) >= 3 and self._text_index:
            # The trigram index, newest first (its rowids are the records' ids), each found
            # record checked against the other conditions: a page is found after reading
            # about a page of matches, however common the text.
            sql = (
                f"SELECT {columns} FROM jobs_text CROSS JOIN jobs ON jobs.id = jobs_text.rowid"
                f" WHERE jobs_text MATCH ? AND {' AND '.join(where)}"
                " ORDER BY jobs_text.rowid DESC LIMIT ? OFFSET ?"
            )
            args.insert(0, '"' + q.replace('"', '""') + '"')
        else:
            if q:  # shorter than a trigram (or no FTS5): every record's text, newest first
                pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                where.append("(name LIKE ? ESCAPE '\\' OR command LIKE ? ESCAPE '\\')")
                args += [f"%{pattern}%"] * 2
            sql = (
                f"SELECT {columns} FROM jobs WHERE {' AND '.join(where)}"
                " ORDER BY jobs.id DESC LIMIT ? OFFSET ?"
            )
        with self._lock:
            rows = self._db.execute(sql, [*args, limit + 1, offset]).fetchall()
        return {"records": [_record(row) for row in rows[:limit]], "more": len(rows) > limit}

    def active_on(self, cluster):
        """[(job id, submitted unix time or None)] of the person's records on ``cluster`` (its
        URL) that are still ACTIVE (no end recorded, not gone), in the order they were recorded:
        the jobs that cluster should still know."""
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, submitted FROM jobs WHERE account = ? AND status = ?"
                " AND cluster = ? ORDER BY id",
                (self.account, ACTIVE, cluster or ""),
            ).fetchall()
        return [(int(job_id), submitted) for job_id, submitted in rows]

    # -- templates ---------------------------------------------------------------------------

    def templates(self):
        """The person's templates, by name: [{"name", "request", "saved"}] (``request`` in the
        panel's POST jobs body shape, ``saved`` unix time)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, request, saved FROM templates WHERE account = ?"
                " ORDER BY name COLLATE NOCASE, name",
                (self.account,),
            ).fetchall()
        return [
            {"name": name, "request": json.loads(request), "saved": saved}
            for name, request, saved in rows
        ]

    def save_template(self, name, request):
        """Keep ``request`` (the panel's POST jobs body shape; see ``template_request``) as
        the template ``name`` (1 to MAX_TEMPLATE_NAME characters, surrounding spaces dropped),
        replacing one of that name. Returns the name kept. ValueError for a bad name,
        jobrequest.JobRequestError (a ValueError too) for a bad request."""
        name = template_name(name)
        request = template_request(request)
        with self._write() as db:
            db.execute(
                "INSERT INTO templates (account, name, request, saved) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (account, name) DO UPDATE SET request = excluded.request,"
                " saved = excluded.saved",
                (self.account, name, json.dumps(request, sort_keys=True), time.time()),
            )
        return name

    def delete_template(self, name):
        """Delete the template ``name``; False when there is none."""
        name = name.strip() if isinstance(name, str) else name
        with self._write() as db:
            deleted = db.execute(
                "DELETE FROM templates WHERE account = ? AND name = ?", (self.account, name)
            ).rowcount
        return deleted > 0


def template_name(name):
    """A template's name, stripped; ValueError with a sentence if it cannot be one."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_TEMPLATE_NAME or "\0" in text:
        raise ValueError(
            f"a template's name is 1 to {MAX_TEMPLATE_NAME} characters of text, not {name!r}"
        )
    return text


def template_request(request):
    """A template's request as it is kept: the fields of the panel's POST jobs body, checked
    and written as flux_hub.jobrequest.parse gives them (runtime "1h" -> 3600, ``exclusive``
    only when true, ...). A template may leave the command out (a set of resources to fill a
    form with). ``workdir`` stays the person's path, as given. JobRequestError, with one
    message per bad field (an unknown key is one), when it is not a job request."""
    if not isinstance(request, dict):
        raise jobrequest.JobRequestError(
            {"request": f"a template's request is an object of job fields, not {request!r}"}
        )
    raw = {key: value for key, value in request.items() if value is not None}
    unknown = [key for key in raw if key not in jobrequest.BY_NAME]
    if unknown:
        raise jobrequest.JobRequestError({key: f"unknown field {key!r}" for key in unknown})
    command = raw.get("command")
    no_command = command in ("", [], ()) or (isinstance(command, str) and not command.strip())
    if no_command:
        raw.pop("command", None)
    checked = jobrequest.parse({"command": "true", **raw} if "command" not in raw else raw)
    if "command" not in raw:
        del checked["command"]
    return checked


def published_template(template):
    """A template the hub's admin publishes, checked and written as servers show it:
    {"name", "description", "request"} (template_name, template_request). ValueError with a
    sentence (JobRequestError, one per bad field, for the request) when it cannot be one."""
    name = template_name(template.get("name"))
    description = template.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"'description' must be text, not {description!r}")
    request = template_request(template.get("request"))
    return {"name": name, "description": description, "request": request}


def keeps_env_values(record):
    """Whether a job run again from ``record`` keeps its environment's values: when the first
    one's were kept."""
    return bool(record["env_names"]) and env_values_kept(record)


def env_values_kept(record):
    """Whether the record holds its environment's values (or had no environment)."""
    request = record.get("request") or {}
    return not record.get("env_names") or bool(request.get("envars"))


def form_of(record):
    """The record's request in the panel's POST jobs body shape (labextension ISubmitRequest),
    to fill its form with (Edit and run), or None for an imported record (no request):
    ``command`` (as sent), ``name`` (flux-hub's, when given), the counts, ``runtime``
    (seconds), ``exclusive``, ``option_flags`` (only those sent), ``workdir`` (the lab's path;
    absent when the lab cannot see the job's folder), ``envars`` ({name: value} when the
    values were kept, else {name: ""}) and ``keep_env`` (true when they were kept: the person
    asked for it, and is asked again for the job run from this form)."""
    request = record.get("request")
    if request is None:
        return None
    form = {"command": copy.deepcopy(request.get("command"))}
    if record.get("name"):
        form["name"] = record["name"]
    for key in _FORM_FIELDS:
        if request.get(key) is not None:
            form[key] = request[key]
    if record.get("lab_workdir"):
        form["workdir"] = record["lab_workdir"]
    names = record.get("env_names") or []
    if names or request.get("envars"):
        values = request.get("envars") or {}
        form["envars"] = {name: values.get(name, "") for name in names} or dict(values)
        if keeps_env_values(record):
            form["keep_env"] = True
    return form


def rerun_request(record, overrides=None, *, translate=None):
    """What to submit to run a recorded job again: ``(command, fields, name)``, ``fields`` as
    flux_hub.jobrequest.parse gives them (``workdir`` the cluster's path the job had, the
    environment with its values), all exactly as first sent.

    ``overrides``: {jobrequest field: value as a person gives it (text from a command line, or
    numbers)}, checked with jobrequest.parse and laid over the record's (None: not given; a
    runtime of 0, gpus_per_task 0 or exclusive false remove those; ``envars`` are laid over
    name by name). An overridden ``workdir`` is the person's path: ``translate`` (e.g. a
    PathMap's ``workdir``) makes it the cluster's; without it, it is returned as given.

    HistoryError (one sentence) when the job cannot be run again as it was: an imported record
    (no request kept), or environment values not kept and not given in ``overrides``.
    jobrequest.JobRequestError for bad overrides; KeyError names an unknown override key.
    """
    label = jobid.f58(record["id"])
    request = record.get("request")
    if request is None:
        raise HistoryError(
            f"job {label} was recorded before flux-hub kept requests; submit it anew"
        )
    fields = {key: copy.deepcopy(value) for key, value in request.items() if value is not None}
    command = fields.pop("command", None)
    envars = dict(fields.pop("envars", None) or {})
    name = record.get("name")
    raw = {key: value for key, value in (overrides or {}).items() if value is not None}
    if raw:
        for key in raw:
            if key not in jobrequest.BY_NAME:
                raise KeyError(key)
        given = jobrequest.parse({"command": command, **raw})
        if "command" in raw:
            command = given["command"]
        if "name" in raw:
            name = given.get("name")
        envars.update(given.get("envars") or {})
        for key in raw:
            if key in ("command", "name", "envars"):
                continue
            if given.get(key) not in (None, ""):
                fields[key] = given[key]
            else:  # 0 GPUs, no limit, not exclusive, no options: parse leaves them out
                fields.pop(key, None)
        if "workdir" in raw and translate is not None:
            fields["workdir"] = translate(fields["workdir"])
    # The whole again, always: the overrides with what they are laid over (tasks >= nodes),
    # and a record's own request only as a job request (the file is the person's to edit)
    try:
        jobrequest.parse({"command": command, **fields})
    except KeyError as unknown:
        raise HistoryError(
            f"job {label}'s recorded request has a field flux-hub does not send ({unknown}); "
            "submit it anew"
        ) from None
    missing = [var for var in record.get("env_names") or [] if var not in envars]
    if missing:
        raise HistoryError(
            f"job {label}'s environment values were not kept ({', '.join(missing)}): "
            f"give them (--env {missing[0]}=…) or use Edit and run"
        )
    if envars:
        fields["envars"] = envars
    return command, fields, name


def _record(row):
    r = dict(zip(_COLUMNS, row, strict=True))
    record = {
        "id": int(r["job_id"]),
        "cluster": r["cluster"] or None,
        "account": r["account"] or None,
        "name": r["name"],
        "command": r["command"],
        "request": json.loads(r["request"]) if r["request"] else None,
        "env_names": json.loads(r["env_names"]) if r["env_names"] else [],
        "workdir": r["workdir"],
        "lab_workdir": r["lab_workdir"],
        "origin": {
            "kind": r["origin_kind"],
            "path": r["origin_path"],
            "cell": r["origin_cell"],
            "command": r["origin_command"],
        },
        "submitted": r["submitted"],
        "status": r["status"],
        "state": r["state"],
        "result": r["result"],
        "exit_code": r["exit_code"],
        "runtime": r["runtime"],
        "nodes": json.loads(r["nodes"]) if r["nodes"] else None,
        "ended": r["ended"],
        "cluster_gone": r["gone"] is not None,
        "gone": r["gone"],
        "imported_from": r["imported_from"],
        "rerun_of": None if r["rerun_of"] is None else int(r["rerun_of"]),
        "sweep": json.loads(r["sweep"]) if r["sweep"] else None,
    }
    record["form"] = form_of(record)
    record["env_values_kept"] = env_values_kept(record)
    return record


# -- a job's end, from flux-restful's record of it ------------------------------------------


def record_ends(history, cluster, jobs):
    """Record in ``history`` the end of each of these finished jobs (flux-restful's records of
    them on ``cluster``, as a panel's refresh, a notebook or a terminal read them) that it has
    without one; the others (not submitted through flux-hub, or already ended) are left
    alone. No request to the cluster: the records are enough. A job submitted
    further than SAME_JOB_SECONDS from the record is another one under a reused id: the
    recorded one is gone."""
    for job in jobs:
        # This cluster's record, else one imported from before the history (cluster unknown)
        known = history.get(job["id"], cluster) or history.get(job["id"], "")
        if known is None or known["ended"] is not None:
            continue
        if not same_job(known, job):
            history.record_gone(job["id"], cluster=cluster)
            continue
        history.record_final(
            job["id"],
            cluster=cluster,
            state=job.get("state") or "INACTIVE",
            result=job.get("result") or None,
            exit_code=_whole(job.get("returncode")),
            runtime=job.get("runtime") if _number(job.get("runtime")) else None,
            nodes=_hostnames(job.get("nodelist")),
            ended=job.get("t_inactive") if _number(job.get("t_inactive")) else None,
        )


def same_job(record, job):
    """Whether flux-restful's ``job`` is the one the history ``record`` is of: not submitted
    more than SAME_JOB_SECONDS after the record's time (or either time unknown). Only later
    counts: a job under a reused id came after the instance the record's job was on, while a
    record is written just after its job was submitted (later still when its writer waited)."""
    submitted, at = _number(record.get("submitted")), _number(job.get("t_submit"))
    return not (submitted and at and at - submitted > SAME_JOB_SECONDS)


def _whole(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _hostnames(nodelist):
    """The host names of a Flux hostlist ("node[0-2,5]" -> node0 node1 node2 node5); None for
    none; [the text] when it is not a hostlist read here (or names too many)."""
    if not isinstance(nodelist, str) or not nodelist.strip():
        return None
    if not re.fullmatch(rf"{_HOSTS}(?:,{_HOSTS})*", nodelist):
        return [nodelist]
    names = []
    for prefix, ranges, suffix in re.findall(_HOSTS, nodelist):
        if not ranges:
            names.append(prefix)
            continue
        for part in ranges.split(","):
            low, _, high = part.partition("-")
            if not low.isdigit() or not (high or low).isdigit():
                return [nodelist]
            numbers = range(int(low), int(high or low) + 1)
            if not numbers or len(numbers) + len(names) > _MOST_HOSTS:
                return [nodelist]
            names += [f"{prefix}{n:0{len(low)}d}{suffix}" for n in numbers]
    return names


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0
