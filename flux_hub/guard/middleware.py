"""The guard: an ASGI middleware of flux-hub's around flux-restful's own FastAPI app.

It answers, before flux-restful sees the request, in flux-restful's own shapes:

- a launcher (``is_launcher``, API or HTML form): 400, never run (flux-restful would run the
  program inside the server process, as root in multi-user mode, with the request's PATH);
- an ``output.limit`` above the cap: 400; a submit without one gets the cap;
- a person's active jobs or open output streams at their limit, or all streams at the
  server's: 429;
- a body or query string above its limit: 413 / 414;
- a person's requests beyond requests_per_user at once wait their turn (no answer needed);
- a token issued before its holder's password last changed: 401, as for an expired token;
- a submit without a working directory gets the person's own folder (workdir.Homes), or 400
  when it cannot be had;
- ``GET /flux-hub/v1/snapshot``, every job and the resources at once for a superuser (flux-hub's
  reader), is its own (snapshot.Snapshots): flux-restful never sees it.

The person is the ``sub`` of flux-restful's own access token, verified with its signing key; a
request without a verifiable token goes through untouched (flux-restful answers it).
"""

import asyncio
import base64
import collections
import json
import re
import time
from urllib.parse import parse_qsl, urlencode

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from .limits import PREFIX, Limits, format_size, parse_size
from .snapshot import PATH as SNAPSHOT
from .tokens import NotBefore, token_claims
from .workdir import HomeError, Homes

# Values FastAPI reads as false for a bool query parameter (pydantic's); anything else is refused
FALSE = {"", "0", "false", "f", "no", "n", "off"}
# A job submitted this recently counts as active even when job-list does not list it yet
FRESH_SECONDS = 10.0
SUBMIT_API = "/v1/jobs/submit"
SUBMIT_FORM = "/jobs/submit"
STREAM = re.compile(r"/v1/jobs/[^/]+/output/stream/?")
# The form's answer links the new job by its id as flux.job.JobID prints it (F58)
FORM_JOB_ID = re.compile(rb"href='/job/([^'<>\s]{1,64})'")


def _answer(status, content, headers=None):
    return JSONResponse(content, status_code=status, headers=headers)


def _refuse_submit(status, *errors):
    return _answer(status, {"Message": "Invalid submit request", "Errors": list(errors)})


