"""A read-only look into the reader's ClusterState: one person's job by id.

The reader (flux_hub/reader/state.py) answers people their whole lists; the holder needs one job
at a time, and only if it is the person's. This stays here, beside its only user, so the reader
keeps no API it does not serve itself.
"""


def own_job(state, account, job_id):
    """The record of job ``job_id`` if the reader's ``state`` knows it as ``account``'s, else
    None (not read yet, purged, another's, or its owner unknown: ask flux-restful then)."""
    entry = state._jobs.get(job_id)  # (ClusterState's index by id; read, never changed)
    if entry is None or entry.owner is None or entry.owner != account:
        return None
    return entry.job
