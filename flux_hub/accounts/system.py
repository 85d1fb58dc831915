"""Unix accounts on this machine for Flux accounts, so each person's server and jobs run as them.

When the hub runs as root on one machine (the local MiniCluster), every account name (already a
valid POSIX name that is never a system account's, see ``naming``) gets a Unix account of the
same name with a private home (0700): the person's JupyterLab server runs as it and so does each
of their Flux jobs. A Unix account flux-hub makes carries ``COMMENT`` in its GECOS field; a name
that is already taken by an account flux-hub did not make is refused, never taken over. Deleting
a hub user leaves the Unix account and its files (as JupyterHub's LocalAuthenticator does).
"""

import os
import pwd
import shutil
import signal
import subprocess

from .naming import SYSTEM_NAMES, is_account_name

COMMENT = "flux-hub account"
MIN_UID = 1000  # below: the system's own accounts (flux-restful's FLUX_MIN_UID, flux-imp's rule)


class SystemAccountError(RuntimeError):
    """The Unix account could not be made, or the name belongs to someone else."""


def lookup(name):
    """The pwd record of flux-hub's Unix account ``name``, or None if there is none.

    SystemAccountError when the name is taken by an account flux-hub did not make.
    """
    try:
        record = pwd.getpwnam(name)
    except KeyError:
        return None
    if not record.pw_gecos.startswith(COMMENT) or record.pw_uid < MIN_UID:
        raise SystemAccountError(
            f"a Unix account named {name!r} already exists on this machine and flux-hub did "
            "not make it; flux-hub will not run anyone's server or jobs as it"
        )
    return record


def ensure(name, home_root="/home"):
    """Make flux-hub's Unix account ``name`` exist (with a 0700 home) -> its pwd record.

    Idempotent: an existing flux-hub account is returned as it is (its home made again if it
    went missing). SystemAccountError with a readable reason otherwise.
    """
    if not is_account_name(name) or name in SYSTEM_NAMES:
        raise SystemAccountError(f"{name!r} cannot be a Unix account name here")
    record = lookup(name)
    if record is None:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        home = os.path.join(home_root, name)
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
    return record


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
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != record.pw_uid:
                continue
            os.kill(int(entry), signal.SIGKILL)
            count += 1
        except (OSError, ProcessLookupError):
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
