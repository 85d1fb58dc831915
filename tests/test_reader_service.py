"""The reader's endpoints on the accounts service (api/reader/jobs, api/reader/cluster) and the
Reader's timing, with a stand-in for the hub's token check and for the guard's snapshot: what
each caller gets (their own jobs only, the anonymous summary, 403/404/503 in one line), when
the Reader reads (adaptive, idle, full reads), and that it never blocks a person's answer for
long."""

import asyncio
import json
import logging
import time
from types import SimpleNamespace

import pytest
import pytest_asyncio
from test_reader_state import RESOURCES, job, snapshot
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from flux_hub.reader import ReaderCredentials
from flux_hub.reader.poller import Reader
from flux_hub.restful import ClusterUnavailable
from flux_hub.service import handlers

pytestmark = pytest.mark.asyncio

PREFIX = "/services/flux-accounts/"
SCOPE = "access:services!service=flux-accounts"
CREDENTIALS = ReaderCredentials("http://127.0.0.1:1", "fluxadmin", "pw", "key")


class Hub:
    """The hub's side of HubOAuth: which token is whose (as the hub's API answers)."""

    access_scopes = {SCOPE}

    def __init__(self):
        self.tokens = {
            "alice-server": {"name": "alice", "kind": "user", "scopes": [SCOPE]},
            "bob-server": {"name": "bob", "kind": "user", "scopes": [SCOPE]},
            "dave-server": {"name": "dave", "kind": "user", "scopes": [SCOPE]},
            "erin-server": {"name": "erin", "kind": "user", "scopes": ["self"]},
            "frank-server": {"name": "frank", "kind": "user", "scopes": [SCOPE]},
            "a-service": {"name": "announcer", "kind": "service", "scopes": [SCOPE]},
        }

    def get_user(self, handler, sync=True):
        token = handler.request.headers.get("Authorization", "").removeprefix("token ")
        model = self.tokens.get(token)
        return dict(model) if model else None

    def check_scopes(self, required, user):
        return set(required) & set(user["scopes"])

    def _persist_url_token_if_set(self, handler):
        pass


class Accounts:
    """The accounts core as the endpoints use it: alice and bob active, dave deactivated."""

    def __init__(self):
        self.asked = []
        self.provisioner = SimpleNamespace(user_cluster_url="http://cluster.example:5000")

    def record(self, name):
        self.asked.append(name)
        state = {"alice": "active", "bob": "active", "dave": "deactivated"}.get(name)
        return SimpleNamespace(account=name, state=state) if state else None

    def is_current(self, name, record):
        return record is not None and record.state == "active"


class Guard:
    """The guard's snapshot endpoint as the client gives it: the snapshots the test sets."""

    def __init__(self, *snapshots):
        self.snapshots = list(snapshots)
        self.calls = []  # the since of each call
        self.failure = None
        self.delay = 0.0

    async def snapshot(self, since=None, limit=None):
        self.calls.append(since)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        made = self.snapshots[0] if len(self.snapshots) == 1 else self.snapshots.pop(0)
        return json.loads(json.dumps(made))

    async def close(self):
        pass


def two_people(time=None, *extra):
    return snapshot(
        job(21, "SCHED", "alice", ncores=8),
        job(20, "SCHED", "bob", ncores=8),
        job(9, "RUN", "alice"),
        job(8, "RUN", "bob"),
        *extra,
        job(5, "INACTIVE", "bob"),
        job(3, "INACTIVE", "alice"),
        job(2, "INACTIVE", None),
        time=time or 1_800_000_000.0,
    )


