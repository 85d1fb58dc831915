"""Helpers for the restful client tests: waiting on jobs and watching TCP connections."""

import asyncio
import time

import psutil


def wait_done(client, jobid, timeout=60):
    """Poll the job until it is INACTIVE; returns its info."""
    deadline = time.monotonic() + timeout
    while (info := client.job(jobid))["state"] != "INACTIVE":
        assert time.monotonic() < deadline, f"job {jobid} still {info['state']}"
        time.sleep(0.2)
    return info


def wait_running(client, jobid, timeout=30):
    deadline = time.monotonic() + timeout
    while (info := client.job(jobid))["state"] != "RUN":
        assert info["state"] != "INACTIVE", info
        assert time.monotonic() < deadline, f"job {jobid} still {info['state']}"
        time.sleep(0.1)
    return info


async def async_wait_done(client, jobid, timeout=60):
    deadline = time.monotonic() + timeout
    while (info := await client.job(jobid))["state"] != "INACTIVE":
        assert time.monotonic() < deadline, f"job {jobid} still {info['state']}"
        await asyncio.sleep(0.2)
    return info


def our_connections(port):
    """Local ports of this process's open connections to the server."""
    return {
        c.laddr.port
        for c in psutil.Process().net_connections("tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    }


def wait_server_let_go(port, ours, timeout=10):
    """Wait until the server holds no connection from any of our ports."""
    deadline = time.monotonic() + timeout
    while any(
        c.laddr.port == port and c.raddr and c.raddr.port in ours and c.status == "ESTABLISHED"
        for c in psutil.net_connections("tcp")
    ):
        assert time.monotonic() < deadline, "the server still holds the stream open"
        time.sleep(0.1)
