"""KubernetesProvisioner against the fake API server, checked in the real flux-restful DB."""

import shutil

import pytest
from traitlets import TraitError

from flux_hub.accounts import EnsureOp, ProvisioningError
from flux_hub.kubernetes import KubernetesProvisioner

from .conftest import ADMIN_PASSWORD, ADMIN_USER, SECRET_KEY
from .containers import FakePod
from .fakeapi import V4, FakeKubeAPI
from .miniclusters import add_minicluster


def _passwords_in_argv(cluster, passwords):
    return [p for argv in cluster.exec_argv() for p in passwords if any(p in a for a in argv)]


def test_a_batch_creates_accounts_in_one_exec(make_minicluster):
    cluster = make_minicluster("flux-sample")
    provisioner = cluster.provisioner()
    ops = [EnsureOp("alice", "alice-pw-1"), EnsureOp("bob", "bob-pw-1", superuser=True)]

    results = provisioner.ensure(ops)

    assert [(r.name, r.status) for r in results] == [("alice", "created"), ("bob", "created")]
    users = cluster.db_users()
    assert users["alice"] == {**users["alice"], "active": True, "superuser": False}
    assert users["bob"]["superuser"] is True
    assert cluster.password_works("alice", "alice-pw-1")
    assert cluster.password_works("bob", "bob-pw-1")
    assert len(cluster.api.exec_calls) == 1
    ns, pod, container, argv = cluster.api.exec_calls[0]
    assert (pod, container) == (cluster.pods[0].name, "flux-restful")
    assert argv[:2] == ["python3", "-c"] and argv[3] == "/srv/flux-restful"
    assert _passwords_in_argv(cluster, ["alice-pw-1", "bob-pw-1"]) == []


def test_accounts_change_deactivate_and_come_back(make_minicluster):
    cluster = make_minicluster("flux-sample")
    provisioner = cluster.provisioner()
    provisioner.ensure([EnsureOp("alice", "first-pw")])
    first_hash = cluster.db_users()["alice"]["hash"]

    again = provisioner.ensure([EnsureOp("alice", "ignored-pw")])
    assert again[0].status == "unchanged"
    assert cluster.db_users()["alice"]["hash"] == first_hash  # no new bcrypt hash

    changed = provisioner.ensure([EnsureOp("alice", "second-pw", reset_password=True)])
    assert changed[0].status == "password-set"
    assert cluster.password_works("alice", "second-pw")
    assert not cluster.password_works("alice", "first-pw")

    gone = provisioner.deactivate(["alice", "nobody"])
    assert [(r.name, r.status) for r in gone] == [("alice", "deactivated"), ("nobody", "missing")]
    assert cluster.db_users()["alice"]["active"] is False

    back = provisioner.ensure([EnsureOp("alice", "third-pw", reset_password=True)])
    assert back[0].status == "reactivated"
    assert cluster.db_users()["alice"]["active"] is True


def test_list_shows_the_database(make_minicluster):
    cluster = make_minicluster("flux-sample")
    provisioner = cluster.provisioner()
    provisioner.ensure([EnsureOp("alice", "pw-a"), EnsureOp("carol", "pw-c")])
    provisioner.deactivate(["carol"])

    accounts = {a.name: (a.active, a.superuser) for a in provisioner.list()}

    assert accounts == {
        ADMIN_USER: (True, True),
        "alice": (True, False),
        "carol": (False, False),
    }


def test_url_keys_and_superusers_are_discovered(make_minicluster):
    cluster = make_minicluster("flux-sample")
    provisioner = cluster.provisioner(port_forward=False)  # as in a pod: cluster DNS

    assert provisioner.cluster_url == (
        "http://flux-sample-0.flux-service.flux-operator.svc.cluster.local:5000"
    )
    assert provisioner.secret_key == SECRET_KEY
    assert ADMIN_USER in provisioner.superusers
    assert ADMIN_PASSWORD not in repr(
        provisioner.runner.locator.credentials(provisioner.runner.info)
    )


def test_multi_user_mode_adds_the_linux_account_on_every_pod(make_minicluster):
    cluster = make_minicluster("flux-sample", size=3, multi_user=True)
    provisioner = cluster.provisioner()

    results = provisioner.ensure([EnsureOp("alice", "pw-a"), EnsureOp("bob", "pw-b")])

    assert [r.status for r in results] == ["created", "created"]
    uids = set()
    for pod in cluster.pods:
        for container in pod.containers.values():
            users = container.users()
            assert {"alice", "bob"} <= set(users), (pod.name, container.name)
            assert (container.root / "home" / "alice").is_dir()
            # as on one machine: marked as flux-hub's, a private home
            assert (container.root / "home" / "alice").stat().st_mode & 0o777 == 0o700
            assert ":flux-hub account alice:" in container.passwd.read_text()
            uids.add((users["alice"], users["bob"]))
    assert len(uids) == 1  # the same uid everywhere: jobs run as one uid on every node
    # One exec for the DB plus one per container for the whole batch.
    assert len(cluster.api.exec_calls) == 1 + 3 * 2
    useradd = [argv for argv in cluster.exec_argv() if argv[0] == "sh"]
    assert len(useradd) == 6 and all("useradd " in argv[2] for argv in useradd)
    # no shared volume configured: the script gets no home template, each home is its own
    alice_uid, bob_uid = next(iter(uids))
    assert [argv[4:] for argv in useradd] == [["alice:", "bob:"]] + [
        [f"alice:{alice_uid}", f"bob:{bob_uid}"]
    ] * 5
    # and each person's server is told the cluster is multi-user (its listing is their own)
    assert provisioner.server_mode("alice") == "multi-user"


