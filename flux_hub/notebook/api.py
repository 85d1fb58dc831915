"""Submit, follow and cancel Flux jobs from Python.

    from flux_hub.notebook import connect
    flux = connect()        # from FLUX_RESTFUL_HOST, FLUX_USER, FLUX_TOKEN, FLUX_SECRET_KEY
    job = flux.submit("hostname", name="where am I", num_nodes=2)
    job.wait(timeout=60).output()
    flux.jobs()             # a table in a notebook
    flux.history(since="2d")  # the jobs you submitted through flux-hub (pandas: a DataFrame)
    flux.resubmit(job)      # the same request again; flux.resubmit(job, num_tasks=4) changes it

Names given here are kept in the job-name file the JupyterLab panel reads, so a job submitted from
a notebook shows up there under its name; every job's id goes into the journal the panel follows
(flux_hub/journal.py), so it shows up there at the next refresh.

A job's working directory is given as the notebook sees it (``workdir="analysis"``, relative to
the kernel's current directory, which is also the default) and sent as the cluster sees it
(flux_hub/paths.py, from ``FLUX_HUB_PATHS``); ``job.lab_workdir`` shows it the lab's way again.

The person's job history (flux_hub/history.py) is the same file the panel's History view and
``flux-hub history`` read: ``flux.history(...)`` searches it (a pandas DataFrame when pandas can be
imported, else a HistoryList that shows itself as a table), and ``flux.resubmit(job)`` runs a
recorded job again exactly as it was first sent (its working directory as the cluster saw it),
recorded with the original's origin and ``rerun_of`` its id.
"""

import html
import logging
import os
import posixpath
import time
import warnings
from datetime import datetime

from flux_hub import jobid
from flux_hub.history import (
    ACTIVE,
    GONE,
    MAX_LIMIT,
    ORIGINS,
    History,
    HistoryError,
    keeps_env_values,
    record_ends,
    rerun_request,
)
from flux_hub.jobnames import JobNames
from flux_hub.jobrequest import parse, parse_duration
from flux_hub.journal import SubmittedJobs, journal_path
from flux_hub.paths import PathMap
from flux_hub.restful import ClusterUnavailable, FluxRestfulClient

_current = None
log = logging.getLogger(__name__)
# Seconds a submit's history record waits for another writer before it is given up (a warning)
RECORD_TIMEOUT = 1.0


def connect(
    host=None, user=None, token=None, secret_key=None, *, timeout=30.0, names_path=None, paths=None
):
    """Connect to the Flux cluster; arguments left out come from the environment the hub sets.

    ``paths``: how the kernel's paths map to the cluster's (a flux_hub.paths.PathMap, or its
    ``FLUX_HUB_PATHS`` text); default: $FLUX_HUB_PATHS. The connection made last is also the
    one the %%flux magic uses.
    """
    global _current
    if isinstance(paths, str):
        paths = PathMap.parse(paths)
    client = FluxRestfulClient(host, user, token, secret_key, timeout=timeout)
    _current = FluxCluster(client, JobNames(names_path), paths)
    return _current


def current():
    """The last connection made, or a new one from the environment."""
    return _current if _current is not None else connect()


