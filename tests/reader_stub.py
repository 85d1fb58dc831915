"""A stand-in for the hub's reader of the cluster (flux_hub/reader, issue 27 section 2) for the
tests of its clients (the server extension, ``flux-hub status`` and ``jobs``): a tiny tornado app
in a thread of its own answering the contract's shapes.

``GET {url}jobs?since=`` answers one person's jobs, read from flux-restful as that person at
each ask (so jobs, names and states are the cluster's own), with ``waiting`` on the pending ones
(positions among that person's pending jobs) and versions as the reader gives them;
``GET {url}cluster`` answers the cluster's resources and queue from its size and that listing.
``mode`` makes it fail as a reader can: "404" (no reader), "503" (failing), "garbage" (not
JSON), "shapeless" (JSON of another shape), "down" (not listening); it waits ``delay`` seconds
before each answer; jobs submitted after ``hide_after`` (seconds since the epoch) are left out
(not read yet).
Every request is kept in ``asked`` as (path, since, Authorization header).

``HubReader`` is the real one instead: the accounts service's reader endpoints with a Reader
polling the cluster's guard as its superuser (the hub's token check is the test's to stand in
for: tests/test_reader_service.py's Hub, patched onto flux_hub.service.handlers.BaseHandler).
"""

import asyncio
import json
import logging
import threading
import time
from types import SimpleNamespace

from jupyterhub.utils import random_port
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from flux_hub.reader import ReaderCredentials
from flux_hub.reader.poller import Reader
from flux_hub.restful import FluxRestfulClient
from flux_hub.service import handlers
from flux_hub.waiting import why_waiting

ACCOUNTS = "/services/flux-accounts/"
PREFIX = ACCOUNTS + "api/reader/"
NO_READER = "This hub has no reader of the cluster: ask flux-restful directly."


class _Handler(RequestHandler):
    def initialize(self, stub):
        self.stub = stub

    async def get(self, what):
        stub = self.stub
        if stub.delay:
            await asyncio.sleep(stub.delay)
        since = self.get_query_argument("since", None)
        stub.asked.append((what, since, self.request.headers.get("Authorization")))
        if self.request.headers.get("Authorization") != f"token {stub.token}":
            self.set_status(403)
            return self.finish({"message": "Not your token."})
        if stub.mode == "404":
            self.set_status(404)
            return self.finish({"message": NO_READER})
        if stub.mode == "503":
            self.set_status(503)
            return self.finish({"message": "The cluster's snapshot failed: it did not answer."})
        if stub.mode == "garbage":
            return self.finish("<html>a proxy's page</html>")
        if stub.mode == "shapeless":
            return self.finish({"message": "JSON, but not the reader's"})
        answer = stub.person(since) if what == "jobs" else stub.summary()
        self.finish(json.dumps(answer))


