"""The job-info service of the simulated broker: a job's KVS keys, and eventlog watches."""

import errno
import json

from flux import constants as C


def lookup(jobs, payload):
    """job-info.lookup: jobspec, R, eventlog, guest.output; ENOENT if a key does not exist."""
    job = jobs.get(payload.get("id"))
    if job is None:
        raise OSError(errno.ENOENT, "job not found")
    values = {
        "jobspec": job.jobspec_json,
        "R": None if job.R is None else json.dumps(job.R),
        "eventlog": "".join(job.eventlog),
        "guest.output": None if job.output is None else "".join(job.output),
    }
    result = {"id": job.id}
    for key in payload.get("keys", []):
        if values.get(key) is None:
            raise OSError(errno.ENOENT, f"{key} not found")
        result[key] = values[key]
    return result


class EventlogWatch:
    """A reader of one job eventlog ("eventlog" or "guest.output") that follows it until the
    job is inactive.

    guest.output does not exist until the job shell starts; a job that ends without starting
    ends the watch with no entries (Flux answers ENODATA).
    """

    def __init__(self, cond, jobs, jobid, path):
        self._cond = cond
        self._job = jobs.get(jobid)
        self._path = path
        self._error = None
        if self._job is None or path not in ("eventlog", "guest.output"):
            self._error = OSError(errno.ENOENT, f"job {jobid} has no {path}")
        self._index = 0
        self._canceled = False

    def _lines(self):
        return self._job.eventlog if self._path == "eventlog" else self._job.output

    def _ended(self):
        lines = self._lines() or ()
        return self._job.state == C.FLUX_JOB_STATE_INACTIVE and self._index >= len(lines)

    def _ready(self):
        if self._error or self._canceled or self._ended():
            return True
        lines = self._lines()
        return lines is not None and self._index < len(lines)

    def wait(self, timeout):
        """True once an entry, the end or an error is ready; False if timeout passed first."""
        with self._cond:
            return self._cond.wait_for(self._ready, timeout)

    def next(self, advance=True):
        """The next line, or None at the end. Call only when wait() said it is ready."""
        with self._cond:
            if self._error:
                raise self._error
            if self._canceled or self._ended():
                return None
            line = self._lines()[self._index]
            if advance:
                self._index += 1
            return line

    def cancel(self):
        with self._cond:
            self._canceled = True
            self._cond.notify_all()