class FluxCluster:
    """One user's connection to the cluster (see connect())."""

    def __init__(self, client, names, paths=None):
        self.client = client
        self.names = names
        self._paths = paths
        self._history = None
        self._history_warned = False  # a history that cannot be used is said once

    @property
    def paths(self):
        """How this kernel's paths map to the cluster's (flux_hub.paths.PathMap); read from
        $FLUX_HUB_PATHS when first needed."""
        if self._paths is None:
            self._paths = PathMap.from_env()
        return self._paths

    user = property(lambda self: self.client.user)
    host = property(lambda self: self.client.host)

    def __repr__(self):
        return f"<FluxCluster {self.user} at {self.host}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the connection to flux-restful (and the job history)."""
        self.client.close()
        if self._history is not None:
            self._history.close()
            self._history = None

    def submit(
        self,
        command,
        *,
        name=None,
        runtime=None,
        workdir=None,
        keep_env=False,
        dependency=None,
        **fields,
    ):
        """Submit a job; returns a Job.

        ``command`` is a command line or a list of words. ``runtime`` is a time limit
        (seconds, or a Flux duration: "30s", "5m", ".5h", "1h30m"; rounded up to whole
        seconds). ``workdir`` is the job's working directory as this kernel sees it
        (relative to the current directory; default: the current directory), sent as the
        cluster sees it; a folder the cluster cannot see is refused before anything is
        submitted (flux_hub.paths.PathNotShared, a ValueError). With no shared storage at all
        and no ``workdir``, the job starts in the person's folder on the cluster. The other
        keywords are flux-restful's: num_tasks, cores_per_task, gpus_per_task, num_nodes,
        exclusive, option_flags, envars. ``is_launcher=True`` is refused (InvalidRequest):
        flux-restful would run a launcher inside its own process. ``keep_env=True``: the job
        history keeps the values of ``envars``, not only their names (so resubmit() can send
        them); only you can read it.
        """
        if dependency is not None:  # held by the hub: a Hold (flux_hub/holds/client.py)
            from flux_hub.holds.client import notebook_submit

            return notebook_submit(
                self, command, dependency=dependency, name=name, runtime=runtime,
                workdir=workdir, keep_env=keep_env, **fields,
            )  # fmt: skip
        origin = {"origin_kind": "notebook", "origin_path": os.environ.get("JPY_SESSION_NAME")}
        if keep_env:
            origin["keep_env_values"] = True
        return self._submit(command, name, runtime, workdir, fields, "workdir=", origin)

    def submit_many(self, command, inputs, *, group=None, dry_run=False, keep_env=False, **fields):
        """One job per input (or combination of inputs) of ``inputs``, as ``flux bulksubmit``:
        ``flux.submit_many("python fit.py --alpha {}", inputs=[[0.1, 0.2, 0.5]])`` (a list of
        lists, or a dict {name: list} for ``{name}``); submit's keywords for every job, each
        named ``GROUP [i/n]``. Every request is checked before the first is sent. Returns the
        JobList; ``dry_run``: the expanded requests, nothing sent (flux_hub.sweep)."""
        from flux_hub.sweep import submit_many

        return submit_many(
            self, command, inputs, group=group, dry_run=dry_run, keep_env=keep_env, **fields
        )

    def holds(self):
        """The jobs the hub holds for you until others end, newest first (Holds)."""
        from flux_hub.holds.client import holds

        return holds(self)

    def _submit(self, command, name, runtime, workdir, fields, option, origin):
        """submit(), with ``option`` the way the person names the working directory (for the
        message when the current directory cannot be used) and ``origin`` where the job came
        from, for the person's history (``origin_kind`` and ``origin_path``, ``origin_cell``
        or ``origin_command``: History.record_submitted's). Every field is checked by
        flux_hub.jobrequest.parse, as every front-end's are: JobRequestError (a ValueError and
        an InvalidRequest) lists every bad field before anything is sent."""
        # flux-restful's launchers are not a job option: its own check refuses them (LAUNCHERS_OFF)
        launcher = {key: fields.pop(key) for key in ("is_launcher",) if key in fields}
        try:
            request = parse(
                {"command": command, "name": name, "runtime": runtime, "workdir": workdir, **fields}
            )
        except KeyError as unknown:
            raise TypeError(f"submit() got an unexpected keyword argument {unknown}") from None
        name = request.pop("name", None)
        command = request.pop("command")
        fields = request
        workdir = self.paths.workdir(fields.pop("workdir", None), option=option)
        if workdir is not None:
            fields["workdir"] = workdir
        return self._send(command, fields, name, origin, launcher)

    def _send(self, command, fields, name, origin, launcher=None):
        """Submit a checked request (``fields`` as jobrequest.parse gives them, ``workdir``
        the cluster's path), record it in the history with ``origin``, tell the panel about
        it and keep its ``name``; returns the Job."""
        job_id = self.client.submit(command, **fields, **(launcher or {}))
        self._record(job_id, {"command": command, **fields}, name, origin)
        # The panel follows the jobs it knows one by one: tell it about this one.
        try:
            SubmittedJobs(journal_path(self.names.path)).add(job_id)
        except OSError as error:
            warnings.warn(
                f"job {job_id} will show in the Flux panel only after its next Refresh: {error}",
                stacklevel=2,
            )
        if name:
            # The job runs whatever happens to its name: a failure here is only a warning.
            try:
                self.names.set(job_id, name)
            except OSError as error:
                warnings.warn(f"could not keep the name of job {job_id}: {error}", stacklevel=2)
        return Job(self, job_id)

    def _record(self, job_id, request, name, origin):
        """Keep the submitted job in the person's history (flux_hub/history.py: environment
        values are not kept). The job runs whatever happens here: a failure is one warning
        line, and a busy history is waited for at most RECORD_TIMEOUT seconds."""
        try:
            workdir = request.get("workdir")
            self._open_history().record_submitted(
                job_id,
                cluster=self.host,
                request=request,
                name=name,
                workdir=workdir,
                lab_workdir=self.paths.to_lab(workdir) if workdir else None,
                **origin,
            )
        except Exception as error:  # noqa: BLE001 (the job is submitted: never fail it)
            log.warning("flux-hub: job %s is not in your job history: %s", job_id, error)
            self._history_warned = True

    def _record_end(self, info):
        """Keep a job's end (flux-restful's record ``info``) in the person's history, if it is
        there without one; a failure is one warning line (the job's end is not changed)."""
        try:
            record_ends(self._open_history(), self.host, [info])
        except Exception as error:  # noqa: BLE001 (reading a job never fails for the history)
            if not self._history_warned:
                job = info.get("id")
                log.warning("flux-hub: job %s's end is not in your job history: %s", job, error)
                self._history_warned = True

    def _open_history(self):
        """The person's job history, opened at its first use (HistoryError if it cannot be)."""
        if self._history is None:
            self._history = History(
                names_path=self.names.path, account=self.user, timeout=RECORD_TIMEOUT
            )
        return self._history

    def history(
        self, q=None, *, state=None, origin=None, since=None, until=None, limit=50, offset=0
    ):
        """Your jobs as flux-hub recorded them (the panel's History), newest first: a pandas
        DataFrame when pandas can be imported, else a HistoryList (a table in a notebook).
        Kept on your side: it answers when the cluster is down, restarted or removed.

        ``q``: text in the name or the command. ``state``: "active", "completed", "failed",
        "canceled", "timeout" or "cluster gone". ``origin``: "panel", "file", "notebook",
        "magic" (%%flux), "cli" (the terminal) or "unknown" (recorded before the history
        existed). ``since``/``until``: a datetime, unix seconds, an ISO date or date and time
        (local time: "2026-12-07", "2026-12-07T09:30"), or a time back from now ("2h", "3d").
        ``limit`` records (at most 500) from ``offset``. ValueError names a bad argument.
        """
        search = history_search(
            q, state=state, origin=origin, since=since, until=until, limit=limit, offset=offset
        )
        records = self._open_history().search(**search)["records"]
        return history_table(records)

    def resubmit(self, job_or_id, **overrides):
        """Submit a job from your history again, exactly as it was first sent (command,
        resources, time limit, its working directory as the cluster saw it, environment);
        returns the new Job. ``job_or_id``: a Job, or an id in any of Flux's forms.

        ``overrides`` change what is given, with submit()'s keywords (``num_tasks=4``,
        ``runtime="1h"``, ``workdir="other"`` as this kernel sees it, ``envars={...}``, ...).
        The new job is recorded with the original's origin and ``rerun_of`` its id.
        Raises HistoryError with one sentence when the job cannot be run again as it was (not
        in the history; recorded before flux-hub kept requests; environment values that were
        not kept: give them in ``envars``), JobRequestError for a bad override.
        """
        return self._resubmit(job_or_id, overrides, "workdir=")

    def _resubmit(self, job_or_id, overrides, option):
        """resubmit(), with ``option`` the way the person names the working directory."""
        number = job_or_id.id if isinstance(job_or_id, Job) else jobid.parse(job_or_id)
        history = self._open_history()
        record = history.get(number, self.host) or history.get(number)
        if record is None:
            raise HistoryError(f"job {jobid.f58(number)} is not in your job history")
        try:  # an overridden workdir is given as the person sees it: the cluster's is sent
            command, fields, name = rerun_request(
                record, overrides, translate=lambda path: self.paths.workdir(path, option=option)
            )
        except KeyError as unknown:
            raise TypeError(f"resubmit() got an unexpected keyword argument {unknown}") from None
        kind = record["origin"]
        origin = {
            "origin_kind": kind["kind"],
            "origin_path": kind["path"],
            "origin_cell": kind["cell"],
            "origin_command": kind["command"],
            "rerun_of": number,
            "keep_env_values": keeps_env_values(record),
        }
        return self._send(command, fields, name, origin)

    def job(self, job_id):
        """The job with this id: a number, or text in any of Flux's forms (``ƒ2Vj1dB9`` as the
        panel and ``flux jobs`` show it, decimal, hex). Raises JobNotFound or PermissionDenied
        if it is not yours."""
        job = Job(self, jobid.parse(job_id))
        job.refresh()
        return job

    def jobs(self, limit=None):
        """Your jobs, newest first, as a JobList (a table in a notebook)."""
        return JobList(Job(self, info["id"], info) for info in self.client.jobs(limit))

    def nodes(self):
        """The cluster's node names."""
        return self.client.nodes()


