"""What the suite leaves on the machine: no Unix account or home of its making (issue 29.9).

Tests run as root make real Unix accounts through flux-hub (a person's account, ``_fhgone<uid>``
for a deleted one's, homes moved to ``/home/.flux-hub-removed``) and a few of their own. They are
shared by the fixtures that made them (a hub or a cluster of a module or the session), so they are
removed when the session that made them ends: every account flux-hub's rule says it made
(``flux_hub.accounts.system.made_by_flux_hub``) that was not there, with that uid, when the
session began, with its home and the archived homes of the session. Accounts that were there
before are left as they were.
"""

import os
import pwd
import shutil
import subprocess

from flux_hub.accounts.system import made_by_flux_hub

ARCHIVE = "/home/.flux-hub-removed"


def snapshot():
    """(the flux-hub accounts as (name, uid) pairs, the archived homes' names) now."""
    accounts = {
        (p.pw_name, p.pw_uid) for p in pwd.getpwall() if made_by_flux_hub(p.pw_uid, p.pw_gecos)
    }
    archived = set(os.listdir(ARCHIVE)) if os.path.isdir(ARCHIVE) else set()
    return accounts, archived


def remove_new(before):
    """Remove what flux-hub made since ``before`` (a snapshot()); the names of what could not
    be removed (with why), for the session's report."""
    accounts, archived = before
    now_accounts, now_archived = snapshot()
    left = []
    for name, uid in sorted(now_accounts - accounts):
        home = pwd.getpwnam(name).pw_dir
        subprocess.run(["pkill", "-KILL", "-u", str(uid)], capture_output=True)
        done = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
        # userdel's 12: the home could not be removed (e.g. not its own); the account is gone
        if done.returncode not in (0, 12):
            left.append(f"{name}: {done.stderr.strip()}")
            continue
        if home.startswith("/home/") and os.path.isdir(home) and os.stat(home).st_uid == uid:
            shutil.rmtree(home, ignore_errors=True)
    for entry in sorted(now_archived - archived):
        shutil.rmtree(os.path.join(ARCHIVE, entry), ignore_errors=True)
    return left
