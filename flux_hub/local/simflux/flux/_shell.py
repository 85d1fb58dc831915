"""The job shell of the simulated instance: runs one job's tasks as local processes.

Each task gets its own session (so its own process group, which signals reach as a whole),
the jobspec's environment and working directory. In multi-user mode each task becomes the job's
owner first and then enters the working directory, as real Flux's job shell does once the IMP
has made it the owner: the directory is reached with the owner's permissions only. Its stdout
and stderr are read line by line into the job's guest.output eventlog. The shell enforces the
job's expiration (SIGALRM, then SIGKILL after the kill timeout) and kills the tasks when the job
manager says so.
"""

import base64
import errno
import os
import selectors
import signal
import stat
import subprocess
import threading
import time
import traceback

from flux.eventlog import entry
from flux.job.JobID import JobID

KILL_TIMEOUT = 5.0  # job-exec's default: SIGKILL this long after the first signal
DEFAULT_OUTPUT_LIMIT = "10M"
MAX_CHUNK = 65536  # a line longer than this is passed on in pieces
_UNITS = {"": 1, "k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _parse_size(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    text = str(value).strip()
    unit = text[-1:] if text[-1:] in _UNITS else ""
    number = text[: len(text) - len(unit)]
    return int(number) * _UNITS[unit] if number.isdigit() and int(number) > 0 else None


def _killpg(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class _EnterAsOwner:
    """A task's ``preexec_fn``: enter the working directory once it is the owner.

    CPython's child (Modules/_posixsubprocess.c, child_exec) does ``chdir(cwd)`` for ``cwd=``
    *before* setgroups/setregid/setreuid, as root, following whatever symlinks the path holds
    at that moment; ``preexec_fn`` runs *after* them. So the directory is entered here, with
    the owner's permissions only. One it may not enter leaves the task in /tmp, and its errno
    goes to the shell through a pipe (read by ``failure()``). Kept to a chdir and a write: it
    runs in a forked child of a threaded process.
    """

    def __init__(self, path):
        self._path = os.fsencode(path)
        self._read, self._write = os.pipe()  # close-on-exec: gone from the task at its exec

    def __call__(self):
        try:
            os.chdir(self._path)
        except OSError as error:
            os.write(self._write, b"%d" % (error.errno or errno.EACCES))
            os.chdir(b"/tmp")

    def failure(self):
        """The errno of a chdir that failed in the task (None if it entered); call once,
        after Popen returned or raised."""
        os.close(self._write)
        try:
            text = os.read(self._read, 32)
        finally:
            os.close(self._read)
        return int(text) if text else None


class JobShell(threading.Thread):
    def __init__(self, broker, job):
        super().__init__(name=f"job-shell-{job.id}", daemon=True)
        self._broker = broker
        self._job = job
        # Everything the shell reads of the job, taken while the broker lock is held
        system = job.spec["attributes"]["system"]
        self._command = list(job.spec["tasks"][0]["command"])
        self._environment = {str(k): str(v) for k, v in (system.get("environment") or {}).items()}
        self._cwd = system.get("cwd")
        self._multiuser = broker.multiuser
        self._owner = job.owner  # multi-user: the account the tasks run as
        self._requester = system.get("user")
        self._expiration = job.expiration
        self._ntasks = job.ntasks
        self._nnodes = job.nnodes
        self._f58 = JobID(job.id).f58
        self._hostnames = broker.hostnames
        self._rank0 = min(job.alloc)
        slot = job.request["cores"]
        self._slots = [
            r for r, cores in sorted(job.alloc.items()) for _ in range(len(cores) // slot)
        ]
        limit = system.get("shell", {}).get("options", {}).get("output", {}).get("limit")
        self._limit_text = DEFAULT_OUTPUT_LIMIT if limit is None else str(limit)
        self._limit = _parse_size(self._limit_text)

        self._cv = threading.Condition()  # guards the fields below; never held across broker calls
        self._procs = []
        self._remaining = 0
        self._codes = []
        self._signal = None  # the last signal sent to the tasks
        self._shell_signal = None  # a signal that came before any task started
        self._kill_at = None
        self._killed = False
        self._timed_out = False
        self._bytes = {"stdout": 0, "stderr": 0}
        self._task_cwd = None  # where each task starts (as its owner in multi-user mode)
        self._cwd_logged = False

    # -- called by the broker (its lock held) ---------------------------------------------
    def terminate(self, exception_type):
        """A fatal exception: SIGALRM for a timeout, else SIGTERM; SIGKILL after the timeout."""
        self.kill(signal.SIGALRM if exception_type == "timeout" else signal.SIGTERM)

    def kill(self, signum):
        with self._cv:
            self._signal = signum
            if signum == signal.SIGKILL:
                self._killed = True
            elif self._kill_at is None:
                self._kill_at = time.monotonic() + KILL_TIMEOUT
            for proc in self._procs:
                # A reaped task's group number may belong to someone else by now
                if proc.returncode is None:
                    _killpg(proc.pid, signum)
            self._cv.notify_all()

    # -- the shell thread ----------------------------------------------------------------
    def run(self):
        try:
            waitstatus = self._run()
        except Exception:  # a bug here must not leave the job running for ever
            traceback.print_exc()
            self.kill(signal.SIGKILL)
            self._broker.shell_exception(self._job, "exec", "the simulated job shell failed")
            self._wait()
            waitstatus = 1 << 8
        self._broker.shell_finished(self._job, waitstatus)

    def _run(self):
        count = {"stdout": self._ntasks, "stderr": self._ntasks}
        header = {
            "version": 1,
            "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
            "count": count,
            "options": {},
        }
        self._broker.shell_started(self._job, entry(time.time(), "header", header))
        if self._limit is None:
            self._log(
                3, f"Invalid KVS output.limit={self._limit_text}, using {DEFAULT_OUTPUT_LIMIT}"
            )
            self._limit_text, self._limit = DEFAULT_OUTPUT_LIMIT, _parse_size(DEFAULT_OUTPUT_LIMIT)
        self._task_cwd = self._working_directory()
        local_ids = {}
        for taskid in range(self._ntasks):
            rank = self._slots[taskid % len(self._slots)]
            local_ids[rank] = local_ids.get(rank, -1) + 1
            if not self._spawn(taskid, local_ids[rank]):
                break
        self._wait()
        with self._cv:
            if self._shell_signal is not None:
                # As real Flux: a cancel before the tasks run ends the job shell itself, and
                # the job's wait status is that signal's (returncode -15), not a task's 143
                return self._shell_signal
            return max(self._codes, default=0) << 8

    def _working_directory(self):
        # As real Flux: no cwd means the working directory of the instance (the server's, as
        # `flux start` runs flux-restful there; "/" for a multi-user one's guests); a bad one,
        # or one the job's owner may not enter, is logged and replaced
        if self._cwd is None:
            return "/" if self._multiuser else os.getcwd()
        if self._owner is not None:
            # Tried by each task once it is the owner (_EnterAsOwner): nothing is looked up
            # here as root, so nothing can change between a check and the task's chdir
            return self._cwd
        try:
            error = None if stat.S_ISDIR(os.stat(self._cwd).st_mode) else errno.ENOTDIR
        except OSError as e:
            error = e.errno
        if error is None:
            return self._cwd
        return self._not_entered(error)

    def _not_entered(self, error):
        self._log(
            3,
            f"host {self._hostnames[self._rank0]}: Could not change dir to {self._cwd}: "
            f"{os.strerror(error)}. Going to /tmp instead",
        )
        return "/tmp"

    def _spawn(self, taskid, local_id):
        """Start one task; False if it could not start (the job then fails)."""
        with self._cv:
            if self._signal is not None:  # killed before all tasks started
                if self._procs:
                    self._codes.append(128 + self._signal)
                else:
                    self._shell_signal = self._signal
                return False
        if self._multiuser and self._owner is None:
            # multi-user Flux refuses to run a job as an account that is not there (or root's)
            note = (
                f"task {taskid}: start failed: {self._requester!r} is not a system account "
                "this instance may run jobs as"
            )
            self._log(2, note)
            with self._cv:
                self._codes.append(1)
            self._broker.shell_exception(self._job, "exec", note)
            return False
        env = dict(self._environment)
        as_owner, enter = {"cwd": self._task_cwd}, None
        if self._owner is not None:
            owner = self._owner
            env.update(HOME=owner.pw_dir, USER=owner.pw_name, LOGNAME=owner.pw_name)
            enter = _EnterAsOwner(self._task_cwd)
            as_owner = {
                "user": owner.pw_uid,
                "group": owner.pw_gid,
                "extra_groups": os.getgrouplist(owner.pw_name, owner.pw_gid),
                "preexec_fn": enter,
            }
        env.update(
            FLUX_JOB_ID=self._f58,
            FLUX_JOB_SIZE=str(self._ntasks),
            FLUX_JOB_NNODES=str(self._nnodes),
            FLUX_TASK_RANK=str(taskid),
            FLUX_TASK_LOCAL_ID=str(local_id),
        )
        try:
            proc = subprocess.Popen(
                self._command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                **as_owner,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            self._entered(enter)
            number = getattr(error, "errno", None)
            # bash's codes, as the job shell uses them
            code = {errno.EPERM: 126, errno.EACCES: 126, errno.ENOENT: 127}.get(number, 1)
            reason = os.strerror(number) if number else str(error)
            host = self._hostnames[self._slots[taskid % len(self._slots)]]
            note = f"task {taskid} (host {host}): start failed: {self._command[0]}: {reason}"
            self._log(2, note)
            self.kill(signal.SIGKILL)
            with self._cv:
                self._codes.append(code)
            self._broker.shell_exception(self._job, "exec", note)
            return False
        self._entered(enter)
        with self._cv:
            self._procs.append(proc)
            self._remaining += 1
            if self._signal is not None:
                _killpg(proc.pid, self._signal)
        threading.Thread(target=self._task, args=(proc, taskid), daemon=True).start()
        return True

    def _entered(self, enter):
        """After a task's start: a working directory its owner could not enter is logged, once
        a job (real Flux's shell enters it once; here each task does, as its owner)."""
        error = enter.failure() if enter is not None else None
        if error is not None and not self._cwd_logged:
            self._cwd_logged = True
            self._not_entered(error)

    def _wait(self):
        """Wait for every task, enforcing the expiration and the kill timeout meanwhile."""
        while True:
            with self._cv:
                if self._remaining == 0:
                    return
                deadlines = []
                if self._expiration > 0 and not self._timed_out and self._signal is None:
                    deadlines.append(self._expiration - time.time())
                if self._kill_at is not None and not self._killed:
                    deadlines.append(self._kill_at - time.monotonic())
                self._cv.wait(max(0.0, min(deadlines)) if deadlines else None)
                expired = (
                    self._expiration > 0
                    and not self._timed_out
                    and self._signal is None
                    and time.time() >= self._expiration
                )
                self._timed_out = self._timed_out or expired
                kill_due = (
                    self._kill_at is not None
                    and not self._killed
                    and time.monotonic() >= self._kill_at
                )
            if expired:
                self._broker.shell_exception(self._job, "timeout", "resource allocation expired")
            if kill_due:
                self.kill(signal.SIGKILL)

    def _task(self, proc, taskid):
        """Copy one task's output into the eventlog until both pipes close, then reap it."""
        pending = {"stdout": b"", "stderr": b""}
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
            selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
            while selector.get_map():
                for key, _ in selector.select():
                    stream, data = key.data, os.read(key.fd, MAX_CHUNK)
                    if not data:
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        if pending[stream]:
                            self._data(stream, taskid, pending[stream])
                        self._output({"stream": stream, "rank": str(taskid), "eof": True})
                        continue
                    *lines, rest = (pending[stream] + data).split(b"\n")
                    for line in lines:
                        self._data(stream, taskid, line + b"\n")
                    if len(rest) >= MAX_CHUNK:
                        self._data(stream, taskid, rest)
                        rest = b""
                    pending[stream] = rest
        proc.wait()
        code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        with self._cv:
            self._codes.append(code)
            self._remaining -= 1
            self._cv.notify_all()

    def _data(self, stream, taskid, data):
        with self._cv:
            before = self._bytes[stream]
            self._bytes[stream] += len(data)
            over = self._bytes[stream] > self._limit
        if over:
            if before <= self._limit:
                self._log(4, f"{stream} will be truncated, {self._limit_text} limit exceeded")
            return
        context = {"stream": stream, "rank": str(taskid)}
        try:
            context["data"] = data.decode("utf-8")
        except UnicodeDecodeError:
            context.update(data=base64.b64encode(data).decode("ascii"), encoding="base64")
        self._output(context)

    def _output(self, context):
        self._broker.shell_output(self._job, entry(time.time(), "data", context))

    def _log(self, level, message):
        context = {"rank": 0, "level": level, "message": message}
        self._broker.shell_output(self._job, entry(time.time(), "log", context))
