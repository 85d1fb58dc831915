"""The flux-restful 1.1.0 wire protocol, without any I/O.

Every operation is a generator that yields what it needs and returns its result:

- a ``Request`` (plain data) -> the transport sends it and replies with a ``Response``, or
  with a ``ConnectionFailed`` when no answer came (thrown into the generator);
- a ``Login(stale)`` -> the transport replies with a token from ``Protocol.login(stale)``, run
  while holding its own lock, so that concurrent callers share one handshake.

- a ``Wait(seconds)`` -> the transport sleeps (without blocking others) and replies None.

The synchronous (requests) and asynchronous (tornado) clients only drive these generators
(see ``advance``), so request building, error mapping and the re-login rule exist once.

It serves flux-restful >= 1.1 and the legacy flux-restful-api (0.2, the ``app/`` server that
v1alpha1 MiniClusters run). It tells them apart once, on the first call whose handling differs
(``GET /v1/auth``: 404 only on the legacy server), and every difference is handled here:

- its ``?details=true`` listing returns only the first job on flux-core >= 0.82, so the list is
  ``GET /v1/jobs`` (ids) plus one ``GET /v1/jobs/{id}`` each;
- its ``/output`` of a running job answers only once the job ends, and its single worker serves
  no one else meanwhile (its stream does the same), so output is read only once the job is
  INACTIVE, and "live" output polls the job's info until then;
- it keeps no one apart: ``LEGACY_WARNING`` is what people are told.
"""

import codecs
import json
import logging
import os
import shlex
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode, urlsplit

import jwt

from .errors import (
    AuthenticationFailed,
    ClusterUnavailable,
    FluxRestfulError,
    InvalidRequest,
    JobNotFound,
    LimitReached,
    PermissionDenied,
)

log = logging.getLogger("flux_hub.restful")

DEFAULT_HOST = "http://127.0.0.1:5000"
LEGACY_WARNING = (
    "This Flux cluster runs the legacy flux-restful-api server, which cannot keep users apart: "
    "any user can read and cancel any job, and every job receives the server's secret key. "
    "Use flux-restful 1.1 or later."
)
# Seconds between two looks at a running job on the legacy server, for its "live" output
LEGACY_POLL_INTERVAL = 1.0
# What flux-restful 1.1.0 answers (401) to a bad or expired token; the legacy server answers
# the same detail with 403, which must not be mistaken for "you do not own this job".
TOKEN_REFUSED = "Could not validate credentials"
SUBMIT_FIELDS = (
    "num_tasks",
    "cores_per_task",
    "gpus_per_task",
    "num_nodes",
    "exclusive",
    "option_flags",
    "workdir",
    "runtime",
    "is_launcher",
)
WHOLE_NUMBERS = ("num_tasks", "cores_per_task", "gpus_per_task", "num_nodes", "runtime")
FLAGS = ("exclusive", "is_launcher")
# is_launcher=true makes flux-restful run the command (nextflow, snakemake) inside its own
# process, found on the PATH the request supplies: as root on a multi-user server. Never sent.
LAUNCHERS_OFF = (
    "'is_launcher' is refused: launchers (nextflow, snakemake) are turned off, because "
    "flux-restful would run them inside its server process, with the server's privileges, "
    "not as you; submit the workflow tool as an ordinary job instead"
)


@dataclass
class Request:
    """One HTTP request an operation asks its transport to send."""

    method: str
    path: str
    params: list = field(default_factory=list)
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    # Streamed: a 200 answer's body is left open for the transport to read as it arrives.
    stream: bool = False

    def __repr__(self):  # headers and body may hold a token or a password
        return f"<Request {self.method} {self.path}>"


@dataclass
class Response:
    """The transport's answer to a Request: status and body (or, streamed, the open body)."""

    status: int
    body: bytes = b""
    # For a streamed request answered 200: the transport's open body.
    stream: object = None

    def __repr__(self):
        return f"<Response {self.status}>"


@dataclass
class Login:
    """Ask the transport for a token newer than ``stale`` (None: any token)."""

    stale: str | None


@dataclass
class Wait:
    """Ask the transport to wait this long (it replies None)."""

    seconds: float


class ConnectionFailed(Exception):
    """A transport got no HTTP answer. ``kind``: refused, timeout, reset or other."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def advance(call, reply):
    """Resume operation ``call`` with the transport's reply: (finished, action or result)."""
    try:
        if isinstance(reply, ConnectionFailed):
            return False, call.throw(reply)
        return False, call.send(reply)
    except StopIteration as done:
        return True, done.value


