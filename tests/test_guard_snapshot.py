"""The guard's snapshot (``GET /flux-hub/v1/snapshot``): every job and the resources, for a
superuser only, as flux-hub's reader reads them (flux_hub/guard/snapshot.py).

Two local MiniClusters as root (2 nodes x 4 cores each): a multi-user one (real Unix users alice
and bob; real Flux with flux-security in the real lane, the simulation in the other) and a
single-user one. Everything is asked over HTTP with the tokens flux-restful gives; each record is
compared with what flux-restful itself answers for the job (GET /v1/jobs/{id}); on real Flux the
resources with ``flux resource list``.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest
import requests
from jose import jwt
from lanes import REAL_FLUX
from local_support import Api, assert_same_as_restful

from flux_hub.local.cluster import LocalCluster, multi_user_problem, node_names
from flux_hub.provision import run_dbscript

pytestmark = pytest.mark.cluster

PATH = "/flux-hub/v1/snapshot"
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
NOT_SUPERUSER = {"detail": "Only a superuser of this server may read its snapshot."}
TOP_KEYS = {"instance", "time", "multi_user", "complete", "owners_unknown", "jobs", "resources"}
SIMFLUX = os.path.join(os.path.dirname(__file__), "..", "flux_hub", "local", "simflux")


def start(tmp_path_factory, name, **kwargs):
    cluster = LocalCluster(
        tmp_path_factory.mktemp(name), users=["alice", "bob"], nodes=2, cores_per_node=4, **kwargs
    )
    cluster.start(timeout=120)
    return cluster


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    assert os.geteuid() == 0, "the multi-user cluster runs as root, as ./scripts/run-hub does"
    problem = multi_user_problem("flux" if REAL_FLUX else "simulated")
    assert problem is None, problem
    cluster = start(tmp_path_factory, "multi", multi_user=True)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    cluster = start(tmp_path_factory, "single")
    yield cluster
    cluster.stop()


def login(cluster, user):
    return Api(cluster.url, user, cluster.passwords[user])


def snapshot(cluster, token, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{cluster.url}{PATH}", params=params, headers=headers, timeout=60)


def read(cluster, token, **params):
    answer = snapshot(cluster, token, **params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == TOP_KEYS
    return body


def by_id(body):
    return {job["id"]: job for job in body["jobs"]}


def same_as_restful(api, job):
    """The record is flux-restful's own answer for the job, plus its owner."""
    assert_same_as_restful(api, job, ("owner",), slack=5)


def cancel_all(api, jobids):
    for jobid in jobids:
        api.post(f"/v1/jobs/{jobid}/cancel")
    for jobid in jobids:
        api.wait(jobid, "INACTIVE")


def flux_uri(cluster):
    with open(f"/proc/{cluster.server_pid}/environ", "rb") as f:
        environ = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    return environ[b"FLUX_URI"].decode()


