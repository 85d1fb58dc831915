"""A MiniCluster per hub user: the accounts core with MiniClusterPerUserProvisioner, the real
kubernetes client, the fake API server and the fake operator, which runs a real flux-restful
1.1.0 for each MiniCluster the hub creates (tests/kube/fake_operator.py)."""

import asyncio
import copy
import re
from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from flux_hub.accounts import FluxAccounts
from flux_hub.kubernetes.percluster import (
    ACCOUNT_LABEL,
    HUB_LABEL,
    MANAGED_BY,
    MANAGED_LABEL,
    ClusterSettings,
    MiniClusterPerUserProvisioner,
    idle_to_remove,
)
from flux_hub.restful import AuthenticationFailed, FluxRestfulClient

from . import schema_check
from .fake_operator import FakeFluxOperator
from .miniclusters import add_minicluster

NAMESPACE = "flux-operator"
RBAC_PER_USER = Path(__file__).parents[2] / "examples" / "kubernetes" / "rbac-per-user.yaml"
CRYPT_KEY = "cd" * 32
DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


@pytest.fixture
def operator(kube, tmp_path):
    op = FakeFluxOperator(kube, tmp_path / "operator")
    yield op
    op.stop()


@pytest.fixture
def make_accounts(kube, operator, tmp_path, monkeypatch):
    """make_accounts(store=...) -> FluxAccounts over per-user MiniClusters (a hub process)."""
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)
    kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)

    def make(store="accounts.sqlite", **traits):
        config = Config()
        config.FluxAccounts.provisioner_class = MiniClusterPerUserProvisioner
        config.FluxAccounts.store_path = str(tmp_path / store)
        for key, value in {
            "namespace": NAMESPACE,
            "kubeconfig": kubeconfig,
            "ready_timeout": 120.0,
            "poll_interval": 0.1,
            **traits,
        }.items():
            setattr(config.MiniClusterPerUserProvisioner, key, value)
        accounts = FluxAccounts(config=config)
        # Set on the instance: a config value would be deep-copied, the operator with it.
        accounts.provisioner.cluster_url_for = operator.url_for
        return accounts

    return make


def creates(kube, kind):
    return [p for m, p in kube.requests if m == "POST" and p.endswith(f"/{kind}")]


def ready_env(accounts, hub_user):
    """What the hub does at spawn: wait for the cluster, then the server's environment."""
    record = accounts.record(hub_user)
    messages = []
    asyncio.run(
        accounts.provisioner.wait_ready(
            record.account, accounts.store.password(record), messages.append
        )
    )
    return accounts.credentials(hub_user), messages


def changes_to(kube, since, *names):
    """Requests other than GET, after the first ``since``, to objects of these names."""
    return [(m, p) for m, p in kube.requests[since:] if m != "GET" and p.endswith(names)]


def client(env, user=None, password=None):
    return FluxRestfulClient(
        env["FLUX_RESTFUL_HOST"],
        user or env["FLUX_USER"],
        password or env["FLUX_TOKEN"],
        env["FLUX_SECRET_KEY"],
    )