class OutputDecoder:
    """Decode streamed output as UTF-8, keeping a character split between chunks whole."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk):
        """The text of ``chunk``, holding back an incomplete last character."""
        return self._decoder.decode(chunk)

    def flush(self):
        """What is held back, at the end of the stream."""
        return self._decoder.decode(b"", final=True)


def _env(value, name):
    if value is not None:
        return value
    return os.environ.get(name) or None


def normalize_host(host, name="host"):
    """``host`` as the URL of a flux-restful server, without a trailing slash: http(s), a host
    name and a port that is a number; ``127.0.0.1:5000`` (no scheme) is taken as http://, as
    flux-restful-cli does. ValueError naming ``name`` otherwise.

    The one rule for the URL: the notebook, the terminal, the server extension and the hub's
    settings (flux_hub.config_checks.flux_restful_url) all take it from here."""
    text = host.strip() if isinstance(host, str) else ""
    url = (text if "://" in text else "http://" + text).rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{name} must be the URL of the flux-restful server, like {DEFAULT_HOST}, not {host!r}"
        )
    return url


class Protocol:
    """Credentials, the cached token, and every operation of the flux-restful API."""

    def __init__(self, host=None, user=None, password=None, secret_key=None):
        if host is None and os.environ.get("FLUX_RESTFUL_HOST"):
            host, name = os.environ["FLUX_RESTFUL_HOST"], "$FLUX_RESTFUL_HOST"
        else:
            name = "host"
        self.host = normalize_host(host or DEFAULT_HOST, name)
        self.user = _env(user, "FLUX_USER")
        self._password = _env(password, "FLUX_TOKEN")
        self._secret_key = _env(secret_key, "FLUX_SECRET_KEY")
        self.token = None
        self.handshakes = 0
        # None until asked: whether the server is the legacy flux-restful-api
        self.legacy = None

    @property
    def can_login(self):
        """Whether a user name and a password (token) are known."""
        return bool(self.user and self._password)

    def url(self, request):
        """The full URL of ``request``, its query included."""
        query = f"?{urlencode(request.params)}" if request.params else ""
        return f"{self.host}{request.path}{query}"

    # -- login -------------------------------------------------------------------------------

    def login(self, stale):
        """Get a token (run by a transport under its lock); returns the token."""
        if self.token is not None and self.token != stale:
            return self.token  # another caller logged in while this one waited
        if not self.can_login:
            raise self._needs_login()
        if self._secret_key:
            response = yield from self._token_request(self._handshake())
            if self._reasons(response) == [
                "The shared-secret token handshake is not enabled on this server."
            ]:
                response = yield from self._token_request(self._form())
        else:
            response = yield from self._token_request(self._form())
        self.token = self._token_from(response)
        if self.legacy is None:
            # Asked here, while the server has just answered, rather than later on a call
            # that may come when it is busy; a failure is left for that call to ask again
            try:
                yield from self.is_legacy()
            except FluxRestfulError:
                pass
        return self.token

    def _handshake(self):
        credentials = {"user": self.user, "pass": self._password, "scope": "token"}
        signed = jwt.encode(credentials, self._secret_key, algorithm="HS256")
        return Request("POST", "/v1/token", headers={"Authorization": f"Bearer {signed}"})

    def _form(self):
        body = urlencode({"username": self.user, "password": self._password}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request("POST", "/v1/login/access-token", headers=headers, body=body)

    def _token_request(self, request):
        self.handshakes += 1
        log.debug("Logging in to %s as %r (%s)", self.host, self.user, request.path)
        return (yield from self._send(request))

    def _token_from(self, response):
        reasons = self._reasons(response)
        if response.status == 200:
            data = self._json(response, "Logging in")
            token = data.get("access_token") if isinstance(data, dict) else None
            if isinstance(token, str) and token:
                return token
            reasons = ["the answer held no access token"]
        if response.status in (502, 503, 504):
            raise self._error(response, "Logging in")
        reason = "; ".join(reasons) or f"HTTP {response.status}"
        if "Could not decode credentials" in reasons:
            reason += " — is FLUX_SECRET_KEY the server's?"
        elif response.status == 500 and self._secret_key:
            reason += " (an older flux-restful-api answers so to a wrong FLUX_SECRET_KEY)"
        raise AuthenticationFailed(
            f"Login to {self.host} as {self.user!r} failed: {reason}",
            status=response.status,
            reasons=reasons,
        )

    # -- one authenticated call ---------------------------------------------------------------

    def _call(self, request, doing, jobid=None):
        """Send with the token, log in again once if it was refused; return a 2xx Response."""
        token = self.token
        if token is None and self.can_login:
            token = yield Login(None)
        response = yield from self._send(self._authorized(request, token))
        if self._token_refused(response):
            if not self.can_login:
                raise self._needs_login(response.status, self._reasons(response))
            log.info("%s refused the token of %r; logging in again", self.host, self.user)
            token = yield Login(token)
            response = yield from self._send(self._authorized(request, token))
            if self._token_refused(response):
                raise AuthenticationFailed(
                    f"{self.host} refused a new token for {self.user!r}: "
                    + ("; ".join(self._reasons(response)) or f"HTTP {response.status}"),
                    status=response.status,
                )
        if not 200 <= response.status < 300:
            raise self._error(response, doing, jobid)
        return response

    def _send(self, request):
        """Yield the request; a GET whose connection was reset is sent once more."""
        for attempt in (1, 2):
            try:
                return (yield request)
            except ConnectionFailed as failure:
                if attempt == 1 and failure.kind == "reset" and request.method == "GET":
                    log.debug("Connection to %s reset; sending %r again", self.host, request)
                    continue
                raise ClusterUnavailable(
                    f"Cannot reach the Flux cluster at {self.host}: {failure.reason}", self.host
                ) from failure

    def _authorized(self, request, token):
        if token is None:
            return request
        return replace(request, headers={**request.headers, "Authorization": f"Bearer {token}"})

    def _token_refused(self, response):
        if response.status == 401:
            return True
        return response.status == 403 and self._reasons(response) == [TOKEN_REFUSED]

    def _needs_login(self, status=None, reasons=()):
        return AuthenticationFailed(
            f"{self.host} needs a login: give a user name and password "
            "(or set FLUX_USER and FLUX_TOKEN)",
            status,
            reasons,
        )

    # -- reading answers ---------------------------------------------------------------------

    def _json(self, response, doing):
        try:
            return json.loads(response.body)
        except ValueError:
            raise FluxRestfulError(
                f"{doing} failed: {self.host} did not answer with JSON (HTTP {response.status})",
                status=response.status,
            ) from None

    @staticmethod
    def _reasons(response):
        """The server's explanations: "Errors", "Error", "detail" or else "Message"."""
        try:
            data = json.loads(response.body)
        except ValueError:
            text = response.body.decode("utf-8", "replace").strip()
            return [text[:300]] if text else []
        if not isinstance(data, dict):
            return []
        if isinstance(data.get("Errors"), list) and data["Errors"]:
            return [str(error) for error in data["Errors"]]
        if data.get("Error"):
            return [str(data["Error"])]
        detail = data.get("detail")
        if isinstance(detail, list):  # FastAPI validation errors
            return [
                f"{item.get('loc', ['?'])[-1]}: {item.get('msg', item)}"
                if isinstance(item, dict)
                else str(item)
                for item in detail
            ]
        if detail:
            return [str(detail)]
        return [str(data["Message"])] if data.get("Message") else []

    def _error(self, response, doing, jobid=None):
        status = response.status
        reasons = self._reasons(response)
        detail = "; ".join(reasons) or f"HTTP {status}"
        if status == 400 and reasons == ["Inactive user"]:
            return AuthenticationFailed(
                f"The account {self.user!r} on {self.host} is inactive", status, reasons
            )
        if status in (400, 413, 414, 422):
            return InvalidRequest(f"{doing} failed: {detail}", status, reasons)
        if status == 429:
            return LimitReached(f"{doing} was refused: {detail}", status, reasons)
        if status == 403:
            return PermissionDenied(f"{doing} was refused: {detail}", status, reasons)
        if status == 404 and jobid is not None:
            return JobNotFound(f"There is no job {jobid} on {self.host}", status, reasons)
        if status >= 500:
            return ClusterUnavailable(
                f"The Flux cluster at {self.host} could not answer ({doing}): {detail}",
                self.host,
                status,
                reasons,
            )
        return FluxRestfulError(f"{doing} failed: {detail} (HTTP {status})", status, reasons)

    def stream_lost(self, jobid, failure):
        """The ClusterUnavailable to raise when job ``jobid``'s output stream broke off."""
        return ClusterUnavailable(
            f"Lost the output stream of job {jobid} from {self.host}: {failure.reason}", self.host
        )

    # -- operations ----------------------------------------------------------------------------

    def submit(self, command, envars=None, **fields):
        """Submit a job (checked first by check_submission, which refuses launchers) -> its
        id (int)."""
        params, environ = check_submission(command, {**fields, "envars": envars})
        request = Request("POST", "/v1/jobs/submit", params)
        if environ is not None:
            request.body = json.dumps(environ).encode()
            request.headers["Content-Type"] = "application/json"
        data = yield from self._data(request, "Submitting the job")
        jobid = data.get("id") if isinstance(data, dict) else None
        if jobid is None:
            raise FluxRestfulError(f"Submitting the job to {self.host} gave no job id")
        if not str(jobid).isdigit():  # "MANY": a launcher's answer, never asked for here
            raise FluxRestfulError(f"Submitting the job to {self.host} gave no job id: {jobid!r}")
        return int(jobid)

    def is_legacy(self):
        """Whether the server is the legacy flux-restful-api; asked once (GET /v1/auth)."""
        if self.legacy is None:
            response = yield from self._send(Request("GET", "/v1/auth"))
            if response.status == 404:
                # Said once per client; where people look (hub log, pages, panel) the callers
                # say LEGACY_WARNING
                log.info("%s runs the legacy flux-restful-api", self.host)
                self.legacy = True
            elif 200 <= response.status < 300:
                self.legacy = False
            else:
                raise self._error(response, "Asking which flux-restful server this is")
        return self.legacy

    def list_jobs(self):
        """GET /v1/jobs: the jobs the server lists, as it lists them (ids, no details)."""
        data = yield from self._data(Request("GET", "/v1/jobs"), "Listing jobs")
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise FluxRestfulError(f"Listing jobs failed: {self.host} answered with something else")
        return data["jobs"]

    def jobs(self, limit=None):
        """The caller's jobs in full (at most ``limit``), from either server."""
        request = jobs_request(limit)
        if (yield from self.is_legacy()):
            return (yield from self._legacy_jobs(limit))
        return (yield from self._data(request, "Listing your jobs"))

    def _legacy_jobs(self, limit):
        """Every job (the legacy server shows everyone everything): ids, then each one's info."""
        jobs = []
        for listed in (yield from self.list_jobs()):
            if limit is not None and len(jobs) >= limit:
                break
            try:
                job = yield from self.job(listed["id"])
            except JobNotFound:
                continue  # purged since it was listed
            for key in ("ranks", "expiration"):  # as a listing fills them in
                job.setdefault(key, "")
            jobs.append(job)
        return jobs

    def jobs_body(self, limit=None):
        """jobs() as the JSON text the server sent (bytes), checked to be a list, not decoded."""
        request = jobs_request(limit)
        if (yield from self.is_legacy()):
            jobs = yield from self._legacy_jobs(limit)
            return json.dumps(jobs, separators=(",", ":")).encode()
        response = yield from self._call(request, "Listing your jobs")
        body = response.body.strip()
        if not (body.startswith(b"[") and body.endswith(b"]")):
            raise FluxRestfulError(
                f"Listing your jobs failed: {self.host} did not answer with a JSON list "
                f"(HTTP {response.status})",
                status=response.status,
            )
        return body

    def job(self, jobid):
        """Job ``jobid``'s record; JobNotFound when there is none."""
        path = job_path(jobid)
        data = yield from self._data(Request("GET", path), f"Reading job {jobid}", jobid)
        if data is None:  # the legacy server's answer to an unknown id
            raise JobNotFound(f"There is no job {jobid} on {self.host}", 200)
        return data

    def output(self, jobid):
        """What job ``jobid`` wrote so far: a list of chunks (the legacy server: nothing until it
        ends)."""
        request = Request("GET", job_path(jobid, "/output"))
        if (yield from self.is_legacy()):
            # Its /output would answer only when the job ends, blocking its only worker
            if (yield from self.job(jobid)).get("state") != "INACTIVE":
                return []
        data = yield from self._data(request, f"Reading the output of job {jobid}", jobid)
        # No output yet is a 200 with only a "Message"
        return list((data or {}).get("Output") or [])

    def stream_output(self, jobid):
        """Open the output stream; returns the Response whose ``stream`` the transport reads,
        or (the legacy server) a Response without one whose body is the whole output."""
        request = Request("GET", job_path(jobid, "/output/stream"), stream=True)
        if (yield from self.is_legacy()):
            while (yield from self.job(jobid)).get("state") != "INACTIVE":
                yield Wait(LEGACY_POLL_INTERVAL)
            output = yield from self.output(jobid)
            return Response(200, "".join(output).encode())
        return (yield from self._call(request, f"Streaming the output of job {jobid}", jobid))

    def cancel(self, jobid):
        """Cancel job ``jobid`` -> the server's message."""
        request = Request("POST", job_path(jobid, "/cancel"))
        data = yield from self._data(request, f"Cancelling job {jobid}", jobid)
        return str(data.get("Message", ""))

    def nodes(self):
        """The cluster's node names."""
        data = yield from self._data(Request("GET", "/v1/nodes"), "Listing nodes")
        return list(data["nodes"])

    def snapshot_body(self, since=None, limit=None):
        """The guard's snapshot of the whole cluster (``GET /flux-hub/v1/snapshot``, superusers
        only: flux_hub/guard/snapshot.py) as the JSON text it sent (bytes), not decoded."""
        request = snapshot_request(since, limit)
        response = yield from self._call(request, "Reading the cluster's snapshot")
        return response.body

    def snapshot(self, since=None, limit=None):
        """The guard's snapshot, decoded and checked (see ``parse_snapshot``)."""
        return parse_snapshot((yield from self.snapshot_body(since, limit)), self.host)

    def auth_info(self):
        """GET /v1/auth: the login methods the server offers; FluxRestfulError from a server
        without it (the legacy one)."""
        response = yield from self._send(Request("GET", "/v1/auth"))
        if response.status == 404:
            raise FluxRestfulError(
                f"{self.host} has no /v1/auth: it is not flux-restful >= 1.1", status=404
            )
        if not 200 <= response.status < 300:
            raise self._error(response, "Reading the login methods")
        return self._json(response, "Reading the login methods")

    def force_login(self):
        """A new token in place of the one held now (unless another caller already got one)."""
        return (yield Login(self.token))

    def _data(self, request, doing, jobid=None):
        response = yield from self._call(request, doing, jobid)
        return self._json(response, doing)


