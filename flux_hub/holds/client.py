"""The person's side of the hub's holds: the terminal's and the notebook's (synchronous).

``flux-hub submit --dependency=afterok:ID CMD`` and ``flux.submit(CMD, dependency="afterok:ID")``
do not submit: they ask the hub to hold the job (``POST {hub}api/holds`` with the person's hub
token, which a JupyterLab terminal and kernel have from their server) and get a ``Hold``; the
hub's holder submits it as the person once the condition holds, even with the server stopped
(flux_hub/holds/holder.py). The job's fields are checked here first, as for any submit
(flux_hub.jobrequest), and its working directory sent as the cluster sees it.

Where the hub's holds are: ``$FLUX_HUB_HOLDS_URL``, else next to the hub's reader
(``$FLUX_HUB_READER_URL`` ``.../api/reader`` gives ``.../api/holds``).
"""

import os
import time

from flux_hub import depend, jobid, jobrequest
from flux_hub.reader import READER_ENV
from flux_hub.restful import FluxRestfulError, InvalidRequest

from . import HOLDS_ENV
from .store import WAITING

TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
TIMEOUT = 30.0
DEPENDENCY_HELP = (
    "hold the job in the hub until other jobs of yours end, as flux submit --dependency: "
    "afterok:ID (succeeded), afterany:ID (ended), afternotok:ID (did not succeed); IDs as "
    "flux jobs shows them, several with commas or the flag given again"
)


class HoldError(FluxRestfulError):
    """The hub did not hold or show the job; str() says why in one line."""


def holds_url(environ=None, reader_url=None):
    """The hub's holds API (ending in ``/``), or "" when this server was given none."""
    environ = os.environ if environ is None else environ
    url = (environ.get(HOLDS_ENV) or "").strip()
    if not url:
        reader = (reader_url or environ.get(READER_ENV) or "").strip().rstrip("/")
        if reader.endswith("/api/reader"):
            url = reader[: -len("reader")] + "holds"
    return url if not url or url.endswith("/") else url + "/"


def _one_line(text):
    return " ".join(str(text).split())[:500]


