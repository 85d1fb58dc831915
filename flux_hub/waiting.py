"""Why a job waits, and when it should start: one answer for the reader, the panel and the CLI.

``why_waiting(job, resources=None, ahead=None, position=None)`` takes a job's record as
flux-restful gives it (``GET /v1/jobs/{id}``: ``state`` as a name, ``urgency``, ``priority``,
``ncores``, ``nnodes``, ``annotations``, ``dependencies``) and answers None for a job that does
not wait (running or ended), else::

    {"reason": "one sentence", "position": 3 | None, "ahead": 2 | None, "t_estimate": 1.7e9 | None}

What is known goes in; nothing is made up. ``resources`` is the cluster's
(``{"cores": {"up": n, "free": n, ...}, "nodes": {...}}``, the reader's snapshot): with it a job
waiting for the scheduler is told how many cores it asks for against how many are free.
``position`` (1 for the next to start) and ``ahead`` (waiting jobs before it, everyone's) come
from the reader, which sees the whole queue; a person's server without it leaves them None.
``t_estimate`` is the scheduler's own estimate (``annotations.sched.t_estimate``: sched-simple
gives it to the first jobs of the queue that have a time limit, Fluxion to its reservations);
the scheduler's own words (``annotations.sched.reason_pending``) are preferred when it has them.
"""

from flux_hub.jobstates import PENDING


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _sched(job):
    annotations = job.get("annotations")
    sched = annotations.get("sched") if isinstance(annotations, dict) else None
    return sched if isinstance(sched, dict) else {}


def _plural(count, word):
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def estimate(job):
    """The scheduler's estimated start (seconds since the epoch), or None."""
    value = _number(_sched(job).get("t_estimate"))
    return value if value is not None and value > 0 else None


def why_waiting(job, resources=None, ahead=None, position=None):
    """Why ``job`` waits (see the module); None when it is not waiting."""
    state = job.get("state")
    if state not in PENDING:
        return None
    sched = _sched(job)
    if ahead is None:
        ahead = _number(sched.get("jobs_ahead"))
        ahead = int(ahead) if ahead is not None and ahead >= 0 else None
    answer = {"reason": "", "position": position, "ahead": ahead, "t_estimate": estimate(job)}
    if state == "NEW":
        answer["reason"] = "Being submitted."
    elif state == "DEPEND":
        deps = job.get("dependencies")
        if isinstance(deps, list) and deps:
            answer["reason"] = f"Waiting for its dependencies: {', '.join(map(str, deps))}."
        else:
            answer["reason"] = "Waiting for the jobs it depends on."
    elif state == "PRIORITY":
        answer["reason"] = "Waiting for its priority to be set."
    elif _number(job.get("urgency")) == 0:
        answer["reason"] = "Held (urgency 0): it starts only once released."
    elif isinstance(sched.get("reason_pending"), str) and sched["reason_pending"].strip():
        answer["reason"] = sched["reason_pending"].strip().rstrip(".").capitalize() + "."
    else:
        answer["reason"] = _for_resources(job, resources, ahead)
    return answer


def _for_resources(job, resources, ahead):
    cores = _number(job.get("ncores"))
    pool = resources.get("cores") if isinstance(resources, dict) else None
    up = _number(pool.get("up")) if isinstance(pool, dict) else None
    free = _number(pool.get("free")) if isinstance(pool, dict) else None
    behind = f" behind {_plural(int(ahead), 'job')}" if ahead else ""
    if cores and up is not None and cores > up:
        return (
            f"It asks for {_plural(int(cores), 'core')}; the cluster has {int(up)} up: it cannot "
            "start until more nodes are up."
        )
    if cores and free is not None and cores > free:
        return (
            f"Waiting for resources{behind}: it asks for {_plural(int(cores), 'core')}, "
            f"{int(free)} free now."
        )
    if ahead:
        return f"Waiting{behind} in the queue."
    return "Waiting for the scheduler."
