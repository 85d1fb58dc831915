"""job-list queries: all jobs (``job_list``) or one job (``job_list_id``)."""

import os

from flux import constants
from flux.job.info import JobInfo
from flux.rpc import RPC


class JobListRPC(RPC):
    def get_jobs(self):
        return self.get()["jobs"]


class JobListIdRPC(RPC):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.jobid = None

    def get_job(self):
        return self.get()["job"]

    def get_jobinfo(self):
        return JobInfo(self.get_job())


def job_list(
    flux_handle,
    max_entries=1000,
    attrs=("all",),
    userid=os.getuid(),  # noqa: B008 - flux-core's default: the caller's own jobs
    states=0,
    results=0,
    since=0.0,
    name=None,
    queue=None,
    constraint=None,
):
    """Jobs matching the filters: pending, then running, then inactive (newest first)."""
    constraint = {"and": [] if constraint is None else [constraint]}
    if userid != constants.FLUX_USERID_UNKNOWN:
        constraint["and"].append({"userid": [userid]})
    if name:
        constraint["and"].append({"name": [name]})
    if queue:
        constraint["and"].append({"queue": [queue] if isinstance(queue, str) else list(queue)})
    if states and results:
        constraint["and"].append({"or": [{"states": [states]}, {"results": [results]}]})
    elif states:
        constraint["and"].append({"states": [states]})
    elif results:
        constraint["and"].append({"results": [results]})
    payload = {
        "max_entries": int(max_entries),
        "attrs": list(attrs),
        "since": since,
        "constraint": constraint,
    }
    return JobListRPC(flux_handle, "job-list.list", payload)


def job_list_id(flux_handle, jobid, attrs=("all",)):
    rpc = JobListIdRPC(flux_handle, "job-list.list-id", {"id": int(jobid), "attrs": list(attrs)})
    rpc.jobid = jobid
    return rpc