class Job:
    """A job on the cluster. Its details are read again while it is active, never once done."""

    def __init__(self, cluster, job_id, info=None):
        self.cluster = cluster
        self.id = job_id
        self._info = info

    def __repr__(self):
        return f"<Job {self.f58} {self.name!r} {self.state}>"

    @property
    def f58(self):
        """The id as Flux shows it (``flux jobs``, the panel): ``ƒ`` and base58."""
        return jobid.f58(self.id)

    @property
    def info(self):
        """The job as GET /v1/jobs/{id} gives it (read again unless the job is done)."""
        if self._info is None or self._info.get("state") != "INACTIVE":
            self.refresh()
        return self._info

    def refresh(self):
        """Read the job's details again now; returns them. A job seen ended for the first time
        has its end recorded in the person's history (as the panel's refresh does)."""
        ended = self._info is not None and self._info.get("state") == "INACTIVE"
        self._info = self.cluster.client.job(self.id)
        if not ended and self._info.get("state") == "INACTIVE":
            self.cluster._record_end(self._info)
        return self._info

    @property
    def workdir(self):
        """The job's working directory as the cluster sees it ("" when Flux does not say)."""
        return (self._info or self.info).get("cwd") or ""

    @property
    def lab_workdir(self):
        """The job's working directory as this kernel sees it; None if it cannot see it."""
        return self.cluster.paths.to_lab(self.workdir) if self.workdir else None

    @property
    def name(self):
        """The name given at submission, else Flux's (the command's first word)."""
        given = self.cluster.names.get(self.id)
        return given or (self._info or self.info).get("name", "")

    state = property(lambda self: self.info.get("state"), doc="DEPEND, SCHED, RUN, INACTIVE…")
    result = property(lambda self: self.info.get("result") or None, doc="COMPLETED, FAILED…")
    returncode = property(lambda self: _or_none(self.info.get("returncode")))
    done = property(lambda self: self.state == "INACTIVE")

    def wait(self, timeout=None, *, poll=1.0):
        """Wait until the job has ended; returns the job. Raises TimeoutError after ``timeout``
        seconds (the job keeps running)."""
        deadline = None
        if timeout is not None:
            seconds = timeout if _number(timeout) and timeout >= 0 else parse_duration(timeout)
            if not (isinstance(timeout, str) and timeout.strip().lower() in ("inf", "infinity")):
                deadline = time.monotonic() + seconds
        delay = 0.1
        while True:
            try:
                if self.done:
                    return self
                away = None
            except ClusterUnavailable as error:
                # A cluster away for a while (a restart, a network blip) is waited out like a
                # job that is still running: only the deadline ends the wait.
                away = error
            if deadline is not None and time.monotonic() >= deadline:
                if away is not None:
                    raise away
                raise TimeoutError(
                    f"Job {self.f58} is still {self.state} after {timeout} s; it keeps running "
                    "(job.cancel() stops it)"
                )
            pause = delay if deadline is None else min(delay, max(0, deadline - time.monotonic()))
            time.sleep(pause)
            delay = min(delay * 2, poll)

    def output(self):
        """Everything the job has written so far (stdout and stderr together)."""
        return "".join(self.cluster.client.output(self.id))

    def stream(self):
        """Output as the job writes it; the iteration ends when the job ends."""
        return self.cluster.client.stream_output(self.id)

    def cancel(self):
        """Cancel the job; returns flux-restful's message."""
        return self.cluster.client.cancel(self.id)

    def _repr_html_(self):
        return JobList([self])._repr_html_()