def test_a_single_user_minicluster_is_said_to_be_one(make_minicluster):
    provisioner = make_minicluster("flux-sample", size=2).provisioner()
    assert provisioner.server_mode("alice") == "single-user"
    provisioner.flux_server_mode = "multi-user"  # as configured, over what is discovered
    assert provisioner.server_mode("alice") == "multi-user"


def test_an_images_own_account_is_never_taken_over(make_minicluster):
    """A Linux account of the name that flux-hub did not make (the image's own user) is refused
    for that name alone, on one machine as on Kubernetes; its DB row is not written."""
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    for pod in cluster.pods:
        for container in pod.containers.values():
            with container.passwd.open("a") as passwd:
                passwd.write("ubuntu:x:1001:1001:Ubuntu:/home/ubuntu:/bin/bash\n")
    provisioner = cluster.provisioner()

    results = provisioner.ensure([EnsureOp("ubuntu", "pw-u"), EnsureOp("carol", "pw-c")])

    assert [r.status for r in results] == ["error", "created"]
    assert "a Linux account of this name exists and flux-hub did not make it" in results[0].error
    assert {a.name for a in provisioner.list()} >= {"carol"}
    assert "ubuntu" not in {a.name for a in provisioner.list()}


def test_multi_user_is_idempotent(make_minicluster):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    provisioner = cluster.provisioner()
    provisioner.ensure([EnsureOp("alice", "pw-a")])
    before = {
        (p.name, c.name): c.passwd.read_text() for p in cluster.pods for c in p.containers.values()
    }

    again = provisioner.ensure([EnsureOp("alice", "pw-a")])

    assert again[0].status == "unchanged"
    after = {
        (p.name, c.name): c.passwd.read_text() for p in cluster.pods for c in p.containers.values()
    }
    assert after == before


def _replace_pod(kube, old):
    """The operator replaces a pod: same name pattern and labels, fresh containers."""
    del kube.pods[(old.namespace, old.name)]
    name = old.name.rsplit("-", 1)[0] + "-new00"
    return kube.add_pod(
        FakePod(
            namespace=old.namespace,
            name=name,
            containers={c: kube.add_container(old.namespace, name, c) for c in old.containers},
            labels=old.labels,
            annotations=old.annotations,
            hostname=old.hostname,
            subdomain=old.subdomain,
        )
    )


def test_reconcile_restores_linux_accounts_on_a_replaced_pod(make_minicluster, kube, tmp_path):
    from jupyterhub.crypto import CryptKeeper

    from flux_hub.accounts import FluxAccounts

    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTERHUB_CRYPT_KEY", "cd" * 32)
        CryptKeeper.clear_instance()
        accounts = FluxAccounts(
            store_path=str(tmp_path / "accounts.sqlite"), provisioner=cluster.provisioner()
        )
        assert all(o.ok for o in accounts.ensure(["alice", "bob"]))
        new = _replace_pod(kube, cluster.pods[1])
        assert "alice" not in new.containers["flux"].users()

        assert accounts.reconcile(["alice", "bob"]) == []

        broker = cluster.pods[0].containers["flux-restful"].users()
        for container in new.containers.values():
            users = container.users()
            assert (users["alice"], users["bob"]) == (broker["alice"], broker["bob"])
    CryptKeeper.clear_instance()


def test_a_replaced_worker_gets_the_linux_accounts_back(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    provisioner = cluster.provisioner()
    provisioner.ensure([EnsureOp("alice", "pw-a"), EnsureOp("bob", "pw-b")])
    new = _replace_pod(kube, cluster.pods[1])
    hashes = {name: user["hash"] for name, user in cluster.db_users().items()}

    assert provisioner.sync_host_accounts(["alice", "bob"]) == {}

    broker = cluster.pods[0].containers["flux-restful"].users()
    for container in new.containers.values():
        users = container.users()
        assert (users["alice"], users["bob"]) == (broker["alice"], broker["bob"])
    assert {n: u["hash"] for n, u in cluster.db_users().items()} == hashes


def test_a_partial_batch_keeps_what_succeeded_and_half_makes_nothing(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    worker = cluster.pods[1].name
    kube.fail_useradd(worker, "flux", "bob")
    provisioner = cluster.provisioner()

    results = provisioner.ensure([EnsureOp("alice", "pw-a"), EnsureOp("bob", "pw-b")])

    alice, bob = results
    assert alice.status == "created" and cluster.password_works("alice", "pw-a")
    assert bob.status == "error"
    assert worker in bob.error and "cannot lock /etc/passwd" in bob.error
    assert "bob" not in cluster.db_users()  # no login whose jobs could not run everywhere
    assert "pw-b" not in bob.error


def test_a_uid_clash_on_a_worker_is_refused(make_minicluster):
    cluster = make_minicluster("flux-sample", size=2, multi_user=True)
    flux = cluster.pods[1].containers["flux"]
    # flux-hub's account, left on a worker with another uid (by an earlier cluster, say)
    with open(flux.passwd, "a") as f:
        f.write("alice:x:4242:4242:flux-hub account alice:/home/alice:/bin/sh\n")

    (result,) = cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])

    assert result.status == "error"
    assert "uid 4242" in result.error and cluster.pods[1].name in result.error
    assert "alice" not in cluster.db_users()


