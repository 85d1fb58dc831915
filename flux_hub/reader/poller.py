"""The reader: reads the guard's snapshot of the cluster as often as the cluster's activity and
people's asking call for, into a ClusterState (flux_hub/reader/state.py).

When it reads:

- every ``min_interval`` seconds while the last read changed something and someone asked within
  ``idle_after`` seconds; each read that changes nothing doubles the wait, up to
  ``max_interval``;
- not at all when nobody asked for ``idle_after`` seconds: the first ask after that wakes it
  and waits for that one read (``fresh``);
- without ``since`` (a full read: every job the cluster holds, which also drops what it purged)
  first, every ``full_interval`` seconds, when the cluster is another Flux instance, and
  ``owners_retry`` seconds after a snapshot that could not tell some jobs' owners (the guard
  looks a bounded number of them up per snapshot and keeps what it learns);
- otherwise with ``since`` the last snapshot's time minus ``OVERLAP`` seconds (a job that ended
  while the last one was read is in the next one).

A read that fails is kept as ``error`` (one line, never a secret) and tried again, the wait
doubling up to ``max_interval``. People are told the error (``fresh`` raises Unavailable) once
what was read last is older than ``stale_after`` seconds, or nothing was read yet: a short
failure does not send every person's server back to flux-restful at once.
"""

import asyncio
import logging
import time

from flux_hub.restful import AsyncFluxRestfulClient, FluxRestfulError

from .state import ClusterState

log = logging.getLogger("flux_hub.reader")

# Seconds a since-read reaches back before the last snapshot's time
OVERLAP = 2.0


class Unavailable(Exception):
    """The reader cannot answer now; str() says why in one line."""


def one_line(error):
    """An error as one line for people: the client's errors are worded to be shown and hold no
    secret; anything else is named by its type only."""
    if isinstance(error, FluxRestfulError):
        text = str(error)
    else:
        text = f"The reader failed: {type(error).__name__}"
    return " ".join(text.split())[:500]


class Reader:
    """Reads one cluster's snapshots with a superuser's ReaderCredentials (see the module)."""

    def __init__(
        self,
        credentials,
        *,
        min_interval=1.0,
        max_interval=10.0,
        idle_after=60.0,
        full_interval=300.0,
        owners_retry=30.0,
        stale_after=30.0,
        timeout=30.0,
        client=None,
    ):
        self.credentials = credentials
        self.min_interval = min_interval
        self.max_interval = max(max_interval, min_interval)
        self.idle_after = idle_after
        self.full_interval = full_interval
        self.owners_retry = owners_retry
        self.stale_after = stale_after
        self.client = client or AsyncFluxRestfulClient(
            host=credentials.url,
            user=credentials.user,
            token=credentials.password,
            secret_key=credentials.secret_key,
            timeout=timeout,
        )
        self.state = ClusterState()
        self.error = None  # the last read's failure (one line), None after a good read
        self.reads = 0  # reads tried, good or not
        self.full_reads = 0
        self.read_at = None  # monotonic time of the last good read
        self._asked_at = float("-inf")
        self._full_at = float("-inf")
        self._since = None
        self._idle = False  # True while it waits for someone to ask
        self._wake = asyncio.Event()
        self._read_done = asyncio.Event()
        self._task = None

    def __repr__(self):
        return f"<Reader {self.credentials.url} as {self.credentials.user!r}>"

    @property
    def url(self):
        """The cluster's URL as the reader reaches it."""
        return self.credentials.url

    # -- life ------------------------------------------------------------------------------

    def start(self):
        """Start reading (one read now, then as people ask)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return self

    async def stop(self):
        """Stop reading."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self.client.close()

    async def _run(self):
        interval = self.min_interval
        while True:
            changed = await self.read()
            asked = time.monotonic() - self._asked_at <= self.idle_after
            if changed and asked:
                interval = self.min_interval
            else:
                interval = min(interval * 2, self.max_interval)
            await asyncio.sleep(interval)
            if time.monotonic() - self._asked_at > self.idle_after:
                self._wake.clear()
                self._idle = True
                try:
                    await self._wake.wait()
                finally:
                    self._idle = False
                interval = self.min_interval

    # -- reading -----------------------------------------------------------------------------

    def _full_due(self, now):
        if self._since is None or now - self._full_at >= self.full_interval:
            return True
        return self.state.owners_unknown > 0 and now - self._full_at >= self.owners_retry

    async def read(self):
        """Read one snapshot into the state: whether anything changed (None: the read failed)."""
        try:
            return await self._read()
        except Exception as error:  # noqa: BLE001 (kept and told to people, never raised)
            line = one_line(error)
            if line != self.error:
                log.warning("Reading %s failed: %s", self.url, line)
            if not isinstance(error, FluxRestfulError):
                log.debug("The reader's failure", exc_info=True)
            self.error = line
            return None
        finally:
            self.reads += 1
            self._read_done.set()
            self._read_done = asyncio.Event()

    async def _read(self):
        started = time.monotonic()
        full = self._full_due(started)
        snapshot = await self.client.snapshot(since=None if full else self._since)
        if not full and snapshot["instance"] != self.state.instance:
            log.info("%s is another Flux instance now: reading all it holds", self.url)
            full = True
            snapshot = await self.client.snapshot()
        update = await asyncio.to_thread(self.state.prepare, snapshot, full)
        changed = self.state.commit(update)
        self._since = self.state.as_of - OVERLAP
        if full:
            self._full_at = started
            self.full_reads += 1
        if self.error is not None:
            log.info("Reading %s works again", self.url)
        self.error = None
        self.read_at = time.monotonic()
        return changed

    # -- asking ------------------------------------------------------------------------------

    async def fresh(self):
        """Called for each person's request: marks that someone asks, and returns the state to
        answer from once it is fresh enough. After a quiet while (the reader idle), or before
        the first read, it waits for one read (at most ``max_interval`` seconds). Unavailable
        when nothing can be answered: never read, or the last good read is older than
        ``stale_after`` and reading fails."""
        self._asked_at = time.monotonic()
        if self._idle or (self.read_at is None and self.error is None):
            done = self._read_done
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(done.wait()), self.max_interval)
            except asyncio.TimeoutError:
                pass
        if self.read_at is None:
            raise Unavailable(self.error or "The reader has not read the cluster yet.")
        if self.error is not None and time.monotonic() - self.read_at > self.stale_after:
            raise Unavailable(self.error)
        return self.state
