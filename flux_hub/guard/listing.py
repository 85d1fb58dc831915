"""A person's listing made of their own jobs, in flux-restful's single-user mode.

flux-restful 1.1.0 lists a person's jobs (``GET /v1/jobs?details=true``) by walking the ids
Flux's job-list gives it, at most the newest 1,000 of *everyone's* (every job runs as the
server's uid in that mode), and asking the owner of each: two Flux RPCs a job, then a third
for the person's own. So 1,000 quick jobs of bob's push every job of alice's out of her
listing (and out of her panel), and each of her listings pays for all of his jobs.

The guard sees every submit in that mode (a tenant has no other way to Flux), so it knows
whose each job is. Here the listing becomes: the person's own jobs among those job-list gives,
in its order; then their own jobs it no longer gives (pushed out by others), newest first,
up to 1,000 in all;
jobs the guard did not see submitted (made before it started, say) are asked about as
flux-restful asks. Another person's job costs nothing: it is not looked at. Multi-user mode
(job-list lists the person's uid only) and superusers keep flux-restful's own listing.
"""

import threading

# A person's listing holds at most this many of their jobs, as Flux's job-list gives at most
# 1,000: their own newest, not everyone's
MOST_LISTED = 1000


class OwnJobs:
    """Which job ids each person submitted through the guard (thread-safe: recorded on the
    event loop, read by listings in flux-restful's worker threads)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_person = {}  # person -> {job id: None}, in submit order
        self._owner = {}  # job id -> person

    def add(self, person, jobid):
        with self._lock:
            self._by_person.setdefault(person, {})[jobid] = None
            self._owner[jobid] = person

    def forget(self, jobid):
        """A job Flux no longer knows (purged, or another instance's)."""
        with self._lock:
            person = self._owner.pop(jobid, None)
            if person is not None:
                self._by_person.get(person, {}).pop(jobid, None)

    def snapshot(self, person):
        """(the person's ids, {job id: owner} of every recorded job) as of now."""
        with self._lock:
            return set(self._by_person.get(person, ())), dict(self._owner)


def install(own_jobs, flux_cli=None):
    """Make flux-restful's detailed listing (``flux_restful.library.flux.list_jobs_detailed``,
    which its API and web pages call through the module) list each person's own jobs."""
    if flux_cli is None:
        import flux_restful.library.flux as flux_cli

    original = flux_cli.list_jobs_detailed

    def list_jobs_detailed(user=None, limit=None, query=None):
        name = flux_cli.user_name(user)
        if flux_cli.multi_user() or name is None or getattr(user, "is_superuser", False):
            return original(user=user, limit=limit, query=query)
        mine, owners = own_jobs.snapshot(name)
        window = [job["id"] for job in flux_cli.list_jobs(user=user).get_jobs()]
        in_window = set(window)
        # Flux's order for those it lists (others' recorded jobs skipped unasked), then the
        # person's own that it no longer lists, newest first (Flux ids grow with time)
        order = [jobid for jobid in window if jobid in mine or jobid not in owners]
        order += sorted(mine - in_window, reverse=True)
        most = MOST_LISTED if limit is None else min(limit, MOST_LISTED)
        jobs = {}
        for jobid in order:
            if len(jobs) >= most:
                break
            try:
                info = flux_cli.get_job(jobid, user=user)
            except Exception:  # another's (refused), as flux-restful's own listing skips it
                continue
            if info is None:
                own_jobs.forget(jobid)
                continue
            if query and not flux_cli.query_job(info, query):
                continue
            for needed in ("ranks", "expiration"):
                info.setdefault(needed, "")
            jobs[jobid] = info
        return jobs

    list_jobs_detailed.original = original
    flux_cli.list_jobs_detailed = list_jobs_detailed
    return list_jobs_detailed
