"""The user's jobs as the panel sees them: flux-restful plus a memory of finished jobs.

What flux-restful's listing costs. ``GET /v1/jobs?details=true&listing=true&limit=N`` walks every
job id Flux lists (up to 1000, *every* user's) and checks the owner of each (two Flux RPCs) until
it has N of the caller's jobs, then details those (one more). On a cluster a research group
shares, a user's page costs as much as the other users' jobs listed before theirs: on real Flux,
alice's 14-job page behind 500 of bob's jobs took 420 ms, bob's 103 ms, and sixteen users asking
at once got 3.5 answers a second between them. ``GET /v1/jobs/{id}`` of one's own job costs a few
milliseconds (measured on flux-core 0.88: bench/flux_costs.py).

So a refresh follows jobs one by one. The complete listing is read only when the list is first
asked for, when the panel's Refresh button asks for it (``rescan``), and every
``full_listing_interval`` seconds (the slow timer, 5 minutes): for a list of
``BACKGROUND_LISTING_FROM`` jobs or more that one in the background, the refreshes meanwhile
answering from their lookups, and the first refresh after it adding the jobs it found. In
between a refresh asks ``GET /v1/jobs/{id}`` for each job that was active at the last refresh
and for each job learnt since: submitted through this extension (``submit``) or through the
notebook API and ``%%flux`` (the journal, flux_hub/journal.py). A finished job never changes,
so it is not asked about again. A steady refresh's work grows with the user's active jobs, not
with the cluster's history or with other users; a job submitted outside flux-hub shows at the
next complete listing.

In flux-restful's multi-user mode (``FluxHub.server_mode``) the plain ``GET /v1/jobs`` lists only
the caller's jobs, one Flux RPC for all of them. Every authenticated request pays the token check
(about 4 ms of a lookup's 5 to 7 on real Flux), so one listing of a hundred records costs about
what four lookups do. There a refresh reads that listing when it costs less than the lookups, asks
``GET /v1/jobs/{id}`` only for the jobs whose listed record changed since the listing before, and
finds jobs submitted elsewhere in it at once. Should it hold a job that is not the user's after all
(the server is not in that mode), that lookup is refused, the job is not shown, and the service
follows jobs one by one from then on.

The person's job history (flux_hub/history.py) is written from here in a thread of its own
(``record``): a submit's record, each job's end as a refresh sees it, and what a complete listing
tells about the cluster. After each complete listing (and so at a server's first), the history's
ACTIVE records on this cluster that the listing does not show are looked up one by one
(``GET /v1/jobs/{id}``, at most ``RECONCILE_MOST`` a pass, in the background: the panel's answer
never waits for it): one the cluster no longer knows (404: it restarted as a new instance, or
purged the job), or whose id is now another job's (submitted more than ``SAME_JOB_SECONDS`` after
the record: a new instance reused the id; or another person's) is marked "cluster gone"; one
that ended gets its final record; one still active is left as it is. A listed job under such a
reused id makes its record "cluster gone" too (no lookup needed).

With the hub's reader of the cluster (``FluxHub.reader_url``, issue 27: the hub reads the whole
cluster once for everyone, flux_hub/reader) a refresh is one request to it instead
(``jobs?since=`` its last version): its answer is merged into a copy of the person's jobs, which
then goes through the same versions and deltas to the panel. Jobs learnt since (submitted
through flux-hub) that it does not show yet are looked up as above until it does; its whole
answers stand for the complete listing in the history's reconcile; ``GET cluster`` asks it for
the cluster's resources and queue. A reader that does not answer as agreed (none: 404, failing:
503, unreachable, not its JSON) is one warning line, and everything goes to flux-restful as
above for ``reader_retry_interval`` seconds. A job's detail, output, cancel and submit are always
flux-restful's. Every pending record the panel gets says why it waits (``waiting``,
flux_hub/waiting.py): the reader's, which knows the whole queue, else the record's own.

The panel's side of a refresh is small too: each answer carries a version, and a refresh that
passes it back (``?since=``) gets only the jobs that changed since, and the list's order as ids
when that changed too (see ``JobsService.list_jobs``). A first answer (no usable version) is
flux-restful's own JSON text, passed on as it came and decoded into the memory only once it is on
its way (unless a record needs what flux-restful's lacks: ``waiting``, or ``sweep``).

A job of one of the person's sweeps (sweeps.py) carries ``"sweep": {"id", "group", "index"
(from 1), "total"}`` in every answer (complete, delta, ``GET jobs/<id>``), from a map of the
sweeps' jobs read once from the sweeps' store (none made for a person who never swept) and
filled in by each sweep as its jobs land.
"""

