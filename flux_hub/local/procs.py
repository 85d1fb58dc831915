"""The processes of a local cluster: found through /proc, waited for, and ended.

A server started with ``start_new_session`` keeps its session id in everything it starts,
unless a process makes a session of its own (the simulation's tasks do): those are found by
walking parent links from the processes known.
"""

import os
import signal
import time


def _table():
    """{pid: the fields of /proc/PID/stat after the command name} of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    table[int(entry)] = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
    return table


# Indexes into those fields (proc(5), less the pid and command name)
STATE, PPID, SESSION, STARTTIME = 0, 1, 3, 19


def descendants(pid, table=None):
    """All processes below pid, found by walking parent links."""
    children = {}
    for child, fields in (table or _table()).items():
        children.setdefault(int(fields[PPID]), []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def start_times(pids):
    """{pid: start time} of those that are running: what identifies them against pid reuse."""
    table = _table()
    return {pid: table[pid][STARTTIME] for pid in pids if pid in table}


def remaining(sid, known):
    """The living processes of session sid, of ``known``, and everything below them.

    ``known`` maps pids to their start times, so a pid reused since is not taken for ours; a
    zombie is gone for this purpose.
    """
    table = _table()
    alive = {
        pid
        for pid, fields in table.items()
        if fields[STATE] != "Z"
        and (known.get(pid) == fields[STARTTIME] or int(fields[SESSION]) == sid)
    }
    for pid in list(alive):
        alive.update(descendants(pid, table))
    return alive


def wait_gone(sid, known, timeout):
    """True once remaining(sid, known) is empty; False if it is not within timeout seconds."""
    deadline = time.monotonic() + timeout
    while remaining(sid, known):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill(pids, signum=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
