"""Several people on one machine, seen from the operating system: the top-level config as root.

The README's hub (jupyterhub_config.py) runs for alice and bob. Each person's JupyterLab server
runs as their own Unix account, and so does each of their Flux jobs. From alice's server (a
process with exactly its uid and groups) and from alice's Flux job, every way to another
person's or the hub's secrets is tried: bob's home and the files his job wrote, the hub's
secrets, the cluster's database and keys, the environment (/proc/PID/environ) of the hub, the
cluster and bob's server. Each attempt and its result are printed as a table.

The hub's folder is made world-traversable here (as a checkout in /work or /srv is), so what
protects each file is flux-hub's own doing, not a private pytest folder above it.
"""

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import psutil
import pytest
from e2e.hubprocess import TOP_CONFIG, HubProcess, process_identity
from lanes import REAL_FLUX

from flux_hub.local.cluster import multi_user_problem

from .support import report, table, wait_until

pytestmark = pytest.mark.timeout(900)

ATTEMPTS = []  # (from, target, what was tried, result)


@pytest.fixture(scope="module")
def hub():
    assert os.geteuid() == 0, "these tests check Unix accounts: they need root, as CI has"
    problem = multi_user_problem("flux" if REAL_FLUX else "simulated")
    assert problem is None, f"one Unix account for all users: {problem}"
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    workdir = Path(tempfile.mkdtemp(prefix="flux-hub-os-isolation-", dir="/tmp"))
    workdir.chmod(0o755)
    hub = HubProcess(TOP_CONFIG, workdir, env={"FLUX_HUB_USERS": "alice bob"})
    hub.start()
    yield hub
    hub.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def people(hub):
    passwords = hub.announced_passwords()
    tokens = {}
    for name in ("alice", "bob"):
        tokens[name] = hub.token_for(hub.login(name, passwords[name]), name)
        hub.start_server(tokens[name], name)
    return tokens


def as_process(pid, command):
    """Run ``command`` (sh) with exactly the uid, gid and groups of process ``pid``."""
    uid, gid, groups = process_identity(pid)
    return subprocess.run(
        ["sh", "-c", command],
        user=uid,
        group=gid,
        extra_groups=groups,
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )


def targets(hub, bob_home, pids):
    state = hub.state
    return [
        ("bob's home", f"ls {bob_home}"),
        ("a file bob's job wrote", f"cat {bob_home}/results/secret.txt"),
        ("hub cookie secret", f"cat {state}/jupyterhub_cookie_secret"),
        ("hub crypt key", f"cat {state}/jupyterhub-crypt-key"),
        ("hub database", f"cat {state}/jupyterhub.sqlite"),
        ("accounts store", f"cat {state}/accounts.sqlite"),
        ("new users' passwords", f"cat {state}/new-passwords.txt"),
        ("cluster database", f"cat {state}/cluster/flux-restful.db"),
        ("cluster keys and passwords", f"cat {state}/cluster/flux-hub-local.json"),
        ("environ of the hub", f"cat /proc/{pids['hub']}/environ"),
        ("environ of the cluster", f"cat /proc/{pids['cluster']}/environ"),
        ("environ of bob's server", f"cat /proc/{pids['bob']}/environ"),
    ]


def test_each_person_and_their_jobs_are_their_own_unix_account(hub, people):
    # The lane's Flux: on real Flux, a multi-user instance (flux-security's IMP starts each job)
    started = (hub.state / "cluster" / "flux-restful.log").read_text()
    expected = "on multi-user real Flux (" if REAL_FLUX else "under the simulated Flux instance"
    assert expected in started
    for name in ("alice", "bob"):
        account = pwd.getpwnam(name)
        pid = wait_until(lambda name=name: hub.server_pid(name), 60, f"{name}'s server")
        assert process_identity(pid)[0] == account.pw_uid, f"{name}'s server is not {name}"
        assert account.pw_uid != 0 and account.pw_dir == f"/home/{name}"
        assert os.stat(account.pw_dir).st_mode & 0o777 == 0o700
        _, text = hub.run_job(people[name], name, "sh -c 'id -un; id -u; echo $HOME; pwd'")
        # sent with no working directory, it starts in their own home (never in /)
        assert text.split() == [name, str(account.pw_uid), account.pw_dir, account.pw_dir]
        ATTEMPTS.append((f"{name}'s job", "its own identity", "id -un", text.split()[0]))


def test_alice_cannot_reach_bob_or_the_hub(hub, people):
    bob = pwd.getpwnam("bob")
    # bob's job leaves a private file in his home, as results of real work are
    _, text = hub.run_job(
        people["bob"],
        "bob",
        "sh -c 'mkdir -p $HOME/results && echo bob-only > $HOME/results/secret.txt && "
        "chmod 600 $HOME/results/secret.txt && stat -c %U $HOME/results/secret.txt'",
    )
    assert text.strip() == "bob"
    pids = {
        "hub": hub.proc.pid,
        "cluster": cluster_server_pid(hub),
        "bob": hub.server_pid("bob"),
        "alice": hub.server_pid("alice"),
    }
    assert all(pids.values()), pids
    failures = []
    for label, command in targets(hub, bob.pw_dir, pids):
        # from alice's server, with its very identity
        done = as_process(pids["alice"], command + " >/dev/null")
        result = "denied" if done.returncode != 0 else "READ"
        ATTEMPTS.append(("alice's server", label, command, result))
        if done.returncode == 0:
            failures.append(f"alice's server read {label}")
        # from alice's Flux job
        _, text = hub.run_job(
            people["alice"],
            "alice",
            f"sh -c {shlex.quote(command + ' >/dev/null 2>&1 && echo READ || echo denied')}",
        )
        ATTEMPTS.append(("alice's job", label, command, text.strip()))
        if text.strip() != "denied":
            failures.append(f"alice's job got {text.strip()!r} for {label}")
    assert not failures, failures


def test_the_hub_keeps_its_secrets_to_itself(hub, people):
    state = hub.state
    assert os.stat(state).st_mode & 0o777 == 0o700
    for path in (
        "jupyterhub_cookie_secret",
        "jupyterhub-crypt-key",
        "new-passwords.txt",
        "cluster/flux-hub-local.json",
        "cluster/flux-restful.db",
    ):
        if path == "new-passwords.txt" and not (state / path).exists():
            # each line goes at its person's first login: everyone here has logged in
            assert set(hub.announced_passwords()) == set(people)
            continue
        info = os.stat(state / path)
        assert (info.st_uid, info.st_mode & 0o077) == (0, 0), f"{path}: {oct(info.st_mode)}"


def cluster_server_pid(hub):
    """The flux-restful server's pid: the process listening on the cluster's port."""
    port = int(hub.env["FLUX_HUB_CLUSTER_PORT"])
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            return connection.pid
    return None


@pytest.fixture(scope="module", autouse=True)
def os_isolation_report():
    yield
    rows = [(who, target, result) for who, target, _, result in ATTEMPTS]
    report("OS-level isolation", table(["from", "to", "result"], rows))