COLUMNS = ("id", "name", "state", "result", "exit", "nodes", "submitted", "runtime")


class JobList(list):
    """A list of Jobs that shows itself as a table."""

    def rows(self):
        """One dict of display texts per job, keyed by COLUMNS (the table's and repr's rows)."""
        for job in self:
            info = job._info if job._info is not None else job.info
            yield {
                "id": job.f58,
                "name": job.name,
                "state": info.get("state", ""),
                "result": info.get("result") or "",
                "exit": _blank(info.get("returncode")),
                "nodes": info.get("nodelist") or "",
                "submitted": _when(info.get("t_submit")),
                "runtime": f"{info['runtime']:.1f} s" if _number(info.get("runtime")) else "",
            }

    def __repr__(self):
        return _text_table([dict(zip(COLUMNS, COLUMNS, strict=True)), *self.rows()], COLUMNS)

    def _repr_html_(self):
        return _html_table("flux-hub-jobs", COLUMNS, self.rows(), bool(self), "No jobs.")


HISTORY_COLUMNS = ("id", "name", "status", "exit", "origin", "submitted", "command")
# What a person may call a state or an origin, to the history's own words
STATE_WORDS = {"gone": GONE, "cluster gone": GONE, "cluster-gone": GONE, "cluster_gone": GONE}
ORIGIN_WORDS = {"terminal": "cli", "%%flux": "magic", "imported": "unknown"}
_LONGEST_COMMAND = 60  # characters of a command in the text table (the HTML one has it whole)


