"""The person's server with the hub's reader of the cluster (issue 27): the panel's jobs list and
cluster summary come from the reader (a stub answering the contract's shapes, tests/reader_stub.py,
reading flux-restful as alice), what it does not give from flux-restful, and everything from
flux-restful directly while the reader is not there or fails. A cluster of its own (2 nodes x 2
cores), small enough for a job to wait."""

import asyncio
import time

import pytest
from reader_stub import StubReader
from serverext_support import JobList, record_requests, server_config

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient
from flux_hub.waiting import why_waiting

pytestmark = pytest.mark.cluster

RETRY = 1.0  # FluxHub.reader_retry_interval here


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    cluster = LocalCluster(
        tmp_path_factory.mktemp("reader-small"), users=["alice"], nodes=2, cores_per_node=2
    ).start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def alice(small):
    with FluxRestfulClient(small.url, "alice", small.passwords["alice"], small.secret_key) as c:
        yield c


@pytest.fixture
def reader(small):
    stub = StubReader(small, "alice")
    yield stub
    stub.stop()


@pytest.fixture
def jp_server_config(small, reader):
    return server_config(
        small,
        "alice",
        reader_url=reader.url,
        reader_token=reader.token,
        reader_retry_interval=RETRY,
    )


@pytest.fixture
def nodes_asked(service):
    """How often the extension asked flux-restful for its nodes."""
    asked = []
    original = service.client.nodes

    async def nodes():
        asked.append(1)
        return await original()

    service.client.nodes = nodes
    return asked


@pytest.fixture
def queue(api, alice):
    """A job holding every core (running) and one waiting behind it: (running id, waiting id);
    both cancelled after the test."""
    made = []

    async def make():
        busy = await api.submit(command="sleep 120", num_tasks=4)
        made.append(busy)
        await api.wait(busy, "RUN")
        waiting = await api.submit(command="true", name="behind")
        made.append(waiting)
        assert (await api.get("jobs", str(waiting)))[1]["state"] == "SCHED"
        return busy, waiting

    yield make
    for job_id in made:
        try:
            alice.cancel(job_id)
        except Exception:  # noqa: BLE001 (ended already)
            pass
    for job_id in made:
        deadline = time.monotonic() + 30
        while alice.job(job_id)["state"] != "INACTIVE" and time.monotonic() < deadline:
            time.sleep(0.2)


async def test_the_list_is_the_readers_and_flux_restful_is_not_asked(api, service, reader):
    done = await api.submit(command="true", name="through the panel")
    await api.wait(done)
    asked = record_requests(service)
    panel = JobList(api)

    first = {job["id"]: job for job in await panel.refresh()}
    assert first[done]["name"] == "through the panel"
    assert first[done]["result"] == "COMPLETED"
    assert panel.answers[-1]["complete"] is True
    # the panel's list is the reader's, in its order, records as it gave them
    given = reader.records()
    assert list(first) == list(given)
    assert {i: {**job, "name": None} for i, job in first.items()} == {
        i: {**job, "name": None} for i, job in given.items()
    }

    later = await api.submit(command="true")
    await api.wait(later)
    second = {job["id"]: job for job in await panel.refresh()}
    assert second[later]["result"] == "COMPLETED"
    assert [job["id"] for job in panel.answers[-1]["jobs"]] == [later]  # a delta, as before
    await panel.refresh(rescan="1")  # the Refresh button asks the reader too

    # one request to the reader a refresh, passing back its version; none to flux-restful
    versions = reader.asked_for("jobs")
    assert versions[0] is None and len(versions) == 3
    assert versions[1] and versions[1].startswith(f"{reader.generation}-")
    assert [a for a in asked if a[0] != "job" or a[1][0] not in (done, later)] == []
    assert {a for path, _, a in reader.asked} == {f"token {reader.token}"}


async def test_a_waiting_job_says_why_as_the_reader_does(api, service, reader, queue, nodes_asked):
    busy, waiting = await queue()
    jobs = {job["id"]: job for job in await JobList(api).refresh()}
    said = reader.records()[waiting]["waiting"]
    assert jobs[waiting]["waiting"] == said
    assert said["position"] == 1 and said["ahead"] == 0
    assert (
        said["reason"] == why_waiting(jobs[waiting], reader.summary()["resources"], 0, 1)["reason"]
    )
    assert "waiting" not in jobs[busy] or jobs[busy]["waiting"] is None

    # the job's detail (read from flux-restful) says the same
    code, detail = await api.get("jobs", str(waiting))
    assert code == 200 and detail["state"] == "SCHED"
    assert detail["waiting"] == said

    # the cluster strip: the reader's resources and queue; its nodes without asking flux-restful
    code, summary = await api.get("cluster")
    assert code == 200
    assert summary["reader"] is True and summary["reachable"] is True
    assert summary["resources"]["cores"] == {"total": 4, "up": 4, "down": 0, "busy": 4, "free": 0}
    assert summary["queue"] == {"running": 1, "waiting": 1}
    assert summary["as_of"] <= time.time()
    assert summary["nodes"] == summary["resources"]["hosts_up"] and summary["nodes"]
    assert nodes_asked == []
    assert (summary["account"], summary["error"]) == ("alice", None)


