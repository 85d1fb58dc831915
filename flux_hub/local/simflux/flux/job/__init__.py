"""flux.job: submit, list, watch and cancel jobs of the simulated instance."""

from flux.eventlog import EventLogEvent
from flux.job import info, kvslookup, list
from flux.job.event import JobEventWatchFuture, event_watch, event_watch_async
from flux.job.JobID import JobID, id_encode, id_parse
from flux.job.Jobspec import Jobspec, JobspecV1
from flux.job.list import JobListIdRPC, JobListRPC, job_list, job_list_id
from flux.rpc import RPC

__all__ = [
    "EventLogEvent",
    "JobEventWatchFuture",
    "JobID",
    "JobListIdRPC",
    "JobListRPC",
    "Jobspec",
    "JobspecV1",
    "SubmitFuture",
    "cancel",
    "cancel_async",
    "event_watch",
    "event_watch_async",
    "id_encode",
    "id_parse",
    "info",
    "job_list",
    "job_list_id",
    "kvslookup",
    "list",
    "raise_job_exception",
    "submit",
    "submit_async",
]


class SubmitFuture(RPC):
    def get_id(self):
        return JobID(self.get()["id"])


def submit_async(flux_handle, jobspec, urgency=16, waitable=False, debug=False, **kwargs):
    """Submit a Jobspec (or its JSON); ``get_id()`` on the result gives the job id."""
    if isinstance(jobspec, Jobspec):
        jobspec = jobspec.dumps()
    elif isinstance(jobspec, bytes):
        jobspec = jobspec.decode("utf-8")
    return SubmitFuture(flux_handle, "job-ingest.submit", {"J": jobspec, "urgency": urgency})


def submit(flux_handle, jobspec, urgency=16, waitable=False, debug=False, **kwargs):
    return submit_async(flux_handle, jobspec, urgency).get_id()


def raise_job_exception(flux_handle, jobid, type, severity, note=None):
    payload = {"id": int(jobid), "type": type, "severity": severity, "note": note or ""}
    return RPC(flux_handle, "job-manager.raise", payload)


def cancel_async(flux_handle, jobid, reason=None):
    return raise_job_exception(flux_handle, jobid, "cancel", 0, reason)


def cancel(flux_handle, jobid, reason=None):
    """Cancel a job; OSError ENOENT "unknown job id" / "job is inactive" otherwise."""
    cancel_async(flux_handle, jobid, reason).get()
