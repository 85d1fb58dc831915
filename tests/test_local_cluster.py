"""LocalCluster: start, stop, restart, users and secrets; the local-cluster command."""

import json
import os
import pwd
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time

import jwt
import pytest
import requests
from jupyterhub.utils import random_port
from lanes import REAL_FLUX
from local_support import Api, api

from flux_hub.local import LocalCluster, LocalClusterError
from flux_hub.local.cluster import STATE_FILE, node_names

pytestmark = pytest.mark.cluster


def hashes(cluster):
    with sqlite3.connect(cluster.db_path) as db:
        return dict(db.execute("SELECT user_name, hashed_password FROM user"))


def gone(pid):
    """The process has exited (a zombie counts: it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def handshake(cluster, user, password):
    payload = {"user": user, "pass": password, "scope": "token"}
    encoded = jwt.encode(payload, cluster.secret_key, algorithm="HS256")
    return requests.post(f"{cluster.url}/v1/token", headers={"Authorization": f"Bearer {encoded}"})


def test_started_cluster(cluster):
    assert cluster.url == f"http://127.0.0.1:{cluster.port}"
    assert cluster.mode == ("flux" if REAL_FLUX else "simulated")
    assert requests.get(f"{cluster.url}/v1/auth").json() == {
        "backend": "shared-secret",
        "password_login": True,
        "shared_secret_handshake": True,
    }
    assert set(cluster.passwords) == {"fluxadmin", "alice", "bob", "carol"}
    assert handshake(cluster, "carol", cluster.passwords["carol"]).status_code == 200
    assert handshake(cluster, "carol", "wrong").status_code == 400
    assert cluster.db_path == cluster.state_dir / "flux-restful.db"
    for path in (cluster.state_dir / STATE_FILE, cluster.db_path, cluster.log_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    started = "real Flux (" if REAL_FLUX else "the simulated Flux instance (2 nodes x 4 cores)"
    assert started in cluster.log_path.read_text()


def signing_key(cluster):
    return json.loads((cluster.state_dir / STATE_FILE).read_text())["token_signing_key"]


def test_secrets_stay_out_of_the_log_and_argv(cluster):
    log = cluster.log_path.read_text()
    secrets = [cluster.secret_key, signing_key(cluster), *cluster.passwords.values()]
    assert not any(secret in log for secret in secrets)
    assert not any(secret in repr(cluster) for secret in secrets)
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace")
        except OSError:
            continue
        assert not any(secret in argv for secret in secrets), argv


def test_ensure_users(cluster):
    created = cluster.ensure_users(["dave", "erin"])
    assert set(created) == {"dave", "erin"}
    assert Api(cluster.url, "dave", created["dave"]).get("/v1/jobs").status_code == 200
    assert cluster.passwords["erin"] == created["erin"]
    before = hashes(cluster)
    assert cluster.ensure_users(["dave", "erin"]) == {}
    assert hashes(cluster) == before  # existing users are not hashed again
    with pytest.raises(ValueError, match="not a valid user name"):
        cluster.ensure_users(["bad name"])


def test_restart_keeps_port_users_passwords_and_keys(fresh_cluster):
    url, secret, passwords = fresh_cluster.url, fresh_cluster.secret_key, fresh_cluster.passwords
    before = hashes(fresh_cluster)
    alice = api(fresh_cluster, "alice")
    jobid = alice.submit("true")

    fresh_cluster.restart()
    assert (fresh_cluster.url, fresh_cluster.secret_key) == (url, secret)
    assert fresh_cluster.passwords == passwords
    assert fresh_cluster.new_passwords == {}
    assert hashes(fresh_cluster) == before
    assert alice.get("/v1/jobs").status_code == 200  # the old token is still valid
    assert alice.get(f"/v1/jobs/{jobid}").status_code == 404  # a new Flux instance
    assert handshake(fresh_cluster, "bob", passwords["bob"]).status_code == 200

    # A new LocalCluster object on the same state directory finds it all again
    fresh_cluster.stop()
    again = LocalCluster(fresh_cluster.state_dir, users=["alice"]).start()
    try:
        assert again.secret_key == secret and again.passwords == passwords
        assert Api(again.url, "alice", passwords["alice"]).get("/v1/jobs").status_code == 200
    finally:
        again.stop()


def test_stop_kills_job_processes(fresh_cluster):
    alice = api(fresh_cluster, "alice")
    jobid = alice.submit("sh -c 'sleep 300 & echo $$ $!; wait'")
    alice.wait(jobid, "RUN")
    deadline = time.monotonic() + 20
    while not (output := alice.output(jobid)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    pids = [int(pid) for pid in output[0].split()]
    assert not any(gone(pid) for pid in pids)
    fresh_cluster.stop()
    assert all(gone(pid) for pid in pids)
    assert not fresh_cluster.running
    fresh_cluster.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fresh_cluster.url}/v1/auth", timeout=5)


def test_stop_with_an_open_stream_still_kills_jobs(fresh_cluster):
    alice = api(fresh_cluster, "alice")
    jobid = alice.submit("sh -c 'echo $$; exec sleep 300'")
    alice.wait(jobid, "RUN")
    with alice.get(f"/v1/jobs/{jobid}/output/stream", stream=True) as response:
        pid = int(next(response.iter_lines()))
        fresh_cluster.stop()  # the open stream keeps the server from a graceful exit
    assert gone(pid)


def test_start_failure_shows_the_log_without_secrets(tmp_path):
    assert LocalCluster(tmp_path / "bad").secret_key  # makes the state and its keys
    key = signing_key(LocalCluster(tmp_path / "bad"))
    # flux-restful rejects this backend name and prints it: the error must hide it
    cluster = LocalCluster(tmp_path / "bad", server_env={"FLUX_AUTH_BACKEND": key})
    with pytest.raises(LocalClusterError) as caught:
        cluster.start(timeout=60)
    message = str(caught.value)
    assert "exited with status" in message and "FLUX_AUTH_BACKEND must be one of" in message
    assert key not in message and "****" in message
    assert not cluster.running


def test_port_in_use(cluster, tmp_path):
    # (another account holding it: tests/test_squatting.py)
    with pytest.raises(LocalClusterError) as caught:
        LocalCluster(tmp_path / "other", port=cluster.port).start()
    holder = f"{pwd.getpwuid(os.geteuid()).pw_name} (uid {os.geteuid()})"
    assert str(caught.value).startswith(
        f"127.0.0.1:{cluster.port} is held by another program of this cluster's account, "
        f"{holder}, so flux-restful cannot listen there"
    )


def test_bad_arguments(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="nodes"):
        LocalCluster(tmp_path, nodes=0)
    with pytest.raises(ValueError, match="not a valid user name"):
        LocalCluster(tmp_path, users=["two words"])
    with pytest.raises(ValueError, match="cores_per_node"):
        LocalCluster(tmp_path, cores_per_node=0)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no flux-core here, whatever the lane
    with pytest.raises(LocalClusterError, match="flux-core's flux is not on PATH"):
        LocalCluster(tmp_path, simulate=False)
    monkeypatch.setenv("FLUX_HUB_SIMULATE", "maybe")
    with pytest.raises(LocalClusterError, match="FLUX_HUB_SIMULATE must be 1 or 0"):
        LocalCluster(tmp_path)


def run_cli(state_dir, port, *users):
    argv = [sys.executable, "-m", "flux_hub.cli", "local-cluster"]
    argv += ["--state-dir", str(state_dir), "--port", str(port)]
    argv += [arg for user in users for arg in ("--user", user)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, lines
    proc.wait()
    pytest.fail(f"local-cluster exited: {lines} {proc.stderr.read()}")


def stop_cli(proc, timeout=60):
    """Ctrl-C, as a person stops it; its exit status. A CLI still running after ``timeout``
    (LocalCluster.stop gives the instance at most about 25 s) fails with what it printed."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"local-cluster still running {timeout} s after Ctrl-C:\n{out}\n{err}")


