"""Unix accounts on this machine for Flux accounts, so each person's server and jobs run as them.

When the hub runs as root on one machine (the local MiniCluster), every account name (already a
valid POSIX name that is never a system account's, see ``naming``) gets a Unix account of the
same name with a private home (0700): the person's JupyterLab server runs as it and so does each
of their Flux jobs. A Unix account flux-hub makes carries ``COMMENT`` in its GECOS field; a name
that is already taken by an account flux-hub did not make is refused, never taken over.

Deleting a hub user retires its Unix account (``retire``): locked, expired, with no login shell,
its crontab removed and its processes ended, so nothing of it runs or logs in again (sshd, su and
cron all refuse an expired account through PAM's account check, and a locked password without
PAM); its files stay where they are for an admin. A person added later under the same name does
not get them: the old home is moved to ``<home_root>/.flux-hub-removed/NAME-TIME`` (0700 root)
and they start with a fresh one, and the hub's log says so.
"""

import grp
import os
import pwd
import shutil
import signal
import subprocess
import time

import psutil
from traitlets.log import get_logger

from flux_hub.names import account_name_error, is_account_name

from .naming import SYSTEM_NAMES

COMMENT = "flux-hub account"
REMOVED = "(removed)"  # in the GECOS field of a retired account
REMOVED_DIR = ".flux-hub-removed"  # under the home root: the homes of deleted people, root only
NOLOGIN = "/usr/sbin/nologin"
# Every person's account is in it (and no one else's): on multi-user real Flux the instance's
# rundir is open to this group only, so that their job shells reach the brokers and nobody
# else on the machine can talk to the instance.
PEOPLE_GROUP = "flux-hub-users"
CRON_SPOOLS = ("/var/spool/cron/crontabs", "/var/spool/cron")  # Debian's, then others'
MIN_UID = 1000  # below: the system's own accounts (flux-restful's FLUX_MIN_UID, flux-imp's rule)


class SystemAccountError(RuntimeError):
    """The Unix account could not be made, or the name belongs to someone else."""


# Why an account of the name is refused, on this machine and in the pods alike
NOT_MADE_BY_FLUX_HUB = (
    "a Linux account of this name exists and flux-hub did not make it; flux-hub will not run "
    "anyone's server or jobs as it"
)


def made_by_flux_hub(uid, gecos):
    """Whether the Unix account of ``uid`` and GECOS field ``gecos`` is one flux-hub made: a
    person's uid (MIN_UID or above) and COMMENT first in its GECOS. The one ownership rule: the
    pods' account script (kubernetes/runner.py) runs it as ``awk_made_by_flux_hub`` gives it."""
    return uid >= MIN_UID and gecos.startswith(COMMENT)


def awk_made_by_flux_hub(uid, gecos):
    """``made_by_flux_hub`` as an awk condition on the awk expressions ``uid`` and ``gecos``."""
    return f'{uid} >= {MIN_UID} && index({gecos}, "{COMMENT}") == 1'


def lookup(name):
    """The pwd record of flux-hub's Unix account ``name``, or None if there is none.

    SystemAccountError when the name is taken by an account flux-hub did not make.
    """
    try:
        record = pwd.getpwnam(name)
    except KeyError:
        return None
    if not made_by_flux_hub(record.pw_uid, record.pw_gecos):
        raise SystemAccountError(f"{name}: {NOT_MADE_BY_FLUX_HUB}")
    return record