def test_two_users_get_clusters_of_their_own_and_cannot_use_each_others(make_accounts, kube):
    accounts = make_accounts()

    outcomes = accounts.ensure(["alice", "bob"])

    assert [(o.hub_user, o.status) for o in outcomes] == [("alice", "created"), ("bob", "created")]
    assert len(creates(kube, "miniclusters")) == 2 and len(creates(kube, "secrets")) == 2
    alice, alice_steps = ready_env(accounts, "alice")
    bob, _ = ready_env(accounts, "bob")
    assert alice["FLUX_RESTFUL_HOST"] != bob["FLUX_RESTFUL_HOST"]
    assert alice["FLUX_SECRET_KEY"] != bob["FLUX_SECRET_KEY"]
    assert alice_steps[-1] == "Your Flux MiniCluster flux-alice is ready (flux-restful answers)"
    assert any("pods running" in step for step in alice_steps[:-1])
    cluster = kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]
    assert cluster["metadata"]["labels"] == {
        MANAGED_LABEL: MANAGED_BY,
        HUB_LABEL: "flux",  # the hub's identity: name_prefix "flux-" without its dash
        ACCOUNT_LABEL: "alice",
    }
    secret_uid = kube.secret_meta[(NAMESPACE, "flux-alice")]["uid"]
    assert [r["uid"] for r in cluster["metadata"]["ownerReferences"]] == [secret_uid]

    with client(alice) as own:
        jobid = own.submit("hostname")
        assert [job["id"] for job in own.jobs()] == [jobid]
    # Alice's credentials on Bob's cluster, with or without Bob's shared secret: refused.
    for secret_key in (bob["FLUX_SECRET_KEY"], alice["FLUX_SECRET_KEY"]):
        with FluxRestfulClient(
            bob["FLUX_RESTFUL_HOST"], "alice", alice["FLUX_TOKEN"], secret_key
        ) as wrong:
            with pytest.raises(AuthenticationFailed):
                wrong.jobs()
    with client(bob) as other:
        assert other.jobs() == []  # Bob's cluster never saw Alice's job


def test_deleting_the_hub_user_removes_the_cluster(make_accounts, kube, operator):
    accounts = make_accounts()
    accounts.ensure(["alice", "bob"])
    alice, _ = ready_env(accounts, "alice")

    (outcome,) = accounts.deactivate(["alice"], forget=True)

    assert outcome.status == "deactivated"
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    assert (NAMESPACE, "flux-alice") not in kube.secrets
    assert ("v1alpha2", NAMESPACE, "flux-bob") in kube.objects
    operator.settle()  # the operator has handled the delete
    assert not [p for p in list(kube.pods.values()) if p.labels.get("job-name") == "flux-alice"]
    with client(alice) as gone:
        with pytest.raises(Exception):  # noqa: B017 (the server is gone: nothing answers)
            gone.jobs()
    assert accounts.credentials("alice") is None
    assert [a.name for a in accounts.provisioner.list()] == ["bob"]


def test_a_restarted_hub_adopts_the_clusters_that_exist(make_accounts, kube):
    first = make_accounts()
    first.ensure(["alice", "bob"])
    before, _ = ready_env(first, "alice")
    made = len(creates(kube, "miniclusters"))

    # The same store (a plain restart): nothing to do at all.
    again = make_accounts()
    assert [o.status for o in again.ensure(["alice", "bob"])] == ["exists", "exists"]
    # A hub that lost its store: the clusters are found and adopted, with their passwords.
    fresh = make_accounts(store="lost.sqlite")
    outcomes = fresh.ensure(["alice", "bob"])

    assert [o.status for o in outcomes] == ["unchanged", "unchanged"]
    assert len(creates(kube, "miniclusters")) == made == 2
    after, _ = ready_env(fresh, "alice")
    assert after == before
    with client(after) as adopted:
        assert isinstance(adopted.submit("true"), int)
    assert fresh.reconcile(["alice", "bob"]) == []