def parse_when(value, name="since"):
    """Unix seconds from what a person gives as a moment: unix seconds, a datetime, an ISO
    date or date and time (local time when it names no zone: "2026-12-07", "2026-12-07T09:30")
    or a time back from now ("90m", "2h", "3d", "1h30m"). ValueError naming ``name`` else."""
    if value is None or (_number(value)):
        return value
    if isinstance(value, datetime):
        return value.timestamp()
    text = value.strip() if isinstance(value, str) else None
    if text and not ("-" in text[1:] or ":" in text or text.isdigit()):
        try:
            back = parse_duration(text)
        except ValueError:
            back = None
        if back is not None and text.lower() not in ("inf", "infinity"):
            return time.time() - back
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        raise ValueError(
            f"{name!r} must be a date (2026-12-07), a date and time (2026-12-07T09:30) or a "
            f"time back from now (2h, 3d), not {value!r}"
        ) from None


def history_search(q=None, *, state=None, origin=None, since=None, until=None, limit=50, offset=0):
    """History.search's keyword arguments from what a person gave (see FluxCluster.history);
    ValueError with one sentence naming the first bad one."""
    search = {"q": (q or "").strip() or None}
    if state:
        word = str(state).strip().lower()
        search["state"] = STATE_WORDS.get(word, word.upper())
        states = (ACTIVE, "COMPLETED", "FAILED", "CANCELED", "TIMEOUT", GONE)
        if search["state"] not in states:
            shown = ", ".join(s.lower() for s in states[:-1])
            raise ValueError(f"'state' must be one of {shown} or cluster gone, not {state!r}")
    if origin:
        word = str(origin).strip().lower()
        search["origin"] = ORIGIN_WORDS.get(word, word)
        if search["origin"] not in ORIGINS:
            raise ValueError(
                f"'origin' must be one of {', '.join(ORIGINS)} (terminal is cli, %%flux is "
                f"magic), not {origin!r}"
            )
    search["since"] = parse_when(since, "since")
    search["until"] = parse_when(until, "until")
    for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name!r} must be a whole number of at least {low}, not {value!r}")
    if limit > MAX_LIMIT:
        raise ValueError(f"'limit' must be at most {MAX_LIMIT}, not {limit!r}")
    search.update(limit=limit, offset=offset)
    return search


