"""The simulated broker: one Flux instance shared by every handle in the process.

It answers RPCs for the job-ingest, job-manager, scheduler and resource services here, and for
job-list and job-info in ``flux._joblist`` and ``flux._jobinfo``. Every service runs under one
lock (``Broker.cond``); job shells (``flux._shell``) run the tasks in their own threads and
report back through the ``shell_*`` methods.
"""

import errno
import heapq
import json
import os
import pwd
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from flux import _jobinfo, _joblist
from flux import constants as C
from flux._shell import JobShell
from flux.eventlog import entry
from flux.job.Jobspec import JobspecV1

_RESULT_OF_EXCEPTION = {"cancel": C.FLUX_JOB_RESULT_CANCELED, "timeout": C.FLUX_JOB_RESULT_TIMEOUT}
# The scheduler holds at most this many pending jobs (job-manager sends sched-simple that many
# alloc requests at once, flux-core 0.88): only they get a sched.t_estimate
QUEUE_DEPTH = 8
# The RPCs about one job that flux-restful makes for each job it details or checks the owner of
PER_JOB_TOPICS = ("job-list.list-id", "job-info.lookup")
_instance = None

# FLUX_SIM_COSTS=flux-0.88: CPU seconds each RPC costs on top of what the simulation spends, so
# that flux-restful 1.1.0 in front of this instance costs what it costs in front of real Flux
# (flux-core 0.88, one worker). Calibrated against it with
# bench/flux_costs.py, which prints both side by side:
#   - job-list.list (GET /v1/jobs, and the start of every details listing): per record listed
#     (real: a 1000-job details page for the first user listed, 77 ms);
#   - job-list.list-id of the owner and job-info.lookup of the jobspec, the two RPCs
#     flux-restful spends on every job it walks past (real: 500 foreign jobs, ~350 ms more);
#   - job-list.list-id of all attributes, the lookup of the caller's own job (real: a listing
#     of one's own jobs 1.85 ms a job; GET /v1/jobs/{id} 5.6 ms with the request's own work).
# On real Flux about half of that is the server's CPU (decoding the answers) and half the
# broker's, another process: walking 300 foreign jobs took 144 ms of flux-restful's CPU and
# 149 ms of the broker's. So half of each cost is spent as CPU in the calling thread (the
# server: concurrent requests take turns for the interpreter), and half in a broker process
# of its own, one RPC at a time, while the server's other threads run: requests overlap as
# much as they do on real Flux, and the CPU a bench counts is in both processes.
SERVER_SHARE = 0.5
COST_MODELS = {
    "": {},
    "none": {},
    "flux-0.88": {
        ("job-list.list", "record"): 0.000060,
        ("job-list.list-id", "owner"): 0.000330,
        ("job-info.lookup", "owner"): 0.000330,
        ("job-list.list-id", "all"): 0.000900,
    },
}


def start_instance(nodes, cores_per_node, hostname=None):
    """Create this process's instance (once).

    ``hostname``: the prefix of the nodes' names, each followed by its rank ("vm0", "vm1"), as
    flux-hub's real-Flux test instance names them; default: this host's name, the same for all.
    """
    global _instance
    if _instance is not None:
        raise RuntimeError("the simulated Flux instance is already running")
    latency = _rpc_latency(os.environ.get("FLUX_SIM_RPC_LATENCY", ""))
    uptime = _uptime(os.environ.get("FLUX_SIM_UPTIME", ""))
    costs = _costs(os.environ.get("FLUX_SIM_COSTS", ""))
    _instance = Broker(nodes, cores_per_node, hostname, latency, uptime, costs)
    return _instance


def serve_instance(nodes, cores_per_node, hostname=None):
    """Start this process's instance for a server that runs in front of it (flux-restful, or
    the legacy flux-restful-api): say what it is on stderr, and end its jobs with the server
    on SIGTERM or SIGINT (uvicorn re-raises the signal after its graceful shutdown)."""
    broker = start_instance(nodes, cores_per_node, hostname)
    print(
        f"flux-hub: simulated Flux instance: {broker.size} nodes x {broker.cores_per_node} cores"
        f" named {broker.hostlist(range(broker.size))}",
        file=sys.stderr,
        flush=True,
    )

    def stop(signum, frame):
        broker.shutdown()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return broker


