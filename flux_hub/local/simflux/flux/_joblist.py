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
# Times job-list shows once the job has been in the state (the others: once they are set)
_ENTERED_TIMES = {
    state: key
    for state, key in STATE_TIMES.items()
    if key in ("t_depend", "t_run", "t_cleanup", "t_inactive")
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
    if requested == ["all"]:
        return ATTRS
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
    """The job's record: its id, then each of attrs it has in this state. A new dict every time,
    as a real RPC decodes one: callers change what they get (flux-restful does)."""
    values = _values(job)
    if attrs is ATTRS:
        return dict(values)
    result = {"id": job.id}
    for attr in attrs:
        if attr in values:
            result[attr] = values[attr]
    return result


def _values(job):
    """The job's record with every attribute, made once per state.

    The broker changes what a record shows only together with the job's state or its
    annotations, under its lock, and forgets the record then (Broker._set_state,
    Broker._annotate_estimate), so a listing of many jobs costs a dict copy each, as
    job-list's does (it keeps its records up to date as events arrive, rather than building
    them when asked).
    """
    if job.listed is not None:
        return job.listed
    mask = job.states_mask
    ran = mask & C.FLUX_JOB_STATE_RUN
    done = mask & C.FLUX_JOB_STATE_INACTIVE
    exc = job.exception if done else None
    times = job.times
    values = {
        "userid": job.userid,
        "urgency": job.urgency,
        "priority": job.priority if mask & C.FLUX_JOB_STATE_SCHED else _UNSET,
        "t_submit": times["t_submit"] or _UNSET,
        "t_priority": times["t_priority"] or _UNSET,
        "t_sched": times["t_sched"] or _UNSET,
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
        "exception_occurred": job.exception is not None if done else _UNSET,
        "exception_type": exc[0] if exc else _UNSET,
        "exception_severity": exc[1] if exc else _UNSET,
        "exception_note": exc[2] if exc else _UNSET,
        "result": job.result if done else _UNSET,
        "expiration": job.expiration if ran and job.expiration >= 0 else _UNSET,
        "annotations": job.annotations or _UNSET,
        "waitstatus": job.waitstatus if job.waitstatus >= 0 else _UNSET,
    }  # queue, project, bank, dependencies: never set here
    for state, key in _ENTERED_TIMES.items():
        values[key] = times[key] if mask & state else _UNSET
    job.listed = {"id": job.id}
    job.listed.update(
        (attr, values[attr]) for attr in ATTRS if values.get(attr, _UNSET) is not _UNSET
    )
    return job.listed


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