def history_table(records):
    """The records as a pandas DataFrame when pandas can be imported, else a HistoryList."""
    try:
        import pandas
    except ImportError:
        return HistoryList(records)
    return history_frame(pandas, records)


def history_frame(pandas, records):
    """A DataFrame of the records: one row each, newest first; the origin in four columns
    (origin_kind, origin_path, origin_cell, origin_command), times as UTC Timestamps, ``job``
    the id as Flux shows it; the rest as History.search gives it (request, form, ...)."""
    rows = []
    for record in records:
        row = {"id": record["id"], "job": jobid.f58(record["id"])}
        row.update((k, v) for k, v in record.items() if k not in ("id", "origin"))
        for key, value in (record.get("origin") or {}).items():
            row[f"origin_{key}"] = value
        rows.append(row)
    first = ["id", "job", "name", "status", "exit_code", "origin_kind", "submitted", "command"]
    columns = first + [c for c in (rows[0] if rows else {}) if c not in first]
    frame = pandas.DataFrame.from_records(rows, columns=columns)
    for column in ("submitted", "ended", "gone"):
        if column in frame:
            frame[column] = pandas.to_datetime(frame[column], unit="s", utc=True)
    return frame


def origin_text(origin):
    """Where a job came from, in words: "analysis.ipynb [3]" (a %%flux cell), the notebook's
    or the file's name, "terminal", "panel", "imported" (recorded before the history existed).
    The whole path is the record's (``origin["path"]``)."""
    kind, path, cell = origin.get("kind"), origin.get("path"), origin.get("cell")
    if kind in ("notebook", "magic", "file") and path:
        name = posixpath.basename(path.rstrip("/")) or path
        return f"{name} [{cell}]" if cell not in (None, "") else name
    return {"cli": "terminal", "unknown": "imported"}.get(kind, kind or "")


def status_text(record):
    """A record's status as a person reads it: "cluster gone", or ACTIVE, COMPLETED, FAILED…"""
    return "cluster gone" if record.get("status") == GONE else record.get("status") or ""


class HistoryList(list):
    """History records (dicts, as History.search gives them) that show themselves as a table:
    id (as Flux shows it), name, status ("cluster gone" when its cluster no longer knows it),
    exit code, origin, submitted (local time) and command."""

    def rows(self, *, whole=True):
        """One dict of display texts per record, keyed by HISTORY_COLUMNS; ``whole``: the
        command whole, else cut to its first 60 characters."""
        for record in self:
            command = record.get("command") or ""
            if not whole and len(command) > _LONGEST_COMMAND:
                command = command[: _LONGEST_COMMAND - 1] + "…"
            yield {
                "id": jobid.f58(record["id"]),
                "name": record.get("name") or "",
                "status": status_text(record),
                "exit": _blank(record.get("exit_code")),
                "origin": origin_text(record.get("origin") or {}),
                "submitted": _when(record.get("submitted")),
                "command": command,
            }

    def __repr__(self):
        if not self:
            return "No jobs in your history."
        rows = [dict(zip(HISTORY_COLUMNS, HISTORY_COLUMNS, strict=True)), *self.rows(whole=False)]
        return _text_table(rows, HISTORY_COLUMNS)

    def _repr_html_(self):
        return _html_table("flux-hub-history", HISTORY_COLUMNS, self.rows(), bool(self),
                           "No jobs in your history.")  # fmt: skip


def _text_table(rows, columns):
    widths = {c: max(len(str(row[c])) for row in rows) for c in columns}
    lines = ["  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip() for row in rows]
    return "\n".join(lines)


def _html_table(kind, columns, rows, any_rows, empty):
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="flux-{c}">{html.escape(str(row[c]))}</td>' for c in columns)
        + "</tr>"
        for row in rows
    )
    if not any_rows:
        body = f'<tr><td colspan="{len(columns)}">{html.escape(empty)}</td></tr>'
    return f'<table class="{kind}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _or_none(value):
    return value if _number(value) else None


def _blank(value):
    return value if _number(value) else ""


def _when(timestamp):
    if not _number(timestamp) or timestamp <= 0:
        return ""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
