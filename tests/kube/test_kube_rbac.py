"""The fake API server refuses as a real one does, and the example Role is what the hub needs.

RBAC is enforced from examples/kubernetes/rbac.yaml itself, the way kube-apiserver's RBAC
authorizer does: a Role grants verbs on resources (and resourceNames) in its own namespace to
the subjects of its RoleBindings, nothing else.
"""

import copy
import json
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.stream import stream

from flux_hub.accounts import EnsureOp, ProvisioningError
from flux_hub.kubernetes import Forbidden, MiniClusterNotFound
from flux_hub.kubernetes.api import load_api_client

from . import schema_check
from .conftest import NAMESPACE, SECRET_KEY
from .fakeapi import SERVICE_ACCOUNT

RBAC = Path(__file__).parents[2] / "examples" / "kubernetes" / "rbac.yaml"


def _rbac(drop_rule=None):
    docs = copy.deepcopy(schema_check.manifests(RBAC))
    if drop_rule is not None:
        role = next(d for d in docs if d["kind"] == "Role")
        del role["rules"][drop_rule]
    return docs


def test_the_example_role_is_enough_for_everything_the_hub_does(make_minicluster, kube):
    kube.apply_rbac(_rbac())
    cluster = make_minicluster(multi_user=True)
    provisioner = cluster.provisioner()

    assert provisioner.secret_key == SECRET_KEY
    created = provisioner.ensure([EnsureOp("alice", "pw-alice")])
    assert [(r.name, r.status) for r in created] == [("alice", "created")]
    assert all("alice" in c.users() for p in cluster.pods for c in p.containers.values())
    assert [a.name for a in provisioner.list() if a.name == "alice"] == ["alice"]
    assert [r.status for r in provisioner.deactivate(["alice"])] == ["deactivated"]


@pytest.mark.parametrize(
    "rule, verb, resource",
    [
        (0, "list", "pods"),
        (1, "create", "pods/exec"),
        (2, "get", "miniclusters"),
        (3, "get", "secrets"),
    ],
)
def test_without_a_rule_of_the_role_the_hub_says_which(
    make_minicluster, kube, rule, verb, resource
):
    kube.apply_rbac(_rbac(drop_rule=rule))
    cluster = make_minicluster()
    provisioner = cluster.provisioner()

    with pytest.raises(ProvisioningError) as refused:
        _ = provisioner.secret_key
        provisioner.ensure([EnsureOp("alice", "pw-alice")])

    message = str(refused.value)
    assert f'cannot {verb} resource "{resource}"' in message
    assert f'in the namespace "{NAMESPACE}"' in message
    assert "alice" not in cluster.db_users()


def test_a_secret_the_role_does_not_name_is_forbidden(make_minicluster, kube):
    kube.apply_rbac(_rbac())
    cluster = make_minicluster(secret_name="other-keys")
    with pytest.raises(Forbidden) as refused:
        cluster.locator().secret("other-keys")
    assert str(refused.value).startswith(
        f'Kubernetes refused to get secret other-keys in namespace {NAMESPACE}: secrets "other-'
        f'keys" is forbidden: User "{SERVICE_ACCOUNT}" cannot get resource "secrets" in API '
        f'group "" in the namespace "{NAMESPACE}".'
    )


def test_a_wrong_namespace_is_a_refusal_under_rbac(make_minicluster, kube):
    # A Role grants only in its own namespace: with a typo in the namespace setting the hub is
    # refused (403), as on a real cluster; the message names the namespace it tried.
    kube.apply_rbac(_rbac())
    cluster = make_minicluster()
    with pytest.raises(ProvisioningError) as refused:
        cluster.provisioner(namespace="flux-operatr").ensure([EnsureOp("alice", "pw")])
    assert (
        'miniclusters.flux-framework.org "flux-sample" is forbidden: User '
        f'"{SERVICE_ACCOUNT}" cannot get resource "miniclusters" in API group '
        '"flux-framework.org" in the namespace "flux-operatr"'
    ) in str(refused.value)


