"""The processes of a local cluster: found through psutil, waited for, and ended.

A server started with ``start_new_session`` keeps its session id in everything it starts,
unless a process makes a session of its own (the simulation's tasks do): those are found by
walking parent links from the processes known.
"""

import ipaddress
import os
import signal
import time

import psutil


def _table():
    """{pid: {"ppid", "status", "create_time"}} of every process."""
    return {
        process.pid: process.info
        for process in psutil.process_iter(["ppid", "status", "create_time"])
    }


def _session(pid):
    try:
        return os.getsid(pid)
    except OSError:  # gone meanwhile
        return None


def descendants(pid, table=None):
    """All processes below pid, found by walking parent links."""
    children = {}
    for child, info in (table or _table()).items():
        children.setdefault(info["ppid"], []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def start_times(pids):
    """{pid: start time} of those that are running: what identifies them against pid reuse."""
    table = _table()
    return {pid: table[pid]["create_time"] for pid in pids if pid in table}


def remaining(sid, known):
    """The living processes of session sid, of ``known``, and everything below them.

    ``known`` maps pids to their start times, so a pid reused since is not taken for ours; a
    zombie is gone for this purpose.
    """
    table = _table()
    alive = {
        pid
        for pid, info in table.items()
        if info["status"] != psutil.STATUS_ZOMBIE
        and (known.get(pid) == info["create_time"] or _session(pid) == sid)
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


def command_line(pid):
    """The argv of process pid, or None when it is gone."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return None


def listening_addresses(pid, port):
    """The addresses (ipaddress objects) on which process pid listens on TCP ``port``."""
    try:
        sockets = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:  # gone meanwhile
        return set()
    return {
        ipaddress.ip_address(each.laddr.ip)
        for each in sockets
        if each.status == psutil.CONN_LISTEN and each.laddr.port == port
    }


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
