"""The shared MiniCluster's volume: each person's home is their folder on it, with one uid.

Every container of the fake MiniCluster mounts one folder at /shared (the operator's
containers[].volumes with claimName); the account script's exec maps paths under it as a bind
mount would. What is checked is what a person relies on: their folder exists on the volume,
is theirs alone (0700, their uid), has the same owner on every pod, and their lab pod is told
to run as that uid; a MiniCluster made again over the same volume gives each folder back to
its owner and never hands one to somebody else.
"""

import os
from pathlib import Path

import pytest
from traitlets import TraitError

from flux_hub.accounts import EnsureOp, ProvisioningError

SHARED = {"/home/jovyan": "/shared/home/{account}"}
BASE_PASSWD = "root:x:0:0:root:/root:/bin/bash\nflux:x:1000:1000::/home/flux:/bin/bash\n"


def _with_volume(cluster, kube):
    """Mount one folder of the fake API server at /shared in every container (the claim)."""
    volume = kube.workdir / "volumes" / cluster.namespace / "flux-hub-shared"
    volume.mkdir(parents=True, exist_ok=True)
    for pod in cluster.pods:
        for container in pod.containers.values():
            container.mounts["/shared"] = str(volume)
    return volume


def _passwd(container, name):
    """(uid, gid, home) of `name` in the container's etc/passwd."""
    for line in container.passwd.read_text().splitlines():
        parts = line.split(":")
        if parts[0] == name:
            return int(parts[2]), int(parts[3]), parts[5]
    raise KeyError(name)


def _containers(cluster):
    return [c for pod in cluster.pods for c in pod.containers.values()]


