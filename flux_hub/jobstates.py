"""Flux's job states as flux-hub groups them: the one list every front-end reads.

A job is *pending* from the moment it is submitted (NEW, while Flux takes it in) until the
scheduler starts it, *running* while it runs and cleans up, and *active* in either; INACTIVE is
the only state after it ends. `flux jobs`' own filters group them the same way.
"""

PENDING = ("NEW", "DEPEND", "PRIORITY", "SCHED")
RUNNING = ("RUN", "CLEANUP")
ACTIVE = PENDING + RUNNING
INACTIVE = "INACTIVE"


def is_active(job):
    """Whether ``job`` (a flux-restful record, state as a name) has not ended."""
    return job.get("state") in ACTIVE
