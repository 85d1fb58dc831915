"""Watching a job eventlog ("eventlog" or "guest.output") as it grows."""

import errno
import os

from flux.eventlog import EventLogEvent


class JobEventWatchFuture:
    """The next entry of a watched eventlog; ``get_event()`` gives None once it has ended."""

    def __init__(self, watch):
        self._watch = watch

    def wait_for(self, timeout=-1.0):
        """Wait until an entry (or the end, or an error) is ready; TimeoutError if none came."""
        if not self._watch.wait(None if timeout < 0 else timeout):
            raise OSError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT))
        return self

    def get_event(self, autoreset=True):
        self._watch.wait(None)
        line = self._watch.next(advance=autoreset)
        return None if line is None else EventLogEvent(line)

    get = get_event

    def cancel(self, stop=False):
        self._watch.cancel()


def event_watch_async(flux_handle, jobid, eventlog="eventlog"):
    return JobEventWatchFuture(flux_handle.broker.watch(int(jobid), eventlog))


def event_watch(flux_handle, jobid, eventlog="eventlog"):
    """Yield each entry of the eventlog until it ends."""
    future = event_watch_async(flux_handle, jobid, eventlog)
    while (event := future.get_event()) is not None:
        yield event
