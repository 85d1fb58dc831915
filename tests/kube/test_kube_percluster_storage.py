"""A person's files on their own MiniCluster: the claim flux-hub makes (or an existing one) is
mounted in every container of their cluster and in their JupyterLab pod, outlives idle removal
and re-creation of the cluster, and goes only with the person (flux-hub's claim only).

The accounts core with MiniClusterPerUserProvisioner, the real kubernetes client, the fake API
server (claims made through it are folders, tests/kube/podns.py claim_dir) and the fake
operator, whose broker runs each job in the pod's mount namespace with the claim's folder at
the mount path: what a job writes there lands in the claim.
"""

import json
import time

import pytest
from kubernetes import client as kclient
from traitlets import TraitError

from flux_hub.kubernetes.api import load_api_client
from flux_hub.kubernetes.percluster import MiniClusterPerUserProvisioner

from . import schema_check
from . import test_kube_percluster as per_person
from .podns import claim_dir
from .test_kube_percluster import NAMESPACE, RBAC_PER_USER, client, ready_env

# The per-person tests' fixtures: the fake operator and the accounts core over it
operator = per_person.operator
make_accounts = per_person.make_accounts

VOLUME = "flux-hub-files"


def claim_requests(kube, method):
    return [p for m, p in kube.requests if m == method and "/persistentvolumeclaims" in p]


def mounted(kube, cluster, namespace=NAMESPACE):
    """{container: its volumes} of a MiniCluster as flux-hub made it."""
    spec = kube.objects[("v1alpha2", namespace, cluster)]["spec"]
    return {c.get("name", "flux"): c.get("volumes") for c in spec["containers"]}


def run(env, command, workdir):
    """Run ``command`` as a job of the person's cluster in ``workdir``; its output."""
    with client(env) as own:
        jobid = own.submit(["sh", "-c", command], workdir=workdir)
        deadline = time.monotonic() + 60
        while own.job(jobid).get("state") != "INACTIVE":
            assert time.monotonic() < deadline, own.job(jobid)
            time.sleep(0.2)
        assert own.job(jobid).get("returncode") in (0, None), own.job(jobid)
        return "".join(own.output(jobid))


