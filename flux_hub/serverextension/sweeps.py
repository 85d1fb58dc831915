"""Sweeps submitted by the person's server (issue 28.1): ``POST flux-hub/api/sweeps``.

A sweep (flux_hub/sweep.py: one request with placeholders over lists of inputs) is expanded and
checked whole when it is posted (a bad one: 400 in one line, nothing submitted), kept, answered
at once (202 ``{"sweep": id, "count": n, "group": name, ...its progress}``) and then submitted
by the server in the background, one job after another: each submit waits for flux-restful's
answer to the one before, which is flux-restful's pace and never more than one request of the
sweep at a time. The browser only reads the progress (``GET sweeps/<id>``: ``{"sweep", "group",
"total", "submitted", "failed", "ids", "errors", "created", "done"}``; ``GET sweeps``: the
person's sweeps, newest first, each without ``ids``; ``?unfinished=1``: only those still
submitting, for a progress bar), so closing the page changes nothing.

``"dry_run": true`` in the body checks and expands the sweep the same way and answers 200
``{"count", "group", "preview"}`` (the first PREVIEW jobs' ``{"name", "command"}``), keeping
nothing. A list of inputs may be ``{"file": path}``: the lines of a file (empty ones skipped),
a lab path relative to the server's root folder or absolute, read by this server (it runs as
the person); one that cannot be read is a 400 naming it.

``POST sweeps/<id>/rerun`` ``{"which": "all" | "unsuccessful"}`` submits the sweep's requests
again as a new sweep of the same group (202, as POST sweeps): "unsuccessful" are the jobs that
did not complete with exit code 0 (failed, cancelled, timed out, gone, never submitted; not
those still active); each new job's history record names the one it runs again (``rerun_of``).
Nothing to run again: a 400 in one line; an unknown sweep: 404.

Each job is named ``GROUP [i/n]`` (its group: the body's ``group``, else the request's name or
program), goes into the person's job history as a POST jobs job does (origin: the body's, the
panel by default; and its place, ``sweep``: ``{"id", "group", "index" (from 1), "total"}``) and
is followed by the panel from the next refresh on, its record carrying the same ``sweep`` (the
jobs listing's map of sweeps' jobs, JobsService.sweep_jobs: read from this store once, then
filled in here as each job lands).

Kept in ``sweeps.sqlite3`` next to the person's job history (0600, WAL), one row per job of the
sweep. Resuming without doubling: before job i is submitted its row is marked *claimed* (the
time, committed); once flux-restful gives its id the id is written (committed). So after a stop
(the server restarted, the process killed) a row is either untouched (submitted on resume), has
its id (done), or is claimed without an id: the stop came during that one submit, and the job
may or may not exist. There is at most one such row per sweep (one submit at a time). On
resume it is looked for among the person's jobs on the cluster (flux-restful's listing): a job
with the program's name, submitted since the claim (by the clock, ``SKEW`` allowed) and after the
sweep's last recorded job (Flux's ids grow with time), that is no sweep's and that flux-hub has
no other name for; found, its id is adopted; not found, it is submitted. A listing refused leaves
the row failed with the reason rather than risk a double. A cluster that cannot be reached (also
a submit that timed out) is waited for (``RETRY_FIRST`` seconds, doubling up to ``RETRY_MOST``),
the row claimed, and goes through the same look-up before anything is sent again.

Each of those commits is cheap: WAL with ``synchronous = NORMAL``, so a commit is in the WAL file
(the operating system's) before the next step, without waiting for the disk. That survives the
server process being killed at any point, which is what resuming needs; a crash of the machine
itself (power lost) may lose the last commits: a job submitted just before may then be
submitted again on resume.

``resume(settings)`` (called once when the extension loads) takes up every unfinished sweep
when the server's event loop runs.

The person's history keeps each job's ``sweep`` (schema 3, flux_hub/history.py): ``flux-hub
history --json`` shows it; its table shows the group in the job's name (``GROUP [i/n]``,
searchable), not in a column of its own. The history's origin is the body's (the panel).
"""

import asyncio
import json
import os
import secrets
import shlex
import sqlite3
import stat
import time

