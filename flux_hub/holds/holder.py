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

Each state change is written to the store (holds.store) before the next step, so a restart of
the service resumes every waiting hold, and one being submitted at the stop is never sent twice.
"""

import asyncio
import logging

from flux_hub import depend, jobid, jobrequest
from flux_hub.restful import (
    AsyncFluxRestfulClient,
    ClusterUnavailable,
    FluxRestfulError,
    JobNotFound,
    PermissionDenied,
)
from flux_hub.restful.protocol import ConnectionFailed

from . import store as holds
from .lookup import own_job

log = logging.getLogger("flux_hub.holds")

# At most this many holds of one person wait at a time
MAX_WAITING = 1000
# The keys of a hold's body (api/holds)
BODY_KEYS = ("request", "after", "name", "workdir")
MISSING = object()
NO_ACCOUNT = "you have no active Flux account (the one it was held for)"


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


def _client(env):
    return AsyncFluxRestfulClient(
        host=env["FLUX_RESTFUL_HOST"],
        user=env["FLUX_USER"],
        token=env["FLUX_TOKEN"],
        secret_key=env.get("FLUX_SECRET_KEY"),
    )


def _nothing_sent(error):
    """Whether a failed submit surely never reached flux-restful (its connection refused)."""
    cause = error.__cause__
    return isinstance(cause, ConnectionFailed) and cause.kind == "refused"


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
        if await asyncio.to_thread(self.store.count_waiting, owner) >= MAX_WAITING:
            raise HoldRefused(f"You have {MAX_WAITING} held jobs waiting already.")
        env = await self._env(owner, account)
        for condition in after:
            if env is None or await self._job(env, account, condition["id"]) is MISSING:
                raise not_yours(condition["id"])
        hold = await asyncio.to_thread(self.store.add, owner, account, request, after, name)
        log.info("%s holds %s after %s", owner, hold.id, depend.text(after))
        self._wake.set()
        return hold

    def holds_of(self, owner):
        """The owner's holds, newest first."""
        return self.store.of(owner)

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
        except ClusterUnavailable as error:
            if _nothing_sent(error):
                self.store.move(hold.id, holds.SUBMITTING, holds.DEPEND)
                raise
            reason = (
                f"the cluster did not answer while it was submitted ({error}): look at your "
                "jobs before you submit it again"
            )
            self.store.move(hold.id, holds.SUBMITTING, holds.NEVER_RUN, reason=reason)
            return None
        except FluxRestfulError as error:
            reason = f"flux-restful refused it: {' '.join(str(error).split())}"
            self.store.move(hold.id, holds.SUBMITTING, holds.NEVER_RUN, reason=reason)
            return None
        self.store.move(hold.id, holds.SUBMITTING, holds.SUBMITTED, job=job_id)
        log.info("Hold %s of %s submitted as job %s", hold.id, hold.owner, jobid.f58(job_id))
        return job_id

    # -- the jobs held for -------------------------------------------------------------------

    async def _env(self, owner, account):
        """The owner's FLUX_* environment while it is still ``account``'s, else None."""
        env = await asyncio.to_thread(self.accounts.credentials, owner)
        return env if env is not None and env.get("FLUX_USER") == account else None

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