class Guard:
    """``Guard(flux_restful.main.app, limits, signing_key, db_path, multi_user, homes)``.

    ``list_jobs(person, since)`` (blocking, run in a thread): {job id: whether it is active}
    of the jobs of ``person``'s uid (None: everyone's) that are active or ended after ``since``.
    ``own_jobs``: an OwnJobs (flux_hub.guard.listing) that learns whose each job submitted here
    is, in single-user mode, for the listings. ``homes``: a workdir.Homes, the folder a job
    submitted without a working directory starts in (None: none filled in).
    ``check_password(name, password)`` (blocking): the user name flux-restful knows by these
    HTTP Basic credentials, or None (the web form's posts may log in so).
    ``snapshots``: a snapshot.Snapshots that answers SNAPSHOT (None: flux-restful answers 404).
    """

    def __init__(
        self,
        app,
        limits=None,
        *,
        signing_key,
        db_path,
        multi_user,
        list_jobs=None,
        own_jobs=None,
        homes=None,
        check_password=None,
        snapshots=None,
    ):
        self.app = app
        self.limits = limits or Limits()
        self.signing_key = signing_key
        self.not_before = NotBefore(db_path)
        self.multi_user = multi_user
        self.list_jobs = list_jobs or flux_list_jobs
        self.streams = collections.Counter()
        self.streams_open = 0
        self.submitted = collections.defaultdict(dict)  # person -> {job id: time.time()}
        self.own_jobs = own_jobs
        self.homes = homes if homes is not None else Homes(as_accounts=False)
        self.check_password = check_password or flux_check_password
        self.snapshots = snapshots
        self.submit_locks = collections.defaultdict(asyncio.Lock)
        self.submitting = collections.Counter()
        self.turns = {}  # person -> [Semaphore(requests_per_user), requests using it]
        self._threads_sized = False

    # -- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if not self._threads_sized:
            # Every stream may hold a thread; spare_threads more are kept for the rest
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.limits.threads
            self._threads_sized = True
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal, body = await self._check_size(scope, receive)
        if refusal is not None:
            return await refusal(scope, receive, send)
        receive = _replay(body, receive)
        if self.snapshots is not None and scope["path"].rstrip("/") == SNAPSHOT:
            # Before the checks below: it answers everyone who is not a superuser alike
            return await self.snapshots(scope, receive, send)
        person, claims = self._person(scope)
        if claims is not None and self.not_before.revoked(claims):
            answer = _answer(
                401,
                {"detail": "Could not validate credentials"},
                {"WWW-Authenticate": "Bearer"},
            )
            return await answer(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if method == "GET" and claims is not None and STREAM.fullmatch(path):
            return await self._stream(scope, receive, send, person)
        if claims is None:
            return await self._route(scope, receive, send, person, claims, body)
        # One person's requests take turns among requests_per_user places: the rest of theirs
        # wait here, on the event loop, not for the server's threads the others need
        turns = self.turns.get(person)
        if turns is None:
            turns = self.turns[person] = [asyncio.Semaphore(self.limits.requests_per_user), 0]
        turns[1] += 1
        try:
            async with turns[0]:
                return await self._route(scope, receive, send, person, claims, body)
        finally:
            turns[1] -= 1
            if not turns[1]:
                del self.turns[person]

    async def _route(self, scope, receive, send, person, claims, body):
        path, method = scope["path"], scope["method"]
        if method == "POST" and path.rstrip("/") == SUBMIT_API:
            return await self._submit_api(scope, receive, send, person if claims else None)
        if method == "POST" and path.rstrip("/") == SUBMIT_FORM:
            return await self._submit_form(scope, receive, send, person, claims, body)
        return await self.app(scope, receive, send)

    # -- who -----------------------------------------------------------------------------
    def _person(self, scope):
        """(person, verified claims) from the bearer token (header, else the web UI's
        access_token cookie); else (the HTTP Basic user name, unverified: flux-restful checks
        the password, the guard only counts), None); else (None, None)."""
        request = Request(scope)
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else ""
        token = token or request.cookies.get("access_token", "")
        claims = token_claims(token, self.signing_key)
        if claims is not None:
            return claims["sub"], claims
        if scheme.lower() == "basic":
            try:
                name = base64.b64decode(credentials.strip(), validate=True).decode()
                return name.partition(":")[0] or None, None
            except ValueError:
                pass
        return None, None

    # -- sizes ---------------------------------------------------------------------------
    async def _check_size(self, scope, receive):
        """(a refusal or None, the whole body) for a query string or body above its limit."""
        limits = self.limits
        query = scope.get("query_string", b"")
        if len(query) > limits.max_query:
            return _answer(
                414,
                {
                    "detail": f"The query string is {len(query)} bytes; this server takes at "
                    f"most {limits.max_query} ({PREFIX}MAX_QUERY)."
                },
            ), b""
        too_big = _answer(
            413,
            {
                "detail": f"The request body is larger than this server takes: at most "
                f"{limits.max_body} bytes ({PREFIX}MAX_BODY)."
            },
        )
        length = Request(scope).headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limits.max_body):
            return too_big, b""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None, b""  # the client left: the app sees it leave
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.max_body:
                return too_big, b""
            chunks.append(chunk)
            if not message.get("more_body", False):
                return None, b"".join(chunks)

    # -- submit --------------------------------------------------------------------------
    async def _submit_api(self, scope, receive, send, person):
        params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        launcher = self._launcher_refusal(v for k, v in params if k == "is_launcher")
        if launcher:
            return await launcher(scope, receive, send)
        flags = [v for k, v in params if k == "option_flags"]
        # flux-restful reads the last option_flags as "k=v,k2=v2" (clean_submit_args)
        option_flags = {}
        for flag in (flags[-1] if flags else "").split(","):
            if "=" in flag:
                option, value = flag.split("=", 1)
                option_flags[option] = value
        refusal = self._output_refusal(option_flags)
        if refusal:
            return await refusal(scope, receive, send)
        changed = False
        if "output.limit" not in option_flags:
            cap = f"output.limit={format_size(self.limits.output_limit)}"
            params = [(k, v) for k, v in params if k != "option_flags"]
            params.append(("option_flags", f"{flags[-1]},{cap}" if flags and flags[-1] else cap))
            changed = True
        # flux-restful reads the last workdir
        workdirs = [v for k, v in params if k == "workdir"]
        if person is not None and (not workdirs or not workdirs[-1].strip()):
            try:
                folder = await self._home(person)
            except HomeError as error:
                return await _refuse_submit(400, str(error))(scope, receive, send)
            if folder is not None:
                params = [(k, v) for k, v in params if k != "workdir"]
                params.append(("workdir", folder))
                changed = True
        if changed:
            scope = dict(scope, query_string=urlencode(params).encode("latin-1"))
        return await self._submit(scope, receive, send, person, _json_job_id)

    async def _home(self, person):
        """The person's folder for a job without a working directory (None: none); HomeError."""
        if not self.homes.active:
            return None
        return await anyio.to_thread.run_sync(self.homes.folder, person)

    async def _submit_form(self, scope, receive, send, person, claims, body):
        from flux_restful.core.config import parse_option_flags

        try:
            form = await Request(scope, _replay(body, None)).form()
        except Exception:
            return await self.app(scope, receive, send)  # flux-restful says what is wrong
        if form.get("is_launcher") == "on":  # what flux-restful's SubmitForm reads as true
            refusal = self._launcher_refusal(["on"])
            return await refusal(scope, receive, send)
        text = form.get("option_flags")
        if isinstance(text, str) and text:
            try:
                option_flags = parse_option_flags(text)
            except ValueError as error:
                refusal = _refuse_submit(400, f"option_flags cannot be read: {error}")
                return await refusal(scope, receive, send)
            refusal = self._output_refusal(option_flags)
            if refusal:
                return await refusal(scope, receive, send)
        workdir = form.get("workdir")  # the last, as flux-restful reads it
        if self.homes.active and not (isinstance(workdir, str) and workdir.strip()):
            # Only a person flux-restful will know: a folder is made for no made-up name
            owner = person if claims is not None else await self._basic_user(scope)
            if owner is not None:
                try:
                    folder = await self._home(owner)
                except HomeError as error:
                    return await _refuse_submit(400, str(error))(scope, receive, send)
                if folder is not None:
                    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
                    fields = [(k, v) for k, v in fields if k != "workdir"]
                    fields.append(("workdir", folder))
                    body = urlencode(fields).encode("utf-8")
                    headers = [
                        (k, v)
                        for k, v in scope["headers"]
                        if k.lower() not in (b"content-type", b"content-length")
                    ]
                    headers += [
                        (b"content-type", b"application/x-www-form-urlencoded"),
                        (b"content-length", str(len(body)).encode("latin-1")),
                    ]
                    scope = dict(scope, headers=headers)
                    await receive()  # the body read already, given again below as rewritten
                    receive = _replay(body, receive)
        # Without one, the form's job gets the server's FLUX_OPTION_FLAGS, which hold the cap
        return await self._submit(scope, receive, send, person, _form_job_id)

    async def _basic_user(self, scope):
        """The user flux-restful knows by the request's HTTP Basic credentials, or None."""
        scheme, _, credentials = Request(scope).headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            text = base64.b64decode(credentials.strip(), validate=True).decode()
        except ValueError:
            return None
        name, _, password = text.partition(":")
        if not name or not password:
            return None
        try:
            return await anyio.to_thread.run_sync(self.check_password, name, password)
        except Exception:
            return None  # flux-restful answers the request itself

    def _launcher_refusal(self, values):
        if all(str(v).strip().lower() in FALSE for v in values):
            return None
        return _refuse_submit(
            400,
            "Launchers (is_launcher) are turned off on this server: they would run the program "
            "inside the server itself. Submit the workflow tool as an ordinary job instead.",
        )

    def _output_refusal(self, option_flags):
        if "output.limit" not in option_flags:
            return None
        text = option_flags["output.limit"]
        cap = self.limits.output_limit
        size = parse_size(text)
        if size is None or size < 1:
            return _refuse_submit(
                400,
                f"output.limit={text} is not a size this server takes: give a whole number of "
                f"bytes, or one with K, M or G, of at most {format_size(cap)}.",
            )
        if size > cap:
            return _refuse_submit(
                400,
                f"output.limit={text} is above this server's limit of {format_size(cap)} of "
                f"output per job ({PREFIX}OUTPUT_LIMIT); ask for {format_size(cap)} or less.",
            )
        return None

    async def _submit(self, scope, receive, send, person, job_id):
        if person is None:
            return await self.app(scope, receive, send)  # flux-restful answers 401
        # A name is kept only while it has a submit under way or jobs recorded (form posts
        # with HTTP Basic name whoever they like)
        self.submitting[person] += 1
        try:
            return await self._submit_counted(scope, receive, send, person, job_id)
        finally:
            self.submitting[person] -= 1
            if not self.submitting[person]:
                del self.submitting[person]
                if not self.submitted.get(person):
                    self.submitted.pop(person, None)
                    self.submit_locks.pop(person, None)

    async def _submit_counted(self, scope, receive, send, person, job_id):
        limit = self.limits.active_jobs_per_user
        async with self.submit_locks[person]:
            try:
                count = await anyio.to_thread.run_sync(self._count_active, person)
            except Exception as error:
                answer = _answer(
                    503,
                    {"detail": f"Cannot count your active jobs on Flux right now ({error})."},
                )
                return await answer(scope, receive, send)
            if count >= limit:
                refusal = _refuse_submit(
                    429,
                    f"{person} has {count} active jobs, the most one person may have at once on "
                    f"this server ({PREFIX}ACTIVE_JOBS_PER_USER={limit}): wait for some to end, "
                    "or cancel some.",
                )
                return await refusal(scope, receive, send)
            status, body = await self._forward_capturing(scope, receive, send)
            if status == 200:
                jobid = job_id(body)
                if jobid is not None:
                    self.submitted[person][jobid] = time.time()
                    if self.own_jobs is not None and not self.multi_user:
                        self.own_jobs.add(person, jobid)

    def _count_active(self, person):
        """How many of the person's jobs are not yet inactive, with one job-list RPC.

        Multi-user: the jobs that run as their uid. Single-user (every job runs as the server's
        uid): the ids they submitted through the guard. A job submitted a moment ago may not
        be listed yet: one recorded here and not listed counts while it is FRESH_SECONDS
        young; the listing holds the jobs that ended in twice that time, so one that ended is
        never taken for one not yet listed. Forgets the recorded ids that have ended.
        """
        now = time.time()
        listed = self.list_jobs(person if self.multi_user else None, now - 2 * FRESH_SECONDS)
        mine = self.submitted[person]
        unlisted = {j for j in mine if j not in listed}
        fresh = {j for j in unlisted if now - mine[j] < FRESH_SECONDS}
        for jobid in list(mine):
            if (jobid in listed and not listed[jobid]) or (jobid in unlisted - fresh):
                del mine[jobid]
        if self.multi_user:
            # every job of theirs, submitted here or not
            return sum(1 for active in listed.values() if active) + len(fresh)
        return len(mine)  # those still active, or too new to be listed

    async def _forward_capturing(self, scope, receive, send):
        status, chunks = None, []

        async def capture(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        return status, b"".join(chunks)

    # -- streams -------------------------------------------------------------------------
    async def _stream(self, scope, receive, send, person):
        limits = self.limits
        if self.streams[person] >= limits.streams_per_user:
            answer = _answer(
                429,
                {
                    "detail": f"{person} has {self.streams[person]} output streams open, the "
                    f"most one person may have at once ({PREFIX}STREAMS_PER_USER="
                    f"{limits.streams_per_user}): close one, or read the output with "
                    "GET /v1/jobs/{id}/output."
                },
                {"Retry-After": "5"},
            )
            return await answer(scope, receive, send)
        if self.streams_open >= limits.streams_total:
            answer = _answer(
                429,
                {
                    "detail": f"This server has {self.streams_open} output streams open, the "
                    f"most it serves at once ({PREFIX}STREAMS_TOTAL={limits.streams_total}): "
                    "try again soon, or read the output with GET /v1/jobs/{id}/output."
                },
                {"Retry-After": "5"},
            )
            return await answer(scope, receive, send)
        self.streams[person] += 1
        self.streams_open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.streams_open -= 1
            self.streams[person] -= 1
            if not self.streams[person]:
                del self.streams[person]


def _replay(body, receive):
    """A receive() that gives the body read already, then the client's own messages."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


def _json_job_id(body):
    try:
        jobid = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None
    return jobid if isinstance(jobid, int) else None


def _form_job_id(body):
    match = FORM_JOB_ID.search(body)
    if not match:
        return None
    from flux.job import JobID  # the server's own bindings, real or simulated

    try:
        return int(JobID(match.group(1).decode("utf-8")))
    except Exception:
        return None


def flux_check_password(name, password):
    """The name flux-restful's own auth backend knows by this password, or None."""
    from flux_restful.auth import get_backend
    from flux_restful.db.session import SessionLocal

    backend = get_backend()
    if not backend.supports_password:
        return None
    db = SessionLocal()
    try:
        principal = backend.authenticate(db, name, password)
    finally:
        db.close()
    if principal is None or not principal.is_active:
        return None
    return principal.user_name


def flux_list_jobs(person, since):
    """{job id: whether it is active} of the jobs of ``person``'s uid (None: everyone's) that
    are active or ended after ``since`` (a time.time()): one job-list RPC over the calling
    thread's handle (flux-restful's own, real or simulated)."""
    import pwd

    import flux.constants
    import flux.job
    from flux_restful.library.handle import get_handle

    userid = flux.constants.FLUX_USERID_UNKNOWN
    if person is not None:
        try:
            userid = pwd.getpwnam(person).pw_uid
        except KeyError:
            return {}  # no such account: flux-restful refuses the submit itself
    rpc = flux.job.job_list(
        get_handle(), max_entries=0, attrs=["state"], userid=userid, since=since
    )
    inactive = flux.constants.FLUX_JOB_STATE_INACTIVE
    return {int(job["id"]): job["state"] != inactive for job in rpc.get_jobs()}
