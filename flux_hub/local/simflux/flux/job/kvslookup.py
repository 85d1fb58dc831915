"""Look up a job's KVS keys (jobspec, R, eventlog, guest.output) through job-info."""

import json

from flux.rpc import RPC


def job_info_lookup(flux_handle, jobid, keys=("jobspec",), flags=0):
    payload = {"id": int(jobid), "keys": list(keys), "flags": flags}
    return RPC(flux_handle, "job-info.lookup", payload)


def job_kvs_lookup(flux_handle, jobid, keys=("jobspec",), decode=True, original=False, base=False):
    """The job's values for keys (jobspec and R decoded from JSON), or None if it is unknown."""
    try:
        data = job_info_lookup(flux_handle, jobid, keys).get()
    except FileNotFoundError:
        return None
    if decode:
        for key in ("jobspec", "R"):
            if key in data:
                try:
                    data[key] = json.loads(data[key])
                except json.JSONDecodeError:
                    pass
    return data