def test_two_hubs_in_one_namespace_keep_to_their_own_clusters(make_accounts, kube, operator):
    operator.start_servers = False  # what each hub makes and leaves alone counts here
    first = make_accounts(store="first.sqlite")  # name_prefix "flux-": hub_id "flux"
    second = make_accounts(store="second.sqlite", name_prefix="lab2-")  # hub_id "lab2"

    assert [o.status for o in first.ensure(["alice"])] == ["created"]
    assert [o.status for o in second.ensure(["alice", "bob"])] == ["created", "created"]

    # Two people called alice, one on each hub: two clusters, two sets of credentials.
    assert (
        first.credentials("alice")["FLUX_SECRET_KEY"]
        != (second.credentials("alice")["FLUX_SECRET_KEY"])
    )
    labels = kube.objects[("v1alpha2", NAMESPACE, "lab2-bob")]["metadata"]["labels"]
    assert labels[HUB_LABEL] == "lab2"
    # Each hub sees only its own; the first hub restarted with a lost store adopts its alice
    # and nothing of the second hub's, and removing its alice leaves the other alice alone.
    assert [a.name for a in first.provisioner.list()] == ["alice"]
    assert [a.name for a in second.provisioner.list()] == ["alice", "bob"]
    restarted = make_accounts(store="first-lost.sqlite")
    since = len(kube.requests)
    assert [o.status for o in restarted.ensure(["alice", "bob"])] == ["unchanged", "created"]
    assert restarted.reconcile(["alice", "bob"]) == []
    assert [o.status for o in restarted.deactivate(["alice"], cancel_jobs=False)] == ["deactivated"]
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    assert ("v1alpha2", NAMESPACE, "lab2-alice") in kube.objects
    assert not changes_to(kube, since, "lab2-alice", "lab2-bob")

    # A third hub configured with the same prefix but its own hub_id finds the name taken by
    # the second hub: a clear error, and nothing of the second hub's is changed or removed.
    third = make_accounts(store="third.sqlite", name_prefix="lab2-", hub_id="lab3")
    since = len(kube.requests)
    (outcome,) = third.ensure(["bob"])
    assert outcome.status == "error"
    assert outcome.error == (
        "Secret lab2-bob in namespace flux-operator belongs to another hub (flux-hub/hub=lab2; "
        "this hub is lab3); this hub never changes it. Hubs sharing a namespace need different "
        "MiniClusterPerUserProvisioner.name_prefix values."
    )
    assert [o.status for o in third.deactivate(["bob"])] == ["missing"]
    assert third.provisioner.list() == []
    assert third.provisioner.cluster_state("bob").state == "foreign"
    assert not changes_to(kube, since, "lab2-bob")
    assert second.credentials("bob") is not None
    assert ("v1alpha2", NAMESPACE, "lab2-bob") in kube.objects

    # A cluster made before hubs were named (no hub label) is no hub's until an admin labels it.
    del kube.objects[("v1alpha2", NAMESPACE, "lab2-bob")]["metadata"]["labels"][HUB_LABEL]
    del kube.secret_meta[(NAMESPACE, "lab2-bob")]["labels"][HUB_LABEL]
    (outcome,) = second.ensure(["bob"], force=True)
    assert outcome.error == (
        "Secret lab2-bob in namespace flux-operator was made by a flux-hub before hubs were "
        "named (no flux-hub/hub label), so this hub leaves it alone. If it is this hub's, adopt "
        "it with: kubectl label -n flux-operator minicluster,secret lab2-bob flux-hub/hub=lab2"
    )
    for meta in (
        kube.objects[("v1alpha2", NAMESPACE, "lab2-bob")]["metadata"],
        kube.secret_meta[(NAMESPACE, "lab2-bob")],
    ):
        meta["labels"][HUB_LABEL] = "lab2"  # what that kubectl label does
    assert [o.status for o in second.ensure(["bob"], force=True)] == ["unchanged"]


def test_hub_users_whose_names_differ_only_where_kubernetes_names_cannot_get_a_cluster_each(
    make_accounts, kube
):
    accounts = make_accounts()
    users = ["a_b", "a-b", "ab_"]

    outcomes = accounts.ensure(users)

    assert [(o.account, o.status) for o in outcomes] == [(u, "created") for u in users]
    names = {u: accounts.provisioner.cluster_name(u) for u in users}
    assert names["a-b"] == "flux-a-b"  # a name Kubernetes allows is kept
    assert re.fullmatch(r"flux-a-b--[a-z2-7]{10}", names["a_b"])  # a readable stem and a hash
    assert re.fullmatch(r"flux-ab--[a-z2-7]{10}", names["ab_"])
    assert len(set(names.values())) == 3
    for user, name in names.items():
        assert DNS_1123_LABEL.fullmatch(name), name
        cluster = kube.objects[("v1alpha2", NAMESPACE, name)]
        assert all(LABEL_VALUE.fullmatch(v) for v in cluster["metadata"]["labels"].values())
        assert cluster["metadata"]["annotations"] == {ACCOUNT_LABEL: user}
        assert kube.secrets[(NAMESPACE, name)]["FLUX_USER"] == user
    # a_b and a-b each use their own cluster; neither sees the other's jobs.
    underscore, _ = ready_env(accounts, "a_b")
    dash, _ = ready_env(accounts, "a-b")
    assert underscore["FLUX_RESTFUL_HOST"] != dash["FLUX_RESTFUL_HOST"]
    with client(underscore) as own:
        jobid = own.submit("true")
        assert [job["id"] for job in own.jobs()] == [jobid]
    with client(dash) as other:
        assert other.jobs() == []

    # A hub that lost its store finds the same names: it adopts all three, makes none.
    fresh = make_accounts(store="lost.sqlite")
    assert [o.status for o in fresh.ensure(users)] == ["unchanged"] * 3
    assert len(creates(kube, "miniclusters")) == 3
    assert sorted(a.name for a in fresh.provisioner.list()) == sorted(users)
    assert fresh.credentials("a_b") == underscore
    assert [o.status for o in fresh.deactivate(["a_b"])] == ["deactivated"]
    assert ("v1alpha2", NAMESPACE, names["a_b"]) not in kube.objects
    assert ("v1alpha2", NAMESPACE, "flux-a-b") in kube.objects


