"""The guard's settings and its token check, without a server (tests/test_guard.py has the rest)."""

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from jose import jwt

from flux_hub.guard.limits import LimitError, Limits, format_size, parse_size
from flux_hub.guard.tokens import NOT_BEFORE_TABLE, NotBefore, token_claims
from flux_hub.local.cluster import LocalCluster
from flux_hub.provision import dbscript


def test_defaults_are_safe_and_the_threads_outnumber_the_streams():
    limits = Limits()
    assert limits.streams_per_user == 4
    assert limits.streams_total == 24
    assert limits.active_jobs_per_user == 100
    assert limits.output_limit == 10 * 1024**2
    assert limits.max_body == 1024**2 and limits.max_query == 8192
    assert limits.threads == limits.streams_total + limits.spare_threads == 40
    assert Limits.from_environ({}) == limits
    assert Limits.from_mapping(None) == limits


def test_limits_are_read_from_the_environment_and_given_back_the_same():
    environ = {
        "FLUX_HUB_LIMIT_STREAMS_PER_USER": "2",
        "FLUX_HUB_LIMIT_OUTPUT_LIMIT": "64K",
        "FLUX_HUB_LIMIT_MAX_BODY": " 2M ",
        "FLUX_HUB_LIMIT_ACTIVE_JOBS_PER_USER": "",
    }
    limits = Limits.from_environ(environ)
    assert limits.streams_per_user == 2
    assert limits.output_limit == 65536
    assert limits.max_body == 2 * 1024**2
    assert limits.active_jobs_per_user == 100  # empty: the default
    assert Limits.from_environ(limits.environ()) == limits
    assert Limits.from_mapping({"output_limit": "1M", "streams_total": 8}).output_limit == 1024**2


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"FLUX_HUB_LIMIT_STREAMS_TOTAL": "many"},
            "FLUX_HUB_LIMIT_STREAMS_TOTAL (open output streams in all) must be a whole "
            "number, not 'many'",
        ),
        (
            {"FLUX_HUB_LIMIT_OUTPUT_LIMIT": "1.5G"},
            "FLUX_HUB_LIMIT_OUTPUT_LIMIT (bytes of output per job) must be a whole number or "
            "a size like 10M, not '1.5G'",
        ),
        (
            {"FLUX_HUB_LIMIT_ACTIVE_JOBS_PER_USER": "0"},
            "the limit active_jobs_per_user (FLUX_HUB_LIMIT_ACTIVE_JOBS_PER_USER, active jobs "
            "per person) must be a whole number of at least 1, not 0",
        ),
        (
            {"FLUX_HUB_LIMIT_SPARE_THREADS": "1"},
            "the limit spare_threads (FLUX_HUB_LIMIT_SPARE_THREADS, server threads kept for "
            "other requests) must be a whole number of at least 4, not 1",
        ),
        (
            {"FLUX_HUB_LIMIT_STREAMS_PER_USER": "30"},
            "the limit streams_per_user (30) cannot be above streams_total (24)",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_sentence_that_names_them(environ, message):
    with pytest.raises(LimitError) as caught:
        Limits.from_environ(environ)
    assert str(caught.value) == message


def test_local_cluster_refuses_bad_limits_before_it_starts(tmp_path):
    with pytest.raises(ValueError, match=r"unknown limit streams: the limits are streams_per_"):
        LocalCluster(tmp_path, limits={"streams": 3})
    with pytest.raises(ValueError, match=r"must be a whole number of at least 1, not -1"):
        LocalCluster(tmp_path, limits={"active_jobs_per_user": -1})
    with pytest.raises(ValueError, match=r"limits must be a dict of limits, not int"):
        LocalCluster(tmp_path, limits=3)


def test_the_guard_command_says_in_one_line_what_setting_is_wrong():
    env = dict(os.environ, FLUX_HUB_LIMIT_MAX_QUERY="lots")
    done = subprocess.run(
        [sys.executable, "-m", "flux_hub.guard", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "flux-hub guard: FLUX_HUB_LIMIT_MAX_QUERY (bytes of a query string) must be a whole "
        "number, not 'lots'"
    ]


def test_sizes_are_read_as_flux_reads_them_or_not_at_all():
    assert parse_size("10M") == 10 * 1024**2
    assert parse_size("64k") == parse_size("64K") == 65536
    assert parse_size("4096") == 4096
    # Flux reads these too (larger, or in another base): refused here, never read smaller
    for text in ("1T", "1.5G", "0x100000", "1e9", "10MB", " 10M", "-1", ""):
        assert parse_size(text) is None, text
    assert format_size(10 * 1024**2) == "10M" and format_size(1000) == "1000"


def token(key, sub, iat):
    return jwt.encode({"sub": sub, "iat": iat, "exp": iat + 3600}, key, algorithm="HS256")


def test_tokens_are_read_as_flux_restful_signs_them():
    now = int(time.time())
    claims = token_claims(token("k" * 32, "bob", now), "k" * 32)
    assert claims["sub"] == "bob" and claims["iat"] == now
    assert token_claims(token("other", "bob", now), "k" * 32) is None
    assert token_claims("not a token", "k" * 32) is None
    assert token_claims(token("k" * 32, "bob", now - 7200), "k" * 32) is None  # expired


def test_a_password_change_through_the_db_script_refuses_older_tokens_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "flux-restful.db"
    not_before = NotBefore(db)
    assert not not_before.revoked({"sub": "alice", "iat": 0})  # no database yet
    ops = [{"op": "ensure", "name": "alice", "password": "first"}]
    ops.append({"op": "ensure", "name": "bob", "password": "first"})
    run = subprocess.run(
        [sys.executable, dbscript.__file__],
        input=json.dumps({"ops": ops}),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert not not_before.revoked({"sub": "alice", "iat": 0})  # a new user: nothing recorded
    before = time.time()
    ops = [{"op": "ensure", "name": "alice", "password": "second", "reset_password": True}]
    run = subprocess.run(
        [sys.executable, dbscript.__file__],
        input=json.dumps({"ops": ops}),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    after = time.time()
    assert json.loads(run.stdout)["results"][0]["status"] == "password-set", run.stderr
    # the tokens of every second up to the change are refused; those issued once the script
    # has returned are not
    assert not_before.revoked({"sub": "alice", "iat": int(before)})
    assert not not_before.revoked({"sub": "alice", "iat": int(after)})
    assert not not_before.revoked({"sub": "bob", "iat": int(before)})
    assert after - before < 3
    with sqlite3.connect(db) as conn:
        [(when,)] = conn.execute(f"SELECT not_before FROM {NOT_BEFORE_TABLE}").fetchall()
    assert int(before) < when <= after
    # removing a user refuses their tokens too
    ops = [{"op": "deactivate", "name": "bob"}]
    run = subprocess.run(
        [sys.executable, dbscript.__file__],
        input=json.dumps({"ops": ops}),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert json.loads(run.stdout)["results"][0]["status"] == "deactivated"
    assert not_before.revoked({"sub": "bob", "iat": int(after)})


def test_the_token_check_costs_well_under_a_millisecond(tmp_path):
    db = tmp_path / "flux-restful.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"CREATE TABLE {NOT_BEFORE_TABLE} (user_name TEXT PRIMARY KEY, not_before INT)"
        )
        conn.executemany(
            f"INSERT INTO {NOT_BEFORE_TABLE} VALUES (?, ?)",
            [(f"user{i}", 1000) for i in range(500)],
        )
    not_before = NotBefore(db)
    claims = {"sub": "user7", "iat": 999}
    assert not_before.revoked(claims)
    count = 2000
    started = time.perf_counter()
    for _ in range(count):
        not_before.revoked(claims)
    each = (time.perf_counter() - started) / count
    assert each < 0.0002, f"{each * 1e6:.1f} µs a check"
    # a change to the database is seen at the next check
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE {NOT_BEFORE_TABLE} SET not_before = 1 WHERE user_name = 'user7'")
    assert not not_before.revoked(claims)


# -- the middleware around a stand-in app (what it passes on, what it keeps) -----------------
KEY = "s" * 64


def guarded(tmp_path, listed=None, **limits):
    """A Guard around an app that answers what it was given (and a job id for submits)."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from flux_hub.guard.middleware import Guard

    ids = iter(range(1000, 2000))

    async def submit(request):
        return JSONResponse({"Message": "Job submit.", "id": next(ids), "query": request.url.query})

    async def form(request):
        return HTMLResponse(f"<a target='_blank' href='/job/{next(ids)}'>x</a>")

    async def threads(request):
        import anyio

        return JSONResponse(anyio.to_thread.current_default_thread_limiter().total_tokens)

    app = Starlette(
        routes=[
            Route("/v1/jobs/submit", submit, methods=["POST"]),
            Route("/jobs/submit", form, methods=["POST"]),
            Route("/v1/threads", threads),
        ]
    )
    guard = Guard(
        app,
        Limits(**limits),
        signing_key=KEY,
        db_path=tmp_path / "flux-restful.db",
        multi_user=False,
        list_jobs=lambda person, since: dict(listed or {}),
    )
    return guard, TestClient(guard)


def bearer(sub, iat=None):
    iat = int(time.time()) if iat is None else iat
    return {"Authorization": f"Bearer {token(KEY, sub, iat)}"}


def test_the_thread_pool_is_sized_above_the_streams(tmp_path):
    _, client = guarded(tmp_path, streams_total=30, spare_threads=10)
    assert client.get("/v1/threads").json() == 40


def test_a_submit_without_output_limit_gets_the_cap_and_keeps_its_other_flags(tmp_path):
    _, client = guarded(tmp_path, output_limit=2 * 1024**2)
    answer = client.post(
        "/v1/jobs/submit",
        params={"command": "true", "option_flags": "cpu-affinity=off"},
        headers=bearer("bob"),
    )
    assert answer.status_code == 200
    assert "option_flags=cpu-affinity%3Doff%2Coutput.limit%3D2M" in answer.json()["query"]
    answer = client.post("/v1/jobs/submit", params={"command": "true"}, headers=bearer("bob"))
    assert answer.json()["query"].endswith("option_flags=output.limit%3D2M")


def test_single_user_jobs_count_from_the_ids_the_guard_saw(tmp_path):
    guard, client = guarded(tmp_path, active_jobs_per_user=2)
    for _ in range(2):  # not listed yet: they count while they are new
        assert client.post("/v1/jobs/submit?command=x", headers=bearer("bob")).status_code == 200
    refused = client.post("/v1/jobs/submit?command=x", headers=bearer("bob"))
    assert refused.status_code == 429
    assert "bob has 2 active jobs" in refused.json()["Errors"][0]
    assert client.post("/v1/jobs/submit?command=x", headers=bearer("alice")).status_code == 200
    # job-list now shows bob's two as ended: he may submit again
    guard.list_jobs = lambda person, since: {1000: False, 1001: False}
    assert client.post("/v1/jobs/submit?command=x", headers=bearer("bob")).status_code == 200


def test_form_posts_under_made_up_names_leave_nothing_behind(tmp_path):
    import base64

    guard, client = guarded(tmp_path)
    guard.app = lambda scope, receive, send: _status(401)(scope, receive, send)
    for i in range(50):
        basic = base64.b64encode(f"nobody{i}:wrong".encode()).decode()
        answer = client.post(
            "/jobs/submit", data={"command": "true"}, headers={"Authorization": f"Basic {basic}"}
        )
        assert answer.status_code == 401
    assert not guard.submitted and not guard.submit_locks and not guard.submitting


def _status(code):
    from starlette.responses import JSONResponse

    return JSONResponse({"detail": "Not authenticated"}, status_code=code)


def test_a_token_older_than_the_last_password_change_gets_401(tmp_path):
    _, client = guarded(tmp_path)
    with sqlite3.connect(tmp_path / "flux-restful.db") as conn:
        conn.execute(
            f"CREATE TABLE {NOT_BEFORE_TABLE} (user_name TEXT PRIMARY KEY, not_before INT)"
        )
        conn.execute(f"INSERT INTO {NOT_BEFORE_TABLE} VALUES ('bob', ?)", (int(time.time()),))
    old = client.post("/v1/jobs/submit?command=x", headers=bearer("bob", int(time.time()) - 60))
    assert old.status_code == 401
    assert old.json() == {"detail": "Could not validate credentials"}
    assert old.headers["www-authenticate"] == "Bearer"
    assert client.post("/v1/jobs/submit?command=x", headers=bearer("bob")).status_code == 200
    assert (
        client.post(
            "/v1/jobs/submit?command=x", headers=bearer("alice", int(time.time()) - 60)
        ).status_code
        == 200
    )


def test_the_servers_own_defaults_turn_launchers_off_and_hold_the_output_cap():
    from flux_hub.guard.serve import server_defaults

    limits = Limits(output_limit=10 * 1024**2)
    for given, expected in (
        ("", "output.limit=10M"),
        ("-ooutput.limit=1G -ocpu-affinity=off", "output.limit=10M cpu-affinity=off"),
        ("output.limit=1M", "output.limit=1M"),
        ("output.limit=0x7fffffff", "output.limit=10M"),
    ):
        environ = {"FLUX_OPTION_FLAGS": given, "KNOWN_LAUNCHERS": '["nextflow"]'}
        server_defaults(environ, limits)
        assert environ == {"FLUX_OPTION_FLAGS": expected, "KNOWN_LAUNCHERS": "[]"}, given


def test_one_persons_many_requests_wait_their_turn_not_the_others_threads(tmp_path):
    """bob fires 20 slow requests at once at a server of 5 threads: they all get answers, two
    at a time, and alice's request, sent after his, is answered in the time of one."""
    import asyncio

    import httpx
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from flux_hub.guard.middleware import Guard

    def slow(request):  # a sync endpoint: it runs in the thread pool, as flux-restful's do
        time.sleep(0.3)
        return PlainTextResponse("done")

    limits = Limits(streams_per_user=1, streams_total=1, spare_threads=4, requests_per_user=2)
    guard = Guard(
        Starlette(routes=[Route("/v1/jobs/1", slow)]),
        limits,
        signing_key=KEY,
        db_path=tmp_path / "flux-restful.db",
        multi_user=False,
    )

    async def main():
        transport = httpx.ASGITransport(app=guard)
        async with httpx.AsyncClient(transport=transport, base_url="http://guard") as client:
            bobs = [
                asyncio.create_task(client.get("/v1/jobs/1", headers=bearer("bob")))
                for _ in range(20)
            ]
            await asyncio.sleep(0.1)
            started = time.monotonic()
            alice = await client.get("/v1/jobs/1", headers=bearer("alice"))
            took = time.monotonic() - started
            answers = await asyncio.gather(*bobs)
        return alice, took, answers

    alice, took, answers = asyncio.run(main())
    assert alice.status_code == 200
    assert took < 0.9, f"alice waited {took:.2f} s behind bob's requests"
    assert [a.status_code for a in answers] == [200] * 20
    assert not guard.turns


def test_a_persons_listing_is_their_own_jobs_newest_first_and_at_most_1000(monkeypatch):
    """flux_hub.guard.listing around a stand-in of flux-restful's library: job-list's window
    order for the person's jobs in it, then theirs pushed out of it, newest first; another
    person's recorded job is never looked at; a job Flux forgot is forgotten; 1,000 at most."""
    import types

    from flux_hub.guard import listing

    window = [109, 108, 107, 106, 55]  # Flux's order: bob's 109-106, an unknown 55
    looked_at = []

    def get_job(jobid, user=None):
        looked_at.append(jobid)
        if jobid == 55:
            raise PermissionError("not alice's")  # flux-restful's JobAccessDenied
        return None if jobid == 3 else {"id": jobid}

    flux_cli = types.SimpleNamespace(
        list_jobs_detailed=lambda **kw: "flux-restful's own",
        user_name=lambda user: user,
        multi_user=lambda: False,
        list_jobs=lambda user=None: types.SimpleNamespace(
            get_jobs=lambda: [{"id": j} for j in window]
        ),
        get_job=get_job,
        query_job=lambda info, query: True,
    )
    own = listing.OwnJobs()
    for jobid in (1, 2, 3, 108):
        own.add("alice", jobid)
    for jobid in (109, 107, 106):
        own.add("bob", jobid)
    listed = listing.install(own, flux_cli)

    assert list(listed(user="alice")) == [108, 2, 1]
    assert looked_at == [108, 55, 3, 2, 1]  # none of bob's; 3 is gone from Flux
    assert own.snapshot("alice")[0] == {1, 2, 108}
    assert list(listed(user="alice", limit=2)) == [108, 2]
    assert flux_cli.list_jobs_detailed(user=None) == "flux-restful's own"  # anonymous
    monkeypatch.setattr(listing, "MOST_LISTED", 2)
    assert list(listed(user="alice")) == [108, 2]
