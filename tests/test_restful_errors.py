"""Typed, readable errors of the restful client, and the token renewal rule."""

import json
import socket
import time

import jwt
import pytest
from jupyterhub.utils import random_port
from restful_support import wait_done

from flux_hub.local.cluster import STATE_FILE
from flux_hub.restful import (
    AuthenticationFailed,
    ClusterUnavailable,
    FluxRestfulClient,
    InvalidRequest,
    JobNotFound,
    PermissionDenied,
)
from flux_hub.restful.protocol import (
    ConnectionFailed,
    Login,
    Protocol,
    Request,
    Response,
    advance,
)

pytestmark = pytest.mark.cluster


def assert_no_secret(error, *secrets):
    for secret in secrets:
        assert secret not in str(error) and secret not in repr(error)
        assert all(secret not in reason for reason in error.reasons)


# -- permissions and missing jobs -------------------------------------------------------------


def test_another_users_job_is_permission_denied(client_for):
    alice, bob = client_for("alice"), client_for("bob")
    jobid = alice.submit(["sh", "-c", "echo secret-output; sleep 30"])
    calls = {
        "info": lambda: bob.job(jobid),
        "output": lambda: bob.output(jobid),
        "stream": lambda: list(bob.stream_output(jobid)),
        "cancel": lambda: bob.cancel(jobid),
    }
    for name, call in calls.items():
        with pytest.raises(PermissionDenied) as caught:
            call()
        assert f"bob does not own job {jobid}" in str(caught.value), name
        assert caught.value.status == 403
    # bob's refusals cost no new login, and alice's job was not touched
    assert bob.handshakes == 1
    assert alice.job(jobid)["state"] in ("SCHED", "RUN")
    alice.cancel(jobid)


def test_unknown_job(client_for, cluster):
    alice = client_for("alice")
    for call in (alice.job, alice.cancel):
        with pytest.raises((JobNotFound, InvalidRequest)) as caught:
            call(123456)
        assert "123456" in str(caught.value)
    with pytest.raises(JobNotFound) as caught:
        alice.job(123456)
    assert str(caught.value) == f"There is no job 123456 on {cluster.url}"
    with pytest.raises(InvalidRequest) as caught:
        alice.job("notanid")
    assert caught.value.reasons == ["'notanid' is not a valid job id"]
    for call in (alice.job, alice.output, alice.cancel):
        for dots in (".", ".."):
            with pytest.raises(InvalidRequest) as caught:
                call(dots)
            assert str(caught.value) == f"{dots!r} is not a job id"


def test_cancelling_a_finished_job_is_invalid(client_for):
    alice = client_for("alice")
    jobid = alice.submit("true")
    wait_done(alice, jobid)
    with pytest.raises(InvalidRequest) as caught:
        alice.cancel(jobid)
    assert str(caught.value).startswith(f"Cancelling job {jobid} failed: Job cannot be cancelled")


# -- invalid submissions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, fields, reason",
    [
        ("", {}, "'command' is required"),
        ("   ", {}, "'command' is required"),
        ([], {}, "'command' is required"),
        ("echo 'unclosed", {}, "No closing quotation"),
        ("hostname", {"num_nodes": 5}, "The server only has 2 nodes, you requested 5"),
        ("hostname", {"runtime": -1}, "'runtime' must be whole seconds (0 = no limit), not -1"),
        (
            "hostname",
            {"gpus_per_task": 1},
            "This server does not support gpus: gpus_per_task cannot be set.",
        ),
        ("hostname", {"option_flags": {"-ocpu-affinity": "off"}}, "-ocpu-affinity is invalid"),
    ],
)
def test_invalid_submit(client_for, command, fields, reason):
    alice = client_for("alice")
    before = {record["id"] for record in alice.list_jobs()}
    with pytest.raises(InvalidRequest) as caught:
        alice.submit(command, **fields)
    assert any(reason in text for text in caught.value.reasons), caught.value.reasons
    assert reason in str(caught.value)
    assert {record["id"] for record in alice.list_jobs()} == before  # nothing was submitted


@pytest.mark.parametrize(
    "command, fields, reason",
    [
        ("echo \0", {}, "the command contains a NUL character"),
        (["echo", "a\0b"], {}, "the command contains a NUL character"),
        ("hostname", {"envars": {"A": "x\0y"}}, "environment variable 'A' contains a NUL"),
        ("hostname", {"envars": {"A\0": "x"}}, "an environment variable's name contains a NUL"),
        ("hostname", {"workdir": "/tmp\0x"}, "workdir contains a NUL character"),
        ("hostname", {"option_flags": {"a": "b\0"}}, "an option flag contains a NUL"),
    ],
)
def test_a_nul_character_is_refused_before_sending(client_for, cluster, command, fields, reason):
    """Real Flux answers a NUL with a 500, or dies of one in an environment variable."""
    alice = client_for("alice")
    with pytest.raises(InvalidRequest) as caught:
        alice.submit(command, **fields)
    assert len(caught.value.reasons) == 1 and caught.value.reasons[0].startswith(reason)
    assert reason in str(caught.value)
    assert alice.handshakes == 0  # nothing was sent
    assert client_for("bob").nodes()  # and the server is still there for everyone


