"""Jobs held by the hub against a real local cluster (simulated or real Flux, as the lane
chooses): people ask the accounts service's ``api/holds`` with their own hub tokens (the hub's
token check stood in for, as in test_reader_service), and the holder watches their jobs — with
the hub's reader, or asking flux-restful as each person — and submits the held job as its owner.
No person's server takes part once a job is held."""

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
import pytest_asyncio
from local_support import Api
from test_reader_service import PREFIX, Hub
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from flux_hub import jobid
from flux_hub.holds.holder import Holder
from flux_hub.holds.store import HoldStore
from flux_hub.reader import ReaderCredentials
from flux_hub.reader.poller import Reader
from flux_hub.service import handlers

pytestmark = [pytest.mark.cluster, pytest.mark.asyncio]

TIMEOUT = 60


class Accounts:
    """The accounts core as the holds use it: alice, bob and carol active on the cluster with
    their own passwords; dave deactivated."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.provisioner = SimpleNamespace(
            user_cluster_url=cluster.url, endpoint=lambda account: (cluster.url, cluster.secret_key)
        )
        self.credentials_asked = []

    def record(self, name):
        state = {"alice": "active", "bob": "active", "carol": "active"}.get(name)
        if name == "dave":
            state = "deactivated"
        return SimpleNamespace(account=name, state=state) if state else None

    def is_current(self, name, record):
        return record is not None and record.state == "active"

    def credentials(self, name, record=None):
        self.credentials_asked.append(name)
        if name not in ("alice", "bob", "carol"):
            return None
        return {
            "FLUX_RESTFUL_HOST": self.cluster.url,
            "FLUX_USER": name,
            "FLUX_TOKEN": self.cluster.passwords[name],
            "FLUX_SECRET_KEY": self.cluster.secret_key,
        }


class HoldsHub:
    """The service's routes with a Holder on a local port, asked with people's tokens."""

    def __init__(self, cluster, path, reader):
        self.cluster, self.path = cluster, path
        self.service = SimpleNamespace(
            reader=None, holder=None, accounts=Accounts(cluster), log=None
        )
        if reader:
            admin = cluster.admin_user
            credentials = ReaderCredentials(
                cluster.url, admin, cluster.passwords[admin], cluster.secret_key
            )
            self.service.reader = Reader(credentials, min_interval=0.2, max_interval=0.5).start()
        self.start_holder()
        app = Application(handlers.routes(PREFIX), service=self.service, prefix=PREFIX)
        self.server = HTTPServer(app)
        [sock] = bind_sockets(0, "127.0.0.1")
        self.server.add_sockets([sock])
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}{PREFIX}api/holds"
        self.client = AsyncHTTPClient(force_instance=True)

    def start_holder(self):
        store = HoldStore(str(self.path / "holds.sqlite"))
        reader = self.service.reader
        self.service.holder = Holder(
            store, self.service.accounts, lambda: reader, interval=0.2
        ).start()

    async def stop_holder(self):
        """The service stops: its Holder ends and its file is closed (the routes answer 404)."""
        await self.service.holder.stop()
        self.service.holder.store.close()
        self.service.holder = None

    async def restart_holder(self):
        """The service stops and starts again: a new Holder on the same file."""
        await self.stop_holder()
        self.start_holder()

    async def ask(self, method, path="", body=None, token="alice-server"):
        response = await self.client.fetch(
            self.base + path,
            method=method,
            headers={"Authorization": f"token {token}"},
            body=None if body is None else json.dumps(body),
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        return response.code, json.loads(response.body)

    async def hold(self, command, after, token="alice-server", **extra):
        return await self.ask(
            "POST", "", {"request": {"command": command}, "after": after, **extra}, token
        )

    async def until(self, hold_id, states, token="alice-server"):
        deadline = time.monotonic() + TIMEOUT
        while True:
            status, hold = await self.ask("GET", f"/{hold_id}", token=token)
            assert status == 200, hold
            if hold["state"] in states:
                return hold
            assert time.monotonic() < deadline, hold
            await asyncio.sleep(0.1)

    async def close(self):
        await self.service.holder.stop()
        self.service.holder.store.close()
        if self.service.reader is not None:
            await self.service.reader.stop()
        self.client.close()
        self.server.stop()


@pytest_asyncio.fixture(params=["asking-flux-restful", "with-the-reader"])
async def hub(request, cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(handlers.BaseHandler, "hub_auth", Hub())
    hub = HoldsHub(cluster, tmp_path, reader=request.param == "with-the-reader")
    yield hub
    await hub.close()


def api(cluster, user):
    return Api(cluster.url, user, cluster.passwords[user])


async def test_afterok_runs_b_as_its_owner_when_a_succeeds_and_never_when_a_fails(hub, cluster):
    alice, bob = api(cluster, "alice"), api(cluster, "bob")
    good = alice.submit("sleep 1")
    bad = alice.submit("sh -c 'sleep 1; exit 3'")
    status, after_good = await hub.hold(
        "echo released", [{"kind": "afterok", "id": good}], name="step-b"
    )
    assert status == 201, after_good
    assert after_good["state"] == "DEPEND" and after_good["job"] is None
    assert after_good["hold"] == after_good["id"]
    assert after_good["after"] == [{"kind": "afterok", "id": good}]
    assert after_good["name"] == "step-b"
    assert "owner" not in after_good and "account" not in after_good
    status, after_bad = await hub.hold("echo never", f"afterok:{jobid.f58(bad)}")
    assert status == 201, after_bad

    released = await hub.until(after_good["id"], ("SUBMITTED", "NEVER_RUN"))
    assert released["state"] == "SUBMITTED", released
    assert alice.info(good)["result"] == "COMPLETED"
    # B is alice's job (flux-restful shows it to her, not to bob) and it runs
    info = alice.wait(released["job"])
    assert info["result"] == "COMPLETED"
    assert "released" in "".join(alice.output(released["job"]))
    assert bob.get(f"/v1/jobs/{released['job']}").status_code in (403, 404)

    never = await hub.until(after_bad["id"], ("SUBMITTED", "NEVER_RUN"))
    assert never["state"] == "NEVER_RUN" and never["job"] is None
    assert never["reason"] == f"job {jobid.f58(bad)} did not succeed (failed): afterok cannot hold"

    status, listing = await hub.ask("GET")
    assert [h["id"] for h in listing["holds"]] == [after_bad["id"], after_good["id"]]
    assert (await hub.ask("GET", token="bob-server"))[1] == {"holds": []}


async def test_afternotok_and_afterany(hub, cluster):
    alice = api(cluster, "alice")
    good = alice.submit("true")
    bad = alice.submit("false")
    _, on_failure = await hub.hold("echo rescue", [f"afternotok:{bad}"])
    _, not_on_success = await hub.hold("echo rescue", [f"afternotok:{good}"])
    _, either = await hub.hold("echo tidy", [f"afterany:{good},{bad}"])
    rescued = await hub.until(on_failure["id"], ("SUBMITTED", "NEVER_RUN"))
    assert rescued["state"] == "SUBMITTED"
    assert alice.wait(rescued["job"])["result"] == "COMPLETED"
    never = await hub.until(not_on_success["id"], ("SUBMITTED", "NEVER_RUN"))
    assert never["reason"] == f"job {jobid.f58(good)} succeeded: afternotok cannot hold"
    assert (await hub.until(either["id"], ("SUBMITTED", "NEVER_RUN")))["state"] == "SUBMITTED"


async def test_a_restart_in_the_middle_of_a_chain_keeps_it_and_releases_it(hub, cluster):
    alice = api(cluster, "alice")
    first = alice.submit("sleep 300")
    try:
        _, held = await hub.hold("echo second", [f"afterany:{first}"])
        _, canceled = await hub.hold("echo not-me", [f"afterany:{first}"])
        status, gone = await hub.ask("DELETE", f"/{canceled['id']}")
        assert (status, gone["state"], gone["reason"]) == (200, "CANCELED", "canceled by you")
        await asyncio.sleep(0.5)
        assert (await hub.ask("GET", f"/{held['id']}"))[1]["state"] == "DEPEND"
        await hub.restart_holder()
        assert (await hub.ask("GET", f"/{held['id']}"))[1]["state"] == "DEPEND"
        # the hub is down while the first job ends: the condition comes true meanwhile
        await hub.stop_holder()
        assert (await hub.ask("GET", f"/{held['id']}"))[0] == 404
        assert alice.post(f"/v1/jobs/{first}/cancel").status_code == 200
        assert alice.wait(first)["result"] == "CANCELED"
        hub.start_holder()
        released = await hub.until(held["id"], ("SUBMITTED", "NEVER_RUN"))
        assert released["state"] == "SUBMITTED"
        assert released["after_text"] == f"afterany:{jobid.f58(first)}"
        assert "second" in "".join(alice.output(alice.wait(released["job"])["id"]))
        assert (await hub.ask("GET", f"/{canceled['id']}"))[1]["state"] == "CANCELED"
        # released once: one hold submitted, the canceled one never
        assert [h["state"] for h in (await hub.ask("GET"))[1]["holds"]] == ["CANCELED", "SUBMITTED"]
    finally:
        alice.post(f"/v1/jobs/{first}/cancel")


async def test_nobody_can_make_a_hold_run_as_someone_else(hub, cluster):
    alice, bob = api(cluster, "alice"), api(cluster, "bob")
    hers = alice.submit("true")
    alice.wait(hers)
    # bob waiting for alice's job: the same words as for a job that does not exist
    status, answer = await hub.hold("echo x", [f"afterok:{hers}"], token="bob-server")
    assert (status, answer) == (
        400,
        {"message": f"There is no job {jobid.f58(hers)} of yours to wait for."},
    )
    status, unknown = await hub.hold("echo x", ["afterok:ƒ2Vj1dB9"], token="bob-server")
    assert (status, unknown) == (400, {"message": "There is no job ƒ2Vj1dB9 of yours to wait for."})
    # a body naming another owner or account is refused, whatever it says
    for key in ("owner", "account", "user"):
        status, answer = await hub.ask(
            "POST", "", {"request": {"command": "id"}, "after": [f"afterok:{hers}"], key: "alice"},
            "bob-server",
        )  # fmt: skip
        assert status == 400 and answer["message"].startswith(f"Unknown field {key!r}")
    status, answer = await hub.ask(
        "POST", "", {"request": {"command": "id", "user": "alice"}, "after": [f"afterok:{hers}"]},
        "bob-server",
    )  # fmt: skip
    assert (status, answer) == (400, {"message": "The job was not held: unknown field 'user'."})
    # alice's hold: bob can neither see nor cancel it
    _, held = await hub.hold("echo mine", [f"afterok:{hers}"])
    for method in ("GET", "DELETE"):
        status, answer = await hub.ask(method, f"/{held['id']}", token="bob-server")
        assert (status, answer) == (404, {"message": f"There is no hold {held['id']} of yours."})
    # no active account, no hub user, a service: nothing held
    assert (await hub.hold("id", [f"afterok:{hers}"], token="dave-server"))[0] == 403
    assert (await hub.hold("id", [f"afterok:{hers}"], token="nobody"))[0] == 401
    assert (await hub.hold("id", [f"afterok:{hers}"], token="a-service"))[0] == 403
    released = await hub.until(held["id"], ("SUBMITTED", "NEVER_RUN"))
    assert alice.info(released["job"])["id"] == released["job"]
    assert bob.get(f"/v1/jobs/{released['job']}").status_code in (403, 404)
    # only alice's credentials were ever used for alice's hold
    assert set(hub.service.accounts.credentials_asked) <= {"alice", "bob"}
    assert "dave" not in hub.service.accounts.credentials_asked


NOT = "The job was not held: "


@pytest.mark.parametrize(
    "body, message",
    [
        (None, 'The body must be JSON: {"request", "after"}.'),
        ([], 'Send a JSON object: {"request": {...}, "after": [...]}.'),
        ({"after": ["afterok:1"]}, "'request' must be a JSON object describing the job."),
        ({"request": {"command": "id"}}, NOT + "a dependency needs at least one job: afterok:ID."),
        (
            {"request": {"command": "id"}, "after": ["afterwards:1"]},
            NOT + "'afterwards:1' is not a dependency: write KIND:ID with KIND one of afterok, "
            "afterany, afternotok.",
        ),
        (
            {"request": {"command": "id"}, "after": ["afterok:x%s"]},
            NOT + "'afterok:x%s' is not a dependency: 'x%s' is not a job id.",
        ),
        ({"request": {"command": "id", "num_tasks": 0}, "after": ["afterok:1"]}, None),
    ],
)  # fmt: skip
async def test_bad_requests_get_one_line_and_hold_nothing(hub, body, message):
    if body is None:
        response = await hub.client.fetch(
            hub.base, method="POST", body="{not json", raise_error=False,
            headers={"Authorization": "token alice-server"},
        )  # fmt: skip
        status, answer = response.code, json.loads(response.body)
    else:
        status, answer = await hub.ask("POST", "", body)
    assert status == 400
    assert set(answer) == {"message"} and "\n" not in answer["message"]
    if message:
        assert answer["message"] == message
    else:
        assert answer["message"].startswith("The job was not held: ")
    assert (await hub.ask("GET"))[1] == {"holds": []}


class HoldsHubThread:
    """The accounts service's holds (routes and Holder, asking flux-restful as each person) on
    a loop of its own, for the tests of its clients: the person's server, the terminal and the
    notebook. ``url``: the holds API as the hub hands it to a server."""

    def __init__(self, cluster, path):
        import logging
        import threading

        from jupyterhub.utils import random_port

        self.cluster, self.path = cluster, path
        self.port = random_port()
        self.reader_url = f"http://127.0.0.1:{self.port}{PREFIX}api/reader"
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}api/holds/"
        self.log = logging.getLogger("test")
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    async def _serve(self):
        store = HoldStore(str(self.path / "holds.sqlite"))
        accounts = Accounts(self.cluster)
        self.holder = Holder(store, accounts, interval=0.2).start()
        service = SimpleNamespace(reader=None, holder=self.holder, accounts=accounts, log=self.log)
        app = Application(handlers.routes(PREFIX), service=service, prefix=PREFIX)
        server = HTTPServer(app)
        server.listen(self.port, "127.0.0.1")
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.stop()
        await self.holder.stop()
        store.close()

    def stop(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