def _mode_and_owner(path):
    st = path.stat()
    return st.st_mode & 0o777, st.st_uid


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_each_home_is_a_private_folder_on_the_volume_with_one_uid_everywhere(
    make_minicluster, kube
):
    cluster = make_minicluster("flux-sample", size=3, multi_user=True)
    volume = _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)
    assert provisioner.home_template == "/shared/home/{account}"  # from shared_paths

    results = provisioner.ensure([EnsureOp("alice", "pw-a"), EnsureOp("bob", "pw-b")])

    assert [r.status for r in results] == ["created", "created"]
    broker = cluster.pods[0].containers["flux-restful"]
    alice_uid, alice_gid, _ = _passwd(broker, "alice")
    bob_uid, _, _ = _passwd(broker, "bob")
    assert alice_uid != bob_uid
    # one folder each on the volume, theirs alone
    assert sorted(p.name for p in (volume / "home").iterdir()) == ["alice", "bob"]
    assert _mode_and_owner(volume / "home" / "alice") == (0o700, alice_uid)
    assert _mode_and_owner(volume / "home" / "bob") == (0o700, bob_uid)
    for container in _containers(cluster):
        # the same uid and the same home (the volume's folder) in every container; no home of
        # its own in any container
        assert _passwd(container, "alice") == (
            alice_uid,
            alice_gid,
            container.local("/shared/home/alice"),
        )
        assert _passwd(container, "bob")[0] == bob_uid
        assert not (container.root / "home" / "alice").exists()
    # the broker made the folders; the others only pointed at them
    useradd = [argv for argv in cluster.exec_argv() if argv[0] == "sh" and "useradd" in argv[2]]
    assert [argv[4] for argv in useradd] == ["/shared/home/{account}"] * 6

    # the lab pod runs as that uid, no fsGroup; its server gets the path map
    assert provisioner.spawner_overrides("alice", "alice") == {
        "uid": alice_uid,
        "gid": alice_gid,
        "fs_gid": None,
    }
    assert provisioner.lab_environment("alice", "alice") == {
        "FLUX_HUB_PATHS": "/home/jovyan=/shared/home/alice"
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_a_minicluster_made_again_over_the_volume_gives_each_folder_back_to_its_owner(
    make_minicluster, kube
):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    volume = _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)
    provisioner.ensure([EnsureOp("alice", "pw-a"), EnsureOp("bob", "pw-b")])
    broker = cluster.pods[0].containers["flux-restful"]
    before = {name: _passwd(broker, name)[0] for name in ("alice", "bob")}
    (volume / "home" / "alice" / "results.txt").write_text("alice's\n")
    # The MiniCluster is deleted and applied again: new pods, no accounts, the same volume.
    for container in _containers(cluster):
        container.passwd.write_text(BASE_PASSWD)

    # a newcomer first, then the two in the other order: uids in order of arrival would give
    # carol alice's old uid and with it alice's folder
    assert provisioner.ensure_host_accounts(["carol", "bob", "alice"]) == {}

    after = {name: _passwd(broker, name)[0] for name in ("alice", "bob", "carol")}
    assert {n: after[n] for n in before} == before
    assert after["carol"] > max(before.values())
    assert _mode_and_owner(volume / "home" / "carol") == (0o700, after["carol"])
    assert _mode_and_owner(volume / "home" / "alice") == (0o700, before["alice"])
    assert (volume / "home" / "alice" / "results.txt").read_text() == "alice's\n"
    for container in _containers(cluster):
        assert {n: _passwd(container, n)[0] for n in after} == after


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_a_lab_pod_started_after_its_pods_were_replaced_gets_the_account_back(
    make_minicluster, kube
):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)
    provisioner.ensure([EnsureOp("alice", "pw-a")])
    uid = _passwd(cluster.pods[0].containers["flux-restful"], "alice")[0]
    for container in _containers(cluster):
        container.passwd.write_text(BASE_PASSWD)

    overrides = provisioner.spawner_overrides("alice", "alice")

    assert overrides["uid"] == uid  # its folder's owner, on every pod again
    for container in _containers(cluster):
        assert _passwd(container, "alice")[0] == uid


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_an_account_made_before_the_volume_gets_its_folder_at_its_spawn(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])  # no volume configured yet
    volume = _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)

    overrides = provisioner.spawner_overrides("alice", "alice")

    uid, gid, _ = _passwd(cluster.pods[0].containers["flux-restful"], "alice")
    assert (overrides["uid"], overrides["gid"]) == (uid, gid)
    assert _mode_and_owner(volume / "home" / "alice") == (0o700, uid)


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_a_folder_that_is_not_the_accounts_stops_the_spawn_saying_so(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    volume = _with_volume(cluster, kube)
    # jovyan's folder, from the days the MiniCluster was single-user
    (volume / "home" / "alice").mkdir(parents=True, mode=0o700)
    os.chown(volume / "home" / "alice", 1000, 100)
    cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])
    provisioner = cluster.provisioner(shared_paths=SHARED)
    uid, gid, _ = _passwd(cluster.pods[0].containers["flux-restful"], "alice")

    with pytest.raises(ProvisioningError) as refused:
        provisioner.spawner_overrides("alice", "alice")

    assert str(refused.value) == (
        "/shared/home/alice on the shared volume of MiniCluster flux-sample in namespace "
        f"flux-operator belongs to uid 1000, not to the account alice (uid {uid}): if its "
        f"files are the account's, give it to the account (chown -R {uid}:{gid} "
        "/shared/home/alice), else move it away; then start again."
    )
    assert _mode_and_owner(volume / "home" / "alice") == (0o700, 1000)  # left as it was


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_a_folder_planted_on_the_volume_stops_its_account_saying_what_to_do(make_minicluster, kube):
    """Uid planting (tests/kube/test_kube_uid_planting.py has the real attack): a tenant made
    carol's folder before carol's account, in a home/ anyone can write to. The admin is told
    why and what to do; carol gets no account anywhere, and no login."""
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    volume = _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)
    provisioner.ensure([EnsureOp("alice", "pw-a")])
    alice = _passwd(cluster.pods[0].containers["flux-restful"], "alice")[0]
    (volume / "home").chmod(0o777)  # as an NFS export often is
    planted = volume / "home" / "carol"
    planted.mkdir()
    os.chown(planted, alice, alice)  # alice's jobs run as her uid on the cluster

    [result] = provisioner.ensure([EnsureOp("carol", "pw-c")])

    home = volume / "home"
    assert (result.status, result.error) == (
        "error",
        f"useradd failed in pod {cluster.pods[0].name} (flux-restful): the folder {planted} is "
        f"owned by uid {alice}, which flux-hub cannot trust: {home} is writable by others; make "
        f"{home} root's and 0755, then move {planted} away unless it holds carol's files",
    )
    for container in _containers(cluster):
        with pytest.raises(KeyError):
            _passwd(container, "carol")
    assert "carol" not in cluster.db_users()


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
def test_a_missing_folder_is_not_made_where_others_can_write(make_minicluster, kube):
    """An account made before the volume was configured gets its folder at its spawn, but not
    in a home/ anyone can write to (a tenant could swap it for a link before root gives it
    away): the spawn stops saying so, and nothing is made."""
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])  # no volume configured yet
    volume = _with_volume(cluster, kube)
    (volume / "home").mkdir(mode=0o777)
    (volume / "home").chmod(0o777)
    provisioner = cluster.provisioner(shared_paths=SHARED)

    with pytest.raises(ProvisioningError) as refused:
        provisioner.spawner_overrides("alice", "alice")

    home = volume / "home"
    assert str(refused.value) == (
        f"The folder /shared/home/alice of the Linux account alice cannot be made in pod "
        f"{cluster.pods[0].name} (flux-restful): {home} is writable by others; make {home} "
        "root's and 0755."
    )
    assert not (home / "alice").exists()
    home.chmod(0o755)
    uid = provisioner.spawner_overrides("alice", "alice")["uid"]
    assert _mode_and_owner(home / "alice") == (0o700, uid)