def test_wrong_types_are_refused_before_sending(client_for):
    alice = client_for("alice")
    with pytest.raises(InvalidRequest, match="'num_tasks' must be a whole number"):
        alice.submit("hostname", num_tasks="many")
    with pytest.raises(InvalidRequest, match="'envars' must be a dict"):
        alice.submit("hostname", envars=["A=1"])
    assert alice.handshakes == 0


# -- login -----------------------------------------------------------------------------------------


def test_wrong_password(client_for, cluster):
    client = client_for("alice", token="not-alices-password")
    with pytest.raises(AuthenticationFailed) as caught:
        client.nodes()
    assert str(caught.value) == (
        f"Login to {cluster.url} as 'alice' failed: Incorrect user or password"
    )
    assert_no_secret(caught.value, "not-alices-password", cluster.secret_key)


def test_wrong_password_with_the_form_login(client_for, cluster):
    client = client_for("alice", token="not-alices-password", secret_key="")
    with pytest.raises(AuthenticationFailed) as caught:
        client.submit("hostname")
    assert str(caught.value) == (
        f"Login to {cluster.url} as 'alice' failed: Incorrect user or password"
    )


def test_unknown_user(client_for, cluster):
    client = client_for("alice", user="mallory")
    with pytest.raises(AuthenticationFailed, match="as 'mallory' failed: Incorrect user"):
        client.nodes()


def test_wrong_secret_key(client_for, cluster):
    client = client_for("alice", secret_key="x" * 32)
    with pytest.raises(AuthenticationFailed) as caught:
        client.nodes()
    assert str(caught.value) == (
        f"Login to {cluster.url} as 'alice' failed: Could not decode credentials"
        " — is FLUX_SECRET_KEY the server's?"
    )
    assert_no_secret(caught.value, "x" * 32, cluster.passwords["alice"])


