"""flux-hub's guard in front of flux-restful (flux_hub/guard), tried by bob as an attacker.

One multi-user local MiniCluster as root (real Unix users alice and bob; real Flux with
flux-security in the real lane, the simulation in the other), with small limits so that each
one is reached in a few requests. Every attempt is raw HTTP with bob's own token.
"""

import json
import os
import pwd
import re
import subprocess
import sys
import time

import pytest
import requests
from lanes import REAL_FLUX
from local_support import Api, as_account

from flux_hub.local.cluster import LocalCluster, multi_user_problem
from flux_hub.provision import run_dbscript

LIMITS = {
    # above the 15 database connections flux-restful's own pool had: each stream holds one
    "streams_per_user": 18,
    "streams_total": 20,
    "active_jobs_per_user": 3,
    "output_limit": "64K",
}
CAP = 64 * 1024
MARKER = "nextflow-ran"
NEXTFLOW = f"""#!/bin/sh
# bob's 'nextflow': what it would do as root is read alice's files; here it leaves a mark
id -u > "$HOME/{MARKER}" 2>/dev/null || id -u > /home/bob/{MARKER}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    assert os.geteuid() == 0, "the multi-user cluster runs as root, as ./scripts/run-hub does"
    problem = multi_user_problem("flux" if REAL_FLUX else "simulated")
    assert problem is None, problem
    cl = LocalCluster(
        tmp_path_factory.mktemp("guard"),
        users=["alice", "bob"],
        multi_user=True,
        limits=LIMITS,
    )
    cl.start(timeout=120)
    yield cl
    cl.stop()


def login(cluster, user, password=None):
    return Api(cluster.url, user, password or cluster.passwords[user])


@pytest.fixture(scope="module")
def alice(cluster):
    return login(cluster, "alice")


@pytest.fixture(scope="module")
def bob(cluster):
    return login(cluster, "bob")


def cancel_all(api, jobids):
    for jobid in jobids:
        api.post(f"/v1/jobs/{jobid}/cancel")
    for jobid in jobids:
        api.wait(jobid, "INACTIVE")


def as_bob(argv, **kwargs):
    bin_dir = f"{pwd.getpwnam('bob').pw_dir}/bin"
    path = (bin_dir, "/usr/bin", "/bin")
    return as_account("bob", argv, path=path, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def nextflow():
    """bob's own `nextflow` in ~/bin, and the file it leaves when it runs (proved: it runs as
    bob and leaves it, so its absence later means it did not run)."""
    home = pwd.getpwnam("bob").pw_dir
    marker = os.path.join(home, MARKER)
    made = as_bob(
        ["sh", "-c", "mkdir -p ~/bin && cat > ~/bin/nextflow && chmod 755 ~/bin/nextflow"],
        input=NEXTFLOW,
    )
    assert made.returncode == 0, made.stderr
    ran = as_bob(["nextflow", "run", "main.nf"])
    assert ran.returncode == 0, ran.stderr
    with open(marker) as f:
        assert f.read().strip() == str(pwd.getpwnam("bob").pw_uid)
    os.unlink(marker)
    yield {"bin": os.path.join(home, "bin"), "marker": marker}
    if os.path.exists(marker):
        os.unlink(marker)


LAUNCHER_REFUSED = (
    "Launchers (is_launcher) are turned off on this server: they would run the program inside "
    "the server itself. Submit the workflow tool as an ordinary job instead."
)


def test_bobs_launcher_is_refused_by_the_api_and_the_form_and_never_runs(cluster, bob, nextflow):
    envars = {"PATH": f"{nextflow['bin']}:/usr/bin:/bin"}
    for value in ("true", "1", "on", "True"):
        answer = bob.post(
            "/v1/jobs/submit",
            params={"command": "nextflow run main.nf", "is_launcher": value, "workdir": "/"},
            json=envars,
        )
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"Message": "Invalid submit request", "Errors": [LAUNCHER_REFUSED]}
    # The web form, as a browser would post it: the CSRF cookie and field, bob's token
    form = requests.post(
        f"{cluster.url}/jobs/submit",
        data={"command": "nextflow run main.nf", "is_launcher": "on", "csrf_token": "c" * 43},
        cookies={"csrftoken": "c" * 43},
        headers={"Authorization": f"Bearer {bob.token}"},
        timeout=30,
    )
    assert form.status_code == 400, form.text
    assert form.json()["Errors"] == [LAUNCHER_REFUSED]
    time.sleep(1)  # a launcher starts at once (subprocess.Popen in the request)
    assert not os.path.exists(nextflow["marker"])
    # bob's jobs still go in as ordinary jobs
    jobid = bob.submit("true")
    assert bob.wait(jobid)["returncode"] == 0


def test_the_server_has_known_launchers_empty_which_alone_refuses_bobs_nextflow(cluster, nextflow):
    with open(f"/proc/{cluster.server_pid}/environ", "rb") as f:
        environ = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    assert environ[b"KNOWN_LAUNCHERS"] == b"[]"
    # flux-restful's own launcher with that setting alone (no guard), run as bob so that a
    # failure of the wall is seen without handing anyone root
    code = (
        "from flux_restful.library.launcher import launch\n"
        "import sys, time\n"
        "print(launch({'command': 'nextflow run main.nf'}, workdir=sys.argv[1],"
        " envars={'PATH': sys.argv[2]}))\n"
        "time.sleep(1)\n"
    )
    argv = [sys.executable, "-c", code, os.path.dirname(nextflow["bin"]), nextflow["bin"]]
    bob = pwd.getpwnam("bob")
    base = {"PATH": "/usr/bin:/bin", "HOME": bob.pw_dir}
    for known, runs in (("[]", False), ('["nextflow"]', True)):
        done = subprocess.run(
            argv,
            user=bob.pw_uid,
            group=bob.pw_gid,
            extra_groups=[],
            env={**base, "KNOWN_LAUNCHERS": known},
            cwd=bob.pw_dir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        if runs:  # the control: the same call does run it when nextflow is a known launcher
            assert os.path.exists(nextflow["marker"]), done.stdout
            os.unlink(nextflow["marker"])
        else:
            assert done.stdout.splitlines()[-1].strip() == "nextflow is not a known launcher."
            assert not os.path.exists(nextflow["marker"])


def stream(api, jobid):
    return api.session.get(f"{api.url}/v1/jobs/{jobid}/output/stream", stream=True, timeout=30)


def test_bobs_streams_stop_at_the_limit_while_alice_still_answers(alice, bob):
    bobs = bob.submit("sh -c 'while :; do echo tick; sleep 1; done'")
    alices = alice.submit("sh -c 'echo hello; sleep 300'")
    opened = []
    try:
        bob.wait(bobs, "RUN")
        opened = [stream(bob, bobs) for _ in range(LIMITS["streams_per_user"])]
        assert [s.status_code for s in opened] == [200] * LIMITS["streams_per_user"]
        assert next(opened[0].iter_content(None))  # they stream
        refused = stream(bob, bobs)
        assert refused.status_code == 429
        assert refused.json() == {
            "detail": "bob has 18 output streams open, the most one person may have at once "
            "(FLUX_HUB_LIMIT_STREAMS_PER_USER=18): close one, or read the output with "
            "GET /v1/jobs/{id}/output."
        }
        # alice is not starved: her lookups answer at once, and she may stream too
        for _ in range(5):
            started = time.monotonic()
            assert alice.get(f"/v1/jobs/{alices}").status_code == 200
            assert time.monotonic() - started < 2
        opened += [stream(alice, alices) for _ in range(2)]
        assert [s.status_code for s in opened[-2:]] == [200, 200]
        # twenty open in all: the server's own cap
        full = stream(alice, alices)
        assert full.status_code == 429
        assert "(FLUX_HUB_LIMIT_STREAMS_TOTAL=20)" in full.json()["detail"]
        # a closed stream gives its place back
        opened.pop(0).close()
        deadline = time.monotonic() + 15
        while (again := stream(bob, bobs)).status_code == 429:
            again.close()
            assert time.monotonic() < deadline, "a closed stream still counted"
            time.sleep(0.5)
        opened.append(again)
        assert again.status_code == 200
    finally:
        for s in opened:
            s.close()
        cancel_all(bob, [bobs])
        cancel_all(alice, [alices])


def test_bobs_active_jobs_stop_at_the_limit(alice, bob):
    limit = LIMITS["active_jobs_per_user"]
    jobs = []
    try:
        jobs = [bob.submit("sleep 300") for _ in range(limit)]
        refused = bob.post("/v1/jobs/submit", params={"command": "sleep 300"})
        assert refused.status_code == 429, refused.text
        assert refused.json() == {
            "Message": "Invalid submit request",
            "Errors": [
                f"bob has {limit} active jobs, the most one person may have at once on this "
                f"server (FLUX_HUB_LIMIT_ACTIVE_JOBS_PER_USER={limit}): wait for some to end, "
                "or cancel some."
            ],
        }
        # not alice's limit
        jobid = alice.submit("true")
        assert alice.wait(jobid)["returncode"] == 0
        # one of bob's ends: he may submit one more
        cancel_all(bob, [jobs.pop()])
        jobs.append(bob.submit("sleep 300"))
    finally:
        cancel_all(bob, jobs)


def test_output_above_the_cap_is_refused_and_a_long_output_is_cut_at_it(cluster, bob):
    refused = bob.post(
        "/v1/jobs/submit", params={"command": "true", "option_flags": "output.limit=1G"}
    )
    assert refused.status_code == 400
    assert refused.json()["Errors"] == [
        "output.limit=1G is above this server's limit of 64K of output per job "
        "(FLUX_HUB_LIMIT_OUTPUT_LIMIT); ask for 64K or less."
    ]
    bad = bob.post("/v1/jobs/submit", params={"command": "true", "option_flags": "output.limit=1T"})
    assert bad.status_code == 400
    assert "is not a size this server takes" in bad.json()["Errors"][0]
    # at or below the cap is fine
    info, text = bob.run("echo small", option_flags="output.limit=16K")
    assert info["returncode"] == 0 and "small" in text
    # 1 MB of output, no limit asked: cut at the cap, the server still up
    info, text = bob.run("sh -c 'yes aaaaaaaaa | head -c 1000000'")
    assert info["state"] == "INACTIVE"
    written = text.count("a")
    assert CAP // 2 < written <= CAP, written
    assert requests.get(f"{cluster.url}/v1/auth", timeout=10).status_code == 200


def test_too_large_a_body_or_query_is_refused(bob):
    body = bob.post("/v1/jobs/submit", params={"command": "true"}, data=b"x" * (1024**2 + 1))
    assert body.status_code == 413
    assert body.json() == {
        "detail": "The request body is larger than this server takes: at most 1048576 bytes "
        "(FLUX_HUB_LIMIT_MAX_BODY)."
    }
    query = bob.get("/v1/jobs", params={"x": "y" * 9000})
    assert query.status_code == 414
    assert "(FLUX_HUB_LIMIT_MAX_QUERY)" in query.json()["detail"]


def set_password(cluster, name, password):
    ops = [{"op": "ensure", "name": name, "password": password, "reset_password": True}]
    answer = json.loads(run_dbscript(json.dumps({"ops": ops}), cluster.state_dir))
    assert answer["results"][0]["status"] == "password-set", answer


def test_a_password_change_kills_the_old_token_and_a_new_login_works(cluster, bob):
    old = login(cluster, "alice")
    assert old.get("/v1/jobs").status_code == 200
    try:
        set_password(cluster, "alice", "a new password")
        refused = old.get("/v1/jobs")
        assert refused.status_code == 401
        assert refused.json() == {"detail": "Could not validate credentials"}
        assert refused.headers["www-authenticate"] == "Bearer"
        # the old password no longer logs in; the new one does, and its token works at once
        gone = requests.post(
            f"{cluster.url}/v1/login/access-token",
            data={"username": "alice", "password": cluster.passwords["alice"]},
            timeout=30,
        )
        assert gone.status_code == 400
        new = login(cluster, "alice", "a new password")
        assert new.get("/v1/jobs").status_code == 200
        # bob's token (from before) is not touched
        assert bob.get("/v1/jobs").status_code == 200
    finally:
        set_password(cluster, "alice", cluster.passwords["alice"])
    assert login(cluster, "alice").get("/v1/jobs").status_code == 200


def post_form(cluster, api, **fields):
    return requests.post(
        f"{cluster.url}/jobs/submit",
        data={**fields, "csrf_token": "c" * 43},
        cookies={"csrftoken": "c" * 43},
        headers={"Authorization": f"Bearer {api.token}"},
        timeout=60,
    )


def test_the_web_forms_jobs_have_the_same_output_cap_and_count(cluster, bob):
    refused = post_form(cluster, bob, command="true", option_flags="-ooutput.limit=1G")
    assert refused.status_code == 400
    assert "above this server's limit of 64K" in refused.json()["Errors"][0]
    # a form job asking nothing gets the cap (the server's default option flags)
    made = post_form(cluster, bob, command="sh -c 'yes aaaaaaaaa | head -c 1000000'")
    assert made.status_code == 200, made.text
    [jobid] = re.findall(r"href='/job/([^']+)'", made.text)
    bob.wait(jobid)
    written = "".join(bob.output(jobid)).count("a")
    assert CAP // 2 < written <= CAP, written
    # form jobs count towards bob's active jobs as the API's do
    limit = LIMITS["active_jobs_per_user"]
    jobs = []
    try:
        for _ in range(limit):
            made = post_form(cluster, bob, command="sleep 300")
            assert made.status_code == 200, made.text
            jobs += re.findall(r"href='/job/([^']+)'", made.text)
        assert len(jobs) == limit
        assert post_form(cluster, bob, command="sleep 300").status_code == 429
        assert bob.post("/v1/jobs/submit", params={"command": "true"}).status_code == 429
    finally:
        cancel_all(bob, jobs)


def test_one_persons_form_flags_do_not_become_everyones(cluster, bob):
    """flux-restful's web form wrote each post's option flags into the server's defaults: alice's
    small output.limit became the limit of bob's later form jobs. Each post has its own now."""
    alice = login(cluster, "alice")  # (a password change above ends the fixture's token)
    small = post_form(cluster, alice, command="true", option_flags="-ooutput.limit=1K")
    assert small.status_code == 200, small.text
    made = post_form(cluster, bob, command="sh -c 'yes aaaaaaaaa | head -c 8000'")
    assert made.status_code == 200, made.text
    [jobid] = re.findall(r"href='/job/([^']+)'", made.text)
    bob.wait(jobid)
    assert len("".join(bob.output(jobid))) == 8000  # all of it, not 1K