def ensure(name, home_root="/home"):
    """Make flux-hub's Unix account ``name`` exist (with a 0700 home) -> its pwd record.

    Idempotent: an existing flux-hub account is returned as it is (its home made again if it
    went missing). SystemAccountError with a readable reason otherwise.
    """
    if not is_account_name(name):
        raise SystemAccountError(account_name_error(name))
    if name in SYSTEM_NAMES:
        raise SystemAccountError(f"{name!r} is a system account's name: flux-hub never uses it")
    record = lookup(name)
    if record is not None and REMOVED in record.pw_gecos:
        # A deleted person's name, for a new one: everything but the name is new, the uid
        # too (files the deleted person left outside the home, in /tmp say, stay theirs)
        _archive(record)
        record = None
    if record is None:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        home = os.path.join(home_root, name)
        if os.path.lexists(home):
            _move_aside(home, name)  # left by an account removed outside flux-hub
        done = subprocess.run(
            [useradd, "--create-home", "--home-dir", home, "--user-group"]
            + ["--shell", "/bin/bash", "--comment", f"{COMMENT} {name}", name],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            raise SystemAccountError(f"useradd {name} failed: {reason}")
        record = pwd.getpwnam(name)
    _private_home(record)
    _join_people_group(name)
    return record


def ensure_people_group():
    """The gid of PEOPLE_GROUP, made if missing, with every current flux-hub account in it
    (accounts made before the group existed join it here)."""
    if PEOPLE_GROUP not in {group.gr_name for group in grp.getgrall()}:
        _tool("groupadd", "--system", PEOPLE_GROUP, ok="already exists")
    group = grp.getgrnam(PEOPLE_GROUP)
    for record in pwd.getpwall():
        if (
            made_by_flux_hub(record.pw_uid, record.pw_gecos)
            and REMOVED not in record.pw_gecos
            and record.pw_name not in group.gr_mem
        ):
            _usermod(record.pw_name, "--append", "--groups", PEOPLE_GROUP)
    return group.gr_gid


def _join_people_group(name):
    try:
        members = grp.getgrnam(PEOPLE_GROUP).gr_mem
    except KeyError:
        ensure_people_group()  # makes it, and adds name with the others
        return
    if name not in members:
        _usermod(name, "--append", "--groups", PEOPLE_GROUP)


def _tool(tool, *args, ok=None):
    """Run a shadow tool (usermod, groupadd, ...) from /usr/sbin or PATH; SystemAccountError
    with its last line of stderr when it fails (unless ``ok`` is in that stderr)."""
    path = shutil.which(tool) or f"/usr/sbin/{tool}"
    done = subprocess.run([path, *args], capture_output=True, text=True)
    if done.returncode != 0 and not (ok and ok in done.stderr):
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise SystemAccountError(f"{tool} {args[-1]} failed: {reason}")


def _usermod(name, *args):
    _tool("usermod", *args, name)


def _move_aside(home, name):
    """Move a deleted person's home where only root can reach it -> where it went."""
    if not os.path.lexists(home):
        return None
    removed = os.path.join(os.path.dirname(os.path.normpath(home)), REMOVED_DIR)
    os.makedirs(removed, mode=0o700, exist_ok=True)
    os.chown(removed, 0, 0)
    os.chmod(removed, 0o700)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = os.path.join(removed, f"{name}-{stamp}")
    count = 1
    while os.path.lexists(target):
        count += 1
        target = os.path.join(removed, f"{name}-{stamp}-{count}")
    os.rename(home, target)
    get_logger().warning(
        "flux-hub: %s belonged to a deleted user named %s; moved to %s (root only), and the "
        "new %s gets a fresh home",
        home,
        name,
        target,
        name,
    )
    return target


def _archive(record):
    """Keep a deleted person's locked account under another name (``_fhgone<uid>``), with their
    group and moved-aside home: their uid stays taken, so nobody new is given it."""
    name, uid = record.pw_name, record.pw_uid
    archived = f"_fhgone{uid}"
    aside = _move_aside(record.pw_dir, name) or record.pw_dir
    _usermod(name, "--login", archived, "--home", aside)
    try:
        group = grp.getgrgid(record.pw_gid).gr_name
    except KeyError:
        group = None
    if group == name:
        _tool("groupmod", "--new-name", archived, name)
    return archived


def _private_home(record):
    home = record.pw_dir
    if not os.path.isdir(home):
        os.makedirs(home, mode=0o700, exist_ok=True)
        os.chown(home, record.pw_uid, record.pw_gid)
    info = os.stat(home)
    if (info.st_uid, info.st_gid) != (record.pw_uid, record.pw_gid):
        os.chown(home, record.pw_uid, record.pw_gid)
    if info.st_mode & 0o777 != 0o700:
        os.chmod(home, 0o700)


def ensure_all(names, home_root="/home"):
    """ensure() for each name -> ({name: record}, {name: error text}) of the made and failed."""
    made, failed = {}, {}
    for name in names:
        try:
            made[name] = ensure(name, home_root)
        except (SystemAccountError, OSError) as error:
            failed[name] = str(error)
    return made, failed


def retire(name):
    """The hub user of flux-hub's Unix account ``name`` is deleted: lock the account -> how many
    of its processes were ended.

    Locked password, expired, login shell nologin, crontab removed, every process killed; its
    files stay. ``ensure`` of the same name later gives a new person a fresh home.
    """
    try:
        record = lookup(name)
    except SystemAccountError:
        return 0
    if record is None:
        return 0
    # expiry day 1 (1970-01-02): PAM's account check refuses it (sshd, su, cron)
    _usermod(name, "--lock", "--expiredate", "1", "--shell", NOLOGIN)
    _usermod(name, "--comment", f"{COMMENT} {name} {REMOVED}")
    _leave_people_group(name)
    for spool in CRON_SPOOLS:
        try:
            os.unlink(os.path.join(spool, name))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass
    return end_processes(name)


def _leave_people_group(name):
    try:
        members = grp.getgrnam(PEOPLE_GROUP).gr_mem
    except KeyError:
        return
    if name in members:
        _tool("gpasswd", "--delete", name, PEOPLE_GROUP)


def end_processes(name):
    """SIGKILL every process of flux-hub's Unix account ``name`` -> how many there were.

    When the account is deactivated (its hub user deleted): what its jobs left running in the
    background goes too; its files stay.
    """
    try:
        record = lookup(name)
    except SystemAccountError:
        return 0
    if record is None:
        return 0
    count = 0
    for process in psutil.process_iter(["uids"]):
        uids = process.info["uids"]
        if uids is None or uids.effective != record.pw_uid:
            continue
        try:
            os.kill(process.pid, signal.SIGKILL)
            count += 1
        except OSError:  # gone meanwhile
            continue
    return count


def ensure_service_account(name, home, comment):
    """The pwd record of a system account ``name`` that runs a service, made if missing.

    For the owner of the local cluster's multi-user Flux instance: a system account (below
    MIN_UID, so never a person's) with no login shell. An existing account of that name is used
    as it is (a machine with Flux installed has one already).
    """
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    done = subprocess.run(
        [useradd, "--system", "--user-group", "--create-home", "--home-dir", home]
        + ["--shell", "/usr/sbin/nologin", "--comment", comment, name],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise SystemAccountError(f"useradd {name} failed: {reason}")
    return pwd.getpwnam(name)