def test_a_lab_pod_is_not_started_as_a_uid_that_could_not_be_made(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)
    kube.fail_useradd(cluster.pods[0].name, "flux-restful", "alice")

    with pytest.raises(ProvisioningError, match="Linux account alice .*cannot lock"):
        provisioner.spawner_overrides("alice", "alice")


def test_without_a_shared_volume_nothing_is_shared_and_no_uid_is_set(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    provisioner = cluster.provisioner()
    provisioner.ensure([EnsureOp("alice", "pw-a")])
    calls = len(kube.exec_calls)

    assert provisioner.lab_environment("alice", "alice") == {"FLUX_HUB_PATHS": ""}
    assert provisioner.spawner_overrides("alice", "alice") == {}
    assert len(kube.exec_calls) == calls
    # the homes stay each container's own, as before
    assert (cluster.pods[1].containers["flux"].root / "home" / "alice").is_dir()


def test_a_single_user_minicluster_runs_no_lab_as_an_account(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=False)
    _with_volume(cluster, kube)
    provisioner = cluster.provisioner(shared_paths=SHARED)

    # every job runs as the server's user: there is no account uid to run the lab as
    assert provisioner.spawner_overrides("alice", "alice") == {}
    assert provisioner.lab_environment("alice", "alice") == {
        "FLUX_HUB_PATHS": "/home/jovyan=/shared/home/alice"
    }


def test_paths_are_filled_in_per_person():
    from flux_hub.kubernetes import KubernetesProvisioner

    provisioner = KubernetesProvisioner(
        minicluster="x",
        shared_paths={"/home/jovyan": "/shared/home/{account}", "/data": "/shared/data"},
    )
    assert provisioner.lab_environment("alice--x2", "alice.smith@example.org") == {
        "FLUX_HUB_PATHS": "/home/jovyan=/shared/home/alice--x2;/data=/shared/data"
    }


@pytest.mark.parametrize(
    "traits, message",
    [
        ({"home_template": "shared/home/{account}"}, "absolute folder followed by /{account}"),
        ({"home_template": "/shared/{account}/home"}, "absolute folder followed by /{account}"),
        ({"home_template": "/shared/{username}/{account}"}, "followed by /{account}"),
        ({"shared_paths": {"home/jovyan": "/shared/home/{account}"}}, "two absolute paths"),
    ],
)
def test_a_home_or_path_that_cannot_work_is_refused(traits, message):
    from flux_hub.kubernetes import KubernetesProvisioner

    with pytest.raises(TraitError, match=message.replace("{", r"\{").replace("}", r"\}")):
        KubernetesProvisioner(minicluster="x", **traits)


def test_no_home_on_the_volume_unless_the_first_path_is_per_account():
    from flux_hub.kubernetes import KubernetesProvisioner

    shared_only = KubernetesProvisioner(minicluster="x", shared_paths={"/data": "/shared/data"})
    assert shared_only.home_template == ""
    pinned = KubernetesProvisioner(
        minicluster="x", shared_paths=SHARED, home_template="/nfs/people/{account}"
    )
    assert pinned.home_template == "/nfs/people/{account}"


@pytest.fixture
def real_names():
    """Unix accounts of this machine made by the account script itself (removed after)."""
    import subprocess

    names = ["fhks-alice", "fhks-bob", "fhks-carol"]
    yield names
    for name in names:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="makes Unix accounts with the real useradd")