def lab_pod(overrides):
    """The pod KubeSpawner would make with the provisioner's overrides (camelCase, as
    KubeSpawner passes dicts on), for the schema check."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "jupyter-alice", "namespace": NAMESPACE},
        "spec": {
            "containers": [
                {
                    "name": "notebook",
                    "image": "quay.io/jupyter/base-notebook",
                    "volumeMounts": overrides["volume_mounts"],
                }
            ],
            "volumes": overrides["volumes"],
        },
    }


def test_a_persons_files_outlive_their_cluster_and_go_with_them(make_accounts, kube, tmp_path):
    home = tmp_path / "cluster-home"  # the mount points ("/home/{account}" in production)
    accounts = make_accounts(
        storage_class="nfs-client", storage_size="5Gi", storage_mount=f"{home}/{{account}}"
    )
    provisioner = accounts.provisioner

    assert [o.status for o in accounts.ensure(["alice", "bob"])] == ["created", "created"]

    # One claim per person, made before the cluster, labelled like it and owned by nothing.
    claim = kube.claims[(NAMESPACE, "flux-alice-files")]
    assert (
        claim["metadata"]["labels"]
        == kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]["metadata"]["labels"]
    )
    assert claim["metadata"]["annotations"] == {"flux-hub/account": "alice"}
    assert "ownerReferences" not in claim["metadata"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "nfs-client"
    assert claim["spec"]["resources"] == {"requests": {"storage": "5Gi"}}
    posts = [p for m, p in kube.requests if m == "POST"]
    assert posts.index(f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims") < posts.index(
        f"/apis/flux-framework.org/v1alpha2/namespaces/{NAMESPACE}/miniclusters"
    )
    # Mounted in every container of the person's own cluster; the Flux container starts there.
    alice_mount = {VOLUME: {"path": f"{home}/alice", "claimName": "flux-alice-files"}}
    assert mounted(kube, "flux-alice") == {"flux": alice_mount, "flux-restful": alice_mount}
    spec = kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]["spec"]
    assert spec["containers"][0]["workingDir"] == f"{home}/alice"
    assert mounted(kube, "flux-bob")["flux"][VOLUME]["claimName"] == "flux-bob-files"

    # The person's server: the mapping of their lab folder, and the claim for KubeSpawner.
    alice, _ = ready_env(accounts, "alice")
    assert alice["FLUX_HUB_PATHS"] == f"/home/jovyan={home}/alice"
    overrides = provisioner.spawner_overrides("alice", "alice")
    assert overrides == {
        "volumes": [{"name": VOLUME, "persistentVolumeClaim": {"claimName": "flux-alice-files"}}],
        "volume_mounts": [{"name": VOLUME, "mountPath": "/home/jovyan"}],
    }
    assert schema_check.problems(lab_pod(overrides)) == []

    # A job writes in the person's folder: the file is in their claim.
    run(alice, "mkdir -p analysis && echo 42 > analysis/result.txt", f"{home}/alice")
    files = claim_dir(kube, NAMESPACE, "flux-alice-files")
    assert (files / "analysis" / "result.txt").read_text() == "42\n"

    # Idle removal takes the cluster, not the claim; the next cluster mounts the same claim
    # and its jobs find the file.
    assert [o.status for o in accounts.deactivate(["alice"], cancel_jobs=False)] == ["deactivated"]
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    assert claim_requests(kube, "DELETE") == []
    assert (
        kube.claims[(NAMESPACE, "flux-alice-files")]["metadata"]["uid"]
        == (claim["metadata"]["uid"])
    )
    assert [o.status for o in accounts.ensure(["alice"])] == ["created"]
    assert len(claim_requests(kube, "POST")) == 2  # alice's and bob's, none made again
    assert mounted(kube, "flux-alice")["flux"] == alice_mount
    again, _ = ready_env(accounts, "alice")
    assert again["FLUX_RESTFUL_HOST"] != alice["FLUX_RESTFUL_HOST"]  # a new cluster
    assert run(again, "cat result.txt", f"{home}/alice/analysis") == "42\n"

    # The hub user deleted: their cluster, then their claim (and its volume) go; bob's stay.
    assert [o.status for o in accounts.deactivate(["alice"], forget=True)] == ["deactivated"]
    assert (NAMESPACE, "flux-alice-files") not in kube.claims
    assert claim_requests(kube, "DELETE") == [
        f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/flux-alice-files"
    ]
    assert not (files / "analysis").exists()
    assert (NAMESPACE, "flux-bob-files") in kube.claims
    # A person deleted after an idle removal: the claim goes too (no cluster to remove).
    accounts.deactivate(["bob"], cancel_jobs=False)
    assert (NAMESPACE, "flux-bob-files") in kube.claims
    accounts.deactivate(["bob"], forget=True)
    assert (NAMESPACE, "flux-bob-files") not in kube.claims


def test_an_existing_claim_is_mounted_and_never_made_or_deleted(make_accounts, kube, tmp_path):
    kube.add_claim(NAMESPACE, "home-alice")
    kube.add_claim(NAMESPACE, "home-carol", access_modes=["ReadWriteOnce"])
    (claim_dir(kube, NAMESPACE, "home-alice") / "data.csv").write_text("x\n1\n")
    home = tmp_path / "cluster-home"
    accounts = make_accounts(storage_claim="home-{account}", storage_mount=f"{home}/{{account}}")

    outcomes = accounts.ensure(["alice", "bob", "carol"])

    assert outcomes[0].status == "created"
    alice_mount = {VOLUME: {"path": f"{home}/alice", "claimName": "home-alice"}}
    assert mounted(kube, "flux-alice") == {"flux": alice_mount, "flux-restful": alice_mount}
    # No claim for bob: a clear error, and nothing of his is left half made.
    assert outcomes[1].status == "error"
    assert outcomes[1].error == (
        "PersistentVolumeClaim home-bob in namespace flux-operator does not exist. "
        "MiniClusterPerUserProvisioner.storage_claim names claims flux-hub does not make "
        "(storage_class is empty): make it first, or set storage_class and flux-hub makes one "
        "per person."
    )
    assert ("v1alpha2", NAMESPACE, "flux-bob") not in kube.objects
    assert (NAMESPACE, "flux-bob") not in kube.secrets
    # carol's claim is ReadWriteOnce: her lab pod and her cluster could not both mount it.
    assert outcomes[2].status == "error"
    assert outcomes[2].error == (
        "PersistentVolumeClaim home-carol in namespace flux-operator is ReadWriteOnce, not "
        "ReadWriteMany: the person's lab pod and every pod of their cluster mount it at once, "
        "on any nodes."
    )
    assert ("v1alpha2", NAMESPACE, "flux-carol") not in kube.objects

    alice, _ = ready_env(accounts, "alice")
    assert alice["FLUX_HUB_PATHS"] == f"/home/jovyan={home}/alice"
    assert run(alice, "cat data.csv", f"{home}/alice") == "x\n1\n"
    assert accounts.provisioner.spawner_overrides("alice", "alice")["volumes"] == [
        {"name": VOLUME, "persistentVolumeClaim": {"claimName": "home-alice"}}
    ]

    # Idle removal and deletion of the hub user: the claim and its files stay.
    accounts.deactivate(["alice"], cancel_jobs=False)
    accounts.deactivate(["alice"], forget=True)
    assert (NAMESPACE, "home-alice") in kube.claims
    assert (claim_dir(kube, NAMESPACE, "home-alice") / "data.csv").exists()
    assert claim_requests(kube, "POST") == [] and claim_requests(kube, "DELETE") == []


def test_a_claim_this_hub_did_not_make_is_never_used_or_deleted(make_accounts, kube):
    kube.add_claim(NAMESPACE, "flux-dave-files")  # someone's own claim, named like dave's
    kube.add_claim(
        NAMESPACE,
        "flux-erin-files",
        labels={
            "app.kubernetes.io/managed-by": "flux-hub",
            "flux-hub/hub": "lab2",
            "flux-hub/account": "erin",
        },
    )
    accounts = make_accounts(storage_class="nfs-client")

    dave, erin = accounts.ensure(["dave", "erin"])

    assert dave.status == "error"
    assert dave.error == (
        "PersistentVolumeClaim flux-dave-files in namespace flux-operator exists and this hub "
        "did not make it; flux-hub never uses or deletes it. Remove or rename it, or leave "
        "MiniClusterPerUserProvisioner.storage_class empty to mount existing claims as they are."
    )
    assert erin.status == "error"
    assert erin.error.startswith(
        "PersistentVolumeClaim flux-erin-files in namespace flux-operator belongs to another "
        "hub (flux-hub/hub=lab2; this hub is flux)"
    )
    assert not kube.objects and not kube.secrets  # no cluster, no Secret left behind
    accounts.deactivate(["dave", "erin"], forget=True)
    assert {(NAMESPACE, "flux-dave-files"), (NAMESPACE, "flux-erin-files")} <= set(kube.claims)
    assert claim_requests(kube, "POST") == [] and claim_requests(kube, "DELETE") == []


def test_without_storage_nothing_is_shared_as_before(make_accounts, kube):
    accounts = make_accounts()

    accounts.ensure(["alice"])

    assert mounted(kube, "flux-alice") == {"flux": None, "flux-restful": None}
    assert (
        "workingDir"
        not in kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]["spec"]["containers"][0]
    )
    env, _ = ready_env(accounts, "alice")
    assert env["FLUX_HUB_PATHS"] == ""  # the lab is told: the cluster sees none of its files
    assert accounts.provisioner.spawner_overrides("alice", "alice") == {}
    accounts.deactivate(["alice"], forget=True)
    assert kube.claims == {} and claim_requests(kube, "GET") == []


def test_the_spawn_says_when_it_waits_for_the_persons_files(make_accounts, kube, operator):
    kube.bind_claims = False  # no volume for new claims yet (e.g. WaitForFirstConsumer)
    operator.gate.clear()  # and the pods stay Pending
    accounts = make_accounts(storage_class="nfs-client")
    accounts.ensure(["alice"])
    record = accounts.record("alice")

    ready, message = accounts.provisioner.ready_step("alice", accounts.store.password(record))

    assert not ready
    assert message == (
        "Your Flux MiniCluster flux-alice: 0 of 1 pods running, waiting for your files "
        "(PersistentVolumeClaim flux-alice-files is Pending)"
    )
    kube.claims[(NAMESPACE, "flux-alice-files")]["status"]["phase"] = "Bound"
    ready, message = accounts.provisioner.ready_step("alice", accounts.store.password(record))
    assert message == "Your Flux MiniCluster flux-alice: 0 of 1 pods running"
    operator.gate.set()


def test_a_claim_still_being_deleted_is_not_mounted_again(make_accounts, kube):
    accounts = make_accounts(storage_class="nfs-client")
    accounts.ensure(["alice"])
    # Deleted while her cluster's pods still use it: pvc-protection keeps it, Terminating,
    # until the cluster is gone.
    accounts.provisioner.forget_host_accounts(["alice"])
    claim = kube.claims[(NAMESPACE, "flux-alice-files")]
    assert claim["metadata"]["deletionTimestamp"]
    accounts.provisioner.deactivate(["alice"])
    assert (NAMESPACE, "flux-alice-files") not in kube.claims

    kube.claims[(NAMESPACE, "flux-alice-files")] = claim  # as if a pod still held it
    (outcome,) = accounts.ensure(["alice"], force=True)

    assert outcome.status == "error"
    assert outcome.error == (
        "PersistentVolumeClaim flux-alice-files in namespace flux-operator is still being "
        "deleted (Kubernetes removes it once no pod uses it); try again when it is gone."
    )
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects


def test_the_example_role_covers_the_claims(make_accounts, kube):
    docs = schema_check.manifests(RBAC_PER_USER)
    (namespace,) = {d["metadata"]["namespace"] for d in docs}
    kube.apply_rbac(docs)
    accounts = make_accounts(namespace=namespace, storage_class="nfs-client")

    assert [o.status for o in accounts.ensure(["alice"])] == ["created"]
    ready_env(accounts, "alice")
    assert [o.status for o in accounts.deactivate(["alice"])] == ["deactivated"]
    assert [o.status for o in accounts.ensure(["alice"])] == ["created"]
    assert [o.status for o in accounts.deactivate(["alice"], forget=True)] == ["deactivated"]
    assert kube.claims == {}  # deleted: the Role lets it (else only an error in the log)


def test_the_fake_api_server_serves_claims_as_a_real_one(kube, tmp_path):
    api = kclient.CoreV1Api(load_api_client(kube.kubeconfig(tmp_path / "kc", NAMESPACE)))
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "labels": {"team": "a"}},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    made = api.create_namespaced_persistent_volume_claim(NAMESPACE, body)
    assert made.status.phase == "Bound" and made.spec.volume_mode == "Filesystem"
    assert made.metadata.finalizers == ["kubernetes.io/pvc-protection"]
    with pytest.raises(kclient.ApiException) as taken:
        api.create_namespaced_persistent_volume_claim(NAMESPACE, body)
    assert taken.value.status == 409
    listed = api.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector="team=a")
    assert [c.metadata.name for c in listed.items] == ["data"]
    assert (
        api.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector="team=b").items == []
    )
    no_modes = {
        **body,
        "metadata": {"name": "bad"},
        "spec": {"resources": body["spec"]["resources"]},
    }
    with pytest.raises(kclient.ApiException) as invalid:
        api.create_namespaced_persistent_volume_claim(NAMESPACE, no_modes)
    assert invalid.value.status == 422
    assert json.loads(invalid.value.body)["message"] == (
        'PersistentVolumeClaim "bad" is invalid: spec.accessModes: Required value: at least 1 '
        "access mode is required"
    )
    api.delete_namespaced_persistent_volume_claim("data", NAMESPACE)
    with pytest.raises(kclient.ApiException) as gone:
        api.read_namespaced_persistent_volume_claim("data", NAMESPACE)
    assert gone.value.status == 404


@pytest.mark.parametrize(
    "trait, value, message",
    [
        ("storage_size", "ten gigs", "storage_size must be a Kubernetes quantity"),
        ("storage_class", "NFS Class", "storage_class must be the name of a StorageClass"),
        ("storage_claim", "claim-{username}", "storage_claim must use only the fields"),
        ("storage_mount", "home/{account}", "storage_mount must be an absolute path"),
        ("storage_mount", "/home/{username}", "storage_mount must be an absolute path"),
        ("lab_mount", "/home/jovyan;x", "lab_mount must be an absolute path"),
    ],
)
def test_bad_storage_settings_name_the_setting(trait, value, message):
    with pytest.raises(TraitError, match=f"^MiniClusterPerUserProvisioner.{message}"):
        MiniClusterPerUserProvisioner(**{trait: value})