def test_cli_prints_new_users_the_seed_way(tmp_path):
    port = random_port()
    proc, lines = run_cli(tmp_path / "state", port, "alice", "bob")
    try:
        added = [re.fullmatch(r"Adding '(\S+)' with password '(\S+)'", line) for line in lines]
        passwords = {m[1]: m[2] for m in added if m}
        assert list(passwords) == ["fluxadmin", "alice", "bob"]
        assert f"flux-restful is running at http://127.0.0.1:{port}" in "\n".join(lines)
        if REAL_FLUX:
            assert "(real Flux, flux start --test-size=2, 2 nodes x 4 cores)" in "\n".join(lines)
        else:
            assert "(simulated Flux instance, 2 nodes x 4 cores" in "\n".join(lines)
        assert Api(f"http://127.0.0.1:{port}", "bob", passwords["bob"]).get("/v1/jobs").ok
    finally:
        assert stop_cli(proc) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/v1/auth", timeout=5)

    # Existing users are not added again; a new one is
    proc, lines = run_cli(tmp_path / "state", port, "alice", "carol")
    try:
        assert [line for line in lines if line.startswith("Adding")] == [
            line for line in lines if line.startswith("Adding 'carol'")
        ]
        assert len([line for line in lines if line.startswith("Adding")]) == 1
        assert Api(f"http://127.0.0.1:{port}", "alice", passwords["alice"]).get("/v1/jobs").ok
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


