"""The holder: keeps each held job until its conditions hold, then submits it as its owner.

It runs in the accounts service (flux_hub/service/app.py), not in a person's server, so a chain
goes on while the person's JupyterLab is stopped. Every ``interval`` seconds it looks at each
waiting hold's jobs:

- from the hub's reader when there is one (``service.reader``: one snapshot of everyone's jobs,
  flux_hub/reader) — only a job whose owner is the hold's account counts (``lookup.own_job``);
- else, or when the reader does not show the job (not read yet, purged, owner unknown), by asking
  flux-restful as the hold's owner (``GET /v1/jobs/{id}``), who can see only their own jobs.

When every condition holds it submits the request with the owner's own credentials (the accounts
core's ``credentials(hub_user)``: their FLUX_USER and password, never anyone else's) and keeps the
job id; when one never can (afterok on a job that failed, afternotok on one that succeeded) the
hold is NEVER_RUN with the reason. Whose a hold is comes from the hub token of the request that
made it (flux_hub/service/handlers.py), never from its body; the jobs it waits for are checked to
be the owner's when it is made, with the same words for another's job and for none at all.

When flux-restful does not take the submit:

- 429 (the person's active-jobs limit, flux-hub's guard): the hold waits (DEPEND, ``reason``
  saying so) and the person's holds are tried again after LIMIT_WAIT seconds;
- refused (400, 403, ...: flux-restful made no job): NEVER_RUN with flux-restful's reason;
- nothing sent (connection refused), a 503 (the guard could not count the person's jobs, or a
  proxy had no server: nothing passed on), a login refused: tried again at the next round;
- a 500: flux-restful 1.1.0 answers a submit Flux refused with a 400, and a 500 only when Flux's
  submit raised past it, before any job id: NEVER_RUN with the reason;
- no answer (timeout, connection reset) or a gateway's 502/504: it may have been submitted, so
  it is never sent again: NEVER_RUN saying it is unknown whether it ran.

Each state change is written to the store (holds.store) before the next step, so a restart of
the service resumes every waiting hold, and one being submitted at the stop is never sent twice.
"""

import asyncio
import logging
import time

from flux_hub import depend, jobid, jobrequest
from flux_hub.restful import (
    AsyncFluxRestfulClient,
    AuthenticationFailed,
    ClusterUnavailable,
    FluxRestfulError,
    JobNotFound,
    LimitReached,
    PermissionDenied,
)
from flux_hub.restful.protocol import ConnectionFailed

from . import store as holds
from .lookup import own_job

log = logging.getLogger("flux_hub.holds")

# At most this many holds of one person wait at a time
MAX_WAITING = 1000
# The keys of a hold's body (api/holds)
BODY_KEYS = ("request", "after", "name", "workdir", "origin")
# A hold's ``origin``: where it was made, as the person's history records a job's origin
# (History.record_submitted's keywords); the kinds a person's front-ends send
ORIGIN_KINDS = ("panel", "file", "notebook", "magic", "cli")
ORIGIN_TEXTS = ("origin_path", "origin_cell", "origin_command")
MAX_ORIGIN_TEXT = 4096
# Seconds a person's holds wait before they are submitted again after their active-jobs limit
# refused one (flux-hub's guard's 429)
LIMIT_WAIT = 15.0
MISSING = object()
NO_ACCOUNT = "you have no active Flux account (the one it was held for)"


def _line(error):
    return " ".join(str(error).split())[:500]


class HoldRefused(ValueError):
    """A hold that is not made; str() is one line for the person (a 400)."""


def not_yours(job_id):
    """The one answer for a job that is another's and for one that does not exist."""
    return HoldRefused(f"There is no job {jobid.f58(job_id)} of yours to wait for.")