def _costs(text):
    """FLUX_SIM_COSTS: "flux-0.88" to make RPCs cost what real Flux's do (see COST_MODELS);
    default none, so that tests run fast. Benchmarks set it."""
    if text.strip() not in COST_MODELS:
        names = ", ".join(repr(name) for name in COST_MODELS if name)
        raise ValueError(f"FLUX_SIM_COSTS must be one of {names}, not {text!r}")
    return COST_MODELS[text.strip()]


def _uptime(text):
    """FLUX_SIM_UPTIME: seconds the instance has already been up when it starts (default 0).

    A job id is the milliseconds since the instance started, shifted left by 24 bits: an
    instance up for more than 2**29 ms (6.2 days) gives ids above 2**53, which JavaScript
    numbers cannot hold exactly. Long-lived real instances do; tests start here "old".
    """
    try:
        uptime = float(text or 0)
    except ValueError:
        uptime = -1.0
    if not 0 <= uptime < 2**40 / 1000:
        raise ValueError(f"FLUX_SIM_UPTIME must be seconds from 0 to 2**40 ms, not {text!r}")
    return uptime


def _rpc_latency(text):
    """FLUX_SIM_RPC_LATENCY: seconds each per-job RPC waits before it is answered (default 0).

    Only for benchmarks: this instance answers a per-job RPC in microseconds, a real one in
    about half a millisecond or more, so a listing that details each job costs far less here.
    Setting it gives flux-restful's per-job work a real instance's cost; the waits happen
    outside the broker's lock, as a real RPC waits for the broker without blocking it.
    """
    try:
        latency = float(text or 0)
    except ValueError:
        latency = -1.0
    if not 0 <= latency < 10:
        raise ValueError(f"FLUX_SIM_RPC_LATENCY must be seconds from 0 to 10, not {text!r}")
    return latency


def _spend(seconds):
    """Use the CPU for ``seconds`` in this thread, as a real RPC's decoding and the broker's work
    do: other threads of the server get the interpreter only in turn meanwhile."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


# The cost broker's loop: read seconds (8-byte floats), use that much CPU, answer one byte.
_COST_BROKER = """# flux-sim-cost-broker
import os, struct, time
while len(data := os.read(0, 8)) == 8:
    end = time.thread_time() + struct.unpack("d", data)[0]
    while time.thread_time() < end:
        pass
    os.write(1, b"k")