def test_a_minicluster_flux_hub_did_not_create_is_never_changed(make_accounts, kube):
    # Someone's own MiniCluster named like carol's, and one that copies this hub's labels but
    # has no owner reference to flux-hub's Secret.
    add_minicluster(kube, NAMESPACE, "flux-carol", size=1)
    add_minicluster(kube, NAMESPACE, "flux-dave", size=1)
    kube.objects[("v1alpha2", NAMESPACE, "flux-dave")]["metadata"]["labels"] = {
        MANAGED_LABEL: MANAGED_BY,
        HUB_LABEL: "flux",
        ACCOUNT_LABEL: "dave",
    }
    untouched = copy.deepcopy(kube.objects)
    pods = set(kube.pods)
    accounts = make_accounts()

    outcomes = accounts.ensure(["carol", "dave"])

    for outcome in outcomes:
        assert outcome.status == "error"
        assert "flux-hub did not create it" in outcome.error
        assert "never changes it" in outcome.error
    assert accounts.record("carol").state == "failed"
    retried = accounts.reconcile(["carol", "dave"])
    assert [(o.hub_user, o.status) for o in retried] == [("carol", "error"), ("dave", "error")]
    assert accounts.provisioner.list() == []
    assert [o.status for o in accounts.deactivate(["carol", "dave"])] == ["missing", "missing"]
    assert kube.objects == untouched and set(kube.pods) == pods
    assert not [
        (m, p)
        for m, p in kube.requests
        if m != "GET" and ("flux-carol" in p or "flux-dave" in p or p.endswith("miniclusters"))
    ]
    assert (NAMESPACE, "flux-carol") not in kube.secrets


def test_size_image_and_node_selector_from_config_and_per_user(make_accounts, kube):
    accounts = make_accounts(size=2, image="ghcr.io/example/flux:1", node_selector={"pool": "a"})
    provisioner = accounts.provisioner
    provisioner.set_settings(
        "bob", ClusterSettings(size=3, image="ghcr.io/bob/own:2", node_selector={})
    )

    accounts.ensure(["alice", "bob"])

    alice = kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]["spec"]
    bob = kube.objects[("v1alpha2", NAMESPACE, "flux-bob")]["spec"]
    assert (alice["size"], alice["containers"][0]["image"], alice["pod"]["nodeSelector"]) == (
        2,
        "ghcr.io/example/flux:1",
        {"pool": "a"},
    )
    assert (bob["size"], bob["containers"][0]["image"], "nodeSelector" in bob["pod"]) == (
        3,
        "ghcr.io/bob/own:2",
        False,
    )
    ready_env(accounts, "bob")  # the operator makes the pods in the background
    bobs_pods = [p for p in list(kube.pods.values()) if p.labels.get("job-name") == "flux-bob"]
    assert len(bobs_pods) == 3
    assert all(p.labels[ACCOUNT_LABEL] == "bob" for p in bobs_pods)
    state = provisioner.cluster_state("bob")
    assert (state.state, state.pods_running, state.size) == ("running", 3, 3)
    with client(accounts.credentials("bob")) as bobs:
        assert len(bobs.nodes()) == 3