def test_no_credentials(cluster, monkeypatch):
    for name in ("FLUX_USER", "FLUX_TOKEN", "FLUX_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    with FluxRestfulClient(cluster.url) as anonymous:
        with pytest.raises(AuthenticationFailed, match="needs a login"):
            anonymous.nodes()
        assert anonymous.auth_info()["backend"] == "shared-secret"  # public


def forged(user, key, expires_in):
    now = int(time.time())
    claims = {"sub": user, "backend": "shared-secret", "iat": now, "exp": now + expires_in}
    return jwt.encode(claims, key, algorithm="HS256")


def test_forged_token_is_renewed_once(client_for):
    alice = client_for("alice")
    assert alice.nodes()
    assert alice.handshakes == 1
    alice._core.token = forged("alice", "not-the-signing-key-" * 2, 3600)
    jobid = alice.submit("true")  # a POST: renewed and sent again, once
    assert alice.handshakes == 2
    assert alice.job(jobid)["id"] == jobid
    assert alice.handshakes == 2


def test_expired_token_is_renewed_once(client_for, cluster):
    signing_key = json.loads((cluster.state_dir / STATE_FILE).read_text())["token_signing_key"]
    alice = client_for("alice")
    alice._core.token = forged("alice", signing_key, -60)  # signed by the server, expired
    assert alice.nodes()
    assert alice.handshakes == 1
    assert alice._core.token != forged("alice", signing_key, -60)
    assert alice.output(alice.submit("true")) is not None
    assert alice.handshakes == 1


# -- the server going away -----------------------------------------------------------------------


def test_stopped_server(fresh_cluster):
    client = FluxRestfulClient(
        fresh_cluster.url,
        "alice",
        fresh_cluster.passwords["alice"],
        fresh_cluster.secret_key,
        timeout=5,
    )
    with client:
        assert client.nodes()
        fresh_cluster.stop()
        for call in (client.nodes, lambda: client.submit("true"), lambda: client.job(1)):
            with pytest.raises(ClusterUnavailable) as caught:
                call()
            assert str(caught.value) == (
                f"Cannot reach the Flux cluster at {fresh_cluster.url}: connection refused"
            )
            assert caught.value.url == fresh_cluster.url
        fresh_cluster.start(timeout=120)
        assert client.nodes()  # the same token is still good after a restart
        assert client.handshakes == 1


def test_nothing_listening():
    port = random_port()
    url = f"http://127.0.0.1:{port}"
    with FluxRestfulClient(url, "alice", "pw", "k" * 32) as client:
        with pytest.raises(ClusterUnavailable, match=f"at {url}: connection refused"):
            client.nodes()


def test_a_server_that_never_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # connections are queued but never answered
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with FluxRestfulClient(url, "alice", "pw", "k" * 32, timeout=0.5) as client:
            started = time.monotonic()
            with pytest.raises(ClusterUnavailable) as caught:
                client.nodes()
            assert str(caught.value) == f"Cannot reach the Flux cluster at {url}: no answer in time"
            assert time.monotonic() - started < 5


# -- answers only older servers give (scripted: the local server is flux-restful 1.1.0) -----------


def answer(status, body):
    return Response(status, json.dumps(body).encode())


def drive(call, replies):
    """Run an operation against scripted replies; returns (result, requests seen)."""
    seen, reply = [], None
    replies = iter(replies)
    while True:
        finished, action = advance(call, reply)
        if finished:
            return action, seen
        seen.append(action)
        reply = next(replies)


def test_legacy_expired_token_403_logs_in_again():
    core = Protocol("http://legacy:8000", "alice", "pw", "k" * 32)
    core.token = "old"
    expired = answer(403, {"detail": "Could not validate credentials"})
    nodes, seen = drive(core.nodes(), [expired, "new", answer(200, {"nodes": ["n0"]})])
    assert nodes == ["n0"]
    assert [type(action) for action in seen] == [Request, Login, Request]
    assert seen[2].headers["Authorization"] == "Bearer new"


def test_legacy_403_for_another_users_job_is_not_a_login():
    core = Protocol("http://legacy:8000", "bob", "pw", "k" * 32)
    core.token = "t"
    with pytest.raises(PermissionDenied):
        drive(core.job(7), [answer(403, {"detail": "bob does not own job 7"})])


def test_legacy_null_job_is_not_found():
    core = Protocol("http://legacy:8000", "alice", "pw", "k" * 32)
    core.token = "t"
    with pytest.raises(JobNotFound, match="There is no job 7 on http://legacy:8000"):
        drive(core.job(7), [Response(200, b"null")])


def test_a_reset_get_is_sent_again_once_but_a_post_is_not():
    core = Protocol("http://legacy:8000", "alice", "pw", "k" * 32)
    core.token = "t"
    reset = ConnectionFailed("reset", "the connection was closed")
    nodes, seen = drive(core.nodes(), [reset, answer(200, {"nodes": ["n0"]})])
    assert nodes == ["n0"] and len(seen) == 2
    with pytest.raises(ClusterUnavailable, match="connection was closed"):
        drive(core.nodes(), [reset, reset])
    with pytest.raises(ClusterUnavailable):
        drive(core.submit("true"), [reset, answer(200, {"id": 1})])


def test_server_errors_are_cluster_unavailable():
    core = Protocol("http://legacy:8000", "alice", "pw", "k" * 32)
    core.token = "t"
    flux_down = answer(503, {"detail": "Cannot connect to Flux"})
    with pytest.raises(ClusterUnavailable) as caught:
        drive(core.nodes(), [flux_down])
    assert str(caught.value) == (
        "The Flux cluster at http://legacy:8000 could not answer (Listing nodes): "
        "Cannot connect to Flux"
    )
    assert caught.value.url == "http://legacy:8000"


def test_legacy_wrong_secret_key_500():
    core = Protocol("http://legacy:8000", "alice", "pw", "k" * 32)
    with pytest.raises(AuthenticationFailed, match="older flux-restful-api"):
        drive(core.login(None), [Response(500, b"Internal Server Error")])


# -- telling the servers apart ------------------------------------------------------------------


def test_the_server_is_asked_once_which_it_is():
    core = Protocol("http://legacy:8000", "alice", "pw")
    core.token = "t"
    listing = answer(200, {"jobs": [{"id": 5}]})
    info = answer(200, {"id": 5, "state": "RUN"})
    jobs, seen = drive(core.jobs(), [answer(404, {"detail": "Not Found"}), listing, info])
    assert [(r.method, r.path, r.params) for r in seen] == [
        ("GET", "/v1/auth", []),
        ("GET", "/v1/jobs", []),
        ("GET", "/v1/jobs/5", []),
    ]
    assert jobs == [{"id": 5, "state": "RUN", "ranks": "", "expiration": ""}]
    # known from now on: a running job's output is not asked for, and nothing asks again
    output, seen = drive(core.output(5), [info])
    assert output == [] and [r.path for r in seen] == ["/v1/jobs/5"]


def test_flux_restful_11_keeps_its_own_listing():
    core = Protocol("http://new:5000", "alice", "pw")
    core.token = "t"
    body = json.dumps([{"id": 5, "state": "RUN"}]).encode()
    jobs, seen = drive(core.jobs_body(), [answer(200, {"auth": []}), Response(200, body)])
    assert jobs == body
    assert [(r.path, r.params) for r in seen] == [
        ("/v1/auth", []),
        ("/v1/jobs", [("details", "true"), ("listing", "true")]),
    ]


def test_a_server_that_fails_the_question_is_unavailable():
    core = Protocol("http://legacy:8000", "alice", "pw")
    with pytest.raises(ClusterUnavailable, match="Asking which flux-restful server"):
        drive(core.jobs(), [answer(502, {"detail": "Bad Gateway"})])
    assert core.legacy is None  # asked again next time
