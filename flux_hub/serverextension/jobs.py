"""The user's jobs as the panel sees them: flux-restful plus a memory of finished jobs.

flux-restful's listing of a user's jobs (``GET /v1/jobs?details=true&listing=true``) costs one to
three Flux RPCs per job. It lists active jobs first, then finished ones, most recently finished
first, and its ``limit`` stops it after that many of the caller's jobs. A finished job never
changes, so after one complete listing a refresh asks only for the first few jobs: enough for
every active job plus some new ones. The first finished job in that page which is already known
is the anchor: everything before it is new or still changing, everything after it is what the
previous refresh listed after it. Only when no anchor is found (many new jobs, or a new Flux
instance) is the complete listing read again, and also every ``full_listing_interval`` seconds,
so jobs Flux has purged (or stopped listing) leave the panel too.

The plain id listing (``GET /v1/jobs``) would be the other way to find new jobs, but it answers
with every user's jobs (up to 1000 records, each encoded by the server): dearer than a short
page, and foreign ids would have to be asked about one by one.

The answer to the panel is JSON text. A finished job keeps its text between refreshes, so a
refresh encodes only the jobs it read, not the hundreds it already had.
"""

import asyncio
import json
import time
from contextlib import aclosing

from flux_hub.notebook.names import JobNames
from flux_hub.restful import (
    AsyncFluxRestfulClient,
    ClusterUnavailable,
    FluxRestfulError,
    JobNotFound,
)

# Room in a refresh's page for jobs submitted since the previous refresh.
NEW_JOBS_PER_REFRESH = 25

# Compact, as flux-restful answers; a decoded JSON document cannot hold a cycle.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


class NotConfigured(Exception):
    """The server has no cluster credentials (it was not started by the hub, or not configured)."""


def _is_finished(job):
    return job.get("state") == "INACTIVE"


class JobsService:
    """One user's view of the cluster, shared by every request of their server."""

    def __init__(self, settings, log):
        self.settings = settings
        self.log = log
        self.names = JobNames(settings.job_names_path)
        self._client = None
        # This user's finished jobs by id, in listing order, and their positions in it
        self._finished = {}
        self._order = {}
        # JSON text of the finished jobs in the last answer: {id: (job, name, text)}
        self._texts = {}
        # Ids of the user's active jobs at the last refresh
        self._active = []
        self._listed_at = float("-inf")
        self._refresh = asyncio.Lock()
        self.open_streams = 0

    @property
    def client(self):
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

    def _named(self, job, names):
        name = names.get(job.get("id"))
        if name is None:
            return job
        return {**job, "name": name}

    async def jobs_json(self):
        """The user's jobs (active first, then most recently finished) as flux-restful has
        them, each with its name: the JSON text of ``{"jobs": [...]}``."""
        async with self._refresh:
            stale = time.monotonic() - self._listed_at > self.settings.full_listing_interval
            jobs = None if stale else await self._jobs_since_last_refresh()
            if jobs is None:
                jobs = await self.client.jobs()
                self._listed_at = time.monotonic()
            self._remember(jobs)
            texts = self._encoded(jobs, self.names.all())
        return '{"jobs":[' + ",".join(texts) + "]}"

    def _encoded(self, jobs, names):
        """Each job's JSON text; a finished job's is kept while the job and its name stay."""
        kept, self._texts = self._texts, {}
        texts = []
        for job in jobs:
            job_id, name = job.get("id"), names.get(job.get("id"))
            text = kept.get(job_id)
            if text is None or text[0] is not job or text[1] != name:
                named = job if name is None else {**job, "name": name}
                text = (job, name, _encode(named))
            if self._finished.get(job_id) is job:
                self._texts[job_id] = text
            texts.append(text[2])
        return texts

    async def _jobs_since_last_refresh(self):
        """The list from a short page and the memory, or None if the page cannot tell."""
        limit = len(self._active) + NEW_JOBS_PER_REFRESH
        page = await self.client.jobs(limit=limit)
        if len(page) < limit:  # every job of the user is on the page
            self._listed_at = time.monotonic()
            return page
        anchor = next((i for i, job in enumerate(page) if self._known(job)), None)
        if anchor is None:
            return None
        fresh = page[:anchor]
        # An active job that is no longer before the anchor should not exist (it would have
        # finished after the anchor); ask for it rather than lose it.
        seen = {job["id"] for job in fresh}
        missing = await self._fetch([job_id for job_id in self._active if job_id not in seen])
        older = list(self._finished.values())
        return fresh + missing + older[self._order[page[anchor]["id"]] :]

    async def _fetch(self, job_ids):
        limit = asyncio.Semaphore(max(1, self.settings.concurrent_requests))

        async def fetch(job_id):
            async with limit:
                try:
                    return await self.client.job(job_id)
                except JobNotFound:
                    return None  # purged

        return [job for job in await asyncio.gather(*map(fetch, job_ids)) if job is not None]

    def _known(self, job):
        known = self._finished.get(job["id"])
        return known is not None and known.get("t_submit") == job.get("t_submit")

    def _remember(self, jobs):
        size = self.settings.finished_jobs_cache_size
        finished = [job for job in jobs if _is_finished(job)][:size]
        self._finished = {job["id"]: job for job in finished}
        self._order = {job["id"]: i for i, job in enumerate(finished)}
        self._active = [job["id"] for job in jobs if not _is_finished(job)]

    async def job(self, job_id, *, cached=True):
        """The job; a finished one from memory unless ``cached`` is false."""
        job = self._finished.get(job_id) if cached else None
        if job is None:
            job = await self.client.job(job_id)
        return self._named(job, self.names.all())

    async def submit(self, command, name=None, **fields):
        job_id = await self.client.submit(command, **fields)
        if name:
            # The job exists now whatever happens to its name: a failure here is only logged.
            try:
                self.names.set(job_id, name)
            except OSError as error:
                self.log.warning("flux-hub: could not keep the name of job %s: %s", job_id, error)
        return job_id

    async def output(self, job_id):
        # flux-restful answers an unknown id with "no output yet": ask for the job first
        # (free for a finished job) so an unknown one is a 404 and another user's a 403.
        await self.job(job_id)
        return await self.client.output(job_id)

    async def stream(self, job_id):
        """Output chunks as the job writes them; closing this closes the upstream request."""
        self.open_streams += 1
        try:
            async with aclosing(self.client.stream_output(job_id)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            self.open_streams -= 1

    async def cancel(self, job_id):
        return await self.client.cancel(job_id)

    async def cluster(self):
        """Who the user is on which cluster, its nodes, and whether it can be used right now."""
        s = self.settings
        summary = {"account": s.user, "url": s.host, "nodes": [], "reachable": False, "error": None}
        try:
            summary["nodes"] = sorted(await self.client.nodes())
            summary["reachable"] = True
        except (NotConfigured, ClusterUnavailable) as error:
            summary["error"] = str(error)
        except FluxRestfulError as error:
            # The cluster answered, but refused (credentials) or failed the request.
            summary["reachable"] = True
            summary["error"] = str(error)
        return summary
