"""Submit, follow and cancel Flux jobs from Python.

    from flux_hub.notebook import connect
    flux = connect()        # from FLUX_RESTFUL_HOST, FLUX_USER, FLUX_TOKEN, FLUX_SECRET_KEY
    job = flux.submit("hostname", name="where am I", num_nodes=2)
    job.wait(timeout=60).output()
    flux.jobs()             # a table in a notebook

Names given here are kept in the job-name file the JupyterLab panel reads, so a job submitted from
a notebook shows up there under its name; every job's id goes into the journal the panel follows
(flux_hub/journal.py), so it shows up there at the next refresh.

A job's working directory is given as the notebook sees it (``workdir="analysis"``, relative to
the kernel's current directory, which is also the default) and sent as the cluster sees it
(flux_hub/paths.py, from ``FLUX_HUB_PATHS``); ``job.lab_workdir`` shows it the lab's way again.
"""

import html
import logging
import os
import time
import warnings
from datetime import datetime

from flux_hub import jobid
from flux_hub.history import History
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

    def submit(self, command, *, name=None, runtime=None, workdir=None, **fields):
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
        flux-restful would run a launcher inside its own process.
        """
        origin = {"origin_kind": "notebook", "origin_path": os.environ.get("JPY_SESSION_NAME")}
        return self._submit(command, name, runtime, workdir, fields, "workdir=", origin)

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
        job_id = self.client.submit(command, **fields, **launcher)
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
            if self._history is None:
                self._history = History(
                    names_path=self.names.path, account=self.user, timeout=RECORD_TIMEOUT
                )
            workdir = request.get("workdir")
            self._history.record_submitted(
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
        """Read the job's details again now; returns them."""
        self._info = self.cluster.client.job(self.id)
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
        rows = [dict(zip(COLUMNS, COLUMNS, strict=True)), *self.rows()]
        widths = {c: max(len(str(row[c])) for row in rows) for c in COLUMNS}
        lines = ["  ".join(str(row[c]).ljust(widths[c]) for c in COLUMNS).rstrip() for row in rows]
        return "\n".join(lines)

    def _repr_html_(self):
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(f'<td class="flux-{c}">{html.escape(str(row[c]))}</td>' for c in COLUMNS)
            + "</tr>"
            for row in self.rows()
        )
        if not self:
            body = f'<tr><td colspan="{len(COLUMNS)}">No jobs.</td></tr>'
        return (
            f'<table class="flux-hub-jobs"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )


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