@pytest.mark.simulator_only(reason="real Flux gives such ids only to an instance up for 6.2 days")
def test_the_test_clusters_job_ids_are_above_2_to_the_53(client_for):
    # (conftest starts them 30 days old, as a long-lived instance's ids are)
    assert client_for("alice").submit("true") > 2**53


def test_cli_cluster_has_the_nodes_and_cores_asked_for(tmp_path):
    """--nodes 2 --cores 4 is 2 x 4 on either Flux: /v1/nodes, and a job of all 8 cores runs."""
    port = random_port()
    proc, lines = run_cli(tmp_path / "state", port, "alice")
    try:
        added = [re.fullmatch(r"Adding '(\S+)' with password '(\S+)'", line) for line in lines]
        password = {m[1]: m[2] for m in added if m}["alice"]
        alice = Api(f"http://127.0.0.1:{port}", "alice", password)
        assert sorted(alice.get("/v1/nodes").json()["nodes"]) == node_names(2)
        submitted = alice.post("/v1/jobs/submit", params={"command": "nproc", "num_tasks": 8})
        assert submitted.ok, submitted.text
        jobid = submitted.json()["id"]
        info = wait_inactive(alice, jobid)
        assert (info["result"], info["ncores"], info["nnodes"]) == ("COMPLETED", 8, 2)
        assert info["nodelist"] == f"{node_names(2)[0][:-1]}[0-1]"
        # one core more than there are is refused by the scheduler with Flux's own words
        too_big = alice.post("/v1/jobs/submit", params={"command": "true", "num_tasks": 9})
        info = wait_inactive(alice, too_big.json()["id"])
        assert info["result"] == "FAILED"
        assert info["exception"]["note"] == (
            "unsatisfiable request: need 9 slot(s) of 1 core(s), only 8 such slot(s) available "
            "(total cores: 8)"
        )
    finally:
        assert stop_cli(proc) == 0