def test_a_missing_namespace_without_rbac(make_minicluster, kube):
    # Allowed everywhere (e.g. cluster-admin): the objects are simply not there.
    cluster = make_minicluster()
    with pytest.raises(MiniClusterNotFound, match="no MiniCluster 'flux-sample' in namespace 'no"):
        cluster.provisioner(namespace="nope").ensure([EnsureOp("alice", "pw")])
    core = client.CoreV1Api(load_api_client(cluster.kubeconfig))
    assert core.list_namespaced_pod("nope").items == []  # a list in no namespace is empty
    with pytest.raises(client.ApiException) as missing:
        core.read_namespace("nope")
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'namespaces "nope" not found'
    assert core.read_namespace(NAMESPACE).metadata.name == NAMESPACE


def _exec(cluster, argv):
    core = client.CoreV1Api(load_api_client(cluster.kubeconfig))
    ws = stream(
        core.connect_get_namespaced_pod_exec,
        cluster.pods[0].name,
        NAMESPACE,
        container="flux",
        command=argv,
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    ws.run_forever(timeout=30)
    return ws


def test_exec_status_channel_as_the_kubernetes_client_reads_it(make_minicluster):
    cluster = make_minicluster()

    exited = _exec(cluster, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert exited.returncode == 3  # the client reads details.causes[0] of the status
    assert exited.read_channel(1) == "out\n" and exited.read_channel(2) == "err\n"

    ok = _exec(cluster, ["true"])
    assert ok.returncode == 0

    missing = _exec(cluster, ["no-such-tool"])
    status = json.loads(missing.read_channel(3))
    assert status["reason"] == "InternalError" and status["code"] == 500
    assert status["message"].startswith("Internal error occurred: error executing command")
    assert status["message"].endswith(
        'exec: "no-such-tool": executable file not found in $PATH: unknown'
    )
    assert schema_check.problems({"kind": "Status", "apiVersion": "v1", **status}) == []


# -- one MiniCluster per person: examples/kubernetes/rbac-per-user.yaml ---------------------

RBAC_PER_USER = RBAC.parent / "rbac-per-user.yaml"


@pytest.mark.parametrize("with_claims_rule", [True, False])
def test_the_per_person_role_covers_each_persons_claim(kube, tmp_path, with_claims_rule):
    """Each person's files (storage_class): the hub gets and makes their claim before their
    cluster; without the Role's rule for claims it is refused, says which, and leaves nothing."""
    from flux_hub.kubernetes.percluster import MiniClusterPerUserProvisioner

    docs = copy.deepcopy(schema_check.manifests(RBAC_PER_USER))
    (namespace,) = {d["metadata"]["namespace"] for d in docs}
    if not with_claims_rule:
        role = next(d for d in docs if d["kind"] == "Role")
        role["rules"] = [r for r in role["rules"] if "persistentvolumeclaims" not in r["resources"]]
    kube.apply_rbac(docs)
    provisioner = MiniClusterPerUserProvisioner(
        namespace=namespace,
        kubeconfig=kube.kubeconfig(tmp_path / "kubeconfig", namespace),
        settings_path=str(tmp_path / "settings.sqlite"),
        storage_class="nfs-client",
    )

    (result,) = provisioner.ensure([EnsureOp("alice", "pw-alice")])

    if with_claims_rule:
        assert result.status == "created"
        assert (namespace, "flux-alice-files") in kube.claims
        assert [r.status for r in provisioner.deactivate(["alice"])] == ["deactivated"]
        provisioner.forget_host_accounts(["alice"])
        assert kube.claims == {}
        return
    assert result.status == "error"
    assert result.error.startswith(
        f"Kubernetes refused to get PersistentVolumeClaim flux-alice-files in namespace "
        f'{namespace}: persistentvolumeclaims "flux-alice-files" is forbidden: User '
        f'"{SERVICE_ACCOUNT}" cannot get resource "persistentvolumeclaims" in API group "" in '
        f'the namespace "{namespace}".'
    )
    assert (namespace, "flux-alice") not in kube.secrets  # the Secret made first is gone
    assert not kube.objects and not kube.claims
