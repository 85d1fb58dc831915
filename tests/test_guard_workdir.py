"""A job submitted without a working directory starts in the person's own folder.

Before the guard filled one in, such a job ran in flux-restful's own folder (next to its
database, the same for everyone) on a single-user server, and in ``/`` on a multi-user one,
where ``echo x > out.txt`` fails with "Permission denied". Here, through flux-restful's API and
its web form, on the local cluster in both lanes: single-user (the guard's template,
state_dir/homes/<user>, made 0700 on first use) and multi-user as root with real Unix accounts
(the account's own home). Without a cluster: the guard's rules (flux_hub.guard.workdir) and what
the middleware hands flux-restful.
"""

import os
import pwd
import re
import stat
import subprocess
import sys
import time

import pytest
import requests
from jose import jwt
from lanes import REAL_FLUX
from local_support import api, as_account

from flux_hub.guard.workdir import TEMPLATE_ENV, HomeError, Homes, TemplateError, check_template
from flux_hub.local.cluster import HOMES_DIR, LocalCluster, multi_user_problem

JOB = "sh -c 'pwd; echo x > out.txt'"
# Accounts of this module's own (other tests use alice and bob at the same time)
ALICE, BOB = "alice-wd", "bob-wd"


# -- the rules, without a server -------------------------------------------------------------
def test_templates_the_guard_takes_and_refuses():
    assert check_template(None) is None and check_template("  ") is None
    assert check_template(" /shared/home/{user} ") == "/shared/home/{user}"
    for bad, why in [
        ("shared/home/{user}", "is not an absolute path"),
        ("/shared/home", "has no {user}"),
        ("/shared/{group}/{user}", "other than {user}"),
        ("/{user}", "needs a folder of its own before {user}"),
    ]:
        with pytest.raises(TemplateError, match=re.escape(why)):
            check_template(bad)


def test_one_account_the_guard_makes_the_persons_folder_private_and_only_below_the_template(
    tmp_path,
):
    homes = Homes(f"{tmp_path}/homes/{{user}}", as_accounts=False)
    folder = homes.folder("alice")
    assert folder == f"{tmp_path}/homes/alice"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert homes.folder("alice") == folder  # there already: kept as it is
    for name in ("..", ".", "a/../../etc", ""):
        with pytest.raises(HomeError):
            homes.folder(name)
    assert sorted(os.listdir(tmp_path)) == ["homes"]
    assert os.listdir(tmp_path / "homes") == ["alice"]
    (tmp_path / "homes" / "bob").write_text("a file")
    with pytest.raises(HomeError, match="is not a folder"):
        homes.folder("bob")
    # no template on a single-user server: nothing is filled in (flux-restful's own way)
    assert Homes(None, as_accounts=False).folder("alice") is None


def test_jobs_as_accounts_the_guard_never_makes_a_folder_and_takes_the_passwd_home(tmp_path):
    homes = Homes(f"{tmp_path}/homes/{{user}}", as_accounts=True)
    with pytest.raises(HomeError) as refused:
        homes.folder("alice")
    assert str(refused.value) == (
        f"your folder {tmp_path}/homes/alice does not exist on this cluster, and the server "
        "does not make folders for its users (it runs as root): ask your admin, or give the "
        "job a working directory (workdir)"
    )
    assert not (tmp_path / "homes").exists()
    (tmp_path / "homes" / "alice").mkdir(parents=True)
    assert homes.folder("alice") == f"{tmp_path}/homes/alice"
    # no template: the account's home
    me = pwd.getpwuid(os.geteuid())
    by_passwd = Homes(None, as_accounts=True)
    if os.path.isdir(me.pw_dir) and me.pw_dir != "/":
        assert by_passwd.folder(me.pw_name) == me.pw_dir
    with pytest.raises(HomeError, match="has no Unix account on this cluster"):
        by_passwd.folder("no-such-account-wd")