def test_broker_not_ready(make_minicluster):
    cluster = make_minicluster("flux-sample", phase="Pending")

    with pytest.raises(ProvisioningError, match="is not ready \\(phase Pending"):
        cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])
    assert cluster.api.exec_calls == []
    assert "alice" not in cluster.db_users()


def test_exec_forbidden_by_rbac(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    kube.forbid("create", "pods/exec")

    with pytest.raises(ProvisioningError, match="needs 'create' on 'pods/exec'"):
        cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])


def test_minicluster_not_found(make_minicluster):
    cluster = make_minicluster("flux-sample")

    with pytest.raises(ProvisioningError, match="no MiniCluster 'other'"):
        cluster.provisioner(minicluster="other").ensure([EnsureOp("alice", "pw-a")])


def test_a_minicluster_without_its_broker_pod(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    kube.pods.clear()

    with pytest.raises(ProvisioningError, match="has no broker pod"):
        cluster.provisioner().ensure([EnsureOp("alice", "pw-a")])
    assert cluster.api.exec_calls == []


def test_a_failing_command_reports_its_stderr(make_minicluster):
    cluster = make_minicluster("flux-sample")
    provisioner = cluster.provisioner(workdir="/srv/missing")

    with pytest.raises(ProvisioningError) as error:
        provisioner.ensure([EnsureOp("alice", "secret-pw-1")])

    message = str(error.value)
    assert "account script failed" in message and "exit code 1" in message
    assert "No such file or directory" in message and "/srv/missing" in message
    assert "secret-pw-1" not in message


def test_a_replaced_broker_pod_is_found_again(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    provisioner = cluster.provisioner()
    provisioner.ensure([EnsureOp("alice", "pw-a")])
    old = cluster.pods[0]
    del kube.pods[(old.namespace, old.name)]
    kube.add_pod(
        FakePod(
            namespace=old.namespace,
            name="flux-sample-0-new00",
            containers=old.containers,
            labels=old.labels,
            annotations=old.annotations,
            hostname=old.hostname,
            subdomain=old.subdomain,
        )
    )

    (result,) = provisioner.ensure([EnsureOp("bob", "pw-b")])

    assert result.status == "created"
    assert cluster.api.exec_calls[-1][1] == "flux-sample-0-new00"


def test_v4_exec_streams_work_too(tmp_path, restful_db_template):
    restful_dir = tmp_path / "restful"
    restful_dir.mkdir()
    shutil.copy(restful_db_template, restful_dir / "flux-restful.db")
    with FakeKubeAPI(tmp_path / "kube", protocols=(V4,)) as api:
        api.add_secret("ns", "flux-restful", {"FLUX_USER": ADMIN_USER})
        add_minicluster(api, "ns", "old", restful_dir=restful_dir)
        provisioner = KubernetesProvisioner(
            minicluster="old", namespace="ns", kubeconfig=api.kubeconfig(tmp_path / "kc", "ns")
        )
        (result,) = provisioner.ensure([EnsureOp("alice", "pw-a")])

    assert result.status == "created"


def test_legacy_v1alpha1_layout(make_minicluster):
    cluster = make_minicluster("legacy", version="v1alpha1")
    provisioner = cluster.provisioner()
    assert provisioner.serves_legacy() is False  # not known before it is discovered

    (result,) = provisioner.ensure([EnsureOp("peenut", "pw-p")])

    assert result.status == "created"
    assert cluster.password_works("peenut", "pw-p")
    # the real legacy server's row: its init_db.add_user, its bcrypt
    assert cluster.db_users()["peenut"]["hash"].startswith("$2b$12$")
    assert provisioner.serves_legacy() is True  # the hub's log and the service's pages warn
    assert cluster.provisioner(api_version="v1alpha1").serves_legacy() is True
    argv = cluster.exec_argv()[-1]
    assert argv[3] == "/flux-restful-api"


@pytest.mark.parametrize("setting, value", [("api_version", "v2"), ("layout", "app")])
def test_a_misspelt_setting_is_refused_when_set_with_its_name(setting, value):
    """c.KubernetesProvisioner.api_version and .layout take only what flux-hub can serve."""
    with pytest.raises(TraitError, match=f"'{setting}' trait of a KubernetesProvisioner"):
        KubernetesProvisioner(**{setting: value})