# -- building requests ------------------------------------------------------------------------


def jobs_request(limit=None):
    """The caller's jobs in full: GET /v1/jobs?details=true&listing=true[&limit=N]."""
    params = [("details", "true"), ("listing", "true")]
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidRequest(f"A job limit is a whole number >= 0, not {limit!r}")
        params.append(("limit", str(limit)))
    return Request("GET", "/v1/jobs", params)


SNAPSHOT_PATH = "/flux-hub/v1/snapshot"


def snapshot_request(since=None, limit=None):
    """GET /flux-hub/v1/snapshot[?since=T][&limit=N]: every active job, and the inactive ones
    that ended after ``since`` (all of them, newest first, without it); at most ``limit``."""
    params = []
    if since is not None:
        if isinstance(since, bool) or not isinstance(since, int | float) or since != since:
            raise InvalidRequest(f"A snapshot's since is a time in seconds, not {since!r}")
        params.append(("since", repr(float(since))))
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(f"A snapshot's limit is a whole number >= 1, not {limit!r}")
        params.append(("limit", str(limit)))
    return Request("GET", SNAPSHOT_PATH, params)


def parse_snapshot(body, host):
    """A snapshot's JSON text as a dict, checked to have the shape the guard gives (instance,
    time, jobs with ids, resources); FluxRestfulError (one line) otherwise."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    shaped = (
        isinstance(data, dict)
        and isinstance(data.get("instance"), str)
        and isinstance(data.get("time"), int | float)
        and isinstance(data.get("jobs"), list)
        and all(isinstance(job, dict) and isinstance(job.get("id"), int) for job in data["jobs"])
        and isinstance(data.get("resources"), dict)
    )
    if not shaped:
        raise FluxRestfulError(
            f"Reading the cluster's snapshot failed: {host} answered with something else"
        )
    return data


def job_path(jobid, suffix=""):
    """The URL path of job ``jobid`` plus ``suffix``; InvalidRequest for what is not an id."""
    # "." and ".." are path segments, not ids: the URL would name another endpoint
    if (
        isinstance(jobid, bool)
        or not isinstance(jobid, int | str)
        or str(jobid).strip() in ("", ".", "..")
    ):
        raise InvalidRequest(f"{jobid!r} is not a job id")
    return f"/v1/jobs/{quote(str(jobid).strip(), safe='')}{suffix}"


def refused(reason):
    """A submission refused before sending, worded like the server's refusals."""
    return InvalidRequest(f"Submitting the job failed: {reason}", reasons=[reason])