def test_the_guard_does_not_start_with_a_bad_template():
    env = {**os.environ, TEMPLATE_ENV: "relative/{user}"}
    done = subprocess.run(
        [sys.executable, "-m", "flux_hub.guard", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip() == (
        f"flux-hub guard: {TEMPLATE_ENV}='relative/{{user}}' is not an absolute path"
    )


# -- the middleware around a stand-in app (what flux-restful is handed) ----------------------
KEY = "k" * 64


def bearer(sub):
    now = int(time.time())
    return {"Authorization": f"Bearer {jwt.encode({'sub': sub, 'iat': now}, KEY, 'HS256')}"}


def guarded(tmp_path, homes, passwords=None):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from flux_hub.guard.limits import Limits
    from flux_hub.guard.middleware import Guard

    async def submit(request):
        return JSONResponse({"id": 1, "workdir": request.query_params.get("workdir")})

    async def form(request):
        fields = await request.form()
        return JSONResponse({"workdir": fields.get("workdir"), "fields": sorted(fields.keys())})

    app = Starlette(
        routes=[
            Route("/v1/jobs/submit", submit, methods=["POST"]),
            Route("/jobs/submit", form, methods=["POST"]),
        ]
    )
    guard = Guard(
        app,
        Limits(),
        signing_key=KEY,
        db_path=tmp_path / "flux-restful.db",
        multi_user=False,
        list_jobs=lambda person, since: {},
        homes=homes,
        check_password=lambda name, password: (
            name if (passwords or {}).get(name) == password else None
        ),
    )
    return TestClient(guard)


def test_the_api_and_the_form_get_the_persons_folder_when_they_give_none(tmp_path):
    client = guarded(
        tmp_path, Homes(f"{tmp_path}/homes/{{user}}", as_accounts=False), {"carol": "pw"}
    )
    mine = f"{tmp_path}/homes/alice"
    submit = "/v1/jobs/submit"
    answer = client.post(submit, params={"command": "true"}, headers=bearer("alice"))
    assert answer.json()["workdir"] == mine
    # blank (the form's empty field) counts as none; one given is kept as it is
    for blank in ("", "  "):
        answer = client.post(
            submit, params={"command": "true", "workdir": blank}, headers=bearer("alice")
        )
        assert answer.json()["workdir"] == mine
    given = client.post(
        submit, params={"command": "true", "workdir": "/tmp"}, headers=bearer("alice")
    )
    assert given.json()["workdir"] == "/tmp"
    # the web form: urlencoded and multipart, by token or by a password flux-restful knows
    fields = {"command": "true", "workdir": "", "csrf_token": "c" * 43}
    by_token = client.post("/jobs/submit", data=fields, headers=bearer("alice")).json()
    assert by_token == {"workdir": mine, "fields": ["command", "csrf_token", "workdir"]}
    multipart = client.post(
        "/jobs/submit", data=fields, files={"x": ("x", b"")}, headers=bearer("alice")
    ).json()
    assert multipart["workdir"] == mine
    basic = client.post("/jobs/submit", data=fields, auth=("carol", "pw")).json()
    assert basic["workdir"] == f"{tmp_path}/homes/carol"
    # a made-up name gets no folder: flux-restful answers that post itself
    made_up = client.post("/jobs/submit", data=fields, auth=("mallory", "guess")).json()
    assert made_up["workdir"] == ""
    assert sorted(os.listdir(tmp_path / "homes")) == ["alice", "carol"]
    # no token at all: handed on untouched (flux-restful answers 401)
    assert client.post(submit, params={"command": "true"}).json()["workdir"] is None


def test_a_folder_that_cannot_be_had_is_one_line_and_no_job(tmp_path):
    client = guarded(tmp_path, Homes(f"{tmp_path}/homes/{{user}}", as_accounts=True))
    answer = client.post("/v1/jobs/submit", params={"command": "true"}, headers=bearer("alice"))
    assert answer.status_code == 400
    [line] = answer.json()["Errors"]
    assert line.startswith(f"your folder {tmp_path}/homes/alice does not exist on this cluster")
    form = client.post(
        "/jobs/submit", data={"command": "true", "csrf_token": "c"}, headers=bearer("alice")
    )
    assert form.status_code == 400 and form.json()["Errors"] == [line]


# -- on the local cluster, both lanes ---------------------------------------------------------
def run(person, **params):
    """A job with no working directory: (its result, the folder it printed)."""
    info, output = person.run(JOB, **params)
    return info["result"], output.strip()


def post_form(cluster, person, **kwargs):
    answer = requests.post(
        f"{cluster.url}/jobs/submit",
        data={"command": JOB, "workdir": "", "csrf_token": "c" * 43},
        cookies={"csrftoken": "c" * 43},
        timeout=60,
        **kwargs,
    )
    assert answer.status_code == 200, answer.text
    [jobid] = re.findall(r"href='/job/([^']+)'", answer.text)
    person.wait(jobid)
    return "".join(person.output(jobid)).strip()


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    cluster = LocalCluster(tmp_path_factory.mktemp("workdir-one"), users=["alice", "bob"], nodes=1)
    cluster.start(timeout=120)
    yield cluster
    cluster.stop()


def test_one_account_a_job_without_a_workdir_runs_in_the_persons_own_folder(single):
    alice, bob = api(single, "alice"), api(single, "bob")
    homes = single.state_dir / HOMES_DIR
    result, where = run(alice)
    assert (result, where) == ("COMPLETED", f"{homes}/alice")
    assert (homes / "alice" / "out.txt").read_text() == "x\n"
    assert stat.S_IMODE(os.stat(homes / "alice").st_mode) == 0o700
    assert run(bob) == ("COMPLETED", f"{homes}/bob")
    (homes / "alice" / "out.txt").unlink()
    # the web form's empty field, by token and by password
    assert post_form(single, alice, headers={"Authorization": f"Bearer {alice.token}"}) == (
        f"{homes}/alice"
    )
    assert post_form(single, bob, auth=("bob", single.passwords["bob"])) == f"{homes}/bob"
    assert (homes / "alice" / "out.txt").exists() and (homes / "bob" / "out.txt").exists()
    # none of it in flux-restful's own folder
    assert not (single.state_dir / "out.txt").exists()


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    assert os.geteuid() == 0, "alice and bob must be Unix accounts of their own: needs root"
    problem = multi_user_problem("flux" if REAL_FLUX else "simulated")
    assert problem is None, problem
    cluster = LocalCluster(
        tmp_path_factory.mktemp("workdir-many"), users=[ALICE, BOB], nodes=1, multi_user=True
    )
    cluster.start(timeout=120)
    yield cluster
    cluster.stop()
    for name in (ALICE, BOB):
        as_account(name, "rm -f out.txt", check=True)


def test_jobs_as_accounts_a_job_without_a_workdir_runs_in_the_accounts_home(multi):
    alice, bob = api(multi, ALICE), api(multi, BOB)
    for person, name in ((alice, ALICE), (bob, BOB)):
        home = pwd.getpwnam(name).pw_dir
        as_account(name, "rm -f out.txt", check=True)
        assert run(person) == ("COMPLETED", home)
        assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
        written = os.stat(f"{home}/out.txt")
        assert written.st_uid == pwd.getpwnam(name).pw_uid
        assert open(f"{home}/out.txt").read() == "x\n"
    as_account(ALICE, "rm -f out.txt", check=True)
    assert (
        post_form(multi, alice, headers={"Authorization": f"Bearer {alice.token}"})
        == pwd.getpwnam(ALICE).pw_dir
    )
    assert os.path.exists(f"{pwd.getpwnam(ALICE).pw_dir}/out.txt")