def flux(cluster, *args):
    """A flux command against the cluster's instance (real Flux only), as root."""
    done = subprocess.run(
        ["flux", *args],
        env={**os.environ, "FLUX_URI": flux_uri(cluster)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_superuser_sees_everyones_jobs_with_their_owners_and_the_resources(multi):
    alice, bob = login(multi, "alice"), login(multi, "bob")
    admin = login(multi, multi.admin_user)
    ended = [alice.submit("true"), bob.submit("sh -c 'exit 3'"), alice.submit("false")]
    for api, jobid in zip((alice, bob, alice), ended, strict=True):
        api.wait(jobid)
    running = bob.submit("sleep 300", num_tasks=2)
    try:
        bob.wait(running, "RUN")
        body = read(multi, admin.token)
        jobs = by_id(body)
        assert body["multi_user"] is REAL_FLUX  # the simulation runs flux-restful single-user
        assert body["complete"] is True and body["owners_unknown"] == 0
        assert {jobid: jobs[jobid]["owner"] for jobid in [*ended, running]} == {
            ended[0]: "alice",
            ended[1]: "bob",
            ended[2]: "alice",
            running: "bob",
        }
        for jobid in ended:
            same_as_restful(bob if jobs[jobid]["owner"] == "bob" else alice, jobs[jobid])
        same_as_restful(bob, jobs[running])
        assert jobs[ended[1]]["returncode"] == 3 and jobs[ended[1]]["result"] == "FAILED"
        # Flux's order: running, then the ended ones, the last to end first
        order = [job["id"] for job in body["jobs"]]
        assert order.index(running) < order.index(ended[2]) < order.index(ended[0])
        assert body["resources"] == {
            "nodes": {"total": 2, "up": 2, "down": 0, "busy": 1, "free": 2},
            "cores": {"total": 8, "up": 8, "down": 0, "busy": 2, "free": 6},
            "gpus": {"total": 0, "up": 0, "down": 0, "busy": 0, "free": 0},
            "hosts_up": node_names(2),
        }
        if REAL_FLUX:
            rows = flux(multi, "resource", "list", "-n", "-o", "{state} {nnodes} {ncores} {ngpus}")
            listed = {
                state: tuple(map(int, counts))
                for state, *counts in (row.split() for row in rows.splitlines())
            }
            resources = body["resources"]
            for state, key in (("free", "free"), ("allocated", "busy"), ("down", "down")):
                assert listed[state] == tuple(
                    resources[kind][key] for kind in ("nodes", "cores", "gpus")
                )
    finally:
        cancel_all(bob, [running])


def test_nobody_else_learns_anything(multi, single):
    alice = login(multi, "alice")
    key = "a signing key that is not the server's"
    forged = jwt.encode(
        {"sub": multi.admin_user, "backend": "shared-secret", "iat": int(time.time())},
        key,
        algorithm="HS256",
    )
    for token in (None, "", "not-a-token", forged, login(single, single.admin_user).token):
        answer = snapshot(multi, token)
        assert answer.status_code == 401, answer.text
        assert answer.json() == NOT_AUTHENTICATED
        assert answer.headers["www-authenticate"] == "Bearer"
    for cluster, person in ((multi, alice), (single, login(single, "bob"))):
        answer = snapshot(cluster, person.token, since=0)
        assert answer.status_code == 403, answer.text
        assert answer.json() == NOT_SUPERUSER
        # bad parameters are not even looked at for them
        assert snapshot(cluster, person.token, limit="x").json() == NOT_SUPERUSER


def set_password(cluster, name, password):
    ops = [
        {
            "op": "ensure",
            "name": name,
            "password": password,
            "reset_password": True,
            "superuser": True,
        }
    ]
    answer = json.loads(run_dbscript(json.dumps({"ops": ops}), cluster.state_dir))
    assert answer["results"][0]["status"] in ("password-set", "reactivated"), answer


def test_a_superuser_token_from_before_a_password_change_is_refused(single):
    old = login(single, single.admin_user)
    assert snapshot(single, old.token).status_code == 200
    time.sleep(1.1)  # the token's iat is in whole seconds
    try:
        set_password(single, single.admin_user, "another password")
        answer = snapshot(single, old.token)
        assert answer.status_code == 401
        assert answer.json() == NOT_AUTHENTICATED
        new = Api(single.url, single.admin_user, "another password")
        assert snapshot(single, new.token).status_code == 200
    finally:
        set_password(single, single.admin_user, single.passwords[single.admin_user])


def test_a_deactivated_superuser_is_refused(single):
    admin = login(single, single.admin_user)
    time.sleep(1.1)  # the token's iat is in whole seconds
    ops = [{"op": "deactivate", "name": single.admin_user, "superuser": True}]
    answer = json.loads(run_dbscript(json.dumps({"ops": ops}), single.state_dir))
    assert answer["results"][0]["status"] == "deactivated", answer
    try:
        refused = snapshot(single, admin.token)
        assert refused.status_code == 401
        assert refused.json() == NOT_AUTHENTICATED
    finally:
        set_password(single, single.admin_user, single.passwords[single.admin_user])
    assert snapshot(single, login(single, single.admin_user).token).status_code == 200


def test_bad_since_or_limit_is_one_line(single):
    admin = login(single, single.admin_user)
    since = "since must be a time in seconds since the epoch, not"
    for params, detail in (
        ({"since": "yesterday"}, f"{since} 'yesterday'"),
        ({"since": "-1"}, f"{since} '-1'"),
        ({"since": "nan"}, f"{since} 'nan'"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 10000, not '0'"),
        ({"limit": "10001"}, "limit must be a whole number from 1 to 10000, not '10001'"),
        ({"limit": "2.5"}, "limit must be a whole number from 1 to 10000, not '2.5'"),
    ):
        answer = snapshot(single, admin.token, **params)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"detail": detail}


def test_since_gives_the_active_jobs_and_those_ended_after_it(single):
    alice, admin = login(single, "alice"), login(single, single.admin_user)
    before = alice.submit("true")
    alice.wait(before)
    first = read(single, admin.token)
    waiting = alice.submit("sleep 300")
    after = alice.submit("true")
    try:
        alice.wait(after)
        alice.wait(waiting, "RUN")
        later = read(single, admin.token, since=first["time"])
        assert later["instance"] == first["instance"]
        assert later["time"] > first["time"]
        ids = set(by_id(later))
        assert {waiting, after} <= ids
        assert before not in ids
        assert all(
            job["state"] != "INACTIVE" or job["t_inactive"] > first["time"] for job in later["jobs"]
        )
        # without since: every job; a limit cuts the listing and says so
        assert {before, waiting, after} <= set(by_id(read(single, admin.token)))
        cut = read(single, admin.token, limit=1)
        assert len(cut["jobs"]) == 1 and cut["complete"] is False
        assert cut["jobs"][0]["id"] == waiting  # the running job comes first
    finally:
        cancel_all(alice, [waiting])


def post_form(cluster, api, **fields):
    return requests.post(
        f"{cluster.url}/jobs/submit",
        data={**fields, "csrf_token": "c" * 43},
        cookies={"csrftoken": "c" * 43},
        headers={"Authorization": f"Bearer {api.token}"},
        timeout=60,
    )


def test_single_user_owners_of_api_and_web_form_jobs(single):
    alice, bob = login(single, "alice"), login(single, "bob")
    admin = login(single, single.admin_user)
    api_job = alice.submit("true")
    made = post_form(single, bob, command="true")
    assert made.status_code == 200, made.text
    [form_job] = re.findall(r"href='/job/([^']+)'", made.text)
    form_job = bob.info(form_job)["id"]
    alice.wait(api_job)
    bob.wait(form_job)
    body = read(single, admin.token)
    jobs = by_id(body)
    assert body["multi_user"] is False and body["owners_unknown"] == 0
    assert (jobs[api_job]["owner"], jobs[form_job]["owner"]) == ("alice", "bob")
    same_as_restful(alice, jobs[api_job])
    same_as_restful(bob, jobs[form_job])


# Jobs submitted outside flux-restful: their owner is the jobspec's system.user, looked up at
# most 100 times an answer. The simulation has no socket (nothing outside the server process
# reaches it), so there the jobs are submitted in a process of its own that runs the
# simulation and the guard's own snapshot code.
SIMULATED_ELSEWHERE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import flux, flux._broker, flux.job
from flux_hub.guard.snapshot import Snapshots
flux._broker.start_instance(2, 4, "vm")
handle = flux.Flux()
def submit(user):
    spec = flux.job.JobspecV1.from_command(["true"])
    if user:
        spec.setattr("user", user)
    return flux.job.submit(handle, spec)
ids = [submit("alice") for _ in range(140)] + [submit(None)]
snapshots = Snapshots(signing_key="k", not_before=None, multi_user=False)
first, second = snapshots.take(None, 10000), snapshots.take(None, 10000)
print(json.dumps({"ids": ids, "answers": [first, second]}))
flux._broker.instance().shutdown()
"""


def test_owners_of_jobs_submitted_elsewhere_are_read_from_their_jobspecs(single):
    if REAL_FLUX:
        admin = login(single, single.admin_user)
        ids = flux(single, "submit", "--cc=1-140", "--setattr=system.user=alice", "true").split()
        ids += flux(single, "submit", "true").split()
        ids = [int(flux(single, "job", "id", jobid)) for jobid in ids]
        answers = [read(single, admin.token), read(single, admin.token)]
    else:
        done = subprocess.run(
            [sys.executable, "-c", SIMULATED_ELSEWHERE, SIMFLUX],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        answers = json.loads(done.stdout)
        ids, answers = answers["ids"], answers["answers"]
    first, second = (by_id(answer) for answer in answers)
    told = [first[jobid]["owner"] for jobid in ids]
    # 100 looked up this time (the one naming nobody may be among them), the rest not told
    # and counted; the next answer tells them all
    assert answers[0]["owners_unknown"] == len(ids) - 100
    assert told.count("alice") in (99, 100)
    assert answers[1]["owners_unknown"] == 0
    assert [second[jobid]["owner"] for jobid in ids] == ["alice"] * (len(ids) - 1) + [None]


def test_waiting_jobs_have_sched_simples_estimates(single):
    alice, admin = login(single, "alice"), login(single, single.admin_user)
    jobs = []
    try:
        full = [alice.submit("sleep 300", num_tasks=4, runtime=120) for _ in range(2)]
        jobs += full
        for jobid in full:
            alice.wait(jobid, "RUN")
        for num_tasks, runtime in ((2, 60), (4, 300), (1, 0), (1, 30)):
            jobs.append(alice.submit("true", num_tasks=num_tasks, runtime=runtime))
        waiting = jobs[2:]
        deadline = time.monotonic() + 15
        while True:  # real Flux annotates in a pass of its own, after scheduling
            listed = by_id(read(single, admin.token))
            estimates = [listed[j].get("annotations", {}).get("sched", {}) for j in waiting]
            if all("t_estimate" in e for e in estimates[:3]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        ends = sorted(listed[jobid]["expiration"] for jobid in full)
        assert [e.get("t_estimate") for e in estimates] == [
            pytest.approx(ends[0], abs=0.05),  # 2 cores: when the first full node ends
            pytest.approx(ends[1], abs=0.05),  # 4 cores: when the second does
            pytest.approx(ends[1], abs=0.05),  # no earlier than the job ahead of it
            None,  # behind a job without a time limit: no estimate
        ]
        for jobid in waiting:
            assert listed[jobid]["state"] == "SCHED"
            same_as_restful(alice, listed[jobid])
        for jobid in full:
            assert "t_estimate" not in listed[jobid]["annotations"]["sched"]
        # canceled, running or waiting: the records of jobs that ended with an exception (the
        # waiting first, or one could start, and end, once a running one is gone)
        cancel_all(alice, [*waiting[::-1], *full])
        ended = by_id(read(single, admin.token))
        for jobid in jobs:
            same_as_restful(alice, ended[jobid])
            assert ended[jobid]["exception"]["type"] == "cancel"
            assert ended[jobid]["result"] == "CANCELED"
            assert "t_estimate" not in ended[jobid].get("annotations", {}).get("sched", {})
    finally:
        cancel_all(alice, jobs)