_NO_COMMAND = "'command' is required: the command line to run, e.g. \"hostname\""


def check_submission(command, fields):
    """The wire rules of a job description: what flux-restful can be sent at all (types, NULs,
    launchers). People's inputs are checked first by flux_hub.jobrequest, the one description
    every front-end (the panel through the server extension, the notebook API, ``%%flux``,
    ``flux-hub submit``) derives from; this is the client's own last check, for every caller.

    ``fields``: SUBMIT_FIELDS and ``envars`` (None: not given). Returns the query parameters and
    the environment (or None) to send; InvalidRequest lists every problem found, not only the
    first, in ``reasons``.
    """
    reasons, params, environ = [], [], None

    def check(make, *args):
        try:
            return make(*args)
        except InvalidRequest as problem:
            reasons.extend(problem.reasons)
            return None

    text = check(command_text, command)
    params.append(("command", text))
    launcher = fields.get("is_launcher")
    if launcher is not None and launcher is not False:
        reasons.append(LAUNCHERS_OFF)
    for name in SUBMIT_FIELDS:
        if name != "is_launcher" and fields.get(name) is not None:
            params.append((name, check(query_value, name, fields[name])))
    if fields.get("envars") is not None:
        environ = check(environment, fields["envars"])
    if reasons:
        raise InvalidRequest(f"Submitting the job failed: {'; '.join(reasons)}", reasons=reasons)
    return params, environ


