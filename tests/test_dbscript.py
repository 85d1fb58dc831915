"""The DB script: user management in flux-restful's database, run as its own process."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import requests
from local_support import Api

import flux_hub.provision.dbscript as dbscript
from flux_hub.accounts import LocalProvisioner, ProvisioningError
from flux_hub.provision import DBScriptRunError, run_dbscript

SOURCE = Path(dbscript.__file__).read_text()

# Counts bcrypt hashes in the script's process, then runs the script's source as `python3 -c`
COUNTING = """
import bcrypt, sys
calls = []
real = bcrypt.hashpw
bcrypt.hashpw = lambda *a: calls.append(1) or real(*a)
sys.modules["flux_hub"] = None  # the script must not need flux_hub
try:
    exec(compile(sys.argv[1], "dbscript", "exec"), {"__name__": "__main__"})
finally:
    print(len(calls), file=sys.stderr)
"""


def run(cwd, ops, raw=None):
    """Run the script's source in cwd as Kubernetes does; returns (response, bcrypt hashes)."""
    proc = subprocess.run(
        [sys.executable, "-c", COUNTING, SOURCE],
        input=raw if raw is not None else json.dumps({"ops": ops}),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert proc.stderr.splitlines(), proc
    return proc.returncode, json.loads(proc.stdout), int(proc.stderr.splitlines()[-1])


def rows(cwd):
    with sqlite3.connect(Path(cwd) / "flux-restful.db") as db:
        query = "SELECT user_name, hashed_password, is_active, is_superuser FROM user"
        return {name: (hashed, bool(a), bool(s)) for name, hashed, a, s in db.execute(query)}


def statuses(response):
    return [result.get("status") for result in response["results"]]


def test_ensure_creates_with_bcrypt_cost_12(tmp_path):
    ops = [
        {"op": "ensure", "name": "alice", "password": "pw-alice"},
        {"op": "ensure", "name": "root", "password": "pw-root", "superuser": True},
    ]
    code, response, hashed = run(tmp_path, ops)
    assert code == 0 and hashed == 2
    assert response["results"] == [
        {"op": "ensure", "name": "alice", "status": "created", "superuser": False},
        {"op": "ensure", "name": "root", "status": "created", "superuser": True},
    ]
    stored = rows(tmp_path)
    assert stored["alice"][0].startswith("$2b$12$")
    assert bcrypt.checkpw(b"pw-alice", stored["alice"][0].encode())
    assert stored["root"][1:] == (True, True)


def test_unchanged_users_cost_no_hash(tmp_path):
    run(tmp_path, [{"op": "ensure", "name": "alice", "password": "pw"}])
    before = rows(tmp_path)
    code, response, hashed = run(tmp_path, [{"op": "ensure", "name": "alice", "password": "pw"}])
    assert statuses(response) == ["unchanged"] and hashed == 0
    assert rows(tmp_path) == before
    # Role changes are not ensure's business: an existing user keeps its flag
    _, response, _ = run(tmp_path, [{"op": "ensure", "name": "alice", "superuser": True}])
    assert response["results"][0]["superuser"] is False


def test_reset_deactivate_reactivate_list(tmp_path):
    run(tmp_path, [{"op": "ensure", "name": "bob", "password": "old"}])
    code, response, hashed = run(
        tmp_path,
        [
            {"op": "ensure", "name": "bob", "password": "new", "reset_password": True},
            {"op": "deactivate", "name": "bob"},
            {"op": "deactivate", "name": "nobody"},
            {"op": "list"},
            {"op": "ensure", "name": "bob", "password": "ignored"},
            {"op": "list"},
        ],
    )
    assert code == 0 and hashed == 1
    assert statuses(response) == [
        "password-set",
        "deactivated",
        "missing",
        None,
        "reactivated",
        None,
    ]
    assert response["results"][3]["users"] == [{"name": "bob", "active": False, "superuser": False}]
    assert response["results"][5]["users"] == [{"name": "bob", "active": True, "superuser": False}]
    assert bcrypt.checkpw(b"new", rows(tmp_path)["bob"][0].encode())  # not "ignored"


def test_a_superuser_is_never_handed_out_reset_or_deactivated(tmp_path):
    run(tmp_path, [{"op": "ensure", "name": "admin", "password": "pw-admin", "superuser": True}])
    before = rows(tmp_path)
    code, response, hashed = run(
        tmp_path,
        [
            {"op": "ensure", "name": "admin", "password": "taken-over", "reset_password": True},
            {"op": "ensure", "name": "admin", "password": "taken-over"},
            {"op": "deactivate", "name": "admin"},
        ],
    )
    assert code == 0 and hashed == 0
    assert statuses(response) == ["error", "error", "error"]
    assert response["results"][0]["error"] == (
        "'admin' is a superuser on this cluster; will not hand out that account"
    )
    assert response["results"][2]["error"].endswith("will not deactivate that account")
    assert rows(tmp_path) == before


def test_each_op_commits_on_its_own(tmp_path):
    code, response, _ = run(
        tmp_path,
        [
            {"op": "ensure", "name": "first", "password": "pw"},
            {"op": "ensure", "name": "nopassword"},
            {"op": "ensure", "name": "two words", "password": "pw"},
            {"op": "ensure", "name": "long", "password": "x" * 73},
            {"op": "explode"},
            "not an op",
            {"op": "ensure", "name": "last", "password": "pw"},
        ],
    )
    assert code == 0
    assert statuses(response) == ["created", "error", "error", "error", "error", "error", "created"]
    errors = [r["error"] for r in response["results"] if r["status"] == "error"]
    assert errors[:3] == [
        "a password is required to create 'nopassword'",
        "'two words' is not a valid user name (printable, no spaces)",
        "the password for 'long' must be at most 72 bytes without NUL",
    ]
    assert "unknown op" in errors[3]
    assert set(rows(tmp_path)) == {"first", "last"}
    assert "x" * 73 not in json.dumps(response)


def test_malformed_request(tmp_path):
    for raw in ("not json", "[]", '{"ops": 3}'):
        code, response, _ = run(tmp_path, None, raw=raw)
        assert code == 2
        assert response == {"error": 'the request must be JSON {"ops": [...]} on stdin'}


NAMES = ["alice", "ünïcode", "a" * 255, "", "two words", "tab\there", "a" * 256, "nul\0", 5]


def test_local_cluster_and_the_script_accept_the_same_user_names(tmp_path):
    """One user-name rule (dbscript.check_name): a name LocalCluster takes is one the
    script makes, and a name it refuses is one the script refuses."""
    from flux_hub.local import LocalCluster

    ops = [{"op": "ensure", "name": name, "password": "pw"} for name in NAMES]
    _, response, _ = run(tmp_path, ops)
    made = [result["status"] == "created" for result in response["results"]]
    taken = []
    for name in NAMES:
        try:
            LocalCluster(tmp_path / "cluster", users=[name], simulate=True)
            taken.append(True)
        except ValueError as error:
            assert "user name" in str(error)
            taken.append(False)
    assert made == taken == [True, True, True, False, False, False, False, False, False]


# A stand-in for the server's Python: it keeps what it was given and answers as told
FAKE_PYTHON = """#!/bin/sh
printf '%s\\n' "$@" >argv
cat >stdin
env >env
pwd >cwd
printf '%s' "$ANSWER"
exit "$STATUS"
"""


@pytest.fixture
def fake_python(tmp_path, monkeypatch):
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    monkeypatch.setenv("FLUX_SECRET_KEY", "hub-secret")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    monkeypatch.setenv("ANSWER", '{"results": []}')
    monkeypatch.setenv("STATUS", "0")
    return python


def test_the_one_run_of_the_script(fake_python, tmp_path):
    """run_dbscript: the request on stdin, run in the server's folder, nothing of the hub's
    FLUX_* or JUPYTERHUB_* settings in its environment; the answer is its stdout."""
    server = tmp_path / "server"
    server.mkdir()
    answer = run_dbscript('{"ops": []}', server, python=str(fake_python))
    assert answer == '{"results": []}'
    assert (server / "argv").read_text().split() == ["-m", "flux_hub.provision.dbscript"]
    assert (server / "stdin").read_text() == '{"ops": []}'
    assert (server / "cwd").read_text().strip() == str(server)
    env = (server / "env").read_text()
    assert "ANSWER=" in env and "FLUX_SECRET_KEY" not in env and "JUPYTERHUB_" not in env
    run_dbscript("{}", server, python=str(fake_python), legacy=True)
    argv = (server / "argv").read_text().split("\n")
    assert argv[0] == "-c" and "def run(ops" in (server / "argv").read_text()
    assert argv[-2] == "--legacy"


def test_a_failed_run_says_why(fake_python, tmp_path, monkeypatch):
    monkeypatch.setenv("ANSWER", '{"error": "flux_restful cannot be imported here"}')
    monkeypatch.setenv("STATUS", "2")
    with pytest.raises(DBScriptRunError) as failed:
        run_dbscript("{}", tmp_path, python=str(fake_python))
    assert (str(failed.value), failed.value.exit_status) == (
        "flux_restful cannot be imported here",
        2,
    )
    with pytest.raises(DBScriptRunError) as not_run:
        run_dbscript("{}", tmp_path, python=str(tmp_path / "no-such-python"))
    assert not_run.value.exit_status is None and "no-such-python" in str(not_run.value)
    # The provisioner names its cluster around the same reason
    provisioner = LocalProvisioner(server_dir=str(tmp_path), python=str(fake_python))
    with pytest.raises(ProvisioningError) as refused:
        provisioner.list()
    assert str(refused.value) == (
        f"The account script for the local cluster in {tmp_path} failed (exit 2): "
        "flux_restful cannot be imported here"
    )


@pytest.mark.cluster
def test_against_the_running_server(cluster):
    """Users made by the script log in at once; a deactivated user's token stops working."""
    code, response, _ = run(
        cluster.state_dir, [{"op": "ensure", "name": "frank", "password": "frank-pw-1"}]
    )
    assert statuses(response) == ["created"]
    frank = Api(cluster.url, "frank", "frank-pw-1")
    assert frank.get("/v1/jobs").status_code == 200
    run(cluster.state_dir, [{"op": "deactivate", "name": "frank"}])
    assert frank.get("/v1/jobs").status_code == 401
    login = {"username": "frank", "password": "frank-pw-1"}
    assert requests.post(f"{cluster.url}/v1/login/access-token", data=login).status_code == 400