@pytest_asyncio.fixture
async def service(monkeypatch):
    """The service's routes on a local port, with the stand-ins; yields (service, get)."""
    monkeypatch.setattr(handlers.BaseHandler, "hub_auth", Hub())
    service = SimpleNamespace(reader=None, accounts=Accounts(), log=logging.getLogger("test"))
    app = Application(handlers.routes(PREFIX), service=service, prefix=PREFIX)
    server = HTTPServer(app)
    [sock] = bind_sockets(0, "127.0.0.1")
    server.add_sockets([sock])
    port = sock.getsockname()[1]
    client = AsyncHTTPClient(force_instance=True)

    async def get(path, token="alice-server"):
        headers = {"Authorization": f"token {token}"} if token else {}
        url = f"http://127.0.0.1:{port}{PREFIX}api/reader/{path}"
        response = await client.fetch(url, headers=headers, raise_error=False)
        return response.code, json.loads(response.body)

    yield service, get
    if service.reader is not None:
        await service.reader.stop()
    client.close()
    server.stop()


def start(service, guard, **kwargs):
    service.reader = Reader(CREDENTIALS, client=guard, **kwargs).start()
    return service.reader


async def test_each_person_gets_their_own_jobs_and_everyone_the_same_summary(service):
    service, get = service
    start(service, Guard(two_people()))
    status, alice = await get("jobs")
    assert status == 200
    assert alice["complete"] is True
    assert alice["ids"] == [21, 9, 3] and [j["id"] for j in alice["jobs"]] == [21, 9, 3]
    assert all("owner" not in j for j in alice["jobs"])
    waiting = alice["jobs"][0]["waiting"]
    assert (waiting["position"], waiting["ahead"]) == (1, 0)
    status, bob = await get("jobs", "bob-server")
    assert status == 200 and bob["ids"] == [20, 8, 5]
    assert bob["jobs"][0]["waiting"]["position"] == 2
    # the next refresh with the version: nothing changed
    status, again = await get(f"jobs?since={alice['version']}")
    assert (status, again) == (200, {"version": alice["version"], "complete": False, "jobs": []})

    status, summary = await get("cluster")
    assert status == 200
    assert summary == {
        "cluster": "http://cluster.example:5000",
        "as_of": 1_800_000_000.0,
        "resources": RESOURCES,
        "jobs": {"running": 2, "waiting": 2},
    }
    assert (await get("cluster", "bob-server"))[1] == summary
    # a hub user without an account sees the anonymous summary too, but no jobs
    assert (await get("cluster", "frank-server"))[1] == summary
    assert await get("jobs", "frank-server") == (403, {"message": handlers.NO_ACCOUNT})
    # one not allowed to use the service at all gets nothing
    assert (await get("cluster", "erin-server"))[0] == 401


async def test_refusals_say_why_in_one_line_and_tell_nothing_else(service):
    service, get = service
    # no reader on this hub
    for path in ("jobs", "cluster"):
        assert await get(path) == (404, {"message": handlers.NO_READER})
    start(service, Guard(two_people()))
    assert await get("jobs", "dave-server") == (403, {"message": handlers.NO_ACCOUNT})
    status, answer = await get("jobs", "a-service")
    assert status == 403 and answer == {"message": "Only hub users have Flux accounts."}
    assert (await get("jobs", None))[0] == 401
    assert (await get("jobs", "forged"))[0] == 401
    assert (await get("jobs", "erin-server"))[0] == 401  # not allowed to use the service
    # none of these answers holds a job, an id or a count
    for token in ("dave-server", "a-service", None, "forged", "erin-server"):
        status, answer = await get("jobs", token)
        assert set(answer) == {"message"}, (token, answer)


async def test_accounts_are_asked_once_a_minute_per_person(service):
    service, get = service
    start(service, Guard(two_people()))
    for _ in range(5):
        assert (await get("jobs"))[0] == 200
    assert service.accounts.asked == ["alice"]


async def test_a_failing_cluster_is_a_503_in_one_line_once_what_was_read_is_stale(service):
    service, get = service
    guard = Guard(two_people())
    reader = start(service, guard, min_interval=0.05, max_interval=0.1, stale_after=0.5)
    assert (await get("jobs"))[0] == 200
    guard.failure = ClusterUnavailable(
        "Cannot reach the Flux cluster at http://127.0.0.1:1: connection refused", "x"
    )
    # a short failure: people are answered from what was read
    await asyncio.sleep(0.2)
    assert reader.error and (await get("jobs"))[0] == 200
    await asyncio.sleep(0.6)
    status, answer = await get("jobs")
    assert status == 503
    assert answer == {
        "message": "Cannot reach the Flux cluster at http://127.0.0.1:1: connection refused"
    }
    assert (await get("cluster"))[0] == 503
    guard.failure = None
    await asyncio.sleep(0.3)
    assert (await get("jobs"))[0] == 200 and reader.error is None


