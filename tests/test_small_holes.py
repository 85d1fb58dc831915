"""Issue 24's smaller holes, each shown as a person or an admin would see it.

allowed_users honoured by FluxAuthenticator; the accounts store's files private whatever the
umask; accounts flux-hub did not make are not taken over; deleted people's Unix accounts locked
and their homes not handed to a namesake; the legacy server's secret key withheld on Kubernetes;
new-passwords.txt forgets each password once its person has logged in; the real instance's
rundir closed to accounts outside flux-hub's people.
"""

import asyncio
import grp
import logging
import os
import pwd
import shutil
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from lanes import FLUX, REAL_FLUX
from local_support import Api
from tornado import web
from traitlets.config import Config

from flux_hub.accounts import FluxAccounts, LocalProvisioner
from flux_hub.accounts.store import ACTIVE, CredentialStore, Record
from flux_hub.hub import FluxAuthenticator, with_flux_accounts
from flux_hub.local import LocalCluster
from flux_hub.restful import AuthenticationFailed, FluxRestfulClient

# JUPYTERHUB_CRYPT_KEY for everything the hub encrypts (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("crypt_key")


def config_for(tmp_path, cluster):
    c = Config()
    c.FluxAccounts.store_path = str(tmp_path / "accounts.sqlite")
    c.LocalProvisioner.server_dir = str(cluster.state_dir)
    c.LocalProvisioner.cluster_url = cluster.url
    c.LocalProvisioner.secret_key = cluster.secret_key
    return c


def unique(prefix):
    return f"{prefix}{time.monotonic_ns() % 10**9}"


class FakeUser:
    def __init__(self, name):
        self.name = name


def login(auth, name, password):
    return asyncio.run(auth.get_authenticated_user(None, {"username": name, "password": password}))


# -- 2. allowed_users ------------------------------------------------------------------------


def test_allowed_users_keeps_out_an_account_holder_not_on_the_list(tmp_path, cluster):
    c = config_for(tmp_path, cluster)
    c.Authenticator.allowed_users = {"bob"}
    auth = FluxAuthenticator(config=c)
    assert auth.allow_all is False
    # alice has a MiniCluster account and its right password, but is not on the list
    assert login(auth, "alice", cluster.passwords["alice"]) is None
    assert login(auth, "bob", cluster.passwords["bob"])["name"] == "bob"


def test_without_allow_settings_every_account_holder_may_log_in(tmp_path, cluster):
    auth = FluxAuthenticator(config=config_for(tmp_path, cluster))
    assert auth.allow_all is True
    assert login(auth, "carol", cluster.passwords["carol"])["name"] == "carol"


# -- 6. the accounts store's files -----------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def store_files(path):
    return {
        p.name: oct(p.stat().st_mode & 0o777)
        for p in sorted(path.parent.iterdir())
        if p.name.startswith(path.name)
    }


@contextmanager
def held_open(path):
    """Another process's connection to the store (sqlite removes its -wal and -shm files when
    the last connection closes)."""
    db = sqlite3.connect(path)
    db.execute("SELECT count(*) FROM accounts").fetchone()
    try:
        yield
    finally:
        db.close()


def test_the_store_and_its_write_ahead_log_are_private_under_umask_022(tmp_path, umask_022):
    path = tmp_path / "state" / "accounts.sqlite"
    store = CredentialStore(str(path), keys=[os.environ["JUPYTERHUB_CRYPT_KEY"].encode()])
    with held_open(path):  # as the accounts service holds it: the log stays between writes
        store.save([Record("alice", "alice", ACTIVE, store.encrypt("alice-password"))])
        files = store_files(path)
    assert {"accounts.sqlite", "accounts.sqlite-wal", "accounts.sqlite-shm"} <= set(files)
    assert set(files.values()) == {"0o600"}, files
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_a_store_left_readable_is_made_private_before_it_is_written(tmp_path, umask_022):
    # e.g. restored from a backup with cp: a 0644 database would give its -wal (which holds
    # the newest rows, encrypted passwords among them) mode 0644 too
    path = tmp_path / "accounts.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    (tmp_path / "accounts.sqlite-wal").touch(0o644)
    store = CredentialStore(str(path), keys=[os.environ["JUPYTERHUB_CRYPT_KEY"].encode()])
    with held_open(path):
        store.save([Record("bob", "bob", ACTIVE, store.encrypt("bob-password"))])
        files = store_files(path)
    assert "accounts.sqlite-shm" in files
    assert set(files.values()) == {"0o600"}, files


