"""HTTP handlers of the flux-hub API under {base_url}flux-hub/api/."""

import asyncio
import json
from contextlib import aclosing

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from flux_hub import jobid
from flux_hub.notebook.names import check_name
from flux_hub.restful import FluxRestfulError
from flux_hub.serverextension.errors import BadRequest, describe, expected

COUNTS = ("num_tasks", "cores_per_task", "gpus_per_task", "num_nodes")
RESCAN = {"1": True, "true": True, "0": False, "false": False, "": False}


def parse_submission(body):
    """(fields for the client's submit, name) from a JSON request body, or BadRequest."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        raise BadRequest("The request body must be a JSON object describing the job.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object describing the job.")
    reasons = []
    fields = {}

    command = data.pop("command", None)
    if isinstance(command, str) and command.strip():
        fields["command"] = command
    elif isinstance(command, list) and command and all(isinstance(w, str) for w in command):
        fields["command"] = command
    else:
        reasons.append("'command' is required: the command line to run, e.g. \"hostname\".")

    name = data.pop("name", None)
    if name is not None:
        try:
            name = check_name(name)
        except ValueError as error:
            reasons.append(f"'name': {error}.")
    for key in COUNTS:
        value = data.pop(key, None)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            fields[key] = value
        else:
            reasons.append(f"'{key}' must be a whole number of at least 1, not {value!r}.")
    runtime = data.pop("runtime", None)
    if runtime is not None:
        if isinstance(runtime, int) and not isinstance(runtime, bool) and runtime >= 0:
            fields["runtime"] = runtime
        else:
            reasons.append(f"'runtime' must be whole seconds (0 = no limit), not {runtime!r}.")
    exclusive = data.pop("exclusive", None)
    if exclusive is not None:
        if isinstance(exclusive, bool):
            fields["exclusive"] = exclusive
        else:
            reasons.append(f"'exclusive' must be true or false, not {exclusive!r}.")
    workdir = data.pop("workdir", None)
    if workdir is not None:
        if isinstance(workdir, str) and workdir.strip():
            fields["workdir"] = workdir
        else:
            reasons.append("'workdir' must be a directory path on the cluster.")
    flags = data.pop("option_flags", None)
    if flags is not None:
        if isinstance(flags, dict) and all(
            isinstance(k, str) and k and not set(k) & set(",=") and "," not in str(v)
            for k, v in flags.items()
        ):
            fields["option_flags"] = {k: str(v) for k, v in flags.items()}
        else:
            reasons.append(
                "'option_flags' must be an object of shell options, e.g. {\"cpu-affinity\": "
                '"per-task"}; keys without "=" or ",", values without ",".'
            )
    envars = data.pop("envars", None)
    if envars is not None:
        if isinstance(envars, dict) and all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in envars.items()
        ):
            fields["envars"] = envars
        else:
            reasons.append("'envars' must be an object of names to string values.")
    if "is_launcher" in data:
        data.pop("is_launcher")
        reasons.append("'is_launcher' is not supported: a launcher job has no single id to follow.")
    reasons.extend(f"unknown field {key!r}." for key in sorted(data))
    if reasons:
        raise BadRequest("The job was not submitted: its description is not valid.", reasons)
    return fields, name


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
        return self.settings["flux_hub"]

    def update_api_activity(self):
        # The panel reads (polls) every few seconds while it is open: that is not someone using
        # the server, and counting it would keep JupyterHub's idle culler from ever stopping a
        # server left open in a browser tab. Submitting and cancelling are.
        if self.request.method != "GET":
            super().update_api_activity()

    def log_exception(self, typ, value, tb):
        if expected(value):
            self.log.warning("flux-hub: %s %s: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)

    def write_error(self, status_code, **kwargs):
        error = (kwargs.get("exc_info") or (None, None, None))[1]
        status, message, reasons = describe(error, status_code)
        self.set_status(status)
        self.finish(json.dumps({"message": message, "reasons": reasons}))


class ClusterHandler(FluxHubHandler):
    @web.authenticated
    async def get(self):
        self.finish(json.dumps(await self.service.cluster()))


class JobsHandler(FluxHubHandler):
    def compute_etag(self):
        return None  # every answer has a version of its own; hashing 640 KB would be waste

    @web.authenticated
    async def get(self):
        rescan = self.get_query_argument("rescan", "0").strip().lower()
        if rescan not in RESCAN:
            raise BadRequest(f"'rescan' must be 1 or 0 (true or false), not {rescan!r}.")
        since = self.get_query_argument("since", None)
        await self.service.list_jobs(since, self.finish, rescan=RESCAN[rescan])

    @web.authenticated
    async def post(self):
        fields, name = parse_submission(self.request.body)
        job_id = await self.service.submit(name=name, **fields)
        self.set_status(201)
        self.finish(json.dumps({"id": job_id}))


class JobHandler(FluxHubHandler):
    @web.authenticated
    async def get(self, job_id):
        self.finish(json.dumps(await self.service.job(parse_job_id(job_id))))


class JobOutputHandler(FluxHubHandler):
    @web.authenticated
    async def get(self, job_id):
        output = await self.service.output(parse_job_id(job_id))
        self.finish(json.dumps({"output": output}))


class JobCancelHandler(FluxHubHandler):
    @web.authenticated
    async def post(self, job_id):
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
        if self._copy is not None:
            self._copy.cancel()
        super().on_connection_close()


def handlers(base_url):
    api = url_path_join(base_url, "flux-hub", "api")
    job = url_path_join(api, "jobs", r"(?P<job_id>[^/]+)")
    return [
        (url_path_join(api, "cluster"), ClusterHandler),
        (url_path_join(api, "jobs"), JobsHandler),
        (job, JobHandler),
        (url_path_join(job, "output"), JobOutputHandler),
        (url_path_join(job, "output", "stream"), JobOutputStreamHandler),
        (url_path_join(job, "cancel"), JobCancelHandler),
    ]
