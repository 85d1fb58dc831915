"""Job states and results as text, and JobInfo: a job-list record with derived properties."""

import os
import time

from flux import constants
from flux.job.JobID import JobID

_STATES = {
    constants.FLUX_JOB_STATE_NEW: ("NEW", "N"),
    constants.FLUX_JOB_STATE_DEPEND: ("DEPEND", "D"),
    constants.FLUX_JOB_STATE_PRIORITY: ("PRIORITY", "P"),
    constants.FLUX_JOB_STATE_SCHED: ("SCHED", "S"),
    constants.FLUX_JOB_STATE_RUN: ("RUN", "R"),
    constants.FLUX_JOB_STATE_CLEANUP: ("CLEANUP", "C"),
    constants.FLUX_JOB_STATE_INACTIVE: ("INACTIVE", "I"),
}
_RESULTS = {
    constants.FLUX_JOB_RESULT_COMPLETED: ("COMPLETED", "CD"),
    constants.FLUX_JOB_RESULT_FAILED: ("FAILED", "F"),
    constants.FLUX_JOB_RESULT_CANCELED: ("CANCELED", "CA"),
    constants.FLUX_JOB_RESULT_TIMEOUT: ("TIMEOUT", "TO"),
}


def statetostr(stateid, fmt="L"):
    long, short = _STATES.get(stateid, ("(unknown)", "?"))
    return short if fmt == "S" else long


def resulttostr(resultid, fmt="L"):
    if resultid == "":
        return ""
    long, short = _RESULTS.get(resultid, ("(unknown)", "?"))
    return short if fmt == "S" else long


class ExceptionInfo:
    def __init__(self, occurred, severity, _type, note):
        self.occurred = occurred
        self.severity = severity
        self.type = _type
        self.note = note


class JobInfo:
    """A job-list record: raw values as ``_name`` attributes plus derived properties.

    Unset values default to "" (or 0.0 for times), as in flux-core.
    """

    defaults = {
        "t_depend": 0.0,
        "t_priority": 0.0,
        "t_sched": 0.0,
        "t_run": 0.0,
        "t_cleanup": 0.0,
        "t_inactive": 0.0,
        "duration": 0.0,
        "expiration": 0.0,
        "name": "",
        "cwd": "",
        "queue": "",
        "project": "",
        "bank": "",
        "ntasks": "",
        "ncores": "",
        "nnodes": "",
        "priority": "",
        "ranks": "",
        "nodelist": "",
        "success": "",
        "result": "",
        "waitstatus": "",
    }

    def __init__(self, info_resp):
        combined = dict(self.defaults)
        combined.update(info_resp)
        combined["id"] = JobID(combined["id"])
        combined["state_id"] = combined.pop("state", "")
        combined["result_id"] = combined.pop("result", "")
        combined["exception"] = ExceptionInfo(
            combined.get("exception_occurred", ""),
            combined.get("exception_severity", ""),
            combined.get("exception_type", ""),
            combined.get("exception_note", ""),
        )
        for key, value in combined.items():
            setattr(self, f"_{key}", value)

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        try:
            return object.__getattribute__(self, f"_{attr}")
        except AttributeError:
            raise AttributeError(f"invalid JobInfo attribute '{attr}'") from None

    @property
    def state(self):
        return statetostr(self._state_id)

    @property
    def result(self):
        return resulttostr(self._result_id)

    @property
    def runtime(self):
        if self._t_cleanup > 0 and self._t_run > 0:
            return self._t_cleanup - self._t_run
        if self._t_run > 0:
            return time.time() - self._t_run
        return 0.0

    @property
    def returncode(self):
        """The highest task exit code, -signal if killed, "" while the job is active."""
        status = self._waitstatus
        if not isinstance(status, int):
            if self._result_id == constants.FLUX_JOB_RESULT_CANCELED:
                return -128
            if self._result_id == constants.FLUX_JOB_RESULT_FAILED:
                return 1
            return ""
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status)
        return os.WEXITSTATUS(status)