# -- 1. accounts flux-hub did not make ---------------------------------------------------------


def provisioned_auth(tmp_path, cluster, **accounts_config):
    c = config_for(tmp_path, cluster)
    c.SharedPasswordAuthenticator.user_password = "shared-secret-pw"
    c.Authenticator.allow_all = True
    for name, value in accounts_config.items():
        setattr(c.FluxAccounts, name, value)
    return with_flux_accounts("shared-password")(config=c)


def someone_elses_account(tmp_path, cluster):
    """An account on the cluster made by someone else (here another accounts store: to the
    hub under test it is as foreign as one made with flux-restful add-user), with a job."""
    other = FluxAccounts(
        store_path=str(tmp_path / "someone-else.sqlite"),
        provisioner=LocalProvisioner(server_dir=str(cluster.state_dir)),
    )
    name = unique("owner")
    (made,) = other.ensure([name])
    assert made.status == "created"
    client = FluxRestfulClient(cluster.url, name, made.password, cluster.secret_key)
    job = client.submit("true")
    client.close()
    return other, name, made.password, job


def their_jobs(cluster, name, password):
    client = FluxRestfulClient(cluster.url, name, password, cluster.secret_key)
    try:
        return [job["id"] for job in client.jobs()]
    finally:
        client.close()


def test_an_account_flux_hub_did_not_make_is_refused_and_left_as_it_is(tmp_path, cluster):
    _, name, password, job = someone_elses_account(tmp_path, cluster)
    auth = provisioned_auth(tmp_path, cluster)
    # the person logs in (the shared password is right) ...
    assert login(auth, name, "shared-secret-pw")["name"] == name
    # ... and JupyterHub's add_user for the new hub user fails with a page that says why
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(auth.add_user(FakeUser(name)))
    assert refused.value.status_code == 403
    assert refused.value.jupyterhub_message == (
        f"could not provision a Flux account for {name}: account {name!r} exists on the "
        f"cluster and was not made by flux-hub; an admin must remove it from the cluster, or "
        f"let flux-hub adopt it for hub user {name!r} (its password is replaced and its jobs "
        f"become theirs) with c.FluxAccounts.adopt_accounts = {{{name!r}}}"
    )
    # nothing changed: its owner still logs in and has their job; flux-hub keeps nothing
    assert job in their_jobs(cluster, name, password)
    assert auth.accounts.record(name) is None
    # deleting the hub user leaves the account alone too
    asyncio.run(auth.delete_user(FakeUser(name)))
    assert job in their_jobs(cluster, name, password)


def test_a_refused_account_leaves_no_usable_unix_account(tmp_path, cluster):
    """With a Unix account per person (multi-user), the refusal leaves none that works: the
    one made before the cluster's account was found is locked, and its home left empty."""
    assert os.geteuid() == 0, "this test makes real Unix accounts: it needs root"
    _, name, password, job = someone_elses_account(tmp_path, cluster)
    homes = tmp_path / "home"
    homes.mkdir()
    accounts = FluxAccounts(
        store_path=str(tmp_path / "accounts.sqlite"),
        provisioner=LocalProvisioner(
            server_dir=str(cluster.state_dir), system_accounts=True, home_root=str(homes)
        ),
    )
    try:
        (outcome,) = accounts.ensure([name])
        assert outcome.status == "error" and "was not made by flux-hub" in outcome.error
        status = subprocess.run(["passwd", "-S", name], capture_output=True, text=True)
        assert status.stdout.split()[1] == "L", status.stdout  # locked
        assert pwd.getpwnam(name).pw_shell.endswith("nologin")
        assert job in their_jobs(cluster, name, password)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def test_a_deactivated_account_flux_hub_did_not_make_stays_deactivated(tmp_path, cluster):
    other, name, password, _ = someone_elses_account(tmp_path, cluster)
    other.deactivate([name], cancel_jobs=False)
    auth = provisioned_auth(tmp_path, cluster)
    with pytest.raises(web.HTTPError, match="was not made by flux-hub"):
        asyncio.run(auth.add_user(FakeUser(name)))
    listed = {a.name: a for a in auth.accounts.provisioner.list()}
    assert listed[name].active is False
    with pytest.raises(AuthenticationFailed):
        their_jobs(cluster, name, password)