async def test_a_job_the_reader_has_not_read_yet_shows_at_once(api, service, reader, alice):
    panel = JobList(api)
    await panel.refresh()
    reader.hide_after = time.time()  # the reader has not read anything newer yet
    await asyncio.sleep(0.05)
    job_id = await api.submit(command="sleep 2", name="just now")
    asked = record_requests(service)

    shown = {job["id"]: job for job in await panel.refresh()}
    assert shown[job_id]["name"] == "just now"
    assert ("job", (job_id,)) in asked  # looked up directly, as without a reader
    await api.wait(job_id)
    shown = {job["id"]: job for job in await panel.refresh()}
    assert shown[job_id]["result"] == "COMPLETED"  # followed until the reader shows it

    reader.hide_after = None
    asked.clear()
    shown = {job["id"]: job for job in await panel.refresh()}
    assert shown[job_id]["result"] == "COMPLETED"
    assert asked == []  # the reader shows it now: nothing more asked of flux-restful
    assert list(shown) == [job["id"] for job in alice.jobs()]


@pytest.mark.parametrize("failure", ["404", "503", "garbage", "shapeless", "down"])
async def test_without_a_working_reader_flux_restful_is_asked_then_the_reader_again(
    api, reader, alice, queue, failure
):
    busy, waiting = await queue()
    panel = JobList(api)
    await panel.refresh()
    if failure == "down":
        reader.go_down()
    else:
        reader.mode = failure
    failed_at = time.monotonic()
    asks = len(reader.asked)

    # the list and the summary as without a reader, from flux-restful (each asked once)
    jobs = {job["id"]: job for job in await panel.refresh()}
    assert list(jobs) == [job["id"] for job in alice.jobs()]
    assert jobs[waiting]["name"] == "behind"
    direct = why_waiting(alice.job(waiting))
    assert jobs[waiting]["waiting"]["reason"] == direct["reason"]
    assert jobs[waiting]["waiting"]["position"] is None  # only the reader knows the queue
    code, summary = await api.get("cluster")
    assert code == 200 and summary["reachable"] is True and summary["error"] is None
    assert (summary["reader"], summary["resources"], summary["queue"]) == (False, None, None)
    assert summary["as_of"] is None and summary["nodes"] == sorted(alice.nodes())
    assert len(reader.asked) == asks + (0 if failure == "down" else 1)

    # back: asked again once reader_retry_interval has passed, with a whole answer
    if failure == "down":
        reader.come_back()
    else:
        reader.mode = "ok"
    await asyncio.sleep(max(0, failed_at + RETRY + 0.1 - time.monotonic()))
    asks = len(reader.asked)
    jobs = {job["id"]: job for job in await panel.refresh()}
    assert reader.asked[asks][:2] == ("jobs", None)
    assert jobs[waiting]["waiting"]["position"] == 1
    code, summary = await api.get("cluster")
    assert summary["reader"] is True and summary["queue"] == {"running": 1, "waiting": 1}


class TestSlowReader:
    """A reader slower than FluxHub.request_timeout is one that does not answer."""

    @pytest.fixture
    def jp_server_config(self, small, reader):
        reader.delay = 4
        return server_config(
            small,
            "alice",
            reader_url=reader.url,
            reader_token=reader.token,
            reader_retry_interval=RETRY,
            request_timeout=2.0,
        )

    async def test_the_panel_gets_its_list_from_flux_restful_in_time(self, api, alice, reader):
        job_id = await api.submit(command="true", name="slow reader")
        await api.wait(job_id)
        started = time.monotonic()
        jobs = {job["id"]: job for job in await JobList(api).refresh()}
        assert jobs[job_id]["name"] == "slow reader"
        assert list(jobs) == [job["id"] for job in alice.jobs()]
        assert time.monotonic() - started < 4
        code, summary = await api.get("cluster")  # within the retry interval: not asked again
        assert code == 200 and summary["reader"] is False and summary["reachable"] is True
        assert reader.asked_for("cluster") == []


@pytest.fixture
def no_reader_config(small):
    return server_config(small, "alice", reader_url="", reader_token="some-token")


class TestWithoutReader:
    """No FLUX_HUB_READER_URL (an older hub, a person's own MiniCluster): as before, plus the
    waiting jobs' reasons from their own records."""

    @pytest.fixture
    def jp_server_config(self, no_reader_config):
        return no_reader_config

    async def test_a_waiting_job_says_why_from_its_record(self, api, alice, queue, nodes_asked):
        busy, waiting = await queue()
        jobs = {job["id"]: job for job in await JobList(api).refresh()}
        record = alice.job(waiting)
        assert jobs[waiting]["waiting"] == why_waiting(record)
        assert jobs[waiting]["waiting"]["reason"]
        code, detail = await api.get("jobs", str(waiting))
        assert detail["waiting"] == why_waiting(record)
        code, summary = await api.get("cluster")
        assert (summary["reader"], summary["resources"], summary["queue"]) == (False, None, None)
        assert summary["nodes"] == sorted(alice.nodes()) and nodes_asked == [1]
