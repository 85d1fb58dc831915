"""The cluster as a whole, read once: ``GET /flux-hub/v1/snapshot`` for a superuser only.

Each person's server asking flux-restful for its own jobs makes flux-restful's work grow with
the number of people who have JupyterLab open (issue 27). flux-hub's reader (on the hub side)
asks here instead, once for everyone, with the superuser's token the hub already holds.

One answer costs one job-list RPC (every job, all attributes) and one resource listing, made in
a worker thread over flux-restful's own handle: no RPC per job, except the bounded owner
lookup below. Its shape::

    {"instance": "random, new at each guard start (the reader then starts over)",
     "time": the guard's time.time() just before the RPC (the reader's next ``since``),
     "multi_user": bool, "complete": false when ``limit`` cut the listing,
     "owners_unknown": jobs whose owner could not be told this time (asked again later),
     "jobs": [record, ...] in job-list's order (pending by priority, running, inactive newest
              end first),
     "resources": {"nodes": {"total", "up", "down", "busy", "free"}, "cores": {...},
                   "gpus": {...}, "hosts_up": [host names of the up nodes, sorted]}}

A record is what flux-restful 1.1.0 answers for ``GET /v1/jobs/{id}``
(flux_restful.library.flux.get_job: the same keys, made from the same job-list record the same
way) plus ``"owner"``, the flux-restful user whose job it is, or None. ``busy`` counts what is
allocated and ``free`` what is up and not allocated, as ``flux resource list`` counts them (a node
partly allocated is in both).

The owner: in multi-user mode the account of the job's uid (None for a uid without one: that
is known, not counted as unknown). In single-user mode every job runs as the server's uid; the
guard knows whose each job submitted through it is (listing.OwnJobs); for another (submitted
before the guard started, or outside flux-restful) the jobspec's ``attributes.system.user`` is
read from the KVS as flux-restful reads it (job_owner), at most LOOKUPS_PER_SNAPSHOT times per
answer and remembered; the rest are counted in owners_unknown.

Who may ask: a bearer token flux-restful issued (verified with its signing key, not issued
before its holder's password last changed) of an active superuser, by flux-restful's own rule
(its auth backend). Anyone else learns nothing, not even whether there are jobs: no token, a bad
or revoked one: 401 as flux-restful words it; a person who is not a superuser: 403.
"""

import asyncio
import json
import math
import secrets
import threading
import time
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .tokens import token_claims

PATH = "/flux-hub/v1/snapshot"
MOST_JOBS = 10000
# Jobspec lookups per answer for owners the guard did not see submit: each is an RPC
LOOKUPS_PER_SNAPSHOT = 100
# Owners remembered from those lookups, at most (the oldest are forgotten first)
MOST_REMEMBERED = 50000
NOT_SUPERUSER = "Only a superuser of this server may read its snapshot."