def test_the_account_script_with_the_real_shadow_tools(real_names, tmp_path_factory):
    """The script as a broker pod runs it, with this machine's useradd, stat and id (Debian's
    shadow 4.13): the homes, their owners and modes, the uids kept over a cluster made again;
    then the kernel's answer to the scheme: the lab (the account's uid) and the account's jobs
    share the folder, another account's job cannot even list it."""
    import subprocess
    import tempfile

    from flux_hub.kubernetes.runner import USERADD

    alice, bob, carol = real_names
    volume = tempfile.mkdtemp(prefix="fhks-volume-", dir="/tmp")  # 0755 to the root
    os.chmod(volume, 0o755)

    def script(*specs):
        run = subprocess.run(
            ["sh", "-c", USERADD, "flux-hub-useradd", f"{volume}/home/{{account}}", *specs],
            capture_output=True,
            text=True,
        )
        return dict(line.split(" ", 2)[1:] for line in run.stdout.splitlines())

    def as_uid(uid, gid, command):
        return subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "sh", "-c", command],
            capture_output=True,
            text=True,
            cwd="/",
        )

    try:
        made = script(f"{alice}:", f"{bob}:")
        uids = {n: int(u) for n, u in made.items()}
        home = f"{volume}/home/{alice}"
        assert _mode_and_owner(Path(home)) == (0o700, uids[alice])
        # a follower's batch only points at the folder
        subprocess.run(["userdel", alice], check=True)
        assert script(f"{alice}:{uids[alice]}") == {alice: str(uids[alice])}
        assert subprocess.run(["getent", "passwd", alice], capture_output=True, text=True).stdout
        # made again: accounts gone, folders kept; a newcomer first
        subprocess.run(["userdel", alice], check=True)
        subprocess.run(["userdel", bob], check=True)
        again = {n: int(u) for n, u in script(f"{carol}:", f"{bob}:", f"{alice}:").items()}
        assert {n: again[n] for n in uids} == uids
        assert again[carol] > max(uids.values())

        gid = {n: os.stat(f"{volume}/home/{n}").st_gid for n in again}
        lab = as_uid(uids[alice], gid[alice], f"cd {home} && printf 'a,1\\n' > data.csv")
        assert lab.returncode == 0, lab.stderr
        job = as_uid(uids[alice], gid[alice], f"cd {home} && wc -l < data.csv > result.txt")
        assert job.returncode == 0, job.stderr
        back = as_uid(uids[alice], gid[alice], f"cat {home}/result.txt && rm {home}/result.txt")
        assert (back.returncode, back.stdout.strip()) == (0, "1")
        bobs_job = as_uid(uids[bob], gid[bob], f"ls {home}; cat {home}/data.csv")
        assert bobs_job.returncode != 0 and "Permission denied" in bobs_job.stderr
        assert "a,1" not in bobs_job.stdout
    finally:
        subprocess.run(["rm", "-rf", volume])


class _User:
    """What the hub hands an authenticator: a name, and auth_state it keeps."""

    def __init__(self, name):
        self.name = name
        self.saved = None

    async def get_auth_state(self):
        return self.saved

    async def save_auth_state(self, state):
        self.saved = state


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder's owner is set as root sets it")
@pytest.mark.asyncio
async def test_the_hub_spawns_the_lab_as_the_account_with_its_paths(
    make_minicluster, kube, tmp_path, monkeypatch
):
    """Through the authenticator, as a spawn goes: the account is made (its home on the
    volume), then the lab pod's settings are KubeSpawner's uid/gid of that account, no fsGroup,
    and its server's environment maps the lab's home to the account's folder."""
    from jupyterhub.crypto import CryptKeeper
    from traitlets import Dict, HasTraits, Int

    from flux_hub.accounts import FluxAccounts
    from flux_hub.hub import FluxAuthenticator

    class KubeSpawnerLike(HasTraits):
        environment = Dict()
        uid = Int(1000, allow_none=True)  # z2jh's singleuser.uid
        gid = Int(None, allow_none=True)
        fs_gid = Int(100, allow_none=True)  # z2jh's singleuser.fsGid

    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "cd" * 32)
    CryptKeeper.clear_instance()
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    _with_volume(cluster, kube)
    provisioner = cluster.provisioner(
        shared_paths=SHARED, cluster_url="http://flux-sample-0.flux-service.invalid:5000"
    )
    accounts = FluxAccounts(store_path=str(tmp_path / "accounts.sqlite"), provisioner=provisioner)
    auth = FluxAuthenticator(accounts=accounts)
    try:
        user = _User("alice")
        await auth.add_user(user)
        spawner = KubeSpawnerLike()
        await auth.pre_spawn_start(user, spawner)
    finally:
        CryptKeeper.clear_instance()

    uid, gid, _ = _passwd(cluster.pods[0].containers["flux-restful"], "alice")
    assert (spawner.uid, spawner.gid, spawner.fs_gid) == (uid, gid, None)
    assert uid != 1000
    assert spawner.environment["FLUX_HUB_PATHS"] == "/home/jovyan=/shared/home/alice"
    assert spawner.environment["FLUX_USER"] == "alice"
    assert spawner.environment["FLUX_SERVER_MODE"] == "multi-user"
