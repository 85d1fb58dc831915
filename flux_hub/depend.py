"""Dependencies between jobs, as ``flux submit --dependency`` writes them: ``afterok:ID``.

flux-restful has no dependency field, so flux-hub holds a job that depends on others itself: the
hub's holder (flux_hub/holds) keeps the request and submits it as its owner once the condition
holds. Every front-end (``flux-hub submit --dependency``, the notebook's ``dependency=``, the
person's server's ``POST jobs``, the hub's ``api/holds``) reads a dependency here, so the same
text gives the same conditions and the same mistake the same one-line message.

A dependency is ``KIND:ID[,ID...]`` (Flux's RFC 26 URI form, ``afterok:ƒ2Vj1dB9``), or a list of
such texts, or the API's list ``[{"kind": KIND, "id": ID}, ...]``. IDs are in any form Flux reads
(decimal, F58 ``ƒ...``). The kinds are Flux's:

- ``afterok``: run after the job completed successfully (its result COMPLETED, exit code 0);
- ``afterany``: run after the job ended, however;
- ``afternotok``: run after the job ended without success (failed, canceled, timed out).

``condition(kind, job)`` tells, from a job's record as flux-restful gives it, whether the
condition holds (True), cannot hold any more (False: the hold is never run) or is not known yet
(None: the job has not ended).
"""

from flux_hub import jobid

KINDS = ("afterok", "afterany", "afternotok")
# At most this many jobs one job may wait for (a typing mistake otherwise, and bounded work)
MAX_AFTER = 32


class DependencyError(ValueError):
    """A dependency that cannot be read; str() is one line saying why."""


def _kind(kind, text):
    if kind not in KINDS:
        raise DependencyError(
            f"{text!r} is not a dependency: write KIND:ID with KIND one of {', '.join(KINDS)}"
        )
    return kind


def _id(value, text):
    try:
        number = jobid.parse(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise DependencyError(f"{text!r} is not a dependency: {value!r} is not a job id")
    return number


def _from_text(text):
    kind, sep, ids = text.strip().partition(":")
    if not sep or not ids.strip():
        raise DependencyError(f"{text!r} is not a dependency: write KIND:ID, as afterok:ƒ2Vj1dB9")
    kind = _kind(kind.strip(), text)
    return [{"kind": kind, "id": _id(part.strip(), text)} for part in ids.split(",")]


def _from_item(item):
    if isinstance(item, str):
        return _from_text(item)
    if isinstance(item, dict) and set(item) == {"kind", "id"}:
        shown = f"{item.get('kind')}:{item.get('id')}"
        return [{"kind": _kind(item["kind"], shown), "id": _id(item["id"], shown)}]
    raise DependencyError(
        f'a dependency is a text KIND:ID or {{"kind": KIND, "id": ID}}, not {item!r}'[:300]
    )


def parse(value):
    """The conditions of a dependency: ``[{"kind", "id": int}, ...]`` in the order given,
    without repeats. DependencyError (one line) for anything else, or none at all."""
    items = [value] if isinstance(value, str | dict) else value
    if not isinstance(items, list | tuple) or not items:
        raise DependencyError("a dependency needs at least one job: afterok:ID")
    after = []
    for item in items:
        for condition in _from_item(item):
            if condition not in after:
                after.append(condition)
    if len(after) > MAX_AFTER:
        raise DependencyError(f"a job may wait for at most {MAX_AFTER} others, not {len(after)}")
    return after


def text(after):
    """The conditions as ``flux submit`` writes them: ``afterok:ƒ2Vj1dB9,afterany:ƒ...``."""
    return ",".join(f"{c['kind']}:{jobid.f58(c['id'])}" for c in after)


def condition(kind, job):
    """Whether ``kind`` holds for ``job`` (flux-restful's record: ``state``, ``result``):
    True, False (it never can: the hold is not to run) or None (the job has not ended)."""
    if job.get("state") != "INACTIVE":
        return None
    ok = job.get("result") == "COMPLETED"
    if kind == "afterany":
        return True
    return ok if kind == "afterok" else not ok


def why_never(kind, job_id, job):
    """The reason, for the person, that ``kind`` on ``job`` can no longer hold."""
    result = (job.get("result") or "ended").lower()
    if kind == "afterok":
        return f"job {jobid.f58(job_id)} did not succeed ({result}): afterok cannot hold"
    return f"job {jobid.f58(job_id)} succeeded: afternotok cannot hold"