@pytest.mark.parametrize(
    "settings, message",
    [
        (ClusterSettings(size=0), "size must be a whole number of at least 1"),
        (ClusterSettings(image="bad image"), "must be a container image name"),
        (ClusterSettings(node_selector={"bad key!": "x"}), "'bad key!' is not a valid label"),
        (ClusterSettings(node_selector={"pool": "a b"}), "'a b' (for pool) is not a valid"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(make_accounts, settings, message):
    provisioner = make_accounts().provisioner
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        provisioner.set_settings("alice", settings)
    assert provisioner.settings("alice") == ClusterSettings()


def test_bad_config_names_the_setting():
    """As every other setting's check (flux_hub/config_checks.py): a TraitError whose message
    starts with the setting, so the hub stops at start saying which one and why."""
    with pytest.raises(TraitError, match="^MiniClusterPerUserProvisioner.node_selector: "):
        MiniClusterPerUserProvisioner(node_selector={"pool": "not valid!"})
    with pytest.raises(TraitError, match="^MiniClusterPerUserProvisioner.name_prefix must be"):
        MiniClusterPerUserProvisioner(name_prefix="Bad_")
    with pytest.raises(TraitError, match="^MiniClusterPerUserProvisioner.hub_id must be a Kube"):
        MiniClusterPerUserProvisioner(hub_id="-no-")


def test_an_idle_cluster_is_removed_after_the_idle_time_and_comes_back(make_accounts, kube):
    accounts = make_accounts(idle_timeout=600.0)
    accounts.ensure(["alice", "bob"])
    alice, _ = ready_env(accounts, "alice")
    ready_env(accounts, "bob")
    with client(alice) as own:
        running = own.submit("sleep 300")
    idle_since = {}

    # bob's server runs; alice has a job running: neither is idle.
    assert idle_to_remove(accounts, {"bob"}, idle_since, now=1000.0) == []
    assert idle_since == {}
    with client(alice) as own:
        own.cancel(running)
    assert idle_to_remove(accounts, set(), idle_since, now=1000.0) == []  # both idle from now
    assert idle_to_remove(accounts, {"bob"}, idle_since, now=1500.0) == []
    assert idle_to_remove(accounts, {"bob"}, idle_since, now=1600.0) == ["alice"]
    accounts.deactivate(["alice"], cancel_jobs=False)
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    assert idle_to_remove(accounts, set(), idle_since, now=1700.0) == []  # bob idle since 1700

    # Her next spawn makes it again, with the password she had.
    (outcome,) = accounts.ensure(["alice"])
    assert outcome.status == "created"
    again, _ = ready_env(accounts, "alice")
    assert again["FLUX_TOKEN"] == alice["FLUX_TOKEN"]
    assert again["FLUX_RESTFUL_HOST"] != alice["FLUX_RESTFUL_HOST"]  # a new cluster


def test_rotating_a_credential_changes_it_on_the_running_cluster(make_accounts, kube, caplog):
    accounts = make_accounts()
    accounts.ensure(["alice", "bob"])
    before, _ = ready_env(accounts, "alice")
    bobs = dict(kube.secrets[(NAMESPACE, "flux-bob")])
    caplog.set_level("DEBUG")

    (outcome,) = accounts.ensure(["alice"], rotate=True)

    assert outcome.status == "password-set"
    after = accounts.credentials("alice")
    assert after["FLUX_TOKEN"] != before["FLUX_TOKEN"]
    assert {**after, "FLUX_TOKEN": None} == {**before, "FLUX_TOKEN": None}  # the same cluster
    with client(after) as new:
        assert isinstance(new.submit("true"), int)
    with client(before) as old, pytest.raises(AuthenticationFailed):
        old.jobs()
    assert kube.secrets[(NAMESPACE, "flux-alice")]["FLUX_TOKEN"] == after["FLUX_TOKEN"]
    assert len(creates(kube, "miniclusters")) == 2  # not restarted: no cluster made again
    assert not [p for m, p in kube.requests if m == "DELETE"]
    assert kube.secrets[(NAMESPACE, "flux-bob")] == bobs
    assert after["FLUX_TOKEN"] not in caplog.text and before["FLUX_TOKEN"] not in caplog.text
    # A hub that lost its store adopts the cluster with the new password.
    fresh = make_accounts(store="lost.sqlite")
    assert [o.status for o in fresh.ensure(["alice"])] == ["unchanged"]
    assert fresh.credentials("alice") == after

    # Without pods/exec (a Role that lacks it): a clear error, and nothing changes.
    kube.forbid("create", "pods/exec")
    (refused,) = accounts.ensure(["alice"], rotate=True)
    assert refused.status == "error"
    assert refused.error.startswith(
        "The password of alice on MiniCluster flux-alice in namespace flux-operator was not "
        "changed: "
    )
    assert "needs 'create' on 'pods/exec'" in refused.error
    assert refused.error.endswith("examples/kubernetes/rbac-per-user.yaml grants it.")
    # The Secret cannot be changed: the database gets the password it had back.
    kube.forbidden.clear()
    kube.forbid("patch", "secrets")
    (refused,) = accounts.ensure(["alice"], rotate=True)
    assert refused.status == "error"
    assert refused.error.startswith(
        "Kubernetes refused to patch secret flux-alice in namespace flux-operator"
    )
    assert accounts.credentials("alice") == after
    assert kube.secrets[(NAMESPACE, "flux-alice")]["FLUX_TOKEN"] == after["FLUX_TOKEN"]
    with client(after) as still:
        assert len(still.jobs()) == 1  # the job submitted after the rotation
    assert after["FLUX_TOKEN"] not in caplog.text


def test_the_example_role_is_enough_for_everything_the_hub_does(make_accounts, kube):
    docs = schema_check.manifests(RBAC_PER_USER)
    (namespace,) = {d["metadata"]["namespace"] for d in docs}  # the hub's: jhub
    kube.apply_rbac(docs)
    accounts = make_accounts(namespace=namespace)

    assert [o.status for o in accounts.ensure(["alice"])] == ["created"]
    ready_env(accounts, "alice")
    assert [a.name for a in accounts.provisioner.list()] == ["alice"]
    assert [o.status for o in accounts.ensure(["alice"], rotate=True)] == ["password-set"]
    with client(accounts.credentials("alice")) as own:
        own.submit("sleep 300")
    assert [o.status for o in accounts.deactivate(["alice"])] == ["deactivated"]  # jobs cancelled
    assert ("v1alpha2", namespace, "flux-alice") not in kube.objects

    # The Role grants nothing in another namespace.
    elsewhere = make_accounts(store="elsewhere.sqlite", namespace=NAMESPACE)
    (outcome,) = elsewhere.ensure(["bob"])
    assert outcome.status == "error" and "Check the Role bound to the hub's" in outcome.error


def test_a_refused_create_leaves_nothing_half_made(make_accounts, kube):
    kube.forbid("create", "miniclusters")
    accounts = make_accounts()

    (outcome,) = accounts.ensure(["alice"])

    assert outcome.status == "error"
    assert outcome.error.startswith(
        "Kubernetes refused to create MiniCluster flux-alice in namespace flux-operator"
    )
    assert "Check the Role bound to the hub's service account" in outcome.error
    assert (NAMESPACE, "flux-alice") not in kube.secrets  # the Secret made first is gone
    assert accounts.record("alice").state == "failed"
    assert accounts.credentials("alice") is None


def test_the_credentials_login_cannot_be_combined_with_a_cluster_per_user(tmp_path, monkeypatch):
    from flux_hub.hub.authenticator import FluxAuthenticator

    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)
    config = Config()
    config.FluxAccounts.provisioner_class = MiniClusterPerUserProvisioner
    config.FluxAccounts.store_path = str(tmp_path / "accounts.sqlite")
    with pytest.raises(SystemExit, match="Use with_flux_accounts"):
        FluxAuthenticator(config=config)