def _refuse(status, detail, headers=None):
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def parse_query(query_string):
    """(since or None, limit) from the query string; ValueError with one line to show."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    since = params.get("since")
    if since is not None:
        try:
            since = float(since)
        except ValueError:
            since = -1.0
        if not math.isfinite(since) or since < 0:
            raise ValueError(
                f"since must be a time in seconds since the epoch, not {params['since']!r}"
            )
    limit = params.get("limit", str(MOST_JOBS))
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MOST_JOBS):
        raise ValueError(f"limit must be a whole number from 1 to {MOST_JOBS}, not {limit!r}")
    return since, int(limit)


class Snapshots:
    """The snapshot endpoint (an ASGI app the guard hands its path to).

    ``signing_key``: flux-restful's token signing key; ``not_before``: a tokens.NotBefore.
    ``multi_user``: flux-restful's mode. ``own_jobs``: the guard's listing.OwnJobs (single-user),
    or None. ``superuser(token)`` (blocking): whether flux-restful takes the token as an active
    superuser's; ``take(since, limit)`` (blocking): the snapshot; both default to the real ones.
    """

    def __init__(
        self, *, signing_key, not_before, multi_user, own_jobs=None, superuser=None, take=None
    ):
        self.instance = secrets.token_hex(8)
        self.signing_key = signing_key
        self.not_before = not_before
        self.multi_user = bool(multi_user)
        self.own_jobs = own_jobs
        self.superuser = superuser or flux_superuser
        self.take = take or self.take_from_flux
        self._remembered = {}  # job id -> owner from its jobspec (None: it names nobody)
        self._remembered_lock = threading.Lock()
        # One snapshot at a time: a burst of requests waits here, not in Flux or in threads
        self._one_at_a_time = asyncio.Lock()

    async def __call__(self, scope, receive, send):
        answer = await self._answer(scope)
        await answer(scope, receive, send)

    async def _answer(self, scope):
        if scope["method"] not in ("GET", "HEAD"):
            return _refuse(405, "Method Not Allowed", {"Allow": "GET"})
        scheme, _, token = Request(scope).headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        claims = token_claims(token, self.signing_key)
        if claims is None or self.not_before.revoked(claims):
            return _refuse(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        try:
            allowed = await anyio.to_thread.run_sync(self.superuser, token)
        except Exception:
            allowed = None
        if allowed is None:
            return _refuse(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        if not allowed:
            return _refuse(403, NOT_SUPERUSER)
        try:
            since, limit = parse_query(scope.get("query_string", b"").decode("latin-1"))
        except ValueError as error:
            return _refuse(400, str(error))
        async with self._one_at_a_time:
            try:
                body = await anyio.to_thread.run_sync(self._body, since, limit)
            except Exception as error:
                why = " ".join(str(error).split()) or type(error).__name__
                return _refuse(503, f"Cannot read the cluster from Flux right now ({why}).")
        return Response(body, media_type="application/json")

    def _body(self, since, limit):
        """The answer's JSON, made in the worker thread (a large listing takes a while)."""
        snapshot = self.take(since, limit)
        return json.dumps(snapshot, separators=(",", ":")).encode("utf-8")

    # -- the snapshot ----------------------------------------------------------------------
    def take_from_flux(self, since, limit):
        """The snapshot (see the module) with the calling thread's handle (flux-restful's)."""
        import flux.constants
        import flux.job
        from flux.resource.list import resource_list
        from flux_restful.library.handle import get_handle

        handle = get_handle()
        now = time.time()
        # One more than asked: whether limit cut the listing is then known, not guessed
        jobs_rpc = flux.job.job_list(
            handle,
            max_entries=limit + 1,
            attrs=["all"],
            userid=flux.constants.FLUX_USERID_UNKNOWN,
            since=since or 0.0,
        )
        resources_rpc = resource_list(handle)
        listed = jobs_rpc.get_jobs()
        complete = len(listed) <= limit
        listed = listed[:limit]
        resources = resources_rpc.get()
        owners, unknown = self._owners(handle, listed)
        return {
            "instance": self.instance,
            "time": now,
            "multi_user": self.multi_user,
            "complete": complete,
            "owners_unknown": unknown,
            "jobs": [dict(restful_record(job), owner=owners.get(job["id"])) for job in listed],
            "resources": resource_counts(resources),
        }

    def _owners(self, handle, listed):
        """({job id: owner name}, how many could not be told) for the listed jobs."""
        if self.multi_user:
            return uid_owners(listed), 0
        known = self.own_jobs.snapshot(None)[1] if self.own_jobs is not None else {}
        owners, unknown, lookups = {}, 0, 0
        with self._remembered_lock:
            remembered = dict(self._remembered)
        learnt = {}
        for job in listed:
            jobid = job["id"]
            if jobid in known:
                owners[jobid] = known[jobid]
            elif jobid in remembered:
                owners[jobid] = remembered[jobid]
            elif lookups < LOOKUPS_PER_SNAPSHOT:
                lookups += 1
                try:
                    owners[jobid] = learnt[jobid] = jobspec_user(handle, jobid)
                except OSError:
                    unknown += 1  # told another time
            else:
                unknown += 1
        if learnt:
            with self._remembered_lock:
                self._remembered.update(learnt)
                excess = len(self._remembered) - MOST_REMEMBERED
                for jobid in list(self._remembered)[: max(excess, 0)]:
                    del self._remembered[jobid]
        return owners, unknown


def restful_record(job):
    """A job-list record as flux-restful 1.1.0's GET /v1/jobs/{id} gives it (its get_job)."""
    from flux.job.info import JobInfo, statetostr

    info = JobInfo(dict(job))
    record = dict(job)
    record["state"] = statetostr(job["state"])
    record["nnodes"] = info._nnodes
    record["result"] = info.result
    record["returncode"] = info.returncode
    record["runtime"] = info.runtime
    record["priority"] = info._priority
    record["waitstatus"] = info._waitstatus
    record["nodelist"] = info._nodelist
    record["exception"] = dict(info._exception.__dict__)
    record.setdefault("duration", "")
    return record


def uid_owners(listed):
    """{job id: the account name of its uid} (None for a uid with no account: never told)."""
    import pwd

    names, owners = {}, {}
    for job in listed:
        uid = job.get("userid")
        if uid not in names:
            try:
                names[uid] = pwd.getpwuid(uid).pw_name
            except (KeyError, TypeError, OverflowError):
                names[uid] = None
        owners[job["id"]] = names[uid]
    return owners


def jobspec_user(handle, jobid):
    """The jobspec's attributes.system.user (flux-restful's owner in single-user mode), or
    None when it names nobody; OSError when it cannot be read now."""
    import flux.job.kvslookup

    found = flux.job.kvslookup.job_kvs_lookup(handle, jobid, keys=["jobspec"])
    if not found or not isinstance(found.get("jobspec"), dict):
        raise OSError(f"no jobspec for job {jobid}")
    system = found["jobspec"].get("attributes", {}).get("system", {})
    user = system.get("user") if isinstance(system, dict) else None
    return user if isinstance(user, str) and user else None


def resource_counts(resources):
    """The resources' counts from a flux.resource SchedResourceList."""
    sets = {
        "total": resources.all,
        "up": resources.up,
        "down": resources.down,
        "busy": resources.allocated,
        "free": resources.free,
    }
    counts = {
        kind: {name: int(getattr(rset, attr)) for name, rset in sets.items()}
        for kind, attr in (("nodes", "nnodes"), ("cores", "ncores"), ("gpus", "ngpus"))
    }
    counts["hosts_up"] = sorted(str(host) for host in resources.up.nodelist)
    return counts


def flux_superuser(token):
    """Whether flux-restful's auth backend takes ``token`` as an active superuser's (True),
    as another person's (False), or not at all (None)."""
    from flux_restful.auth import get_backend
    from flux_restful.db.session import SessionLocal

    db = SessionLocal()
    try:
        principal = get_backend().verify_token(db, token)
    finally:
        db.close()
    if principal is None or not principal.is_active:
        return None
    return bool(principal.is_superuser)
