"""The asynchronous (tornado) flux-restful client against a real flux-restful server."""

import asyncio
import contextlib
import time

import pytest
from jupyterhub.utils import random_port
from restful_support import async_wait_done, our_connections, wait_server_let_go

from flux_hub.restful import (
    AsyncFluxRestfulClient,
    AuthenticationFailed,
    ClusterUnavailable,
    InvalidRequest,
    JobNotFound,
    PermissionDenied,
)

pytestmark = [pytest.mark.cluster, pytest.mark.asyncio]


@pytest.fixture
def async_client_for(cluster):
    def make(name, **kwargs):
        kwargs.setdefault("host", cluster.url)
        kwargs.setdefault("user", name)
        kwargs.setdefault("token", cluster.passwords[name])
        kwargs.setdefault("secret_key", cluster.secret_key)
        return AsyncFluxRestfulClient(**kwargs)

    return make


async def wait_running(client, jobid, timeout=30):
    deadline = time.monotonic() + timeout
    while (info := await client.job(jobid))["state"] != "RUN":
        assert info["state"] != "INACTIVE" and time.monotonic() < deadline, info
        await asyncio.sleep(0.1)


async def test_submit_complete_and_output(async_client_for):
    async with async_client_for("alice") as alice:
        jobid = await alice.submit(["printf", "%s\\n", "hello world", "second"])
        info = await async_wait_done(alice, jobid)
        assert (info["result"], info["returncode"]) == ("COMPLETED", 0)
        assert "".join(await alice.output(jobid)) == "hello world\nsecond\n"
        assert jobid in {record["id"] for record in await alice.list_jobs()}
        assert jobid in {job["id"] for job in await alice.jobs()}
        assert await alice.nodes()
        assert (await alice.auth_info())["shared_secret_handshake"] is True
        assert alice.handshakes == 1


async def test_failing_command(async_client_for):
    alice = async_client_for("alice")
    info = await async_wait_done(alice, await alice.submit("sh -c 'exit 3'"))
    assert (info["result"], info["returncode"]) == ("FAILED", 3)


async def test_cancel_a_running_job(async_client_for):
    alice = async_client_for("alice")
    jobid = await alice.submit("sleep 60")
    await wait_running(alice, jobid)
    assert await alice.cancel(jobid) == "Job is requested to cancel."
    assert (await async_wait_done(alice, jobid, timeout=20))["result"] == "CANCELED"


async def test_stream_follows_the_job_until_it_ends(async_client_for):
    alice = async_client_for("alice")
    jobid = await alice.submit(["sh", "-c", "echo one; sleep 2; echo 'twø ✓'"])
    arrivals = [(time.monotonic(), chunk) async for chunk in alice.stream_output(jobid)]
    assert "".join(chunk for _, chunk in arrivals) == "one\ntwø ✓\n"
    first = next(t for t, chunk in arrivals if "one" in chunk)
    last = next(t for t, chunk in arrivals if "tw" in chunk)
    assert last - first > 1.0, "chunks were not delivered as the job wrote them"
    assert (await async_wait_done(alice, jobid, timeout=5))["result"] == "COMPLETED"


async def test_closing_a_stream_early_drops_the_connection(async_client_for, cluster):
    alice = async_client_for("alice")
    jobid = await alice.submit(["sh", "-c", "echo start; sleep 60"])
    before = our_connections(cluster.port)
    async with contextlib.aclosing(alice.stream_output(jobid)) as stream:
        assert await anext(stream) == "start\n"
        ours = our_connections(cluster.port) - before
        assert len(ours) == 1
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert not ours & our_connections(cluster.port)
    wait_server_let_go(cluster.port, ours)
    await alice.cancel(jobid)


async def test_another_users_job_is_permission_denied(async_client_for):
    alice, bob = async_client_for("alice"), async_client_for("bob")
    jobid = await alice.submit("sleep 30")

    async def stream():
        return [chunk async for chunk in bob.stream_output(jobid)]

    for call in (bob.job, bob.output, bob.cancel, lambda _: stream()):
        with pytest.raises(PermissionDenied, match=f"bob does not own job {jobid}"):
            await call(jobid)
    assert bob.handshakes == 1
    await alice.cancel(jobid)


async def test_forged_token_is_renewed_once(async_client_for):
    alice = async_client_for("alice")
    await alice.nodes()
    alice._core.token = "forged.not.a-token"
    jobid = await alice.submit("true")
    assert alice.handshakes == 2
    assert (await alice.job(jobid))["id"] == jobid


async def test_concurrent_first_calls_share_one_login(async_client_for):
    alice = async_client_for("alice")
    results = await asyncio.gather(*(alice.nodes() for _ in range(10)))
    assert all(results)
    assert alice.handshakes == 1


async def test_login_errors(async_client_for, cluster):
    with pytest.raises(AuthenticationFailed) as caught:
        await async_client_for("alice", token="wrong-password").nodes()
    assert str(caught.value) == (
        f"Login to {cluster.url} as 'alice' failed: Incorrect user or password"
    )
    with pytest.raises(AuthenticationFailed, match="is FLUX_SECRET_KEY the server's"):
        await async_client_for("alice", secret_key="y" * 32).nodes()


async def test_invalid_requests(async_client_for):
    alice = async_client_for("alice")
    with pytest.raises(InvalidRequest) as caught:
        await alice.submit("hostname", num_nodes=5)
    assert caught.value.reasons == ["The server only has 2 nodes, you requested 5"]
    with pytest.raises(InvalidRequest, match="Submitting the job failed: 'command' is required"):
        await alice.submit(" ")
    with pytest.raises(JobNotFound):
        await alice.job(123456)


async def test_nothing_listening():
    port = random_port()
    url = f"http://127.0.0.1:{port}"
    client = AsyncFluxRestfulClient(url, "alice", "pw", "k" * 32)
    client._core.token = "t"  # skip the login, so the calls themselves meet the closed port
    with pytest.raises(ClusterUnavailable, match=f"at {url}: connection refused"):
        await client.nodes()
    with pytest.raises(ClusterUnavailable, match=f"at {url}: connection refused"):
        async for _ in client.stream_output(1):
            pass