def wait_inactive(api_, jobid, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        info = api_.get(f"/v1/jobs/{jobid}").json()
        if info["state"] == "INACTIVE" or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


FAKE_FLUX = """#!/bin/sh
# flux-core's command, as far as LocalCluster can tell; its bindings are elsewhere
case "$1" in
  version) echo "libflux-core:		0.88.0" ;;
  env) shift; exec "$@" ;;
esac
"""


def test_cli_says_in_one_line_when_fluxs_bindings_do_not_import(tmp_path):
    """flux-core on PATH, its Python bindings not importable here: one line, no traceback."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "flux").write_text(FAKE_FLUX)
    (bindir / "flux").chmod(0o755)
    # a flux package that fails as flux-core's does without its dependencies
    broken = tmp_path / "site" / "flux"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("import ply_is_not_installed_here\n")
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", PYTHONPATH=str(broken.parent))
    env.pop("FLUX_HUB_SIMULATE", None)
    argv = [sys.executable, "-m", "flux_hub.cli", "local-cluster"]
    argv += ["--state-dir", str(tmp_path / "state"), "--port", str(random_port())]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1, errors
    assert errors[0].startswith("flux-hub local-cluster: flux-core is installed")
    assert "its Python bindings do not import in this Python" in errors[0]
    assert "No module named 'ply_is_not_installed_here'" in errors[0]
    assert "--simulate" in errors[0]


def test_multi_user_jobs_run_as_their_owners_and_stop_ends_them(tmp_path):
    """As root, multi_user=True: each job runs as its owner's Unix account (real Flux: a
    multi-user instance, flux-security's IMP), nobody else may see it, and stop() ends the
    instance and jobs of every user, freeing the port."""
    import pwd

    from flux_hub.local.cluster import multi_user_problem

    assert os.geteuid() == 0, "jobs run as their owners only when the cluster runs as root"
    mode = "flux" if REAL_FLUX else "simulated"
    assert multi_user_problem(mode) is None, multi_user_problem(mode)
    cluster = LocalCluster(tmp_path / "cluster", users=["alice", "bob"], multi_user=True)
    cluster.start(timeout=120)
    try:
        alice, bob = api(cluster, "alice"), api(cluster, "bob")
        jobid = alice.submit("sh -c 'id -un; sleep 300 & echo $!; wait'")
        alice.wait(jobid, "RUN")
        deadline = time.monotonic() + 30
        while len(output := "".join(alice.output(jobid)).split()) < 2:
            assert time.monotonic() < deadline, output
            time.sleep(0.1)
        assert output[0] == "alice"
        pid = int(output[1])
        assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam("alice").pw_uid
        # bob may not look at alice's job
        assert bob.get(f"/v1/jobs/{jobid}").status_code == 403
        assert bob.get(f"/v1/jobs/{jobid}/output").status_code == 403
        assert str(jobid) in alice.get("/v1/jobs").text
        if REAL_FLUX:
            # nor see it listed: flux-restful's multi-user mode lists only the caller's jobs.
            # Over the simulation it runs in single-user mode, whose listing shows every job.
            assert str(jobid) not in bob.get("/v1/jobs").text
        cluster.stop()
        assert gone(pid)
        assert not cluster.running
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{cluster.url}/v1/auth", timeout=5)
        with socket.socket() as sock:
            # nothing listens on the port any more (a restart can take it again)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((cluster.host, cluster.port))
    finally:
        cluster.stop()


def test_multi_user_on_real_flux_says_in_one_line_what_is_missing(tmp_path):
    from flux_hub.local.cluster import flux_multi_user_problem

    (tmp_path / "bin").mkdir()
    flux = tmp_path / "bin" / "flux"
    flux.write_text("#!/bin/sh\n")
    problem = flux_multi_user_problem(str(flux))
    assert problem == (
        f"this flux-core ({flux}) is built without flux-security, so it runs every job as its "
        "owner (scripts/build-flux-core builds one with it)"
    )
    imp = tmp_path / "libexec" / "flux" / "flux-imp"
    imp.parent.mkdir(parents=True)
    imp.write_text("#!/bin/sh\n")
    imp.chmod(0o755)
    problem = flux_multi_user_problem(str(flux))
    assert problem == f"{imp} is not setuid root, so it cannot start jobs as their owners"
    # setuid root, but flux-imp's configuration names another prefix's shell
    os.chown(imp, 0, 0)
    imp.chmod(0o4755)
    problem = flux_multi_user_problem(str(flux))
    assert problem == (
        "flux-imp's configuration (/etc/flux/imp/conf.d) does not let 'flux' start "
        f"{tmp_path}/libexec/flux/flux-shell (scripts/build-flux-core writes it)"
    )
    assert flux_multi_user_problem(None) == "flux-core's flux is not on PATH"