"""


class _CostBroker:
    """The broker's half of the RPCs' costs, in a process of its own (as real Flux's broker)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _COST_BROKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )

    def spend(self, seconds):
        if seconds <= 0:
            return
        with self._lock:  # one RPC at a time, as one broker answers them
            self._process.stdin.write(struct.pack("d", seconds))
            self._process.stdout.read(1)

    def close(self):
        self._process.stdin.close()
        self._process.wait(5)


def instance():
    if _instance is None:
        raise OSError(errno.ENOENT, "no simulated Flux instance runs in this process")
    return _instance


def encode_idset(ids, brackets=False):
    """Flux's idset text: "0-3,5"; with brackets "[0-1]" when there is more than one id."""
    ids = sorted(ids)
    ranges = []
    for i in ids:
        if ranges and ranges[-1][1] == i - 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    text = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
    return f"[{text}]" if brackets and len(ids) > 1 else text


def _job_name(arg0):
    # The basename of the command, as job-list names a job without attributes.system.job.name
    base = arg0.rsplit("/", 1)[-1]
    return base or arg0


def _request(spec):
    """What the job asks the scheduler for; ValueError for shapes this simulation cannot run."""
    resources, tasks = spec["resources"], spec["tasks"]
    if len(resources) != 1 or len(tasks) != 1:
        raise ValueError("the simulated Flux instance runs jobspecs with one resource and one task")
    top, nnodes, exclusive = resources[0], 0, False
    if top["type"] == "node":
        nnodes, exclusive = top["count"], bool(top.get("exclusive"))
        if len(top.get("with", [])) != 1:
            raise ValueError("a node resource must hold exactly one slot")
        top = top["with"][0]
    if top["type"] != "slot":
        raise ValueError("the simulated Flux instance schedules slots, or nodes holding slots")
    counts = {"core": 0, "gpu": 0}
    for child in top.get("with", []):
        if child["type"] not in counts:
            raise ValueError(f"the simulated Flux instance has no {child['type']} resources")
        counts[child["type"]] = child["count"]
    if counts["core"] < 1:
        raise ValueError("a slot must hold at least one core")
    nslots = top["count"] * max(nnodes, 1)
    count = tasks[0]["count"]
    return {
        "nnodes": nnodes,
        "exclusive": exclusive,
        "slots": top["count"],
        "cores": counts["core"],
        "gpus": counts["gpu"],
        "ntasks": count.get("total", nslots * count.get("per_slot", 1)),
        "ncores": -1 if nnodes and exclusive else nslots * counts["core"],
    }


# Accounts below this uid are the system's own: a job never runs as one (flux-restful's
# FLUX_MIN_UID default, and flux-imp's rule)
MIN_UID = 1000


def _system_account(name):
    """The pwd record of the Unix account a job of ``name`` runs as, or None if there is none."""
    if not isinstance(name, str) or not name:
        return None
    try:
        record = pwd.getpwnam(name)
    except KeyError:
        return None
    return record if record.pw_uid >= MIN_UID else None


class Job:
    def __init__(self, jobid, spec, request, userid, urgency):
        system = spec["attributes"]["system"]
        self.id = jobid
        self.spec = spec
        self.jobspec_json = json.dumps(spec, ensure_ascii=False)
        self.request = request
        self.userid = userid
        self.urgency = self.priority = urgency
        self.state = self.states_mask = C.FLUX_JOB_STATE_NEW
        self.times = dict.fromkeys(["t_submit", *_joblist.STATE_TIMES.values()], 0.0)
        self.name = system.get("job", {}).get("name") or _job_name(spec["tasks"][0]["command"][0])
        self.cwd = system.get("cwd")
        self.duration = float(system["duration"])
        self.ntasks = request["ntasks"]
        self.ncores = request["ncores"]
        self.nnodes = request["nnodes"] or -1
        self.alloc = None  # {rank: [core, ...]} once allocated
        self.ranks = self.nodelist = self.R = self.annotations = None
        self.expiration = -1.0
        self.exception = None  # (type, severity, note) of the first fatal exception
        self.waitstatus = -1
        self.result = 0
        self.eventlog = []  # the main eventlog
        self.output = None  # the guest.output eventlog, once the job shell has started
        self.shell = None
        self.owner = None  # multi-user: the pwd record of the Unix account the tasks run as
        # job-list's record of the job in its current state (_joblist makes it when first asked)
        self.listed = None


class Broker:
    def __init__(self, nodes, cores_per_node, hostname, rpc_latency=0.0, uptime=0.0, costs=None):
        if nodes < 1 or cores_per_node < 1:
            raise ValueError("a simulated instance needs at least one node with one core")
        self.size = nodes
        self.cores_per_node = cores_per_node
        # Named nodes (prefix + rank), or, without a prefix, this host's name for every rank
        self.host_prefix = hostname
        self.hostnames = (
            [f"{hostname}{rank}" for rank in range(nodes)]
            if hostname
            else [socket.gethostname()] * nodes
        )
        self.rpc_latency = rpc_latency
        self.costs = dict(costs or {})
        self._cost_broker = _CostBroker() if self.costs else None
        self._oversleep = 0.0  # how much longer than asked time.sleep() has been sleeping
        self.userid = os.getuid()
        # Multi-user (FLUX_SIM_MULTIUSER=1, a server run as root): each job's tasks run as the
        # Unix account its submitter is named after, as multi-user Flux runs them (flux-imp)
        self.multiuser = os.environ.get("FLUX_SIM_MULTIUSER") == "1" and self.userid == 0
        self.cond = threading.Condition()
        self.jobs = {}
        self.pending = []  # in scheduling order
        self.holding = {}  # job id -> job, for the jobs that hold cores (allocated, not freed)
        self.estimated = set()  # ids of the pending jobs annotated with sched.t_estimate
        self.free = {rank: set(range(cores_per_node)) for rank in range(nodes)}
        self._epoch = time.time() - uptime
        self._last_ms = -1
        self._seq = 0
        self._services = {
            "job-ingest.submit": self._submit,
            "job-manager.raise": self._raise_request,
            "job-list.list": lambda payload: _joblist.list_jobs(self.jobs.values(), payload),
            "job-list.list-id": lambda payload: _joblist.list_id(self.jobs, payload),
            "job-info.lookup": lambda payload: _jobinfo.lookup(self.jobs, payload),
            "resource.sched-status": self._sched_status,
        }

    def hostlist(self, ranks):
        """The ranks' host names as Flux writes a hostlist: "vm[0-1]" ("vm,vm" unnamed)."""
        ranks = sorted(ranks)
        if self.host_prefix:
            return self.host_prefix + encode_idset(ranks, brackets=True)
        return ",".join(self.hostnames[r] for r in ranks)

    def attr_get(self, name):
        attrs = {
            "size": str(self.size),
            "rank": "0",
            "hostlist": self.hostlist(range(self.size)),
        }
        if name not in attrs:
            raise OSError(errno.ENOENT, f"unknown broker attribute {name}")
        return attrs[name]

    def call(self, topic, payload):
        """Answer one RPC: a JSON-able dict, or OSError as the Flux service would fail."""
        service = self._services.get(topic)
        if service is None:
            raise OSError(errno.ENOSYS, f"the simulated instance has no {topic} service")
        if self.rpc_latency and topic in PER_JOB_TOPICS:
            self._wait(self.rpc_latency)
        with self.cond:
            answer = service(payload)
        if self.costs:
            cost = self._cost(topic, payload, answer)
            _spend(cost * SERVER_SHARE)
            self._cost_broker.spend(cost * (1 - SERVER_SHARE))
        return answer

    def _cost(self, topic, payload, answer):
        if topic == "job-list.list":
            return self.costs.get((topic, "record"), 0.0) * len(answer["jobs"])
        if topic == "job-list.list-id":
            kind = "all" if "all" in payload.get("attrs", ()) else "owner"
            return self.costs.get((topic, kind), 0.0)
        return self.costs.get((topic, "owner"), 0.0)

    def _wait(self, seconds):
        """Sleep ``seconds`` on average: a short sleep overruns by a good part of itself, so
        each sleep is cut by the overrun seen so far."""
        started = time.perf_counter()
        time.sleep(max(0.0, seconds - self._oversleep))
        overrun = time.perf_counter() - started - seconds
        self._oversleep = max(0.0, self._oversleep + overrun / 8)

    def watch(self, jobid, path):
        with self.cond:
            return _jobinfo.EventlogWatch(self.cond, self.jobs, jobid, path)

    def shutdown(self):
        """Kill every task of every running job (the server is going away)."""
        with self.cond:
            shells = [job.shell for job in self.jobs.values() if job.shell is not None]
        for shell in shells:
            shell.kill(signal.SIGKILL)
        if self._cost_broker is not None:
            self._cost_broker.close()

    # -- job shells report here ------------------------------------------------------------
    def shell_started(self, job, header):
        with self.cond:
            self._event(job, "start")
            job.output = [header]
            self.cond.notify_all()

    def shell_output(self, job, line):
        with self.cond:
            job.output.append(line)
            self.cond.notify_all()

    def shell_exception(self, job, type_, note):
        with self.cond:
            if job.state != C.FLUX_JOB_STATE_INACTIVE:
                self._raise(job, type_, 0, note)

    def shell_finished(self, job, waitstatus):
        with self.cond:
            job.waitstatus = waitstatus
            self._event(job, "finish", {"status": waitstatus})
            if job.state == C.FLUX_JOB_STATE_RUN:
                self._set_state(job, C.FLUX_JOB_STATE_CLEANUP)
            self._event(job, "release", {"ranks": "all", "final": True})
            for rank, cores in job.alloc.items():
                self.free[rank].update(cores)
            self.holding.pop(job.id, None)
            self._event(job, "free")
            self._end(job)
            self._schedule()

    # -- services (self.cond held) ---------------------------------------------------------
    def _submit(self, payload):
        try:
            spec = json.loads(payload["J"])
            JobspecV1(**spec)
            request = _request(spec)
        except (TypeError, ValueError, KeyError) as error:
            raise OSError(errno.EINVAL, str(error)) from None
        urgency = payload.get("urgency", C.FLUX_JOB_URGENCY_DEFAULT)
        if not isinstance(urgency, int) or not 0 <= urgency <= 31:
            raise OSError(errno.EINVAL, "urgency must be an integer from 0 to 31")
        job = Job(self._new_id(), spec, request, self.userid, urgency)
        if self.multiuser:
            job.owner = _system_account(spec["attributes"]["system"].get("user"))
        self.jobs[job.id] = job
        job.times["t_submit"] = time.time()
        self._event(
            job, "submit", {"userid": job.userid, "urgency": urgency, "flags": 0, "version": 1}
        )
        self._event(job, "validate")
        self._set_state(job, C.FLUX_JOB_STATE_DEPEND)
        self._event(job, "depend")
        self._set_state(job, C.FLUX_JOB_STATE_PRIORITY)
        self._event(job, "priority", {"priority": job.priority})
        self._set_state(job, C.FLUX_JOB_STATE_SCHED)
        self.pending.append(job)
        self.pending.sort(key=lambda j: (-j.priority, j.id))
        self._schedule()
        return {"id": job.id}

    def _raise_request(self, payload):
        job = self.jobs.get(payload.get("id"))
        if job is None:
            raise OSError(errno.ENOENT, "unknown job id")
        if job.state == C.FLUX_JOB_STATE_INACTIVE:
            raise OSError(errno.ENOENT, "job is inactive")
        if not isinstance(payload.get("type"), str) or not isinstance(payload.get("severity"), int):
            raise OSError(errno.EPROTO, "an exception needs a type and a severity")
        self._raise(job, payload["type"], payload["severity"], payload.get("note") or "")
        return {}

    def _sched_status(self, payload):
        def entries(cores_of):
            return [
                {"rank": r, "host": self.hostnames[r], "cores": sorted(cores_of(r))}
                for r in range(self.size)
            ]

        every = set(range(self.cores_per_node))
        return {
            "all": entries(lambda r: every),
            "up": entries(lambda r: every),
            "down": [],
            "allocated": entries(lambda r: every - self.free[r]),
            "free": entries(lambda r: self.free[r]),
        }

    # -- job-manager and scheduler ---------------------------------------------------------
    def _new_id(self):
        # A FLUID: ms since the instance started (40 bits), generator id 0, sequence (10 bits)
        ms = max(int((time.time() - self._epoch) * 1000), self._last_ms)
        if ms == self._last_ms:
            self._seq += 1
            if self._seq == 1024:
                ms, self._seq = ms + 1, 0
        else:
            self._seq = 0
        self._last_ms = ms
        return (ms << 24) | self._seq

    def _event(self, job, name, context=None):
        job.eventlog.append(entry(time.time(), name, context))
        self.cond.notify_all()

    def _set_state(self, job, state):
        # Every value job-list shows is changed before, or with, a change of state (under
        # self.cond), so its record is made again from here on.
        job.listed = None
        job.state = state
        job.states_mask |= state
        key = _joblist.STATE_TIMES[state]
        # PRIORITY and SCHED may be entered again; their times are the first entry's
        if not (job.times[key] and key in ("t_priority", "t_sched")):
            job.times[key] = time.time()
        self.cond.notify_all()

    def _raise(self, job, type_, severity, note, reschedule=True):
        self._event(
            job,
            "exception",
            {"type": type_, "severity": severity, "userid": self.userid, "note": note},
        )
        if severity != 0:
            return
        if job.exception is None:
            job.exception = (type_, severity, note)
        if job.state & C.FLUX_JOB_STATE_PENDING:
            self.pending.remove(job)
            self._set_state(job, C.FLUX_JOB_STATE_CLEANUP)
            self._end(job)
            if reschedule:
                self._schedule()
        elif job.state == C.FLUX_JOB_STATE_RUN:
            self._set_state(job, C.FLUX_JOB_STATE_CLEANUP)
            job.shell.terminate(type_)

    def _end(self, job):
        if job.exception is not None:
            job.result = _RESULT_OF_EXCEPTION.get(job.exception[0], C.FLUX_JOB_RESULT_FAILED)
        elif job.waitstatus == 0:
            job.result = C.FLUX_JOB_RESULT_COMPLETED
        else:
            job.result = C.FLUX_JOB_RESULT_FAILED
        self._event(job, "clean")
        self._set_state(job, C.FLUX_JOB_STATE_INACTIVE)

    def _schedule(self):
        """First come, first served: allocate from the head of the queue until one does not fit;
        then tell the jobs that wait when they should start (_forecast)."""
        while self.pending:
            job = self.pending[0]
            try:
                alloc = self._allocate(job.request)
            except ValueError as error:
                self._raise(job, "alloc", 0, str(error), reschedule=False)
                continue
            if alloc is None:
                break
            self.pending.pop(0)
            self._start(job, alloc)
        self._forecast()

    def _forecast(self):
        """Annotate the first QUEUE_DEPTH pending jobs with ``sched.t_estimate`` as sched-simple
        does on flux-core 0.88 (sched-fifo.py's forecast, measured there too).

        The queue is walked in order on a copy of the cores: a job that does not fit now is
        started, in the copy, at the next end (expiration) of a job holding cores, and never
        before the job ahead of it (no backfill); its estimate is that time, or now if sooner.
        A job with no time limit gets its estimate, but the jobs behind it none (its end is not
        known), nor do any once no end is known (jobs without time limits hold the cores); a
        job that can never fit gets none and is skipped. A job that starts loses its estimate.
        """
        queue = self.pending[:QUEUE_DEPTH]
        now = time.time()
        free = {rank: set(cores) for rank, cores in self.free.items()}
        ends = [(job.expiration, job.id, job.alloc) for job in self.holding.values()]
        ends = [end for end in ends if end[0] > 0]
        heapq.heapify(ends)
        floor, chain, estimates = 0.0, True, {}
        for job in queue:
            if not chain:
                estimates[job.id] = None
                continue
            try:
                start = self._start_in(job.request, free, ends, floor)
            except ValueError:
                estimates[job.id] = None
                continue
            if start is None:
                estimates[job.id] = None
                chain = False
                continue
            when, alloc = start
            estimates[job.id] = max(when, now)
            if job.duration > 0:
                heapq.heappush(ends, (when + job.duration, job.id, alloc))
                floor = when
            else:
                chain = False
        for jobid in self.estimated - set(estimates):
            estimates[jobid] = None  # started, ended, or no longer among the first
        for jobid, estimate in estimates.items():
            self._annotate_estimate(self.jobs[jobid], estimate)

    def _start_in(self, req, free, ends, floor):
        """(when, cores) the request gets ``free`` cores, not before ``floor``, as the jobs of
        ``ends`` (a heap of (end, id, cores)) end; None if they never free enough. Takes the
        cores from ``free``; ValueError if the request can never fit."""
        when = floor
        while (alloc := self._allocate(req, free)) is None:
            if not ends:
                return None
            when = ends[0][0]
            while ends and ends[0][0] <= when:
                self._give_back(free, heapq.heappop(ends)[2])
        for rank, cores in alloc.items():
            free[rank].difference_update(cores)
        return when, alloc

    @staticmethod
    def _give_back(free, alloc):
        for rank, cores in alloc.items():
            free[rank].update(cores)

    def _annotate_estimate(self, job, estimate):
        """Set (or clear, for None) the job's sched.t_estimate, as job-list shows it."""
        if estimate is None:
            self.estimated.discard(job.id)
        else:
            self.estimated.add(job.id)
        annotations = job.annotations or {}
        sched = dict(annotations.get("sched") or {})
        if sched.get("t_estimate") == estimate:
            return
        if estimate is None:
            sched.pop("t_estimate")
        else:
            sched["t_estimate"] = estimate
        annotations = {key: value for key, value in annotations.items() if key != "sched"}
        if sched:
            annotations["sched"] = sched
        job.annotations = annotations or None
        job.listed = None  # job-list's record shows annotations at once, in any state

    def _allocate(self, req, free=None):
        """Cores per rank for the request from ``free`` (default: the instance's free cores),
        None if they are busy, ValueError if they never fit.

        The ValueError's text is real Flux's exception note (flux-core 0.88, sched-simple).
        """
        free = self.free if free is None else free
        if req["gpus"]:
            raise ValueError(
                f"unsatisfiable request: need {req['slots']} slot(s) with {req['gpus']} GPU(s) "
                "each, only 0 available (total GPUs: 0)"
            )
        ranks = sorted(free)
        if req["nnodes"]:
            need = self.cores_per_node if req["exclusive"] else req["slots"] * req["cores"]
            if req["nnodes"] > self.size:
                raise ValueError(
                    f"unsatisfiable request: need {req['nnodes']} exclusive node(s), "
                    f"only {self.size} eligible"
                )
            if need > self.cores_per_node:
                raise ValueError(
                    f"unsatisfiable request: need {req['nnodes']} node(s) with {need} cores "
                    "each, only 0 eligible"
                )
            fits = [r for r in ranks if len(free[r]) >= need][: req["nnodes"]]
            if len(fits) < req["nnodes"]:
                return None
            return {r: sorted(free[r])[:need] for r in fits}
        per_rank = self.cores_per_node // req["cores"]
        if per_rank * self.size < req["slots"]:
            raise ValueError(
                f"unsatisfiable request: need {req['slots']} slot(s) of {req['cores']} core(s), "
                f"only {per_rank * self.size} such slot(s) available "
                f"(total cores: {self.cores_per_node * self.size})"
            )
        alloc, remaining = {}, req["slots"]
        for r in ranks:
            fit = min(remaining, len(free[r]) // req["cores"])
            if fit:
                alloc[r] = sorted(free[r])[: fit * req["cores"]]
                remaining -= fit
            if not remaining:
                return alloc
        return None

    def _start(self, job, alloc):
        now = time.time()
        for rank, cores in alloc.items():
            self.free[rank].difference_update(cores)
        job.alloc = alloc
        self.holding[job.id] = job
        job.expiration = now + job.duration if job.duration > 0 else 0.0
        groups = {}
        for rank, cores in alloc.items():
            groups.setdefault(tuple(cores), []).append(rank)
        job.R = {
            "version": 1,
            "execution": {
                "R_lite": [
                    {"rank": encode_idset(ranks), "children": {"core": encode_idset(cores)}}
                    for cores, ranks in groups.items()
                ],
                "starttime": now,
                "expiration": job.expiration,
                "nodelist": [self.hostlist(alloc)],
            },
        }
        summary = " ".join(
            f"rank{encode_idset(ranks, True)}/core{encode_idset(cores, True)}"
            for cores, ranks in groups.items()
        )
        job.annotations = {"sched": {"resource_summary": summary}}
        job.nnodes = len(alloc)
        job.ncores = sum(len(cores) for cores in alloc.values())
        job.ranks = encode_idset(alloc, brackets=True)
        job.nodelist = self.hostlist(alloc)
        self._event(job, "alloc", {"annotations": job.annotations})
        self._set_state(job, C.FLUX_JOB_STATE_RUN)
        job.shell = JobShell(self, job)
        job.shell.start()