def answer(url, status, body):
    """The hub's decoded answer to a holds request, or the error it means: InvalidRequest for
    a 400 (the hub's one line), HoldError otherwise."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    if 200 <= status < 300 and isinstance(data, dict):
        return data
    if status == 400 and isinstance(message, str):
        raise InvalidRequest(_one_line(message), reasons=[_one_line(message)])
    said = f": {_one_line(message)}" if isinstance(message, str) and message else ""
    raise HoldError(
        f"the hub's holds at {url} answered {status}{said}",
        status=status,
        reasons=[_one_line(message)] if isinstance(message, str) and message else [],
    )


class HubHolds:
    """The hub's holds API at ``url`` asked with the person's hub ``token`` (requests)."""

    def __init__(self, url, token, timeout=TIMEOUT):
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_env(cls, environ=None):
        """The hub's holds this terminal or kernel was given; HoldError when none."""
        environ = os.environ if environ is None else environ
        url, token = holds_url(environ), environ.get(TOKEN_ENV, "")
        if not url or not token:
            raise HoldError(
                f"this server was given no hub to hold jobs (${HOLDS_ENV} or ${READER_ENV} "
                f"and ${TOKEN_ENV}): a job with a dependency cannot be held"
            )
        return cls(url, token)

    def _ask(self, method, path="", body=None):
        import requests

        try:
            response = requests.request(
                method,
                self.url + path,
                json=body,
                headers={"Authorization": f"token {self.token}", "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise HoldError(f"the hub's holds at {self.url} cannot be reached: {error}") from None
        return answer(self.url, response.status_code, response.content)

    def create(self, request, after, name=None, origin=None):
        """Hold ``request`` (jobrequest.parse's, the cluster's workdir) until ``after``;
        ``origin``: where it was made, for the person's history (History's origin keywords)."""
        body = {"request": request, "after": after}
        if name:
            body["name"] = name
        if origin:
            body["origin"] = {key: value for key, value in origin.items() if value is not None}
        return self._ask("POST", body=body)

    def get(self, hold_id):
        return self._ask("GET", hold_id)

    def cancel(self, hold_id):
        return self._ask("DELETE", hold_id)

    def list(self):
        return self._ask("GET")["holds"]


class Hold:
    """A job the hub holds until others end. ``state``: DEPEND while it waits (SUBMITTING for
    the moment the hub sends it), SUBMITTED once the hub submitted it (``job``: the Job),
    NEVER_RUN (``reason``: why), CANCELED."""

    def __init__(self, cluster, model, hub):
        self._cluster = cluster
        self._hub = hub
        self._model = model

    id = property(lambda self: self._model["id"])
    state = property(lambda self: self._model["state"])
    reason = property(lambda self: self._model.get("reason"))
    name = property(lambda self: self._model.get("name"))
    after = property(lambda self: self._model["after"])

    @property
    def job(self):
        """The job the hub submitted (a Job of the notebook API), or None before."""
        number = self._model.get("job")
        if number is None:
            return None
        from flux_hub.notebook.api import Job

        return Job(self._cluster, number)

    @property
    def dependency(self):
        """What it waits for, as flux submit writes it (afterok:ƒ...)."""
        return depend.text(self.after)

    def refresh(self):
        """Ask the hub again; returns self."""
        self._model = self._hub.get(self.id)
        return self

    def wait(self, timeout=None, *, poll=2.0):
        """Wait until it is no longer held (submitted, never run or canceled); returns self.
        TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh().state in WAITING:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"hold {self.id} still waits for {self.dependency}")
            time.sleep(poll)
        return self

    def cancel(self):
        """Cancel it while it waits; returns self (its state says what happened)."""
        self._model = self._hub.cancel(self.id)
        return self

    def __repr__(self):
        job = self._model.get("job")
        tail = f" job={jobid.f58(job)}" if job else ""
        tail += f" reason={self.reason!r}" if self.reason else ""
        return f"<Hold {self.id} {self.state} after {self.dependency}{tail}>"


def hold(
    cluster, command, dependency, name, runtime, workdir, fields, option, hub=None, origin=None
):
    """Ask the hub to hold a job of the notebook API's ``cluster`` (FluxCluster) until
    ``dependency``; returns the Hold. The fields are checked by jobrequest.parse as any submit's
    (JobRequestError), the dependency by depend.parse (DependencyError), both ValueErrors, before
    anything is sent; ``option``: how the person names the working directory (messages);
    ``origin``: where it was made, for the person's history once the hub submits it."""
    after = depend.parse(dependency)
    try:
        request = jobrequest.parse(
            {"command": command, "name": name, "runtime": runtime, "workdir": workdir, **fields}
        )
    except KeyError as unknown:
        raise TypeError(f"submit() got an unexpected keyword argument {unknown}") from None
    name = request.pop("name", None)
    folder = cluster.paths.workdir(request.pop("workdir", None), option=option)
    if folder is not None:
        request["workdir"] = folder
    hub = hub or HubHolds.from_env()
    return Hold(cluster, hub.create(request, after, name, origin), hub)


def notebook_submit(
    cluster,
    command,
    *,
    dependency,
    name=None,
    runtime=None,
    workdir=None,
    keep_env=False,
    **fields,
):
    """``flux.submit(command, dependency="afterok:ID", ...)``: the Hold (see hold);
    ``keep_env``: the person's history keeps the environment's values, as for any submit."""
    origin = {"origin_kind": "notebook", "origin_path": os.environ.get("JPY_SESSION_NAME")}
    if keep_env:
        origin["keep_env_values"] = True
    return hold(
        cluster, command, dependency, name, runtime, workdir, fields, "workdir=", origin=origin
    )


def holds(cluster, hub=None):
    """The person's holds, newest first (``flux.holds()``)."""
    hub = hub or HubHolds.from_env()
    return [Hold(cluster, model, hub) for model in hub.list()]


def add_dependency_argument(parser):
    """``--dependency KIND:ID`` on flux-hub submit (repeatable)."""
    parser.add_argument("--dependency", action="append", metavar="KIND:ID", help=DEPENDENCY_HELP)


def terminal_submit(cluster, args, command, raw, submitted, hub=None):
    """``flux-hub submit --dependency=...``: hold the job, print the hold's id (and what it
    waits for on standard error); with ``--wait``, wait for its release and hand the job to
    ``submitted`` (the terminal's printing of a submitted job). Returns the exit status;
    errors as the terminal's (ValueError for the command line, FluxRestfulError)."""
    import sys

    from flux_hub.terminal import command_line

    name, runtime, workdir = (raw.pop(key, None) for key in ("name", "runtime", "workdir"))
    origin = {
        "origin_kind": "cli",
        "origin_command": command_line(sys.argv, getattr(args, "command", None) or command or []),
    }
    if getattr(args, "keep_env", False):
        origin["keep_env_values"] = True
    held = hold(
        cluster, command or None, args.dependency, name, runtime, workdir, raw, "--cwd", hub,
        origin,
    )  # fmt: skip
    print(f"flux-hub: job held by the hub until {held.dependency}", file=sys.stderr, flush=True)
    if not getattr(args, "wait", False):
        print(held.id, flush=True)
        return 0
    held.wait()
    if held.state != "SUBMITTED":
        raise HoldError(f"hold {held.id} {held.state.lower().replace('_', ' ')}: {held.reason}")
    return submitted(held.job, True)
