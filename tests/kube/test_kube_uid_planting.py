"""Uid planting: nobody chooses another person's uid by making their folder first.

On a shared MiniCluster in multi-user mode, each person's home is PARENT/<account> on a volume
every pod shares, and a new account takes the uid of the owner of a folder already there (so
a person keeps their files when the MiniCluster is made again and /etc/passwd starts empty).
Every tenant runs jobs as their own uid there, so a folder flux-hub did not make must not
decide a uid: carol's account would get the uid of whoever made PARENT/carol first (and they
would own carol's files), or one uid would be two accounts'.

The account script of the broker pod (flux_hub/kubernetes/runner.py, USERADD and ID_SCRIPT) as
root, with this machine's useradd, stat and getent, against a real folder tree in /tmp standing
for the volume; the attack by a real second Unix user (runuser). What is checked is what the
admin sees (the one sentence of "failed NAME ...") and what the machine then holds (no account,
or the uid that was the person's).
"""

import os
import pwd
import subprocess
import tempfile
from pathlib import Path

import pytest

from flux_hub.kubernetes.runner import ID_SCRIPT, USERADD

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="makes Unix accounts with the real useradd, as a broker pod does"
)

ALICE, BOB, CAROL, MALLORY = "fhkp-alice", "fhkp-bob", "fhkp-carol", "fhkp-mallory"


def _exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _uid(name):
    return pwd.getpwnam(name).pw_uid


def _free_uid(start=4321):
    """A uid no account of this machine has (what a planter's, or a gone account's, looks like)."""
    taken = {p.pw_uid for p in pwd.getpwall()}
    return next(u for u in range(start, 60000) if u not in taken)


def _mode_and_owner(path):
    st = os.lstat(path)
    return st.st_mode & 0o7777, st.st_uid


@pytest.fixture
def accounts():
    """The accounts these tests make on this machine, removed after (never their homes: those
    are in the volume, removed with it)."""
    yield
    for name in (ALICE, BOB, CAROL, MALLORY):
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def volume(accounts):
    """A folder standing for the volume's root, as the export's root is: root's, 0755; in /tmp
    (a sticky folder of root's), so another Unix user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="fhkp-volume-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=True)


def useradd(volume, *specs):
    """The broker's batch: {name: (state, uid or message)}."""
    run = subprocess.run(
        ["sh", "-c", USERADD, "flux-hub-useradd", f"{volume}/home/{{account}}", *specs],
        capture_output=True,
        text=True,
        timeout=60,
    )
    answers = {}
    for line in run.stdout.splitlines():
        state, name, rest = line.split(" ", 2)
        answers[name] = (state, rest)
    return answers


