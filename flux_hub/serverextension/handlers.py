"""HTTP handlers of the flux-hub API under {base_url}flux-hub/api/."""

import asyncio
import json
import os
from contextlib import aclosing

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from flux_hub import jobid, jobrequest
from flux_hub.paths import PathNotShared, within
from flux_hub.restful import FluxRestfulError
from flux_hub.serverextension.errors import BadRequest, describe, expected

RESCAN = {"1": True, "true": True, "0": False, "false": False, "": False}
# Where a job POST jobs submits comes from (the history's origin): the panel's form, or the
# file browser's "Submit as Flux Job…" (a script's lab path)
POST_ORIGINS = ("panel", "file")


def parse_submission(body):
    """(fields for the client's submit, name) from a JSON request body, or BadRequest (see
    parse_job_post, which also gives the job's origin)."""
    fields, name, _origin = parse_job_post(body)
    return fields, name


def parse_origin(value):
    """The history's origin of a POST jobs body's ``"origin"``: None (absent: the panel), or
    {"kind": "panel" or "file", "path": the lab path of the file (kind file: required)}.
    Returns (History.record_submitted's origin keywords, reasons it is not valid)."""
    if value is None:
        return {"origin_kind": "panel"}, []
    kind = value.get("kind") if isinstance(value, dict) else None
    path = value.get("path") if isinstance(value, dict) else None
    kinds = " or ".join(f'"{known}"' for known in POST_ORIGINS)
    if kind not in POST_ORIGINS:
        return None, [f'\'origin\' must be {{"kind": {kinds}, "path": ...}}, not {value!r}.']
    unknown = sorted(key for key in value if key not in ("kind", "path"))
    if unknown:
        return None, [f"'origin' has an unknown field {unknown[0]!r}."]
    if path is not None and (not isinstance(path, str) or not path.strip() or "\0" in path):
        return None, [f"the origin's 'path' must be the file's path in the lab, not {path!r}."]
    if kind == "file" and path is None:
        return None, ["'origin' of kind 'file' needs the file's path."]
    return {"origin_kind": kind, "origin_path": path}, []


def parse_job_post(body):
    """(fields for the client's submit, name, origin) from a POST jobs body, or BadRequest.

    The job's fields follow flux_hub.jobrequest (the one description every front-end uses, the
    panel's form through GET request-fields): the same input gives the same request and the same
    refusal as ``%%flux``, ``flux-hub submit`` and the notebook API. Which keys this API takes
    is the extension's: launchers and unknown keys are refused here. ``origin`` (parse_origin)
    is where the job came from, for the person's history; a bad one is a 400 of field "origin".
    ``keep_env``: true keeps the environment's values in the history (jobrequest.KEEP_ENV_HELP).
    """
    try:
        data = json.loads(body or b"")
    except ValueError:
        raise BadRequest("The request body must be a JSON object describing the job.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object describing the job.")
    origin, extra = parse_origin(data.pop("origin", None))
    keep_env = data.pop("keep_env", False)
    if not isinstance(keep_env, bool):
        extra.append(f"'keep_env' must be true or false, not {keep_env!r}.")
    elif keep_env and origin is not None:
        origin["keep_env_values"] = True
    if "is_launcher" in data:
        data.pop("is_launcher")
        extra.append("'is_launcher' is not supported: a launcher job has no single id to follow.")
    extra.extend(f"unknown field {key!r}." for key in sorted(data) if key not in jobrequest.BY_NAME)
    data = {key: value for key, value in data.items() if key in jobrequest.BY_NAME}
    data.setdefault("command", None)
    try:
        request = jobrequest.parse(data)
    except jobrequest.JobRequestError as problem:
        raise BadRequest(
            "The job was not submitted: its description is not valid.", problem.reasons + extra
        ) from None
    if extra:
        field = "origin" if origin is None and len(extra) == 1 else None
        raise BadRequest("The job was not submitted: its description is not valid.", extra, field)
    name = request.pop("name", None)
    return request, name, origin


def _sentence(text):
    """A message as the API's other sentences: a capital first letter, a full stop."""
    if text[:1].isalpha():
        text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def parse_job_id(text):
    """A job id in the URL: decimal (as the panel sends it) or any form Flux reads (ƒ2Vj1dB9)."""
    try:
        job_id = jobid.parse(text)
    except ValueError:
        job_id = 0
    if job_id > 0:
        return job_id
    raise BadRequest(f"{text!r} is not a job id (decimal, or F58 like ƒ2Vj1dB9).")