class StubReader:
    """The stub reader of ``user``'s jobs on ``cluster`` for requests with hub ``token``."""

    def __init__(self, cluster, user, token="hub-token-of-the-server"):
        self.cluster = cluster
        self.user = user
        self.token = token
        self.mode = "ok"
        self.delay = 0
        self.hide_after = None
        self.asked = []
        self.generation = "g1"
        self._versions = []  # [(records by id, in order)], version n = index + 1
        self._client = FluxRestfulClient(
            cluster.url, user, cluster.passwords[user], cluster.secret_key
        )
        self.port = random_port()
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}"
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _serve(self):
        async def main():
            self._app = Application([(PREFIX + r"(jobs|cluster)", _Handler, {"stub": self})])
            self._server = HTTPServer(self._app)
            self._server.listen(self.port, "127.0.0.1")
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            await self._stop.wait()
            self._server.stop()

        asyncio.run(main())

    def stop(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._client.close()

    def go_down(self):
        """Stop listening (connections are refused) until come_back()."""
        self._loop.call_soon_threadsafe(self._server.stop)
        time.sleep(0.2)

    def come_back(self):
        def listen():
            self._server = HTTPServer(self._app)
            self._server.listen(self.port, "127.0.0.1")

        self._loop.call_soon_threadsafe(listen)
        time.sleep(0.2)

    def asked_for(self, what):
        return [since for path, since, _ in self.asked if path == what]

    def records(self):
        """The person's jobs as the reader would hold them: flux-restful's records (no owner),
        ``waiting`` on pending ones with their position among the pending."""
        jobs = [
            job
            for job in self._client.jobs()
            if self.hide_after is None or job.get("t_submit", 0) <= self.hide_after
        ]
        pending = [job for job in jobs if why_waiting(job) is not None]
        resources = self.summary(jobs)["resources"]
        for ahead, job in enumerate(pending):
            job["waiting"] = why_waiting(job, resources, ahead=ahead, position=ahead + 1)
        return {job["id"]: job for job in jobs}

    def person(self, since):
        records = self.records()
        if not self._versions or self._versions[-1] != records:
            self._versions.append(records)
        version = len(self._versions)
        head = {"version": f"{self.generation}-{version}"}
        generation, _, number = (since or "").partition("-")
        base = int(number) if generation == self.generation and number.isdigit() else None
        if base is None or not 1 <= base <= version:
            return {**head, "complete": True, "jobs": list(records.values()), "ids": list(records)}
        before = self._versions[base - 1]
        changed = [job for i, job in records.items() if before.get(i) != job]
        answer = {**head, "complete": False, "jobs": changed}
        if list(before) != list(records):
            answer["ids"] = list(records)
        return answer

    def summary(self, jobs=None):
        jobs = self._client.jobs() if jobs is None else jobs
        cl = self.cluster
        running = [job for job in jobs if job["state"] in ("RUN", "CLEANUP")]
        waiting = [job for job in jobs if why_waiting(job) is not None]
        busy = min(cl.nodes * cl.cores_per_node, sum(job.get("ncores") or 0 for job in running))
        total = cl.nodes * cl.cores_per_node
        nodes_busy = sum(job.get("nnodes") or 0 for job in running)
        return {
            "as_of": time.time(),
            "cluster": cl.url,
            "resources": {
                "nodes": {
                    "total": cl.nodes,
                    "up": cl.nodes,
                    "down": 0,
                    "busy": min(nodes_busy, cl.nodes),
                    "free": cl.nodes - min(nodes_busy, cl.nodes),
                },
                "cores": {
                    "total": total,
                    "up": total,
                    "down": 0,
                    "busy": busy,
                    "free": total - busy,
                },
                "gpus": {"total": 0, "up": 0, "down": 0, "busy": 0, "free": 0},
                "hosts_up": sorted(self._client.nodes()),
            },
            "jobs": {"running": len(running), "waiting": len(waiting)},
        }


class HubReader:
    """The accounts service's routes with a Reader of ``cluster``, on a loop of their own;
    ``accounts`` stands in for the accounts core (who has which active account)."""

    def __init__(self, cluster, accounts):
        self.accounts = accounts
        admin = cluster.admin_user
        self.credentials = ReaderCredentials(
            cluster.url, admin, cluster.passwords[admin], cluster.secret_key
        )
        self.port = random_port()
        self.url = f"http://127.0.0.1:{self.port}{ACCOUNTS}api/reader"  # as the hub sets it
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    async def _serve(self):
        self.reader = Reader(self.credentials, min_interval=0.2, max_interval=0.5).start()
        service = SimpleNamespace(
            reader=self.reader, accounts=self.accounts, log=logging.getLogger("test")
        )
        app = Application(handlers.routes(ACCOUNTS), service=service, prefix=ACCOUNTS)
        server = HTTPServer(app)
        server.listen(self.port, "127.0.0.1")
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.stop()
        await self.reader.stop()

    def stop(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
