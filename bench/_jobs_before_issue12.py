"""The panel's refresh as it was before issue 12, next to today's in bench/shared_refresh.py.

Before issue 12 (commit 8ca0228) a steady refresh read a short page of flux-restful's details
listing (``GET /v1/jobs?details=true&listing=true&limit=N``: the jobs active at the last refresh
plus 4, then 64), and found where the page met the finished jobs it already knew. Everything else
(the memory of finished jobs, versions and deltas for the panel, the complete listing at start
and on the slow timer) was what ``flux_hub.serverextension.jobs.JobsService`` still does, so only
that step is written out here. Not used by flux-hub itself.
"""

import time

from flux_hub.serverextension.jobs import JobsService as Today

# A refresh's pages, in jobs beyond those active at the last refresh
REFRESH_MARGINS = (4, 64)


class JobsService(Today):
    """Today's service with the paged refresh of before."""

    async def _followed(self):
        """The list from a short page and the memory, or None if the pages cannot tell."""
        if not self._listed:
            return None
        for margin in REFRESH_MARGINS:
            limit = len(self._active) + margin
            page = await self.client.jobs(limit=limit)
            if len(page) < limit:  # every job of the user is on the page
                self._listed_at = time.monotonic()
                return page
            anchor = next((i for i, job in enumerate(page) if self._known(job)), None)
            if anchor is not None:
                break
        else:
            return None
        fresh = page[:anchor]
        # An active job that is no longer before the anchor should not exist (it would have
        # finished after the anchor); ask for it rather than lose it.
        seen = {job["id"] for job in fresh}
        missing = await self._fetch([job_id for job_id in self._active if job_id not in seen])
        older = list(self._finished.values())
        return fresh + missing + older[self._order[page[anchor]["id"]] :]

    def _known(self, job):
        known = self._finished.get(job["id"])
        return known is not None and known.get("t_submit") == job.get("t_submit")

    def _remember(self, jobs):
        super()._remember(jobs)
        self._order = {job_id: i for i, job_id in enumerate(self._finished)}