def id_script(name, home):
    run = subprocess.run(
        ["sh", "-c", ID_SCRIPT, "flux-hub-id", name, str(home)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return run.returncode, run.stdout.strip()


def _planted(parent, name, uid):
    """A folder PARENT/name owned by `uid`, as a tenant with that uid makes it."""
    folder = parent / name
    folder.mkdir(mode=0o755)
    os.chown(folder, uid, uid)
    return folder


@pytest.mark.parametrize(
    "setup, fix",
    [
        # an NFS export often is world-writable; others writing to the parent is the hole
        (lambda v: (v / "home").chmod(0o777), "{home} is writable by others"),
        (lambda v: (v / "home").chmod(0o1777), "{home} is writable by others"),
        (lambda v: (v / "home").chmod(0o775), "{home} is writable by its group (gid 0)"),
        (lambda v: os.chown(v / "home", 1000, 0), "{home} belongs to uid 1000, not root"),
        # a folder above it that others can write to: PARENT itself can be swapped
        (lambda v: v.chmod(0o777), "{volume} is writable by others"),
    ],
    ids=["parent-0777", "parent-1777", "parent-0775", "parent-not-roots", "volume-0777"],
)
def test_a_folder_planted_where_others_can_write_is_refused_and_no_account_made(volume, setup, fix):
    parent = volume / "home"
    parent.mkdir(mode=0o755)
    planter = _free_uid()
    home = _planted(parent, CAROL, planter)
    setup(volume)
    where = fix.split(" ")[0].format(home=parent, volume=volume)
    fix = fix.format(home=parent, volume=volume)

    answers = useradd(volume, f"{CAROL}:")

    assert answers == {
        CAROL: (
            "failed",
            f"the folder {home} is owned by uid {planter}, which flux-hub cannot trust: {fix}; "
            f"make {where} root's and 0755, then move {home} away unless it holds {CAROL}'s "
            "files",
        )
    }
    assert not _exists(CAROL)
    assert _mode_and_owner(home) == (0o755, planter)  # left as it was

    # The admin does what it says: carol then gets a uid of her own, and a folder of her own.
    os.chown(parent, 0, 0)
    parent.chmod(0o755)
    volume.chmod(0o755)
    home.rename(volume / "planted")
    state, uid = useradd(volume, f"{CAROL}:")[CAROL]
    assert state == "ok" and int(uid) == _uid(CAROL) != planter
    assert _mode_and_owner(home) == (0o700, int(uid))


def test_no_new_home_is_made_where_others_can_write(volume):
    """A newcomer with no folder yet: under a parent others can write to, a tenant could swap
    in a folder or link of theirs while it is made, so none is made, and no account."""
    parent = volume / "home"
    parent.mkdir(mode=0o777)
    parent.chmod(0o777)
    answers = useradd(volume, f"{CAROL}:")
    assert answers == {
        CAROL: (
            "failed",
            f"{CAROL}'s folder cannot be made in {parent}: {parent} is writable by others; "
            f"make {parent} root's and 0755",
        )
    }
    assert not _exists(CAROL) and not (parent / CAROL).exists()
    parent.chmod(0o755)
    state, uid = useradd(volume, f"{CAROL}:")[CAROL]
    assert state == "ok" and _mode_and_owner(parent / CAROL) == (0o700, int(uid))


def test_a_missing_parent_is_made_roots_for_the_first_home(volume):
    state, uid = useradd(volume, f"{CAROL}:")[CAROL]
    assert state == "ok"
    assert _mode_and_owner(volume / "home") == (0o755, 0)
    assert _mode_and_owner(volume / "home" / CAROL) == (0o700, int(uid))


def test_a_folder_owned_by_another_accounts_uid_is_refused(volume):
    made = useradd(volume, f"{ALICE}:")
    alice = int(made[ALICE][1])
    parent = volume / "home"
    assert _mode_and_owner(parent) == (0o755, 0)  # useradd makes the parent root's, 0755
    # alice's uid on a folder for carol (a uid reused, or made while the parent was open)
    home = _planted(parent, CAROL, alice)

    assert useradd(volume, f"{CAROL}:") == {
        CAROL: (
            "failed",
            f"the folder {home} is owned by uid {alice}, which is already {ALICE}'s: flux-hub "
            f"gives no uid to two accounts; move the folder away, or chown -R it to the uid "
            f"{CAROL} had",
        )
    }
    assert not _exists(CAROL)

    # The MiniCluster made again (no accounts): two folders with one owner, neither is trusted.
    subprocess.run(["userdel", ALICE], check=True)
    answers = useradd(volume, f"{CAROL}:", f"{ALICE}:")
    assert answers == {
        CAROL: (
            "failed",
            f"the folder {home} is owned by uid {alice}, as {parent / ALICE} is: flux-hub "
            "cannot tell whose uid it is; move away the one that is not its owner's",
        ),
        ALICE: (
            "failed",
            f"the folder {parent / ALICE} is owned by uid {alice}, as {home} is: flux-hub "
            "cannot tell whose uid it is; move away the one that is not its owner's",
        ),
    }
    assert not _exists(CAROL) and not _exists(ALICE)


def test_a_folder_flux_hub_made_gives_its_uid_back_after_the_minicluster_is_made_again(volume):
    made = useradd(volume, f"{ALICE}:", f"{BOB}:")
    uids = {name: int(uid) for name, (state, uid) in made.items() if state == "ok"}
    assert set(uids) == {ALICE, BOB} and uids[ALICE] != uids[BOB]
    parent = volume / "home"
    (parent / ALICE / "results.txt").write_text("alice's\n")
    os.chown(parent / ALICE / "results.txt", uids[ALICE], uids[ALICE])
    # made again: new pods, no accounts; the folders (root's 0755 parent) are kept
    subprocess.run(["userdel", ALICE], check=True)
    subprocess.run(["userdel", BOB], check=True)

    # a newcomer first: uids in order of arrival would hand carol alice's files
    again = useradd(volume, f"{CAROL}:", f"{BOB}:", f"{ALICE}:")

    assert {n: again[n] for n in uids} == {n: ("ok", str(u)) for n, u in uids.items()}
    assert {n: _uid(n) for n in uids} == uids
    assert int(again[CAROL][1]) > max(uids.values())
    for name, uid in {**uids, CAROL: int(again[CAROL][1])}.items():
        assert _mode_and_owner(parent / name) == (0o700, uid)
    assert (parent / ALICE / "results.txt").read_text() == "alice's\n"


@pytest.mark.parametrize("kind", ["symlink", "file", "root", "nobody"])
def test_a_home_that_is_no_former_accounts_folder_is_refused(volume, kind):
    parent = volume / "home"
    parent.mkdir(mode=0o755)
    home = parent / CAROL
    if kind == "symlink":  # to a folder of a free uid: its owner must not count
        target = _planted(volume, "elsewhere", _free_uid())
        home.symlink_to(target)
    elif kind == "file":
        home.write_text("")
    else:
        home.mkdir()
        os.chown(home, *(2 * [0 if kind == "root" else 65534]))

    answers = useradd(volume, f"{CAROL}:")

    if kind in ("symlink", "file"):
        message = (
            f"{home} is not a folder (a symbolic link or a file): flux-hub makes no home "
            "through it; move it away"
        )
    else:
        owner = 0 if kind == "root" else 65534
        message = (
            f"the folder {home} is owned by uid {owner}, which is no account's uid (1000 to "
            f"59999): move it away, or chown -R it to the uid {CAROL} had"
        )
    assert answers == {CAROL: ("failed", message)}
    assert not _exists(CAROL)


def test_the_attack_by_a_real_second_unix_user(volume):
    """mallory, a tenant (her jobs run as her uid on the cluster), makes carol's folder before
    carol's account exists, under a parent anyone can write to, and leaves a start-up file in
    it; carol's account is refused, not given mallory's uid; and each guard holds alone."""
    subprocess.run(["useradd", "-M", "-c", "a tenant", MALLORY], check=True)
    mallory = _uid(MALLORY)
    parent = volume / "home"
    parent.mkdir()
    parent.chmod(0o777)
    home = parent / CAROL
    for command in (
        ["mkdir", str(parent / MALLORY)],
        ["mkdir", str(home)],
        ["sh", "-c", f"echo 'cp /bin/sh /tmp/carols-shell' > {home}/.profile"],
    ):
        subprocess.run(["runuser", "-u", MALLORY, "--", *command], check=True, cwd="/")
    assert _mode_and_owner(home)[1] == mallory

    assert useradd(volume, f"{CAROL}:") == {
        CAROL: (
            "failed",
            f"the folder {home} is owned by uid {mallory}, which flux-hub cannot trust: {parent} "
            f"is writable by others; make {parent} root's and 0755, then move {home} away "
            f"unless it holds {CAROL}'s files",
        )
    }
    assert not _exists(CAROL)

    # The admin closes the parent but leaves the folder: it is still not carol's uid to take,
    # while mallory's account is there ...
    parent.chmod(0o755)
    assert useradd(volume, f"{CAROL}:")[CAROL] == (
        "failed",
        f"the folder {home} is owned by uid {mallory}, which is already {MALLORY}'s: flux-hub "
        f"gives no uid to two accounts; move the folder away, or chown -R it to the uid {CAROL} "
        "had",
    )
    # ... and when it is not (a MiniCluster made again), by her own folder's owner.
    subprocess.run(["userdel", MALLORY], check=True)
    assert useradd(volume, f"{CAROL}:")[CAROL] == (
        "failed",
        f"the folder {home} is owned by uid {mallory}, as {parent / MALLORY} is: flux-hub "
        "cannot tell whose uid it is; move away the one that is not its owner's",
    )
    assert not _exists(CAROL)
    assert _mode_and_owner(home)[1] == mallory


def test_a_missing_folder_is_made_only_where_others_cannot_meddle(volume):
    """ID_SCRIPT (a spawn): the account exists, made before the volume was configured, and has
    no folder yet. Under a parent others can write to, a tenant could swap the folder root
    makes for a link before it is given away (chown follows links): it is not made."""
    subprocess.run(["useradd", "-M", "-c", f"flux-hub account {CAROL}", CAROL], check=True)
    carol = pwd.getpwnam(CAROL)
    parent = volume / "home"
    parent.mkdir()
    parent.chmod(0o777)
    home = parent / CAROL

    assert id_script(CAROL, home) == (
        2,
        f"failed {parent} is writable by others; make {parent} root's and 0755",
    )
    assert not home.exists()

    parent.chmod(0o755)
    assert id_script(CAROL, home) == (0, f"{carol.pw_uid} {carol.pw_gid} {carol.pw_uid}")
    assert _mode_and_owner(home) == (0o700, carol.pw_uid)
    # no parent at all (a fresh volume): made root's, 0755, then the folder
    (volume / "home").rename(volume / "old")
    assert id_script(CAROL, home)[0] == 0
    assert _mode_and_owner(parent) == (0o755, 0)
    assert _mode_and_owner(home) == (0o700, carol.pw_uid)