async def test_a_reader_that_never_read_answers_503_with_its_error(service):
    service, get = service
    guard = Guard(two_people())
    guard.failure = ClusterUnavailable("Reading the cluster's snapshot was refused: no", "x")
    start(service, guard, min_interval=0.05, max_interval=0.1)
    status, answer = await get("jobs")
    assert (status, answer) == (503, {"message": "Reading the cluster's snapshot was refused: no"})


async def test_the_reader_sleeps_while_nobody_asks_and_the_first_ask_waits_for_one_read(service):
    service, get = service
    guard = Guard(two_people())
    reader = start(service, guard, min_interval=0.05, max_interval=0.2, idle_after=0.3)
    await asyncio.sleep(0.5)
    idle_reads = len(guard.calls)
    assert idle_reads <= 3  # the read at start, then the wait doubling, then none
    await asyncio.sleep(0.5)
    assert len(guard.calls) == idle_reads
    # someone asks: one read, and the answer after it
    guard.snapshots = [two_people(1_800_000_100.0, job(30, "RUN", "alice"))]
    status, alice = await get("jobs")
    assert status == 200 and 30 in alice["ids"]
    assert len(guard.calls) == idle_reads + 1
    assert reader.state.as_of == 1_800_000_100.0


async def test_reads_follow_changes_quickly_and_slow_down_when_nothing_changes(service):
    service, get = service
    guard = Guard(two_people())
    reader = start(service, guard, min_interval=0.02, max_interval=0.16, idle_after=60)
    assert (await get("jobs"))[0] == 200
    # nothing changes: the waits double (0.02, 0.04, 0.08, 0.16, 0.16 ...)
    await asyncio.sleep(0.8)
    assert 4 <= len(guard.calls) <= 9, guard.calls
    # every read but the first passed since = the last snapshot's time minus the overlap
    assert guard.calls[0] is None
    assert set(guard.calls[1:]) == {1_800_000_000.0 - 2.0}
    # jobs change at every read: the reader reads every min_interval
    base = len(guard.calls)
    guard.snapshots = [
        two_people(1_800_000_000.0 + n, *(job(100 + k, "RUN", "bob") for k in range(n)))
        for n in range(1, 60)
    ]
    await asyncio.sleep(0.2)  # the current wait (<= 0.16 s) ends first
    counted = len(guard.calls)
    await asyncio.sleep(0.4)
    assert len(guard.calls) - counted >= 8, guard.calls[base:]
    assert reader.error is None


async def test_a_new_instance_is_read_in_full_and_full_reads_come_back(service):
    service, get = service
    guard = Guard(two_people())
    reader = start(service, guard, min_interval=0.02, max_interval=0.05, full_interval=0.3)
    assert (await get("jobs"))[0] == 200
    version = (await get("jobs"))[1]["version"]
    restarted = snapshot(job(1, "RUN", "alice"), instance="inst-2", time=1_800_000_500.0)
    guard.snapshots = [restarted]
    await asyncio.sleep(0.2)
    # the since-read saw another instance, and read it all at once
    assert None in guard.calls[1:]
    status, alice = await get(f"jobs?since={version}")
    assert status == 200 and alice["complete"] is True and alice["ids"] == [1]
    fulls = reader.full_reads
    await asyncio.sleep(0.7)
    assert reader.full_reads >= fulls + 1  # every full_interval