import asyncio
import heapq
import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing

from flux_hub import jobstates
from flux_hub.history import History, record_ends, same_job
from flux_hub.jobnames import JobNames
from flux_hub.journal import SubmittedJobs, journal_path
from flux_hub.paths import PathMap, within
from flux_hub.restful import (
    LEGACY_WARNING,
    AsyncFluxRestfulClient,
    ClusterUnavailable,
    FluxRestfulError,
    JobNotFound,
    LimitReached,
    PermissionDenied,
)
from flux_hub.serverextension.reader import ReaderClient, ReaderUnavailable
from flux_hub.waiting import why_waiting

# Flux's job-list order: pending jobs by priority then age, running ones newest start first,
# finished ones most recently finished first. Pending: flux_hub.jobstates' one list.
_PENDING = frozenset(jobstates.PENDING)

# One record of the plain listing costs about 1/25 of one GET /v1/jobs/{id} in flux-restful
# (real Flux: a lookup 5 to 7 ms, the listing 0.15 to 0.25 ms a record; bench/flux_costs.py).
_RECORDS_PER_LOOKUP = 25
# More new jobs than this in the plain listing since the last one: read the complete listing.
_MOST_NEW = 50
# A list of at least this many jobs: the periodic complete listing (not the first, nor one the
# Refresh button asks for) is read in the background, and refreshes go on answering from their
# lookups meanwhile. On real Flux it costs about 7.5 ms a job: 7.5 s for 1,000 jobs, and up to
# 27 s while a sweep's submits load flux-restful (bench/sweep_submit.py), which a refresh that
# waited for it took.
BACKGROUND_LISTING_FROM = 200

# How often a job's output is read when the cluster refuses one more stream of the person's
OUTPUT_POLL_SECONDS = 2.0

# Seconds a write to the person's job history waits for another writer before it is given up
HISTORY_TIMEOUT = 2.0
# The history's active jobs a complete listing does not show, looked up after it: at most this
# many a pass (the oldest records first; the rest at the next complete listing)
RECONCILE_MOST = 100

# Compact, as flux-restful answers; a decoded JSON document cannot hold a cycle.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


class NotConfigured(Exception):
    """The server has no cluster credentials (it was not started by the hub, or not configured)."""


def _is_finished(job):
    return job.get("state") == "INACTIVE"


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _active_order(job):
    if job.get("state") in _PENDING:
        return (0, -_number(job.get("priority")), _number(job.get("t_submit")), job["id"])
    return (1, -_number(job.get("t_run")), 0, -job["id"])


def _finished_order(job):
    return (-_number(job.get("t_inactive")), -job["id"])


class _Listed:
    """A job of the current list: its record, the version it last changed in, its JSON text."""

    __slots__ = ("job", "changed", "text")

    def __init__(self, job, changed):
        self.job = job
        self.changed = changed
        self.text = None

    def json(self):
        if self.text is None:
            self.text = _encode(self.job)
        return self.text