from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from flux_hub import sqlitefile, sweep
from flux_hub.history import default_path
from flux_hub.paths import PathNotShared
from flux_hub.restful import ClusterUnavailable, FluxRestfulError, LimitReached
from flux_hub.serverextension.errors import BadRequest
from flux_hub.serverextension.handlers import FluxHubHandler, _sentence, parse_origin
from flux_hub.sweep import SweepError

FILE_NAME = "sweeps.sqlite3"
SETTING = "flux_hub_sweeps"
# A sweep's progress lists at most this many errors (the first ones)
MOST_ERRORS = 20
# A dry run's preview: the first this many jobs
PREVIEW = 5
# An input file ({"file": path}) has at most this many bytes
MOST_FILE_BYTES = 16 * 1024 * 1024
# In a kept job's request (the store's, never sent): the job it runs again (rerun)
RERUN_OF = "_rerun_of"
# A claimed job found on resume: submitted at most this long before its claim (clock skew)
SKEW = 2.0
# Seconds a sweep waits for a cluster that cannot be reached, first and at most (doubling)
RETRY_FIRST, RETRY_MOST = 1.0, 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    group_name TEXT NOT NULL,
    total INTEGER NOT NULL,
    created REAL NOT NULL,
    origin TEXT NOT NULL,            -- JSON: History.record_submitted's origin keywords
    done REAL                        -- when its last job was submitted (or failed)
);
CREATE TABLE IF NOT EXISTS items (
    sweep TEXT NOT NULL,
    idx INTEGER NOT NULL,
    request TEXT NOT NULL,           -- JSON: the checked submit fields, name and command
    claimed REAL,                    -- committed just before its submit
    job_id TEXT,                     -- committed just after (decimal)
    error TEXT,                      -- why it was not submitted
    PRIMARY KEY (sweep, idx)
);
"""
# Schema versions (flux_hub/sqlitefile.py): STEPS[i] takes version i to i + 1.
# 1: the sweeps and items tables, as made before the file had a version (a file made then is
#    taken as it is).
STEPS = (tuple(s for s in _SCHEMA.split(";") if s.strip()),)


class SweepStore:
    """The person's sweeps, in a SQLite file (see the module's text). Used from the server's
    event loop only: each write is one short transaction."""

    def __init__(self, path):
        self.path = path
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            sqlitefile.upgrade(self.db, STEPS, what=f"the sweeps store {path}")
        except BaseException:
            self.db.close()
            raise

    def add(self, group, jobs, origin):
        """Keep a new sweep (``jobs``: (index, request) pairs); returns its id."""
        sweep_id = secrets.token_hex(6)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO sweeps (id, group_name, total, created, origin) VALUES (?,?,?,?,?)",
                (sweep_id, group, len(jobs), time.time(), json.dumps(origin)),
            )
            self.db.executemany(
                "INSERT INTO items (sweep, idx, request) VALUES (?,?,?)",
                ((sweep_id, index, json.dumps(request)) for index, request in jobs),
            )
        return sweep_id

    def _set(self, sql, args):
        self.db.execute(sql, args)  # autocommit: one statement, one transaction

    def claim(self, sweep_id, index):
        self._set(
            "UPDATE items SET claimed = ? WHERE sweep = ? AND idx = ?",
            (time.time(), sweep_id, index),
        )

    def unclaim(self, sweep_id, index):
        """The claimed job was refused before anything was made (a limit): to do again."""
        self._set(
            "UPDATE items SET claimed = NULL WHERE sweep = ? AND idx = ? AND job_id IS NULL",
            (sweep_id, index),
        )

    def submitted(self, sweep_id, index, job_id):
        self._set(
            "UPDATE items SET job_id = ? WHERE sweep = ? AND idx = ?",
            (str(job_id), sweep_id, index),
        )

    def failed(self, sweep_id, index, message):
        self._set(
            "UPDATE items SET error = ? WHERE sweep = ? AND idx = ?", (message, sweep_id, index)
        )

    def finish(self, sweep_id):
        self._set("UPDATE sweeps SET done = ? WHERE id = ?", (time.time(), sweep_id))

    def unfinished(self):
        return [row[0] for row in self.db.execute("SELECT id FROM sweeps WHERE done IS NULL")]

    def sweep(self, sweep_id):
        row = self.db.execute(
            "SELECT group_name, total, created, origin, done FROM sweeps WHERE id = ?", (sweep_id,)
        ).fetchone()
        if row is None:
            return None
        group, total, created, origin, done = row
        return {
            "group": group,
            "total": total,
            "created": created,
            "origin": json.loads(origin),
            "done": done,
        }

    def to_do(self, sweep_id):
        """(index, request, claimed) of the jobs without an id nor an error, in order."""
        rows = self.db.execute(
            "SELECT idx, request, claimed FROM items WHERE sweep = ? AND job_id IS NULL"
            " AND error IS NULL ORDER BY idx",
            (sweep_id,),
        )
        return [(index, json.loads(request), claimed) for index, request, claimed in rows]

    def known_ids(self):
        return {
            int(row[0])
            for row in self.db.execute("SELECT job_id FROM items WHERE job_id IS NOT NULL")
        }

    def last_id(self, sweep_id):
        """The id of the sweep's last job with one (0: none yet)."""
        row = self.db.execute(
            "SELECT job_id FROM items WHERE sweep = ? AND job_id IS NOT NULL"
            " ORDER BY idx DESC LIMIT 1",
            (sweep_id,),
        ).fetchone()
        return int(row[0]) if row else 0

    def progress(self, sweep_id):
        """The progress answer of GET sweeps/<id>, or None for no such sweep."""
        info = self.sweep(sweep_id)
        if info is None:
            return None
        rows = self.db.execute(
            "SELECT idx, job_id, error FROM items WHERE sweep = ? ORDER BY idx", (sweep_id,)
        ).fetchall()
        ids = [int(job_id) for _index, job_id, _error in rows if job_id is not None]
        errors = [{"index": index, "message": error} for index, _j, error in rows if error]
        return {
            "sweep": sweep_id,
            "group": info["group"],
            "total": info["total"],
            "submitted": len(ids),
            "failed": len(errors),
            "ids": ids,
            "errors": errors[:MOST_ERRORS],
            "created": info["created"],
            "done": info["done"] is not None,
        }

    def all(self, unfinished=False):
        """The person's sweeps, newest first (``unfinished``: only those still submitting),
        each as its progress without ``ids`` (GET sweeps/<id> has them): counted in SQL, so the
        list stays light however large the sweeps."""
        where = " WHERE s.done IS NULL" if unfinished else ""
        rows = self.db.execute(
            "SELECT s.id, s.group_name, s.total, s.created, s.done,"
            " (SELECT COUNT(job_id) FROM items WHERE sweep = s.id),"
            " (SELECT COUNT(error) FROM items WHERE sweep = s.id)"
            f" FROM sweeps s{where} ORDER BY s.created DESC"
        ).fetchall()
        answers = []
        for sweep_id, group, total, created, done, submitted, failed in rows:
            errors = self.db.execute(
                "SELECT idx, error FROM items WHERE sweep = ? AND error IS NOT NULL"
                " ORDER BY idx LIMIT ?",
                (sweep_id, MOST_ERRORS),
            ).fetchall()
            answers.append(
                {
                    "sweep": sweep_id,
                    "group": group,
                    "total": total,
                    "submitted": submitted,
                    "failed": failed,
                    "errors": [{"index": i, "message": m} for i, m in errors],
                    "created": created,
                    "done": done is not None,
                }
            )
        return answers

    def items(self, sweep_id):
        """(index, request, job id or None) of every job of the sweep, in order."""
        rows = self.db.execute(
            "SELECT idx, request, job_id FROM items WHERE sweep = ? ORDER BY idx", (sweep_id,)
        )
        return [
            (index, json.loads(request), None if job_id is None else int(job_id))
            for index, request, job_id in rows
        ]

    def jobs(self):
        """{job id: {"id", "group", "index" (from 1), "total"}} of every sweep's job with an
        id (the jobs listing's ``sweep``)."""
        rows = self.db.execute(
            "SELECT i.job_id, s.id, s.group_name, i.idx, s.total FROM items i"
            " JOIN sweeps s ON s.id = i.sweep WHERE i.job_id IS NOT NULL"
        )
        return {int(job_id): tag(sweep_id, group, index, total)
                for job_id, sweep_id, group, index, total in rows}  # fmt: skip