async def test_unknown_owners_bring_a_full_read_sooner(service):
    service, get = service
    unknown = two_people()
    unknown["owners_unknown"] = 3
    guard = Guard(unknown)
    reader = start(
        service, guard, min_interval=0.02, max_interval=0.05, owners_retry=0.2, idle_after=60
    )
    assert (await get("jobs"))[0] == 200
    await asyncio.sleep(0.7)
    assert 2 <= reader.full_reads <= 5, guard.calls
    guard.snapshots = [two_people()]
    await asyncio.sleep(0.3)
    fulls = reader.full_reads
    await asyncio.sleep(0.5)
    assert reader.full_reads == fulls


async def test_a_slow_read_does_not_hold_up_answers_while_the_reader_is_awake(service):
    service, get = service
    guard = Guard(two_people())
    start(service, guard, min_interval=0.02, max_interval=0.05, idle_after=60)
    assert (await get("jobs"))[0] == 200
    guard.delay = 2.0
    await asyncio.sleep(0.1)  # a read is under way now
    started = time.monotonic()
    assert (await get("jobs"))[0] == 200
    assert time.monotonic() - started < 0.5


def accounts_service(provisioner, **settings):
    """What FluxAccountsService.start_reader reads of the service, with this provisioner."""
    from flux_hub.service.app import FluxAccountsService

    values = {"reader_enabled": True, "reader_min_interval": 1.0, "reader_max_interval": 10.0}
    service = SimpleNamespace(
        accounts=SimpleNamespace(provisioner=provisioner),
        log=logging.getLogger("test"),
        reader=None,
        **{**values, **settings},
    )
    for method in ("_start_reader", "_start_reader_later"):
        setattr(service, method, getattr(FluxAccountsService, method).__get__(service))
    return service


async def test_the_service_reads_only_a_cluster_whose_provisioner_gives_a_superuser(caplog):
    from flux_hub.service.app import FluxAccountsService

    start_reader = FluxAccountsService.start_reader
    gives = SimpleNamespace(reader_credentials=lambda: CREDENTIALS)
    service = accounts_service(gives, reader_min_interval=0.5, reader_max_interval=4.0)
    reader = await start_reader(service)
    try:
        assert service.reader is reader and reader.url == CREDENTIALS.url
        assert (reader.min_interval, reader.max_interval) == (0.5, 4.0)
    finally:
        await FluxAccountsService.stop_reader(service)
    assert service.reader is None
    # turned off; a provisioner without one (per-person clusters, the legacy server, older ones)
    assert await start_reader(accounts_service(gives, reader_enabled=False)) is None
    assert await start_reader(accounts_service(SimpleNamespace())) is None
    none = SimpleNamespace(reader_credentials=lambda: None)
    assert await start_reader(accounts_service(none)) is None

    def fails():
        raise OSError("the Secret cannot be read")

    failing = accounts_service(SimpleNamespace(reader_credentials=fails))
    assert await start_reader(failing, retry=0) is None
    assert "the Secret cannot be read" in caplog.text


async def test_a_superuser_not_made_yet_is_asked_for_again():
    """The local cluster starts beside the service: its superuser may not be there yet."""
    from flux_hub.accounts import ProvisioningError
    from flux_hub.service.app import FluxAccountsService

    tries = []

    def not_yet_then_given():
        tries.append(time.monotonic())
        if len(tries) < 3:
            raise ProvisioningError("the superuser of http://127.0.0.1:1 is not made yet")
        return CREDENTIALS

    service = accounts_service(SimpleNamespace(reader_credentials=not_yet_then_given))
    assert await FluxAccountsService.start_reader(service, retry=0.05) is None
    deadline = time.monotonic() + 5
    while service.reader is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    try:
        assert service.reader is not None and service.reader.url == CREDENTIALS.url
        assert len(tries) == 3
    finally:
        await FluxAccountsService.stop_reader(service)


async def test_the_reader_intervals_are_seconds_above_zero():
    from traitlets import TraitError

    from flux_hub.service.app import FluxAccountsService

    for name in ("reader_min_interval", "reader_max_interval"):
        with pytest.raises(TraitError) as refused:
            FluxAccountsService(**{name: 0.0})
        assert str(refused.value) == (
            f"FluxAccountsService.{name} must be a number of seconds above 0, not 0.0"
        )