def parse_body(body):
    """(request, after, name) of an ``api/holds`` body, or HoldRefused in one line.

    ``request`` is a job request as the panel's ``POST jobs`` body holds it (checked by
    jobrequest.parse, as every front-end's), ``after`` the conditions (depend.parse), ``name``
    and ``workdir`` (the cluster's path) may also be given beside it."""
    if not isinstance(body, dict):
        raise HoldRefused('Send a JSON object: {"request": {...}, "after": [...]}.')
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise HoldRefused(f"Unknown field {unknown[0]!r}: a hold takes {', '.join(BODY_KEYS)}.")
    raw = body.get("request")
    if not isinstance(raw, dict):
        raise HoldRefused("'request' must be a JSON object describing the job.")
    raw = dict(raw)
    for key in ("name", "workdir"):
        if body.get(key) is not None:
            raw[key] = body[key]
    raw.setdefault("command", None)
    try:
        request = jobrequest.parse(raw)
    except KeyError as key:
        raise HoldRefused(f"The job was not held: unknown field {key.args[0]!r}.") from None
    except jobrequest.JobRequestError as error:
        raise HoldRefused(" ".join(str(error).split()).replace("submitted", "held", 1)) from None
    try:
        after = depend.parse(body.get("after"))
    except depend.DependencyError as error:
        raise HoldRefused(f"The job was not held: {error}.") from None
    return request, after, request.pop("name", None)


def parse_origin(body):
    """The ``origin`` of an api/holds body (None when it has none), or HoldRefused: a JSON
    object ``{"origin_kind": KIND, ["origin_path", "origin_cell", "origin_command": text],
    ["keep_env_values": true]}``, kept with the hold for the person's history only."""
    origin = body.get("origin") if isinstance(body, dict) else None
    if origin is None:
        return None
    shape = f'{{"origin_kind": {" | ".join(ORIGIN_KINDS)}, ...}}'
    if not isinstance(origin, dict) or origin.get("origin_kind") not in ORIGIN_KINDS:
        raise HoldRefused(f"'origin' must be {shape}.")
    for key, value in origin.items():
        if key in ORIGIN_TEXTS and value is not None:
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or len(value) > MAX_ORIGIN_TEXT or "\0" in value:
                raise HoldRefused(f"The origin's {key!r} must be a text (at most 4096).")
        elif key == "keep_env_values" and not isinstance(value, bool):
            raise HoldRefused("The origin's 'keep_env_values' must be true or false.")
        elif key not in ("origin_kind", "keep_env_values", *ORIGIN_TEXTS):
            raise HoldRefused(f"'origin' has an unknown field {key!r}.")
    return {key: value for key, value in origin.items() if value is not None}


def _client(env):
    return AsyncFluxRestfulClient(
        host=env["FLUX_RESTFUL_HOST"],
        user=env["FLUX_USER"],
        token=env["FLUX_TOKEN"],
        secret_key=env.get("FLUX_SECRET_KEY"),
    )


def _nothing_sent(error):
    """Whether a submit that failed with ClusterUnavailable surely made no job: its connection
    refused, or a 503 (flux-hub's guard could not count the person's jobs, or a proxy has no
    server to send to: nothing was passed on)."""
    cause = error.__cause__
    refused = isinstance(cause, ConnectionFailed) and cause.kind == "refused"
    return refused or error.status == 503


def _refused_by_flux(error):
    """Whether a submit's 5xx was flux-restful's own failure to make the job: flux-restful
    1.1.0 answers a submit Flux refused with a 400, and a 500 only when Flux's submit raised
    past it (the job id was never given), so no job exists. A gateway's 502/504 says nothing of
    whether the request reached flux-restful."""
    return error.status == 500