def tag(sweep_id, group, index, total):
    """A sweep's job's ``sweep`` field (index from 0 in the store, from 1 in the answer)."""
    return {"id": sweep_id, "group": group, "index": index + 1, "total": total}


def jobs_of_sweeps(names_path):
    """The jobs listing's map of sweeps' jobs (SweepStore.jobs) read from the person's store,
    opened read-only: {} when they never swept (no store is made here), or when a newer
    flux-hub wrote it (its tables may mean something else now)."""
    path = default_path(names_path).with_name(FILE_NAME)
    if not path.exists():
        return {}
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        if sqlitefile.version(db) > len(STEPS):
            return {}
        return SweepStore.jobs(_Reader(db))
    except sqlite3.Error:
        return {}  # a store being made right now (no tables yet): its jobs come as submitted
    finally:
        db.close()


class _Reader:
    """What SweepStore's read methods need of it: ``db``."""

    def __init__(self, db):
        self.db = db


class Sweeps:
    """The person's sweeps and the background submitting of them, one per server."""

    def __init__(self, service):
        self.service = service
        self._store = None
        self.tasks = {}  # sweep id -> its asyncio.Task while it runs

    @property
    def store(self):
        if self._store is None:
            self._store = SweepStore(str(self._path()))
        return self._store

    def _path(self):
        return default_path(self.service.settings.job_names_path).with_name(FILE_NAME)

    def has_store(self):
        return self._store is not None or self._path().exists()

    async def create(self, body):
        """Check, expand and keep the sweep of a POST body, and start submitting it; returns
        its progress. BadRequest (one line) for a bad one: nothing is kept nor submitted. With
        ``"dry_run": true`` nothing is kept either: returns ``{"count", "group", "preview"}``
        (the first PREVIEW jobs' ``{"name", "command"}``). The files are read and every job
        checked in a worker thread (10,000 jobs: about a second), not on the server's loop."""
        request, inputs, group, origin, dry_run = parse_body(body)
        jobs, group = await IOLoop.current().run_in_executor(
            None, self._expanded, request, inputs, group
        )
        if dry_run:
            return {
                "count": len(jobs),
                "group": group,
                "preview": [
                    {"name": job.fields.get("name"), "command": _text(job.fields["command"])}
                    for job in jobs[:PREVIEW]
                ],
            }
        checked = []
        for job in jobs:
            fields = dict(job.fields)
            if "workdir" in fields:
                try:
                    fields["workdir"] = self.service.cluster_workdir(fields["workdir"])
                except PathNotShared as error:
                    raise BadRequest(_sentence(str(error)), field="workdir") from None
            checked.append((job.index, fields))
        return self._keep(group, checked, origin)

    def _expanded(self, request, inputs, group):
        """(jobs, group name) of a sweep (in a worker thread); BadRequest if it is bad."""
        inputs = self._read_files(inputs)
        try:
            jobs = sweep.expand(request, inputs, group=group)
        except sweep.SweepError as error:
            raise BadRequest(_sentence(f"The sweep was not submitted: {error}")) from None
        return jobs, sweep.group_name(request, group)

    def _keep(self, group, checked, origin):
        sweep_id = self.store.add(group, checked, origin)
        self.start(sweep_id)
        return self.store.progress(sweep_id)

    def _read_files(self, inputs):
        """The inputs with each ``{"file": path}`` (in place of a list, or as the whole inputs:
        one list) replaced by the file's lines, empty ones skipped: a path of the lab's,
        relative to the server's root folder or absolute, read by this server (as the person).
        One that cannot be read: BadRequest naming it."""
        if _is_file(inputs):
            return [self._lines(inputs["file"])]
        if isinstance(inputs, list):
            return [self._lines(v["file"]) if _is_file(v) else v for v in inputs]
        if isinstance(inputs, dict):
            return {k: self._lines(v["file"]) if _is_file(v) else v for k, v in inputs.items()}
        return inputs

    def _lines(self, given):
        root = self.service.root_dir or os.getcwd()
        path = os.path.join(root, os.path.expanduser(given))
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                raise SweepError(f"cannot read inputs from {given}: it is not a file")
            if info.st_size > MOST_FILE_BYTES:
                raise SweepError(
                    f"cannot read inputs from {given}: it has {info.st_size} bytes, more than"
                    f" the {MOST_FILE_BYTES} an input file may have"
                )
            return sweep.read_inputs(path)
        except OSError as error:
            problem = f"cannot read inputs from {given}: {error.strerror or error}"
        except SweepError as error:
            problem = str(error).replace(path, given)
        raise BadRequest(_sentence(f"The sweep was not submitted: {problem}"))

    async def rerun(self, sweep_id, body):
        """Submit again the jobs of a sweep as a new sweep of the same group: ``which`` "all",
        or "unsuccessful": those that did not complete with exit code 0 (failed, cancelled,
        timed out, gone, never submitted; not those still active). Returns the new sweep's
        progress; None for no such sweep; BadRequest when there is nothing to run again."""
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        which = data.get("which", "all") if isinstance(data, dict) else None
        if which not in ("all", "unsuccessful") or set(data) - {"which"}:
            raise BadRequest('The body must be {"which": "all"} or {"which": "unsuccessful"}.')
        info = self.store.sweep(sweep_id) if self.has_store() else None
        if info is None:
            return None
        items = self.store.items(sweep_id)
        if which == "unsuccessful":
            records = await self._records([job_id for _i, _r, job_id in items if job_id])
            items = [item for item in items if _unsuccessful(item[2], records)]
        if not items:
            raise BadRequest(_sentence(f"Every job of {info['group']} completed."))
        total = len(items)
        checked = []
        for index, (old, request, job_id) in enumerate(items):
            request = {k: v for k, v in request.items() if k != RERUN_OF}
            if request.get("name") == sweep.job_name(info["group"], old, info["total"]):
                request["name"] = sweep.job_name(info["group"], index, total)  # else its own
            if job_id is not None:
                request[RERUN_OF] = job_id
            checked.append((index, request))
        return self._keep(info["group"], checked, info["origin"])

    async def _records(self, job_ids):
        """{id: record} of these jobs: the panel's list's when it has them, else looked up
        (a job the cluster no longer knows is left out)."""
        listed = self.service._listed
        records = {i: listed[i].job for i in job_ids if i in listed}
        missing = [i for i in job_ids if i not in records]
        for job in await self.service._fetch(missing):
            records[job["id"]] = job
        return records

    def start(self, sweep_id):
        if sweep_id not in self.tasks:
            task = asyncio.ensure_future(self._run(sweep_id))
            self.tasks[sweep_id] = task
            task.add_done_callback(lambda _t: self.tasks.pop(sweep_id, None))

    def resume(self):
        """Take up every unfinished sweep (the server restarted). A person who never made a
        sweep has no store: nothing is made for them here."""
        if not self.has_store():
            return
        for sweep_id in self.store.unfinished():
            self.start(sweep_id)

    async def _run(self, sweep_id):
        """Submit the sweep's jobs still to do, then mark it done. While the cluster cannot be
        reached the sweep waits (RETRY_FIRST seconds, doubling up to RETRY_MOST) and goes on:
        the job being submitted then stays claimed, and is looked for before it is sent again."""
        wait = RETRY_FIRST
        while True:
            try:
                await self._submit_rest(sweep_id)
            except (ClusterUnavailable, LimitReached) as error:
                self.service.log.warning(
                    "flux-hub: sweep %s waits for the cluster: %s", sweep_id, error
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MOST)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 (in the log; resumed at the server's next start)
                self.service.log.exception("flux-hub: sweep %s stopped", sweep_id)
                return
            self.store.finish(sweep_id)
            return

    async def _submit_rest(self, sweep_id):
        """Submit the sweep's jobs still to do, one after another. Per job: the claim (one
        short commit), the submit (the job's name kept as POST jobs keeps it), its id (one
        commit), and the history's record queued to the history's own thread, as POST jobs
        queues it. Nothing else is read again per job. On real Flux (400 jobs, bench/
        sweep_submit.py) the claim took 0.7 ms a job, the id's commit 0.25 ms and queuing the
        record 0.3 ms, against 80 ms for the submit: they stay on the server's loop."""
        store = self.store
        info = store.sweep(sweep_id)
        origin = info["origin"]
        for index, fields, claimed in store.to_do(sweep_id):
            if claimed is not None and await self._adopted(sweep_id, index, fields, claimed):
                continue
            store.claim(sweep_id, index)
            fields = dict(fields)
            name = fields.pop("name", None)
            command = fields.pop("command")
            rerun_of = fields.pop(RERUN_OF, None)
            try:
                job_id = await self.service.submit(command, name=name, **fields)
            except ClusterUnavailable:
                raise  # perhaps submitted (a timeout): claimed, looked for when retried
            except LimitReached:
                # The person's active jobs at the cluster's limit (the guard's 429): nothing
                # was made; the sweep waits for some to end, as a person would, and goes on
                store.unclaim(sweep_id, index)
                raise
            except FluxRestfulError as error:  # refused: this one is not submitted
                store.failed(sweep_id, index, str(error))
                continue
            store.submitted(sweep_id, index, job_id)
            self._record(job_id, command, fields, name, origin, sweep_id, info, index, rerun_of)

    async def _adopted(self, sweep_id, index, fields, claimed):
        """Whether the job claimed before a stop exists (then its id is kept): a job of the
        person's named as its program, submitted since the claim (Flux's ids grow with time:
        after the sweep's last job with an id; and by the clock, SKEW allowed), that no sweep holds
        and flux-hub names otherwise (if at all)."""
        try:
            jobs = await self.service.client.jobs()
        except ClusterUnavailable:
            raise  # the sweep waits for the cluster
        except FluxRestfulError as error:
            self.store.failed(
                sweep_id, index, f"not known whether it was submitted before a stop: {error}"
            )
            return True
        known = self.store.known_ids()
        after = self.store.last_id(sweep_id)
        program = os.path.basename(shlex.split(fields["command"])[0])
        found = sorted(
            job["id"]
            for job in jobs
            if (job.get("t_submit") or 0) >= claimed - SKEW
            and job["id"] > after
            and job["id"] not in known
            and job.get("name") in (program, None)
            and self.service.names.get(job["id"]) in (None, fields.get("name"))
        )
        if not found:
            return False
        job_id = found[0]
        self.store.submitted(sweep_id, index, job_id)
        self.service._learnt.add(job_id)
        if fields.get("name"):
            try:
                self.service.names.set(job_id, fields["name"])
            except OSError:
                pass
        rest = {k: v for k, v in fields.items() if k not in ("command", "name", RERUN_OF)}
        info = self.store.sweep(sweep_id)
        self._record(
            job_id, fields["command"], rest, fields.get("name"), info["origin"],
            sweep_id, info, index, fields.get(RERUN_OF),
        )  # fmt: skip
        return True

    def _record(self, job_id, command, fields, name, origin, sweep_id, info, index, rerun_of):
        """The job in the jobs listing's map of sweeps' jobs and in the person's history, with
        its ``sweep`` ({id, group, index, total}) and, run again, the job it runs again."""
        tagged = tag(sweep_id, info["group"], index, info["total"])
        self.service.sweep_jobs()[int(job_id)] = tagged
        if rerun_of is not None:
            origin = {**origin, "rerun_of": rerun_of}
        request = {"command": command, **fields}
        self.service.record_submitted(job_id, request, name, sweep=tagged, **origin)


def parse_body(body):
    """(request, inputs, group, origin, dry_run) of a POST sweeps body: ``{"request": {POST
    jobs' job fields, with placeholders}, "inputs": [[...], ...] or {name: [...]} (a list may be
    ``{"file": path}`` or ``{"words": text}``), "group"?: text, "origin"?: as POST jobs',
    "dry_run"?: bool, "keep_env"?: bool as POST jobs'}``;
    BadRequest (one line) otherwise."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise BadRequest('The request body must be a JSON object {"request": ..., "inputs": ...}.')
    unknown = sorted(set(data) - {"request", "inputs", "group", "origin", "dry_run", "keep_env"})
    if unknown:
        raise BadRequest(f"The sweep was not submitted: unknown field {unknown[0]!r}.")
    request = data.get("request")
    if not isinstance(request, dict):
        raise BadRequest("The sweep was not submitted: 'request' must be the job's fields.")
    bad = sorted(key for key in request if key not in sweep.jobrequest.BY_NAME)
    if bad:
        raise BadRequest(f"The sweep was not submitted: unknown job field {bad[0]!r}.")
    group = data.get("group")
    if group is not None and not isinstance(group, str):
        raise BadRequest("The sweep was not submitted: 'group' must be text.")
    origin, reasons = parse_origin(data.get("origin"))
    if reasons:
        raise BadRequest("The sweep was not submitted: " + reasons[0])
    for flag in ("dry_run", "keep_env"):
        if not isinstance(data.get(flag, False), bool):
            raise BadRequest(f"The sweep was not submitted: {flag!r} must be true or false.")
    dry_run = data.get("dry_run", False)
    if data.get("keep_env") and origin is not None:
        # as POST jobs' keep_env: the history keeps the environment's values (KEEP_ENV_HELP)
        origin["keep_env_values"] = True
    return request, data.get("inputs"), group, origin, dry_run


def _is_file(value):
    return isinstance(value, dict) and list(value) == ["file"] and isinstance(value["file"], str)


def _text(command):
    return command if isinstance(command, str) else shlex.join(str(word) for word in command)


def _unsuccessful(job_id, records):
    """Whether a sweep's job (its id, None: never submitted) did not complete with exit code 0:
    never submitted, gone from the cluster, or ended otherwise (a job still active is not)."""
    if job_id is None or job_id not in records:
        return True
    job = records[job_id]
    if job.get("state") != "INACTIVE":
        return False
    return not (job.get("result") == "COMPLETED" and job.get("returncode") == 0)


def sweeps_of(settings):
    """The server's Sweeps (made at first use)."""
    if SETTING not in settings:
        settings[SETTING] = Sweeps(settings["flux_hub"])
    return settings[SETTING]


def resume(settings):
    """Take up the person's unfinished sweeps (call once the extension is loaded: the sweeps
    start when the server's event loop runs); a store that cannot be opened is one warning
    line."""

    def take_up():
        try:
            sweeps_of(settings).resume()
        except Exception as error:  # noqa: BLE001 (the server and its other parts go on)
            settings["flux_hub"].log.warning("flux-hub: sweeps not resumed: %s", error)

    IOLoop.current().add_callback(take_up)


class SweepsHandler(FluxHubHandler):
    """POST sweeps (a new sweep: 202; a dry run: 200) and GET sweeps (the person's sweeps'
    progress, without ids; ``?unfinished=1``: only those still submitting)."""

    @web.authenticated
    async def post(self):
        answer = await sweeps_of(self.settings).create(self.request.body)
        if "sweep" not in answer:  # a dry run
            self.finish(json.dumps(answer))
            return
        self.set_status(202)
        self.finish(json.dumps({**answer, "count": answer["total"]}))

    @web.authenticated
    def get(self):
        unfinished = self.get_argument("unfinished", "") not in ("", "0", "false")
        sweeps_ = sweeps_of(self.settings)
        if not sweeps_.has_store():
            self.finish(json.dumps({"sweeps": []}))  # nothing made for a person who never swept
            return
        self.finish(json.dumps({"sweeps": sweeps_.store.all(unfinished=unfinished)}))


class SweepHandler(FluxHubHandler):
    """GET sweeps/<id>: one sweep's progress."""

    @web.authenticated
    def get(self, sweep_id):
        sweeps_ = sweeps_of(self.settings)
        progress = sweeps_.store.progress(sweep_id) if sweeps_.has_store() else None
        if progress is None:
            raise web.HTTPError(404, "No sweep %s.", sweep_id)
        self.finish(json.dumps(progress))


class RerunHandler(FluxHubHandler):
    """POST sweeps/<id>/rerun ``{"which": "all" | "unsuccessful"}``: a new sweep (202)."""

    @web.authenticated
    async def post(self, sweep_id):
        progress = await sweeps_of(self.settings).rerun(sweep_id, self.request.body)
        if progress is None:
            raise web.HTTPError(404, "No sweep %s.", sweep_id)
        self.set_status(202)
        self.finish(json.dumps({**progress, "count": progress["total"]}))


def handlers(base_url):
    """The sweeps' (URL pattern, handler) pairs under the server's ``base_url``."""
    api = url_path_join(base_url, "flux-hub", "api", "sweeps")
    one = url_path_join(api, r"(?P<sweep_id>[0-9a-f]+)")
    return [(api, SweepsHandler), (one, SweepHandler), (one + "/rerun", RerunHandler)]