def no_nul(label, text):
    """The text, unless it holds a NUL character: Flux's C strings cannot carry one.

    flux-restful passes it on as it is; real Flux then fails the request with a 500, or, in an
    environment variable, takes the whole server down. So it is refused before sending.
    """
    if "\0" in text:
        raise refused(f"{label} contains a NUL character (\\0), which Flux cannot take")
    return text


def command_text(command):
    """The command as the one string the server splits with shlex."""
    if isinstance(command, list | tuple):
        if not all(isinstance(word, str) for word in command):
            raise refused("'command' must be a command line or a list of words (text)")
        words = [no_nul("the command", word) for word in command]
        if not words or not words[0].strip():
            raise refused(_NO_COMMAND)
        return shlex.join(words)
    if not isinstance(command, str) or not command.strip():
        raise refused(_NO_COMMAND)
    no_nul("the command", command)
    try:
        shlex.split(command)
    except ValueError as e:
        raise refused(f"'command' cannot be split into words ({e})") from None
    return command


def query_value(name, value):
    """A field as its query parameter; InvalidRequest (worded for people) if it cannot be one."""
    if name in FLAGS:
        if not isinstance(value, bool):
            raise refused(f"'{name}' must be true or false, not {value!r}")
        return "true" if value else "false"
    if name in WHOLE_NUMBERS:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        least = 0 if name == "runtime" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            if name == "runtime":
                raise refused(f"'runtime' must be whole seconds (0 = no limit), not {value!r}")
            raise refused(f"'{name}' must be a whole number of at least 1, not {value!r}")
        return str(value)
    if name == "option_flags" and isinstance(value, dict):
        return option_flags_text(value)
    if not isinstance(value, str) or (name == "workdir" and not value.strip()):
        raise refused(f"'{name}' must be text, not {value!r}")
    return no_nul(name, value)