class Holder:
    """The service's holds: made with ``create``, released by the loop ``start`` runs.

    ``store``: a HoldStore; ``accounts``: the accounts core (``credentials(hub_user)``);
    ``reader``: a callable giving the service's Reader or None (it may start later);
    ``client``: makes a flux-restful client from a person's FLUX_* environment."""

    def __init__(self, store, accounts, reader=lambda: None, *, interval=2.0, client=_client):
        self.store = store
        self.accounts = accounts
        self.reader = reader
        self.interval = interval
        self.make_client = client
        self.error = None  # the last round's failure, one line
        self._clients = {}  # (URL, account) -> (password, client)
        self._seen = {}
        self.limit_wait = LIMIT_WAIT
        self._limited = {}  # hub user -> until when (monotonic) their holds are not submitted
        self._task = None
        self._wake = asyncio.Event()

    # -- life --------------------------------------------------------------------------------

    def start(self):
        """Resume what the last run left (see store) and start releasing."""
        for hold in self.store.in_state(holds.SUBMITTING):
            self.store.move(
                hold.id,
                holds.SUBMITTING,
                holds.NEVER_RUN,
                reason="the hub stopped while submitting it: look at your jobs before you "
                "submit it again",
            )
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return self

    async def stop(self):
        """Stop releasing (waiting holds stay in the store)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._clients.clear()

    async def _run(self):
        while True:
            try:
                await self.round()
            except Exception as error:  # noqa: BLE001 (kept, said once, tried again)
                line = f"{type(error).__name__}: {error}"[:300]
                if line != self.error:
                    log.warning("Releasing held jobs failed: %s", line)
                self.error = line
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    # -- a person's requests -----------------------------------------------------------------

    async def create(self, owner, account, body):
        """A new hold of ``owner`` (the hub user the token named) and their Flux ``account``,
        from an api/holds body; HoldRefused (one line) when it is not made (nothing kept)."""
        request, after, name = parse_body(body)
        origin = parse_origin(body)
        if await asyncio.to_thread(self.store.count_waiting, owner) >= MAX_WAITING:
            raise HoldRefused(f"You have {MAX_WAITING} held jobs waiting already.")
        env = await self._env(owner, account)
        for condition in after:
            if env is None or await self._job(env, account, condition["id"]) is MISSING:
                raise not_yours(condition["id"])
        hold = await asyncio.to_thread(self.store.add, owner, account, request, after, name, origin)
        log.info("%s holds %s after %s", owner, hold.id, depend.text(after))
        self._wake.set()
        return hold

    def holds_of(self, owner, everything=False):
        """The owner's holds, newest first: at most store.MOST_LISTED, and those ended more
        than store.ENDED_SHOWN ago only with ``everything``."""
        since = None if everything else time.time() - holds.ENDED_SHOWN
        return self.store.of(owner, ended_since=since)

    def hold_of(self, owner, hold_id):
        """The owner's hold of that id, or None (another's is None too)."""
        hold = self.store.get(hold_id)
        return hold if hold is not None and hold.owner == owner else None

    def cancel(self, owner, hold_id):
        """Cancel the owner's waiting hold: the hold as it is then, or None when it is not
        theirs. One already submitted or ended stays as it is (its state says so)."""
        hold = self.hold_of(owner, hold_id)
        if hold is None:
            return None
        if self.store.move(hold_id, holds.DEPEND, holds.CANCELED, reason="canceled by you"):
            log.info("%s canceled %s", owner, hold_id)
        return self.store.get(hold_id)

    # -- releasing ---------------------------------------------------------------------------

    async def round(self):
        """Look at every waiting hold once: release, mark never run, or leave it waiting."""
        waiting = await asyncio.to_thread(self.store.in_state, holds.DEPEND)
        self._seen = {}  # (account, job id) -> record, hub user -> environment: once a round
        for hold in waiting:
            try:
                await self._settle(hold)
            except FluxRestfulError as error:  # the cluster, for now: asked again next round
                log.info("Hold %s of %s waits on: %s", hold.id, hold.owner, error)
        self.error = None

    async def _settle(self, hold):
        if hold.owner not in self._seen:
            self._seen[hold.owner] = await self._env(hold.owner, hold.account)
        env = self._seen[hold.owner]
        if env is None:
            return self._never(hold, NO_ACCOUNT)
        for condition in hold.after:
            key = (hold.account, condition["id"])
            job = self._seen.get(key)
            if job is None:
                job = self._seen[key] = await self._job(env, hold.account, condition["id"])
            if job is MISSING:
                reason = f"job {jobid.f58(condition['id'])} is not known to the cluster any more"
                return self._never(hold, reason)
            holds_now = depend.condition(condition["kind"], job)
            if holds_now is False:
                return self._never(hold, depend.why_never(condition["kind"], condition["id"], job))
            if holds_now is None:
                return None
        if self._limited.get(hold.owner, 0) > time.monotonic():
            return None  # their active-jobs limit: tried again after limit_wait
        await self._release(hold, env)

    def _never(self, hold, reason):
        if self.store.move(hold.id, holds.DEPEND, holds.NEVER_RUN, reason=reason):
            log.info("Hold %s of %s will never run: %s", hold.id, hold.owner, reason)

    async def _release(self, hold, env):
        if not self.store.move(hold.id, holds.DEPEND, holds.SUBMITTING):
            return None  # canceled meanwhile
        request = dict(hold.request)
        command = request.pop("command")
        try:
            job_id = await self._client_of(env).submit(command, **request)
        except LimitReached as error:  # the person's active-jobs limit: waits for jobs to end
            self._limited[hold.owner] = time.monotonic() + self.limit_wait
            reason = f"waits for some of your jobs to end: {_line(error)}"
            self.store.move(hold.id, holds.SUBMITTING, holds.DEPEND, reason=reason)
            raise
        except AuthenticationFailed:  # refused before any job was made: asked again
            self.store.move(hold.id, holds.SUBMITTING, holds.DEPEND)
            raise
        except ClusterUnavailable as error:
            if _nothing_sent(error):
                self.store.move(hold.id, holds.SUBMITTING, holds.DEPEND)
                raise
            if _refused_by_flux(error):
                reason = f"Flux could not submit it: {_line(error)}"
            else:
                reason = (
                    f"it is unknown whether it was submitted: the cluster did not answer "
                    f"({_line(error)}); look at your jobs before you submit it again"
                )
            self.store.move(hold.id, holds.SUBMITTING, holds.NEVER_RUN, reason=reason)
            return None
        except FluxRestfulError as error:  # refused (400, 403, ...): no job made
            reason = f"flux-restful refused it: {_line(error)}"
            self.store.move(hold.id, holds.SUBMITTING, holds.NEVER_RUN, reason=reason)
            return None
        self.store.move(hold.id, holds.SUBMITTING, holds.SUBMITTED, job=job_id)
        log.info("Hold %s of %s submitted as job %s", hold.id, hold.owner, jobid.f58(job_id))
        return job_id

    # -- the jobs held for -------------------------------------------------------------------

    async def _env(self, owner, account):
        """The owner's FLUX_* environment while it is still ``account``'s, else None: their
        own credentials, at their account's flux-restful as the hub reaches it (the
        provisioner's endpoint(): with a cluster per person, their own cluster)."""
        return await asyncio.to_thread(self._env_now, owner, account)

    def _env_now(self, owner, account):
        env = self.accounts.credentials(owner)
        if env is None or env.get("FLUX_USER") != account:
            return None
        url, secret_key = self.accounts.provisioner.endpoint(account)
        env = {**env, "FLUX_RESTFUL_HOST": url}
        env.pop("FLUX_SECRET_KEY", None)
        if secret_key:
            env["FLUX_SECRET_KEY"] = secret_key
        return env

    async def _job(self, env, account, job_id):
        """The record of ``account``'s job ``job_id`` (flux-restful's shape), or MISSING when
        it has no such job (another's, none): from the reader, else asking as the owner (whose
        environment ``env`` is)."""
        reader = self.reader()
        if reader is not None:
            try:
                state = await reader.fresh()
            except Exception:  # noqa: BLE001 (the reader is down: ask flux-restful instead)
                state = None
            job = own_job(state, account, job_id) if state is not None else None
            if job is not None:
                return job
        try:
            return await self._client_of(env).job(job_id)
        except (JobNotFound, PermissionDenied):
            return MISSING

    def _client_of(self, env):
        """A flux-restful client with these credentials (kept while they stay the same)."""
        key = (env["FLUX_RESTFUL_HOST"], env["FLUX_USER"])
        known = self._clients.get(key)
        if known is None or known[0] != env["FLUX_TOKEN"]:
            known = self._clients[key] = (env["FLUX_TOKEN"], self.make_client(env))
        return known[1]