def test_an_admin_adopts_an_account_flux_hub_did_not_make(tmp_path, cluster):
    _, name, password, job = someone_elses_account(tmp_path, cluster)
    auth = provisioned_auth(tmp_path, cluster, adopt_accounts={name})
    asyncio.run(auth.add_user(FakeUser(name)))
    env = auth.accounts.credentials(name)
    assert env["FLUX_USER"] == name and env["FLUX_TOKEN"] != password
    assert job in their_jobs(cluster, name, env["FLUX_TOKEN"])  # the hub user's now
    with pytest.raises(AuthenticationFailed):
        their_jobs(cluster, name, password)


# -- 3. a deleted person's Unix account --------------------------------------------------------


@pytest.fixture
def crontab_spool():
    """Debian cron's spool (cron itself need not be installed: the file is what it runs)."""
    spool = Path("/var/spool/cron/crontabs")
    made = not spool.exists()
    spool.mkdir(mode=0o730, parents=True, exist_ok=True)
    yield spool
    if made:
        shutil.rmtree(spool.parent)


def as_root_su(name, command):
    """What `su NAME -c COMMAND` run by root gives: PAM's account check and the login shell
    decide (sshd and cron ask PAM's account check the same way)."""
    return subprocess.run(["su", name, "-c", command], capture_output=True, text=True, timeout=30)


def test_a_deleted_persons_unix_account_is_locked_and_a_namesake_gets_a_fresh_home(
    tmp_path, crontab_spool, caplog
):
    assert os.geteuid() == 0, "this test makes and retires real Unix accounts: it needs root"
    homes = tmp_path / "home"
    homes.mkdir()
    accounts = FluxAccounts(
        store_path=str(tmp_path / "accounts.sqlite"),
        provisioner=LocalProvisioner(
            server_dir=str(tmp_path / "server"), system_accounts=True, home_root=str(homes)
        ),
    )
    name = unique("gone")
    try:
        (made,) = accounts.ensure([name])
        assert made.status == "created"
        person = pwd.getpwnam(name)
        assert as_root_su(name, "id -un").stdout.strip() == name
        # what they leave behind: a file, a crontab, a process in the background
        secret = homes / name / "notes.txt"
        secret.write_text("mine")
        os.chown(secret, person.pw_uid, person.pw_gid)
        (crontab_spool / name).write_text("* * * * * touch ~/still-here\n")
        leftover = Path("/tmp") / f"{name}-left-behind"  # outside the home
        leftover.write_text("theirs")
        os.chown(leftover, person.pw_uid, person.pw_gid)
        leftover.chmod(0o600)
        background = subprocess.Popen(["sleep", "300"], user=person.pw_uid, group=person.pw_gid)

        (gone,) = accounts.deactivate([name], forget=True)
        assert gone.status == "deactivated"
        locked = pwd.getpwnam(name)
        assert locked.pw_shell == "/usr/sbin/nologin"
        assert (
            subprocess.run(["passwd", "-S", name], capture_output=True, text=True).stdout.split()[1]
            == "L"
        )
        refused = as_root_su(name, "id -un")
        assert refused.returncode != 0 and "account has expired" in refused.stderr
        assert not (crontab_spool / name).exists()
        assert name not in grp.getgrnam("flux-hub-users").gr_mem  # no way into the instance
        assert background.wait(timeout=10) == -9
        assert secret.read_text() == "mine"  # files stay, for an admin

        # the name comes back for someone new: the old home is not theirs
        caplog.set_level(logging.WARNING)
        (again,) = accounts.ensure([name])
        assert again.ok, again.error
        assert as_root_su(name, "id -un").stdout.strip() == name
        assert name in grp.getgrnam("flux-hub-users").gr_mem
        fresh = homes / name
        assert not (fresh / "notes.txt").exists()
        namesake = pwd.getpwnam(name)
        mode = oct(fresh.stat().st_mode & 0o777)
        assert (fresh.stat().st_uid, mode) == (namesake.pw_uid, "0o700")
        # a new uid: what the deleted person left outside the home is not the namesake's
        assert leftover.stat().st_uid == person.pw_uid != namesake.pw_uid
        assert as_root_su(name, f"cat {leftover}").stdout != "theirs"
        archived = pwd.getpwuid(person.pw_uid)
        assert archived.pw_name == f"_fhgone{person.pw_uid}"
        assert archived.pw_shell.endswith("nologin")
        removed = homes / ".flux-hub-removed"
        (kept,) = removed.iterdir()
        assert kept.name.startswith(f"{name}-") and (kept / "notes.txt").read_text() == "mine"
        assert (removed.stat().st_uid, oct(removed.stat().st_mode & 0o777)) == (0, "0o700")
        assert f"belonged to a deleted user named {name}; moved to {kept}" in caplog.text
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["userdel", f"_fhgone{person.pw_uid}"], capture_output=True)
        subprocess.run(["groupdel", f"_fhgone{person.pw_uid}"], capture_output=True)
        Path("/tmp", f"{name}-left-behind").unlink(missing_ok=True)


