"""The job-list service of the simulated broker: job records and listings.

A record holds the attributes job-list would return for the job in its current state:
a value that does not exist yet (t_run of a pending job, the result of a running job) is
left out, exactly as job-list leaves it out.
"""

import errno
from itertools import chain

from flux import constants as C

# job-list's attributes, in the order it returns them for "all"
ATTRS = tuple(
    """
    userid urgency priority t_submit t_depend t_priority t_sched t_run t_cleanup t_inactive
    state name cwd queue project bank ntasks ncores duration nnodes ranks nodelist success
    exception_occurred exception_type exception_severity exception_note result expiration
    annotations waitstatus dependencies
    """.split()
)
STATE_TIMES = {
    C.FLUX_JOB_STATE_DEPEND: "t_depend",
    C.FLUX_JOB_STATE_PRIORITY: "t_priority",
    C.FLUX_JOB_STATE_SCHED: "t_sched",
    C.FLUX_JOB_STATE_RUN: "t_run",
    C.FLUX_JOB_STATE_CLEANUP: "t_cleanup",
    C.FLUX_JOB_STATE_INACTIVE: "t_inactive",
}
_UNSET = object()


def list_jobs(jobs, payload):
    """job-list.list: pending (priority, then id), running (newest start first), inactive
    (newest end first) jobs that match the constraint, at most max_entries of them."""
    attrs = _expand(payload.get("attrs", []))
    max_entries = payload.get("max_entries", 1000)
    since = payload.get("since", 0.0)
    constraint = payload.get("constraint") or {}
    pending = sorted(
        (j for j in jobs if j.state & C.FLUX_JOB_STATE_PENDING), key=lambda j: (-j.priority, j.id)
    )
    running = sorted(
        (j for j in jobs if j.state & C.FLUX_JOB_STATE_RUNNING), key=lambda j: -j.times["t_run"]
    )
    inactive = sorted(
        (j for j in jobs if j.state == C.FLUX_JOB_STATE_INACTIVE and j.times["t_inactive"] > since),
        key=lambda j: (-j.times["t_inactive"], -j.id),
    )
    found = []
    for job in chain(pending, running, inactive):
        if max_entries and len(found) >= max_entries:
            break
        if _match(job, constraint):
            found.append(record(job, attrs))
    return {"jobs": found}


def list_id(jobs, payload):
    """job-list.list-id: one job's record."""
    job = jobs.get(payload.get("id"))
    if job is None:
        raise OSError(errno.ENOENT, "JobID not found")
    return {"job": record(job, _expand(payload.get("attrs", [])))}


def _expand(requested):
    attrs = []
    for attr in requested:
        if attr == "all":
            attrs.extend(ATTRS)
        elif attr in ATTRS:
            attrs.append(attr)
        else:
            raise OSError(errno.EINVAL, f"{attr} is not a valid attribute")
    return attrs


def record(job, attrs):
    result = {"id": job.id}
    for attr in attrs:
        value = _attr(job, attr)
        if value is not _UNSET:
            result[attr] = value
    return result


def _attr(job, attr):
    """A job-list attribute, or _UNSET where job-list leaves it out in this state."""
    mask = job.states_mask
    ran = mask & C.FLUX_JOB_STATE_RUN
    done = mask & C.FLUX_JOB_STATE_INACTIVE
    exc = job.exception
    if attr in ("t_submit", "t_priority", "t_sched"):
        return job.times[attr] or _UNSET
    if attr in ("t_depend", "t_run", "t_cleanup", "t_inactive"):
        state = next(s for s, key in STATE_TIMES.items() if key == attr)
        return job.times[attr] if mask & state else _UNSET
    values = {
        "userid": job.userid,
        "urgency": job.urgency,
        "priority": job.priority if mask & C.FLUX_JOB_STATE_SCHED else _UNSET,
        "state": job.state,
        "name": job.name,
        "cwd": job.cwd if job.cwd is not None else _UNSET,
        "ntasks": job.ntasks,
        "ncores": job.ncores if job.ncores >= 0 else _UNSET,
        "duration": job.duration,
        "nnodes": job.nnodes if job.nnodes >= 0 else _UNSET,
        "ranks": job.ranks if ran and job.ranks else _UNSET,
        "nodelist": job.nodelist if ran and job.nodelist else _UNSET,
        "success": job.result == C.FLUX_JOB_RESULT_COMPLETED if done else _UNSET,
        "exception_occurred": exc is not None if done else _UNSET,
        "exception_type": exc[0] if done and exc else _UNSET,
        "exception_severity": exc[1] if done and exc else _UNSET,
        "exception_note": exc[2] if done and exc else _UNSET,
        "result": job.result if done else _UNSET,
        "expiration": job.expiration if ran and job.expiration >= 0 else _UNSET,
        "annotations": job.annotations or _UNSET,
        "waitstatus": job.waitstatus if job.waitstatus >= 0 else _UNSET,
    }
    return values.get(attr, _UNSET)  # queue, project, bank, dependencies: never set here


def _match(job, constraint):
    """RFC 31 job constraints as job-list applies them."""
    for op, args in constraint.items():
        if op == "and":
            ok = all(_match(job, c) for c in args)
        elif op == "or":
            ok = any(_match(job, c) for c in args)
        elif op == "not":
            ok = not all(_match(job, c) for c in args)
        elif op == "userid":
            ok = job.userid in args or C.FLUX_USERID_UNKNOWN in args
        elif op == "states":
            ok = any(job.state & s for s in args)
        elif op == "results":
            ok = job.state == C.FLUX_JOB_STATE_INACTIVE and any(job.result & r for r in args)
        elif op == "name":
            ok = job.name in args
        elif op == "queue":
            ok = False  # this instance has no queues
        else:
            raise OSError(errno.EINVAL, f"unknown constraint operator: {op}")
        if not ok:
            return False
    return True