class FluxHubHandler(APIHandler):
    """Errors of every handler become JSON in errors.describe()."""

    @property
    def service(self):
        """The JobsService that talks to flux-restful for this server's user."""
        return self.settings["flux_hub"]

    def update_api_activity(self):
        """Count submits and cancels as activity, not the panel's polling reads."""
        # The panel reads (polls) every few seconds while it is open: that is not someone using
        # the server, and counting it would keep JupyterHub's idle culler from ever stopping a
        # server left open in a browser tab. Submitting and cancelling are.
        if self.request.method != "GET":
            super().update_api_activity()

    def log_exception(self, typ, value, tb):
        """Errors that are part of the API (errors.expected) as one warning line; the
        rest with a traceback."""
        if expected(value):
            self.log.warning("flux-hub: %s %s: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)

    def write_error(self, status_code, **kwargs):
        """The error as {"message", "reasons"} with the status errors.describe() gives it."""
        error = (kwargs.get("exc_info") or (None, None, None))[1]
        status, message, reasons = describe(error, status_code)
        self.set_status(status)
        answer = {"message": message, "reasons": reasons}
        if getattr(error, "field", None) and isinstance(error, BadRequest):
            answer["field"] = error.field
        self.finish(json.dumps(answer))


def shared_files(paths, root_dir):
    """Which of this server's files the Flux cluster sees (``files`` of GET cluster), so the
    panel offers only working directories a job can have: ``same_filesystem`` (FLUX_HUB_PATHS
    unset: every path, ``folders`` null), ``shared`` (anything at all) and ``folders``, each
    ``{"lab", "cluster", "browser"}``: the folder as this server and as the cluster see it, and
    where the file browser shows it (relative to ``root_dir``; "" the whole file browser, null
    when the file browser does not show it)."""
    if paths.same_filesystem:
        return {"shared": True, "same_filesystem": True, "folders": None}
    folders = []
    for lab, cluster in paths.pairs:
        browser = None
        if root_dir:
            browser = "" if within(root_dir, lab) is not None else within(lab, root_dir)
        folders.append({"lab": lab, "cluster": cluster, "browser": browser})
    return {"shared": bool(folders), "same_filesystem": False, "folders": folders}


class ClusterHandler(FluxHubHandler):
    """GET cluster: the account, the cluster's URL and nodes, whether it answers, and which of
    this server's files it sees."""

    @web.authenticated
    async def get(self):
        """The cluster summary (never an error status: reachable false says why)."""
        summary = await self.service.cluster()
        summary["files"] = shared_files(self.service.paths, self.service.root_dir)
        self.finish(json.dumps(summary))


class JobsHandler(FluxHubHandler):
    """GET jobs (the user's jobs, ?since=VERSION, ?rescan=1) and POST jobs (submit)."""

    def compute_etag(self):
        """None: no ETag (each answer carries its own version)."""
        return None  # every answer has a version of its own; hashing 640 KB would be waste

    @web.authenticated
    async def get(self):
        """The jobs list, or only what changed since ``since``; 400 for a bad ``rescan``."""
        rescan = self.get_query_argument("rescan", "0").strip().lower()
        if rescan not in RESCAN:
            raise BadRequest(f"'rescan' must be 1 or 0 (true or false), not {rescan!r}.")
        since = self.get_query_argument("since", None)
        await self.service.list_jobs(since, self.finish, rescan=RESCAN[rescan])

    @web.authenticated
    async def post(self):
        """Submit the JSON body's job (see parse_submission); 201 {"id": job id}. Its
        ``workdir`` is a path of this server's, sent the cluster's way; 400 (``field``
        "workdir") for a folder the cluster cannot see, before anything is submitted. The job
        goes into the person's job history, without its environment's values: origin "panel",
        or the body's ``origin`` (parse_origin: the file browser's script, kind "file")."""
        fields, name, origin = parse_job_post(self.request.body)
        if "workdir" in fields:
            try:
                fields["workdir"] = self.service.cluster_workdir(fields["workdir"])
            except PathNotShared as error:
                raise BadRequest(_sentence(str(error)), field="workdir") from None
        if origin.get("origin_path") and self.service.root_dir:
            # The file browser's path, kept as the lab's absolute one (as a notebook's is)
            origin["origin_path"] = os.path.normpath(
                os.path.join(self.service.root_dir, origin["origin_path"].lstrip("/"))
            )
        job_id = await self.service.submit(name=name, **fields)
        # Into the person's job history, in the background: the answer does not wait for it.
        self.service.record_submitted(job_id, dict(fields), name, **origin)
        self.set_status(201)
        self.finish(json.dumps({"id": job_id}))


class RequestFieldsHandler(FluxHubHandler):
    """GET request-fields: the description of a job request (flux_hub.jobrequest.describe),
    from which the panel's form takes its fields, limits, help and rules."""

    @web.authenticated
    def get(self):
        """The description as JSON (it changes only with flux-hub itself)."""
        self.set_header("Cache-Control", "private, max-age=300")
        self.finish(json.dumps(jobrequest.describe()))


class JobHandler(FluxHubHandler):
    """GET jobs/<id>: one job of the user's."""

    @web.authenticated
    async def get(self, job_id):
        """The job as JSON: flux-restful's record, with its flux-hub name, and where it runs
        as this server sees it (``lab_workdir``, ``browser_path``: JobsService.where)."""
        job = await self.service.job(parse_job_id(job_id))
        self.finish(json.dumps({**job, **self.service.where(job)}))


class JobOutputHandler(FluxHubHandler):
    """GET jobs/<id>/output: what the job wrote so far."""

    @web.authenticated
    async def get(self, job_id):
        """{"output": [chunk, ...]}."""
        output = await self.service.output(parse_job_id(job_id))
        self.finish(json.dumps({"output": output}))


class JobCancelHandler(FluxHubHandler):
    """POST jobs/<id>/cancel."""

    @web.authenticated
    async def post(self, job_id):
        """Cancel the job; {"message": flux-restful's answer}."""
        message = await self.service.cancel(parse_job_id(job_id))
        self.finish(json.dumps({"message": message}))


class JobOutputStreamHandler(FluxHubHandler):
    """The job's output as it is written, as one chunked text/plain response.

    The response ends when the job ends. When the browser goes away, the copy loop is
    cancelled, which closes the request to flux-restful as well.
    """

    _copy = None

    @web.authenticated
    async def get(self, job_id):
        """Stream the job's output until it ends; refusals are error statuses sent before it."""
        job_id = parse_job_id(job_id)
        # Refusals (another user's job, unknown job, cluster down) must be real error answers,
        # so they are found out by asking the cluster before the 200 is sent.
        await self.service.job(job_id, cached=False)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # proxies must pass chunks on at once
        self._copy = asyncio.ensure_future(self._copy_output(job_id))
        try:
            await self._copy
        except (asyncio.CancelledError, StreamClosedError):
            return  # the browser left; nothing more to send
        except FluxRestfulError as error:
            # Too late for an error status: end the response and say why in the log.
            self.log.warning("flux-hub: output stream of job %s ended early: %s", job_id, error)
        self.finish()

    async def _copy_output(self, job_id):
        await self.flush()
        async with aclosing(self.service.stream(job_id)) as chunks:
            async for chunk in chunks:
                if chunk:
                    self.write(chunk)
                    await self.flush()

    def on_connection_close(self):
        """The browser left: stop copying, which closes the request to flux-restful."""
        if self._copy is not None:
            self._copy.cancel()
        super().on_connection_close()


def handlers(base_url):
    """The extension's (URL pattern, handler) pairs under the server's ``base_url``."""
    from flux_hub.serverextension import holds  # (holds builds on this module's handlers)

    api = url_path_join(base_url, "flux-hub", "api")
    job = url_path_join(api, "jobs", r"(?P<job_id>[^/]+)")
    return [
        (url_path_join(api, "cluster"), ClusterHandler),
        (url_path_join(api, "jobs"), holds.HeldJobsHandler),
        (url_path_join(api, "holds"), holds.HoldsHandler),
        (url_path_join(api, "holds", r"(?P<hold_id>[^/]+)"), holds.HoldHandler),
        (url_path_join(api, "request-fields"), RequestFieldsHandler),
        (job, JobHandler),
        (url_path_join(job, "output"), JobOutputHandler),
        (url_path_join(job, "output", "stream"), JobOutputStreamHandler),
        (url_path_join(job, "cancel"), JobCancelHandler),
    ]
