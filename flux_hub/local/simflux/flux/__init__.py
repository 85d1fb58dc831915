"""A simulated Flux instance behind the part of the ``flux`` Python bindings flux-restful calls.

flux-core cannot be installed from PyPI, so the local MiniCluster runs flux-restful 1.1.0 with
this package in place of the real bindings (flux_hub.local.simserve puts it on ``sys.path`` of
the server process only; no job and no other process can import it). It imitates Flux as
flux-restful sees it; the contract is still the flux-restful HTTP API on a real instance.

What it does, from what it really ran (no canned data):

- one in-process broker (``flux._broker``) shared by every handle and thread, with N nodes x C
  cores on this host, named as flux-hub's real-Flux test instance names its brokers (this host's
  short name and the rank: ``vm0``, ``vm1``; a job's nodelist ``vm[0-1]``);
- job ids are 64-bit FLUIDs; ``JobID`` reads decimal, hex, dothex, kvs and F58 (``ƒ``/``f``);
- submit -> DEPEND -> PRIORITY -> SCHED -> RUN -> CLEANUP -> INACTIVE with the t_* times,
  urgency/priority 16, the submitter's uid, the jobspec's ``attributes.system.user``;
- first-come-first-served scheduling without backfill: a job that does not fit the free cores
  waits in SCHED and holds back the jobs behind it; a request larger than the instance is denied
  (exception "alloc", FAILED, with sched-simple's note: "unsatisfiable request: need 9 slot(s) of
  1 core(s), only 8 such slot(s) available (total cores: 8)");
- each task is a real local process (num_tasks of them) in its own session and process group,
  in the jobspec's cwd (else the instance's working directory, the server's, as real Flux; a
  missing cwd logs an error and uses /tmp, as the job shell does), with exactly the jobspec
  environment plus FLUX_JOB_ID, FLUX_JOB_SIZE, FLUX_JOB_NNODES, FLUX_TASK_RANK and
  FLUX_TASK_LOCAL_ID;
- with ``FLUX_SIM_MULTIUSER=1`` in a server run as root, each job's tasks run as the Unix account
  named by its jobspec's ``attributes.system.user`` (uid, gid, groups, HOME, USER, LOGNAME), as
  multi-user Flux runs jobs as their owners: no cwd means "/", a cwd the owner may not enter is
  replaced by /tmp, and a job of a name with no account (or a system one, uid < 1000) fails to
  start; the records still show the instance owner's uid (flux-restful stays in single-user mode,
  where the owner is that jobspec attribute);
- stdout and stderr are line-buffered into the job's ``guest.output`` eventlog (header, one
  "data" entry per line, "eof"), readable at once with ``job_kvs_lookup`` and live with
  ``event_watch_async``; output past ``output.limit`` (default 10M per stream) is dropped;
- results: COMPLETED; FAILED with the highest task exit code (waitstatus = code << 8, a task
  killed by signal S counts as 128+S); a command that cannot start -> FAILED 127 (126 if not
  executable) with exception "exec"; cancel -> exception "cancel", SIGTERM then SIGKILL after 5 s
  (CANCELED, 143; -15 when it comes before the tasks started: the job shell itself ends);
  duration exceeded -> exception "timeout", SIGALRM then SIGKILL (TIMEOUT, 142);
- job-list: pending jobs by priority then id, then running jobs (newest start first), then
  inactive jobs (newest end first), at most max_entries (1000); the record keys appear in each
  state as job-list returns them; annotations sched.resource_summary after allocation;
- sched-simple's estimates (flux-core 0.88): the first 8 pending jobs get
  ``sched.t_estimate``, the time the cores they need are freed by the time limits of the jobs
  holding them and of those ahead (none past a job without a time limit; see
  Broker._forecast);
- for benchmarks only, ``FLUX_SIM_RPC_LATENCY`` (seconds, default 0) in the server's environment
  makes each per-job RPC (job-list.list-id, job-info.lookup) wait that long, as on a real
  instance, where they cost far more than here;
- for benchmarks only, ``FLUX_SIM_COSTS=flux-0.88`` makes RPCs cost what real Flux's cost
  flux-restful 1.1.0 (per record listed, per job walked past, per own job looked up; half as CPU
  in the server, half in a broker process; calibrated by bench/flux_costs.py), so a bench on
  this instance predicts one on real Flux;
- ``FLUX_SIM_UPTIME`` (seconds, default 0) starts the instance as one already up that long: job
  ids count milliseconds since the start, so after 6.2 days they pass 2**53, as real long-lived
  instances' ids do (the test suite's clusters start 30 days old).

What it does NOT simulate:

- multi-user mode as Flux has it: without ``FLUX_SIM_MULTIUSER=1`` (above) jobs run as the
  server's uid, and with it the tasks change accounts but there is still no IMP, no signed
  jobspecs, no ``flux python`` for the multi-user submit helper, and the records keep the
  instance owner's uid;
- a broker socket: there is no FLUX_URI, so jobs and launchers (nextflow, snakemake) cannot
  talk to the instance, and nothing outside the server process can reach it;
- real nodes: all ranks are this host, cores are counted but not bound (no affinity, no cgroups),
  there are no GPUs, memory or properties;
- PMI, MPI bootstrap, job shell plugins and options other than ``output.limit``, stdin, output
  redirection to files, rlimits, mustache templates;
- dependencies, queues, banks, urgency changes, holds, jobspec updates, job-manager plugins,
  priority plugins other than priority = urgency, job purging, persistence across restarts,
  flux-accounting, and the mnemonic/emoji job id encodings.
"""

from flux import constants, job, resource
from flux._broker import instance
from flux.rpc import RPC


class Flux:
    """A handle to the simulated instance (any number per process, all the same broker)."""

    def __init__(self, url=None, flags=0):
        self.broker = instance()

    def attr_get(self, name):
        return self.broker.attr_get(name)

    def rpc(self, topic, payload=None, nodeid=0, flags=0):
        return RPC(self, topic, payload, nodeid, flags)

    def close(self):
        self.broker = None


__all__ = ["Flux", "constants", "job", "resource"]