class JobsService:
    """One user's view of the cluster, shared by every request of their server."""

    def __init__(self, settings, log, root_dir=None):
        self.settings = settings
        self.log = log
        # How this server's paths map to the cluster's, and the file browser's root folder
        self.paths = PathMap.parse(settings.paths)
        self.root_dir = os.path.abspath(os.path.expanduser(root_dir)) if root_dir else None
        self.names = JobNames(settings.job_names_path)
        # Jobs submitted from kernels; those before now are in the first complete listing.
        self.journal = SubmittedJobs(journal_path(settings.job_names_path)).skip_to_end()
        self._client = None
        # This user's finished jobs by id, in listing order
        self._finished = {}
        # Ids of the user's active jobs at the last refresh, and of jobs learnt since (submitted
        # through flux-hub) that are not listed yet
        self._active = []
        self._learnt = set()
        # When the last complete listing started (monotonic)
        self._listed_at = float("-inf")
        self._refresh = asyncio.Lock()
        # Multi-user mode: whether the plain listing is the user's own (until it shows a job
        # that is not), and its records (id -> record) when last read.
        self._own_listing = settings.server_mode == "multi-user"
        self._seen = None
        # The list as last answered: versions count the refreshes that changed something.
        # A version from another server process (another generation) is not understood.
        self._generation = secrets.token_hex(6)
        self._version = 0
        self._listed = {}  # id -> _Listed, in the list's order
        self._reordered = 0  # the version the list's ids (membership or order) last changed in
        self._names = {}  # id -> name, as last answered
        self._named_at = {}  # id -> version its name was given in
        self.open_streams = 0
        # The person's job history (flux_hub/history.py), written in a thread of its own so
        # that neither a submit nor a refresh waits for it; the ids of finished jobs seen.
        self._history = None
        self._recorder = None
        self._ended = set()
        # The reconcile of the history with the last complete listing, while it runs; whether
        # a failure to read the history was said
        self._reconciling = None
        self._unreadable = False
        # The hub's reader (reader.py) when the hub gave one: the person's jobs as it last
        # answered (id -> record, in its order) and its version of them; until when it is not
        # asked (monotonic) after it failed
        self._reader = None
        if settings.reader_url and settings.reader_token:
            self._reader = ReaderClient(
                settings.reader_url, settings.reader_token, timeout=settings.request_timeout
            )
        self._reader_jobs = {}
        self._reader_version = None
        self._reader_away_until = float("-inf")
        self._unshown = set()
        # The periodic complete listing read in the background (a large list), while it runs
        # or until a refresh takes it
        self._listing = None
        # Jobs of the person's sweeps (sweeps.py): id -> their records' ``sweep``, read from
        # the sweeps' store once (none made here) and kept up to date by the sweeps as they land
        self._sweep_jobs = None

    @property
    def client(self):
        """The user's AsyncFluxRestfulClient, made on first use; NotConfigured when the account
        is not set."""
        if self._client is None:
            s = self.settings
            needed = (("FLUX_USER", s.user), ("FLUX_TOKEN", s.token))
            missing = [name for name, value in needed if not value]
            if missing:
                raise NotConfigured(
                    f"flux-hub has no account on the Flux cluster at {s.host}: "
                    f"{' and '.join(missing)} not set. JupyterHub sets them when it starts your "
                    "server; otherwise set c.FluxHub.user and c.FluxHub.token."
                )
            self._client = AsyncFluxRestfulClient(
                host=s.host,
                user=s.user,
                token=s.token,
                secret_key=s.secret_key or None,
                timeout=s.request_timeout,
            )
        return self._client

    def sweep_jobs(self):
        """{job id: {"id", "group", "index", "total"}} of the person's sweeps' jobs (the
        records' ``sweep``), read once from the sweeps' store; {} for one who never swept."""
        if self._sweep_jobs is None:
            from flux_hub.serverextension.sweeps import jobs_of_sweeps  # (it imports this)

            try:
                self._sweep_jobs = jobs_of_sweeps(self.settings.job_names_path)
            except Exception as error:  # noqa: BLE001 (the jobs are listed without it)
                self.log.warning("flux-hub: the sweeps' jobs cannot be read: %s", error)
                self._sweep_jobs = {}
        return self._sweep_jobs

    def _tagged(self, job, sweep_jobs):
        """The record with its ``sweep`` when it is a sweep's job (the same record when it has
        it already: a finished job kept in memory)."""
        tag = sweep_jobs.get(job.get("id"))
        if tag is None or job.get("sweep") is tag:
            return job
        return {**job, "sweep": tag}

    def _named(self, job, names):
        name = names.get(job.get("id"))
        if name is None:
            return job
        return {**job, "name": name}

    async def list_jobs(self, since, send, rescan=False):
        """Refresh the user's jobs and answer with them through ``await send(body)``.

        The answer (JSON) is ``{"version", "complete", "jobs", "names"}``. With ``since`` a
        version this server gave, ``jobs`` holds only the jobs that are new or changed since
        then, and ``ids`` the whole list's order if that changed since then (a job not in it is
        gone; no ``ids``: the same jobs in the same order). Otherwise ``jobs`` is the whole
        list, active first, then most recently finished.
        Records are flux-restful's; ``names`` maps ids to the names given in flux-hub (all that
        changed since ``since``, or every name known).

        ``rescan``: read the complete listing (to find jobs submitted outside flux-hub) unless
        one started after this request came (another tab asked at the same moment); sooner
        than ``rescan_interval`` after the last one, wait until then first.
        """
        asked_at = time.monotonic()
        if rescan:  # at most one complete listing per rescan_interval, however often asked
            await asyncio.sleep(self._listed_at + self.settings.rescan_interval - asked_at)
        async with self._refresh:
            base = self._base(since)
            self._learnt.update(self.journal.new())
            jobs = await self._from_reader()
            if jobs is not None:
                self._update(jobs, self.names.all())
                self._learnt.update(self._unshown)  # followed until the reader shows them
                answer = self._answer(base)
                await send(answer)
                return
            due = time.monotonic() - self._listed_at > self.settings.full_listing_interval
            asked = rescan and self._listed_at < asked_at
            if due and not asked and len(self._listed) >= BACKGROUND_LISTING_FROM:
                self._list_in_background()  # the refresh answers from its lookups meanwhile
                due = False
            if not (due or asked):
                jobs = await self._followed()
                if jobs is not None and self._listing is not None and self._listing.done():
                    jobs = self._with_listing(jobs)
            if jobs is None:
                self._listing = None  # read here and now instead
                self._listed_at = time.monotonic()
                try:
                    body = await self.client.jobs_body()
                except BaseException:
                    self._listed_at = float("-inf")
                    raise
                if base is None and not _may_hold_pending(body) and not self.sweep_jobs():
                    await self._pass_on(body, send)
                    return
                jobs = _decode(body, self.client.host)
                self._reconcile(jobs)
            self._update(jobs, self.names.all())
            answer = self._answer(base)
        await send(answer)

    def _list_in_background(self):
        """Start reading the complete listing in the background (once at a time)."""
        if self._listing is not None:
            return
        self._listed_at = time.monotonic()
        self._listing = asyncio.ensure_future(self.client.jobs_body())
        self._listing.add_done_callback(lambda task: task.cancelled() or task.exception())

    def _with_listing(self, followed):
        """The list ``followed`` (the memory and this refresh's lookups, the freshest records of
        the jobs flux-hub follows) with the jobs the background listing found that it does not
        hold (submitted outside flux-hub), each in Flux's order; the history is reconciled with
        the listing. A listing that failed is one line in the log, and is read again at the
        next refresh."""
        task, self._listing = self._listing, None
        try:
            listed = _decode(task.result(), self.client.host)
        except (FluxRestfulError, asyncio.CancelledError) as error:
            self.log.info("flux-hub: the complete listing of your jobs failed: %s", error)
            self._listed_at = float("-inf")
            return followed
        self._reconcile(listed)
        have = {job["id"] for job in followed}
        found = [job for job in listed if job.get("id") not in have]
        if not found:
            return followed
        every = [*followed, *found]
        active = sorted((job for job in every if not _is_finished(job)), key=_active_order)
        done = sorted((job for job in every if _is_finished(job)), key=_finished_order)
        return active + done

    def _reader_ready(self):
        return self._reader is not None and time.monotonic() >= self._reader_away_until

    def _reader_failed(self, error):
        """The reader did not answer: flux-restful directly for reader_retry_interval."""
        self.log.warning(
            "flux-hub: %s; asking %s directly for %.0f s",
            error,
            self.settings.host,
            self.settings.reader_retry_interval,
        )
        self._reader_away_until = time.monotonic() + self.settings.reader_retry_interval
        # Back to the reader: a whole answer first (jobs were followed directly meanwhile)
        self._reader_version = None
        # Direct again: one complete listing first, and the multi-user listing's baseline anew
        self._listed_at = float("-inf")
        self._seen = None

    async def _from_reader(self):
        """The person's list from the hub's reader (one request), plus the jobs learnt since
        (submitted through flux-hub) that it does not show yet, looked up one by one. None when
        there is no reader, or it failed (then flux-restful is asked directly for a while)."""
        if not self._reader_ready():
            return None
        try:
            answer = await self._reader.jobs(self._reader_version)
        except ReaderUnavailable as error:
            self._reader_failed(error)
            return None
        records = {job["id"]: job for job in answer["jobs"]}
        if answer["complete"] or self._reader_version is None:
            ids = answer.get("ids") or list(records)
            previous = {}
        else:
            ids = answer.get("ids") or list(self._reader_jobs)
            previous = self._reader_jobs
        missing = [i for i in ids if i not in records and i not in previous]
        if missing:  # a delta against jobs this copy never had: start over with a whole answer
            self._reader_failed(
                ReaderUnavailable(f"the hub's reader left out jobs {missing[:3]} of its answer")
            )
            return None
        self._reader_jobs = {i: records.get(i) or previous[i] for i in ids}
        self._reader_version = answer["version"]
        jobs = list(self._reader_jobs.values())
        if answer["complete"]:  # as the complete listing: the history is reconciled with it
            self._reconcile(jobs)
        # Submitted through flux-hub and not shown by the reader yet (its next read will): looked
        # up as in direct mode, a finished one once
        learnt = [i for i in self._learnt if i not in self._reader_jobs]
        fetched = [self._finished[i] for i in learnt if i in self._finished]
        fetched += await self._fetch([i for i in learnt if i not in self._finished])
        self._unshown = {job["id"] for job in fetched}
        if not fetched:
            return jobs
        active = sorted(
            (job for job in [*fetched, *jobs] if not _is_finished(job)), key=_active_order
        )
        done = sorted((job for job in fetched if _is_finished(job)), key=_finished_order)
        finished = heapq.merge(done, (j for j in jobs if _is_finished(j)), key=_finished_order)
        return active + list(finished)

    async def _pass_on(self, body, send):
        """Answer with flux-restful's listing as it came; then decode it into the memory."""
        version, names = self._version + 1, self.names.all()
        head = {"version": self._version_text(version), "complete": True, "names": names}
        try:
            await send(_encode(head)[:-1].encode() + b',"jobs":' + body + b"}")
        finally:
            try:
                jobs = _decode(body, self.client.host)
            except FluxRestfulError as error:
                self.log.warning("flux-hub: %s", error)
                self._listed_at = float("-inf")
            else:
                self._update(jobs, names, version)
                self._reconcile(jobs)

    def _version_text(self, version):
        return f"{self._generation}-{version}"

    def _base(self, since):
        """The version number ``since`` names, or None if it is not one of this server's."""
        generation, _, number = (since or "").partition("-")
        if generation != self._generation or not (number.isascii() and number.isdigit()):
            return None
        number = int(number)
        return number if number <= self._version else None

    def _update(self, jobs, names, version=None):
        """Make ``jobs`` the current list; records that changed get a new version."""
        new = self._version + 1
        listed, changed = {}, version is not None
        sweep_jobs = self.sweep_jobs()
        for job in map(_waiting, jobs):
            if sweep_jobs:
                job = self._tagged(job, sweep_jobs)
            job_id = job.get("id")
            old = self._listed.get(job_id)
            if old is not None and (old.job is job or old.job == job):
                listed[job_id] = old
            else:
                listed[job_id] = _Listed(job, new)
                changed = True
        for job_id, name in names.items():
            if self._names.get(job_id) != name and job_id in listed:
                self._named_at[job_id] = new
                changed = True
        if list(listed) != list(self._listed):
            self._reordered = version or new
            changed = True
        if changed:
            self._version = version or new
        self._listed = listed
        self._names = {job_id: name for job_id, name in names.items() if job_id in listed}
        self._named_at = {job_id: v for job_id, v in self._named_at.items() if job_id in listed}
        self._remember([entry.job for entry in listed.values()])

    def _answer(self, base):
        head = {"version": self._version_text(self._version), "complete": base is None}
        if base is None:
            entries = self._listed.values()
            head["names"] = {str(job_id): name for job_id, name in self._names.items()}
        else:
            entries = [entry for entry in self._listed.values() if entry.changed > base]
            if self._reordered > base:
                head["ids"] = list(self._listed)
            head["names"] = {
                str(job_id): self._names[job_id]
                for job_id, at in self._named_at.items()
                if at > base and job_id in self._names
            }
        jobs = ",".join(entry.json() for entry in entries)
        return _encode(head)[:-1] + ',"jobs":[' + jobs + "]}"

    async def _followed(self):
        """The list from the memory and one lookup per job that can have changed: those active
        at the last refresh and those learnt since. None if the complete listing must be read."""
        wanted = dict.fromkeys([*self._active, *self._learnt])
        wanted = [job_id for job_id in wanted if job_id not in self._finished]
        try:
            if await self._listing_pays(len(wanted)):
                fetched = await self._from_own_listing(wanted)
                if fetched is None:
                    return None
            else:
                fetched = await self._fetch(wanted)
        except ClusterUnavailable:
            # It may come back as a new instance, with another history: list it all then.
            self._listed_at = float("-inf")
            self._seen = None
            raise
        if not set(self._active) <= {job["id"] for job in fetched}:
            return None  # an active job is gone: a new Flux instance, whose history differs
        self._learnt.difference_update(wanted)
        active = sorted((job for job in fetched if not _is_finished(job)), key=_active_order)
        done = sorted((job for job in fetched if _is_finished(job)), key=_finished_order)
        # The memory is in Flux's order already; the jobs that finished since go in by theirs.
        finished = heapq.merge(done, self._finished.values(), key=_finished_order)
        return active + list(finished)

    async def _listing_pays(self, lookups):
        """Whether reading the user's own plain listing costs less than ``lookups`` lookups."""
        if not self._own_listing or lookups < 2 or await self.client.is_legacy():
            return False
        size = len(self._listed if self._seen is None else self._seen)
        return 1 + size / _RECORDS_PER_LOOKUP < lookups

    async def _from_own_listing(self, wanted):
        """Multi-user mode: the wanted jobs and the new ones from the user's plain listing,
        looking up only those whose listed record changed since the listing before. None if
        the complete listing must be read."""
        records = {r.get("id"): r for r in await self.client.list_jobs() if isinstance(r, dict)}
        seen, self._seen = self._seen, records
        kept, asked = [], []
        for job_id in wanted:
            entry = self._listed.get(job_id)
            unchanged = (
                seen is not None and job_id in records and seen.get(job_id) == records[job_id]
            )
            if entry is not None and unchanged:
                kept.append(_as_of_now(entry.job))
            else:
                asked.append(job_id)
        # New since the listing before (none the first time: that listing is only a baseline)
        new = []
        if seen is not None:
            known = {*seen, *self._listed, *wanted}
            new = [job_id for job_id in records if isinstance(job_id, int) and job_id not in known]
        foreign = set()
        if len(new) > _MOST_NEW:
            # Many at once: the complete listing finds them for less, unless the first is not
            # the user's (then none of them is looked up)
            if await self._fetch(new[:1], foreign):
                return None
            new = []
        fetched = await self._fetch(asked + new, foreign)
        if foreign.difference(asked):  # (an asked one is the journal's: not the listing's)
            self._own_listing = False
            self.log.warning(
                "flux-hub: %s listed jobs that are not %s's, though FluxHub.server_mode is "
                "multi-user; following jobs one by one from now on",
                self.client.host,
                self.settings.user,
            )
        return kept + fetched

    async def _fetch(self, job_ids, foreign=None):
        """The records of these jobs as a listing shows them; gone (purged) or foreign ones
        (an id in the journal from another account) are left out, the latter added to
        ``foreign`` when given."""
        limit = asyncio.Semaphore(max(1, self.settings.concurrent_requests))

        async def fetch(job_id):
            async with limit:
                try:
                    job = await self.client.job(job_id)
                except JobNotFound:
                    return None
                except PermissionDenied:
                    if foreign is not None:
                        foreign.add(job_id)
                    return None
            # flux-restful's listing fills these in when Flux has not set them
            for key in ("ranks", "expiration"):
                job.setdefault(key, "")
            return job

        return [job for job in await asyncio.gather(*map(fetch, job_ids)) if job is not None]

    def _remember(self, jobs):
        size = self.settings.finished_jobs_cache_size
        finished = [job for job in jobs if _is_finished(job)][:size]
        self._finished = {job["id"]: job for job in finished}
        ended = [job for job in jobs if _is_finished(job) and job["id"] not in self._ended]
        if ended:  # each job's end once: those the history has without one get it
            self._ended.update(job["id"] for job in ended)
            host = self._client.host if self._client is not None else self.settings.host
            self.record("the ends of jobs", record_ends, host, ended)
        self._active = [job["id"] for job in jobs if not _is_finished(job)]
        self._learnt.difference_update(job["id"] for job in jobs)

    async def job(self, job_id, *, cached=True):
        """The job; a finished one from memory unless ``cached`` is false."""
        job = self._finished.get(job_id) if cached else None
        if job is None:
            job = await self.client.job(job_id)
        listed = self._listed.get(job_id)
        if job.get("state") in _PENDING and listed is not None:
            # The list's reason when it has one (the reader's knows the queue) and the detail is
            # still pending as the list saw it
            said = listed.job.get("waiting")
            if listed.job.get("state") == job["state"] and isinstance(said, dict):
                job = {**job, "waiting": said}
        return self._named(self._tagged(_waiting(job), self.sweep_jobs()), self.names.all())

    def cluster_workdir(self, workdir):
        """The cluster's path of a working directory the panel sent (a path of this server's:
        absolute, or relative to the file browser's root). PathNotShared (NoSharedStorage) for a
        folder the cluster cannot see."""
        return self.paths.workdir(workdir, cwd=self.root_dir or os.getcwd(), option="workdir")

    def where(self, job):
        """Where the job runs, for the job's detail: ``lab_workdir``, its working directory as
        this server sees it (None if it cannot, or Flux does not say), and ``browser_path``,
        that folder relative to the file browser's root ("" for the root itself; None if it is
        not under it)."""
        cwd = job.get("cwd")
        lab = self.paths.to_lab(cwd) if cwd else None
        browser = within(lab, self.root_dir) if lab and self.root_dir else None
        return {"lab_workdir": lab, "browser_path": browser}

    async def submit(self, command, name=None, **fields):
        """Submit a job and keep its ``name``; returns its id. The next refresh follows it."""
        job_id = await self.client.submit(command, **fields)
        self._learnt.add(job_id)  # followed from the next refresh on
        if name:
            # The job exists now whatever happens to its name: a failure here is only logged.
            try:
                self.names.set(job_id, name)
            except OSError as error:
                self.log.warning("flux-hub: could not keep the name of job %s: %s", job_id, error)
        return job_id

    def record_submitted(self, job_id, request, name=None, **origin):
        """Put a job just submitted into the person's history, in the background (``record``):
        ``request`` as sent (its ``workdir`` the cluster's path), recorded now with this
        cluster and the lab's path of its folder; ``origin``: History.record_submitted's other
        keywords (origin_kind, origin_path ..., keep_env_values, rerun_of, sweep)."""
        workdir = request.get("workdir")
        return self.record(
            f"job {job_id}",
            History.record_submitted,
            job_id,
            cluster=self.client.host,
            submitted=time.time(),  # now, not when the writer gets to it
            request=request,
            name=name,
            workdir=workdir,
            lab_workdir=self.paths.to_lab(workdir) if workdir else None,
            **origin,
        )

    def record(self, what, write, *args, **kwargs):
        """Run ``write(history, *args, **kwargs)`` on the person's job history in the
        recorder's thread, one write after another; returns its Future. ``what`` names what is
        written for the one warning line a failure (a history that cannot be opened or written)
        becomes: the job itself is never failed nor delayed by it."""
        return self._history_thread().submit(self._recording, what, write, args, kwargs)

    def _history_thread(self):
        if self._recorder is None:
            self._recorder = ThreadPoolExecutor(1, thread_name_prefix="flux-hub-history")
        return self._recorder

    def _opened_history(self):
        """The person's History, opened in the recorder's thread at its first use."""
        if self._history is None:
            self._history = History(
                names_path=self.settings.job_names_path,
                account=self.settings.user or "",
                timeout=HISTORY_TIMEOUT,
            )
        return self._history

    def _recording(self, what, write, args, kwargs):
        try:
            return write(self._opened_history(), *args, **kwargs)
        except Exception as error:  # noqa: BLE001 (the history never fails a job)
            self.log.warning("flux-hub: %s not kept in the job history: %s", what, error)
            return None

    def _read(self, read, *args):
        """Run ``read(history, *args)`` in the recorder's thread, after the writes queued
        before it; returns its Future, whose result is None when the history cannot be read
        (said once, in one warning line)."""
        return self._history_thread().submit(self._reading, read, args)

    def _reading(self, read, args):
        try:
            return read(self._opened_history(), *args)
        except Exception as error:  # noqa: BLE001 (the history never fails the panel)
            if not self._unreadable:
                self._unreadable = True
                self.log.warning("flux-hub: the job history cannot be read: %s", error)
            return None

    def _reconcile(self, listed):
        """Start reconciling the history with a complete listing ``listed`` (flux-restful's
        records) in the background, unless a reconcile is still running."""
        if self._reconciling is not None and not self._reconciling.done():
            return
        listed = {job.get("id"): job for job in listed}
        self._reconciling = asyncio.get_running_loop().create_task(self._reconciled(listed))

    async def _reconciled(self, listed):
        """The history's ACTIVE records on this cluster: those ``listed`` (id -> record) under
        an id another job now has are gone; those not listed are looked up one by one (at
        most RECONCILE_MOST, the oldest first) and recorded gone or ended, or left active."""
        host = self.client.host
        active = await asyncio.wrap_future(self._read(History.active_on, host))
        gone, missing = [], []
        for job_id, submitted in active or ():
            if job_id not in listed:
                missing.append((submitted or 0, job_id))
            elif not same_job({"submitted": submitted}, listed[job_id]):
                gone.append(job_id)
        missing.sort(key=lambda pair: pair[0])  # the oldest first: the likeliest to be gone
        missing = {job_id: submitted or None for submitted, job_id in missing[:RECONCILE_MOST]}
        if gone:
            self.record("jobs the cluster no longer knows", _record_gone, host, gone)
        if not missing:
            return
        limit = asyncio.Semaphore(max(1, self.settings.concurrent_requests))

        async def look_up(job_id):
            async with limit:
                try:
                    return job_id, await self.client.job(job_id)
                except (JobNotFound, PermissionDenied):  # unknown, or now another person's
                    return job_id, None

        gone, ended = [], []
        try:
            found = await asyncio.gather(*map(look_up, missing))
        except FluxRestfulError as error:  # down again, or refusing: the next listing retries
            self.log.info("flux-hub: the job history is not reconciled with %s: %s", host, error)
            return
        for job_id, job in found:
            if job is None or not same_job({"submitted": missing[job_id]}, job):
                gone.append(job_id)
            elif _is_finished(job):
                ended.append(job)
        if gone:
            self.record("jobs the cluster no longer knows", _record_gone, host, gone)
        if ended:
            self.record("the ends of jobs", record_ends, host, ended)

    async def output(self, job_id):
        """The job's output so far (an id not the user's: JobNotFound or PermissionDenied)."""
        # flux-restful answers an unknown id with "no output yet": ask for the job first
        # (free for a finished job) so an unknown one is a 404 and another user's a 403.
        await self.job(job_id)
        return await self.client.output(job_id)

    async def stream(self, job_id):
        """Output chunks as the job writes them; closing this closes the upstream request.

        When the cluster refuses this person one more output stream (its per-person limit:
        other tabs, notebooks or terminals of theirs hold the rest), the output is followed by
        reading it every ``OUTPUT_POLL_SECONDS`` instead, until the job ends."""
        self.open_streams += 1
        try:
            try:
                async with aclosing(self.client.stream_output(job_id)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            except LimitReached as refusal:
                self.log.info(
                    "flux-hub: %s; following job %s by reading it instead", refusal, job_id
                )
            async with aclosing(self._poll_output(job_id)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            self.open_streams -= 1

    async def _poll_output(self, job_id):
        """The output as it grows, read whole every OUTPUT_POLL_SECONDS until the job ends."""
        sent = 0
        while True:
            ended = _is_finished(await self.client.job(job_id))
            text = "".join(await self.client.output(job_id))
            if len(text) > sent:
                yield text[sent:]
                sent = len(text)
            if ended:
                return
            await asyncio.sleep(OUTPUT_POLL_SECONDS)

    async def cancel(self, job_id):
        """Cancel the job; returns flux-restful's message."""
        return await self.client.cancel(job_id)

    async def cluster(self):
        """Who the user is on which cluster, its nodes, and whether it can be used right now;
        on the legacy flux-restful-api, the warning the panel shows in its header."""
        s = self.settings
        summary = {"account": s.user, "url": s.host, "nodes": [], "reachable": False, "error": None}
        summary.update(legacy=False, warning=None)
        summary.update(resources=None, queue=None, as_of=None, reader=False)
        if self._reader_ready():
            try:
                state = await self._reader.cluster()
            except ReaderUnavailable as error:
                self._reader_failed(error)
            else:
                resources = state["resources"]
                hosts = resources.get("hosts_up")
                summary.update(
                    nodes=sorted(hosts) if isinstance(hosts, list) else [],
                    reachable=True,
                    resources=resources,
                    queue=state["jobs"],
                    as_of=state.get("as_of"),
                    reader=True,
                )
                return summary
        try:
            summary["nodes"] = sorted(await self.client.nodes())
            summary["reachable"] = True
            if await self.client.is_legacy():
                summary.update(legacy=True, warning=LEGACY_WARNING)
        except (NotConfigured, ClusterUnavailable) as error:
            summary["error"] = str(error)
        except FluxRestfulError as error:
            # The cluster answered, but refused (credentials) or failed the request.
            summary["reachable"] = True
            summary["error"] = str(error)
        return summary


def _waiting(job):
    """The record with ``waiting`` (flux_hub/waiting.py) when it is pending: the reader's as
    it gave it (it knows the queue: position, jobs ahead), else what the record itself tells."""
    if job.get("state") in _PENDING and not isinstance(job.get("waiting"), dict):
        return {**job, "waiting": why_waiting(job)}
    return job


def _record_gone(history, cluster, job_ids):
    """Mark these jobs "cluster gone" (those ended meanwhile keep their end)."""
    when = time.time()
    for job_id in job_ids:
        history.record_gone(job_id, cluster=cluster, when=when)


def _as_of_now(job):
    """A running job's record as a lookup now would give it: flux-core's JobInfo counts the
    runtime of a job that has not reached cleanup up to the moment it is asked."""
    t_run, t_cleanup = _number(job.get("t_run")), _number(job.get("t_cleanup"))
    if t_run > 0 and not t_cleanup > 0:
        return {**job, "runtime": max(0.0, time.time() - t_run)}
    return job


def _may_hold_pending(body):
    """Whether flux-restful's listing text may hold a pending job (one whose record the panel
    gets with ``waiting``, so it cannot be passed on as it came); a name such as "NEW" only
    costs the decoding."""
    return any(f'"{state}"'.encode() in body for state in _PENDING)


def _decode(body, host):
    """The records of a listing's JSON text; FluxRestfulError if it is not a list of jobs."""
    try:
        jobs = json.loads(body)
    except ValueError:
        jobs = None
    if not isinstance(jobs, list) or not all(isinstance(j, dict) and "id" in j for j in jobs):
        raise FluxRestfulError(f"Listing your jobs failed: {host} answered with something else")
    return jobs