# -- 7. new-passwords.txt ----------------------------------------------------------------------


def test_an_announced_password_leaves_the_file_once_its_person_logs_in(tmp_path, cluster):
    c = config_for(tmp_path, cluster)
    announced = tmp_path / "new-passwords.txt"
    c.FluxAuthenticator.announce_passwords_to = [str(announced)]
    auth = FluxAuthenticator(config=c)
    first, second = unique("new"), unique("newer")
    asyncio.run(auth.add_user(FakeUser(first)))
    asyncio.run(auth.add_user(FakeUser(second)))
    passwords = {n: auth.accounts.credentials(n)["FLUX_TOKEN"] for n in (first, second)}
    lines = {n: f"Adding '{n}' with password '{p}'\n" for n, p in passwords.items()}
    assert announced.read_text() == lines[first] + lines[second]

    assert login(auth, first, "wrong") is None
    assert announced.read_text() == lines[first] + lines[second]  # a failed login: kept
    assert login(auth, first, passwords[first])["name"] == first
    assert announced.read_text() == lines[second]
    assert oct(announced.stat().st_mode & 0o777) == "0o600"
    # the last one: the file goes
    assert login(auth, second, passwords[second])["name"] == second
    assert not announced.exists()


def test_a_deleted_persons_unused_password_leaves_the_file(tmp_path, cluster):
    c = config_for(tmp_path, cluster)
    announced = tmp_path / "new-passwords.txt"
    c.FluxAuthenticator.announce_passwords_to = [str(announced)]
    auth = FluxAuthenticator(config=c)
    name = unique("never")
    asyncio.run(auth.add_user(FakeUser(name)))
    assert announced.read_text().startswith(f"Adding '{name}' with password '")
    asyncio.run(auth.delete_user(FakeUser(name)))
    assert not announced.exists()


# -- 5. the real instance's rundir -------------------------------------------------------------


@pytest.fixture
def outsider():
    """A Unix account of this machine that is none of flux-hub's people."""
    name = unique("outsider")
    subprocess.run(["useradd", "--user-group", "--shell", "/bin/sh", name], check=True)
    yield pwd.getpwnam(name)
    subprocess.run(["userdel", name], capture_output=True)


def flux_as(record, rundir, *args):
    """`flux ARGS` run by ``record``'s account (with its groups) against the instance."""
    return subprocess.run(
        [FLUX, *args],
        env={"FLUX_URI": f"local://{rundir}/local-0", "PATH": os.environ["PATH"], "HOME": "/"},
        cwd="/",
        user=record.pw_uid,
        group=record.pw_gid,
        extra_groups=os.getgrouplist(record.pw_name, record.pw_gid),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(
    not REAL_FLUX,
    reason="real Flux only: the simulated instance has no broker socket, so no rundir to close",
)
def test_only_flux_hubs_people_reach_the_multi_user_instance(tmp_path, outsider):
    assert os.geteuid() == 0, "a multi-user instance and a second Unix account need root"
    cluster = LocalCluster(tmp_path / "cluster", users=["alice"], multi_user=True, nodes=2)
    cluster.start(timeout=120)
    try:
        rundir = Path(cluster._rundir)
        info = rundir.stat()
        assert oct(info.st_mode & 0o777) == "0o750"
        assert grp.getgrgid(info.st_gid).gr_name == "flux-hub-users"
        # alice's jobs still run as alice, on both brokers
        alice = Api(cluster.url, "alice", cluster.passwords["alice"])
        done, output = alice.run("id -un", num_nodes=2, num_tasks=2)
        assert done["returncode"] == 0 and output.split() == ["alice", "alice"]
        # her account may talk to the instance (what her job shells and the server's helpers
        # run as her do); an account outside flux-hub's people may not
        assert flux_as(pwd.getpwnam("alice"), rundir, "jobs", "-a").returncode == 0
        refused = flux_as(outsider, rundir, "jobs", "-a")
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused
    finally:
        cluster.stop()