def option_flags_text(flags):
    """{"k": "v", "k2": 2} -> "k=v,k2=2", the server's format (it splits on "," then "=")."""
    pairs = []
    for option, value in flags.items():
        option, value = str(option), str(value)
        if not option or "=" in option or "," in option or "," in value:
            raise refused(
                '\'option_flags\' must be shell options, e.g. {"cpu-affinity": "per-task"}: '
                "names non-empty, without '=' or ',', values without ','; not "
                f"{option!r}={value!r}"
            )
        pairs.append(f"{no_nul('an option flag', option)}={no_nul('an option flag', value)}")
    return ",".join(pairs)


def environment(envars):
    """The job's environment as flux-restful takes it: names (text, not empty) to text; numbers
    and paths are written as text, anything else is refused."""
    if not isinstance(envars, dict):
        raise refused(f"'envars' must be a dict of names to values, not {type(envars).__name__}")
    environ = {}
    for name, value in envars.items():
        if not isinstance(name, str) or not name:
            raise refused(f"environment variable names must be non-empty text, not {name!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float | os.PathLike):
            raise refused(f"environment variable {name!r} must be text or a number, not {value!r}")
        label = f"environment variable {name.replace(chr(0), '')!r}"
        environ[no_nul("an environment variable's name", name)] = no_nul(label, str(value))
    return environ
