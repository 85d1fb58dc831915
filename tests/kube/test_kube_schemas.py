"""The manifests of examples/kubernetes and the objects of the fake cluster, against real schemas.

Kubernetes' own schemas (kubernetes-validate, every supported version, strict), the Flux
Operator's MiniCluster CRDs (v1alpha1 and v1alpha2) and the Zero to JupyterHub chart's values
schema: what `kubectl apply` and `helm install` would refuse, the tests refuse. Exec and
portforward requests: the query parameters Kubernetes' OpenAPI v3 spec declares for them.
"""

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from flux_hub.kubernetes.api import load_api_client
from flux_hub.kubernetes.execution import PodExec
from flux_hub.kubernetes.percluster.manifest import minicluster_manifest

from . import schema_check
from .conftest import NAMESPACE

EXAMPLES = Path(__file__).parents[2] / "examples" / "kubernetes"
MANIFESTS = sorted(
    p for p in EXAMPLES.glob("*.yaml") if "values" not in p.name and p.name != "kind.yaml"
)
VALUES = sorted(EXAMPLES.glob("*values*.yaml"))


def _documents():
    for path in MANIFESTS:
        for index, doc in enumerate(schema_check.manifests(path)):
            yield pytest.param(doc, id=f"{path.name}#{index}-{doc.get('kind')}")


def test_examples_are_found():
    # The parametrized tests below would pass vacuously on an empty directory.
    assert {p.name for p in MANIFESTS} >= {"minicluster.yaml", "rbac.yaml", "shared-storage.yaml"}
    assert {p.name for p in VALUES} >= {"z2jh-values.yaml"}


@pytest.mark.parametrize("doc", list(_documents()))
def test_example_manifest_is_valid(doc):
    assert schema_check.problems(doc) == []


@pytest.mark.parametrize("path", VALUES, ids=lambda p: p.name)
def test_example_values_pass_the_chart_schema(path):
    assert schema_check.z2jh_problems(yaml.safe_load(path.read_text())) == []


# -- deliberately wrong manifests: each schema refuses them, saying where -------------------


def _example(name, kind):
    return copy.deepcopy(
        next(d for d in schema_check.manifests(EXAMPLES / name) if d["kind"] == kind)
    )


def test_wrong_minicluster_fails_the_crd():
    mc = _example("minicluster.yaml", "MiniCluster")
    sidecar = mc["spec"]["containers"][1]
    sidecar["ports"] = ["5000"]  # the CRD wants integers
    sidecar["enviroment"] = sidecar.pop("environment")  # a typo: not a field of the CRD
    mc["spec"]["size"] = "4"
    found = schema_check.problems(mc)
    assert "spec.containers.1.ports.0: '5000' is not of type 'integer'" in found
    assert any(
        p.startswith("spec.containers.1: ") and "'enviroment' was unexpected" in p for p in found
    )
    assert "spec.size: '4' is not of type 'integer'" in found
    with pytest.raises(schema_check.SchemaError, match="MiniCluster flux-sample"):
        schema_check.check(mc)


SEED_V1ALPHA1 = """
apiVersion: flux-framework.org/v1alpha1
kind: MiniCluster
metadata:
  name: flux-sample
  namespace: flux-operator
spec:
  logging:
    quiet: false
  size: 4
  users:
    - name: peenut
    - name: squidward
    - name: avocadosaurus
  containers:
    - image: ghcr.io/flux-framework/flux-restful-api:latest
"""


def test_seed_minicluster_is_v1alpha1_only():
    # The seed's multi-tenant MiniCluster: valid for the old CRD; v1alpha2 has no users.
    mc = yaml.safe_load(SEED_V1ALPHA1)
    assert schema_check.problems(mc) == []
    mc["apiVersion"] = "flux-framework.org/v1alpha2"
    found = schema_check.problems(mc)
    assert len(found) == 1 and "'users' was unexpected" in found[0], found
    mc["apiVersion"] = "flux-framework.org/v1beta9"
    assert schema_check.problems(mc) == [
        "apiVersion: 'flux-framework.org/v1beta9' is not a MiniCluster version"
    ]


def test_wrong_role_fails_kubernetes_schema_in_every_version():
    role = _example("rbac.yaml", "Role")
    role["rules"][0]["verbs"] = "get"  # must be a list
    role["rules"][1]["resource"] = role["rules"][1].pop("resources")  # a typo
    role["metadata"]["name"] = "Flux_Hub"
    found = schema_check.problems(role)
    for version in schema_check.KUBE_VERSIONS:
        assert f"Kubernetes {version}: rules.0.verbs: 'get' is not of type 'array'" in found
        assert any(
            p.startswith(f"Kubernetes {version}: rules.1: ") and "'resource' was unexpected" in p
            for p in found
        )
    assert "metadata.name: 'Flux_Hub' is not a valid DNS subdomain name" in found


def test_unknown_kind_is_refused():
    found = schema_check.problems({"apiVersion": "v1", "kind": "Minicluster", "metadata": {}})
    assert found and all("no kind Minicluster in v1" in p for p in found)


def test_wrong_values_fail_the_chart_schema():
    values = yaml.safe_load((EXAMPLES / "z2jh-values.yaml").read_text())
    values["singleuser"]["defaultURL"] = values["singleuser"].pop("defaultUrl")  # a typo
    values["hub"]["networkPolicy"]["egress"] = {"to": []}  # must be a list
    found = schema_check.z2jh_problems(values)
    assert any(
        p.startswith("singleuser: ") and "'defaultURL' was unexpected" in p for p in found
    ), found
    assert "hub.networkPolicy.egress: {'to': []} is not of type 'array'" in found


def test_wrong_shared_storage_fails_kubernetes_schema():
    claim = _example("shared-storage.yaml", "PersistentVolumeClaim")
    claim["spec"]["accessModes"] = "ReadWriteMany"  # must be a list
    claim["spec"]["claimName"] = "flux-hub-shared"  # a pod's field, not a claim's
    found = schema_check.problems(claim)
    for version in schema_check.KUBE_VERSIONS:
        assert any(
            p.startswith(f"Kubernetes {version}: spec.accessModes: 'ReadWriteMany' is not of")
            for p in found
        ), found
    assert any("'claimName' was unexpected" in p for p in found), found


def test_the_shared_storage_example_fits_together():
    """One file system for the MiniCluster's pods and the lab pods: the claim each side mounts
    exists in its namespace, ReadWriteMany, bound to volumes of the same export; every
    MiniCluster container mounts it where shared_paths says the cluster sees the person's
    folder; the lab mounts that folder at the lab side of shared_paths, and a job without a
    working directory starts there."""
    from flux_hub.kubernetes import KubernetesProvisioner

    docs = list(schema_check.manifests(EXAMPLES / "shared-storage.yaml"))
    claims = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d
        for d in docs
        if d["kind"] == "PersistentVolumeClaim"
    }
    volumes = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PersistentVolume"}
    mc = _example("minicluster.yaml", "MiniCluster")
    values = yaml.safe_load((EXAMPLES / "z2jh-values.yaml").read_text())
    provisioner_config = values["hub"]["config"]["KubernetesProvisioner"]
    storage = values["singleuser"]["storage"]

    mounts = {
        (v["claimName"], v["path"]) for c in mc["spec"]["containers"] for v in c["volumes"].values()
    }
    assert len(mounts) == 1 and all("volumes" in c for c in mc["spec"]["containers"])
    [(claim, path)] = mounts
    lab_claim = ("jhub", storage["static"]["pvcName"])
    exports = set()
    for key in ((mc["metadata"]["namespace"], claim), lab_claim):
        spec = claims[key]["spec"]
        assert spec["accessModes"] == ["ReadWriteMany"]
        volume = volumes[spec["volumeName"]]["spec"]
        assert volume["claimRef"] == {"namespace": key[0], "name": key[1]}
        exports.add((volume["nfs"]["server"], volume["nfs"]["path"]))
    assert len(exports) == 1  # both volumes are one file system

    provisioner = KubernetesProvisioner(**provisioner_config)
    [(lab, cluster)] = provisioner.shared_paths.items()
    assert storage["type"] == "static" and storage["homeMountPath"] == lab
    # the lab's subPath (KubeSpawner fills {username}) is the cluster's folder under the mount
    assert f"{path}/{storage['static']['subPath']}" == cluster.replace("{account}", "{username}")
    assert provisioner.home_template == cluster
    assert provisioner.lab_environment("alice", "alice") == {
        "FLUX_HUB_PATHS": f"{lab}={path}/home/alice"
    }
    [restful] = [c for c in mc["spec"]["containers"] if c.get("name") == "flux-restful"]
    template = restful["environment"]["FLUX_HUB_HOME_TEMPLATE"]
    assert template.replace("{user}", "{account}") == cluster
    assert values["singleuser"]["fsGid"] is None


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder is given to jovyan (chown)")
def test_the_lab_init_container_makes_a_single_user_folder_and_leaves_an_account_s_alone(
    tmp_path,
):
    """Its command as KubeSpawner fills it in ({username}, str.format: no other braces), run by
    this machine's sh against a folder standing for the volume's root: jovyan's folder, 0700,
    when missing; a folder flux-hub made for an account (multi-user) stays as it is."""
    values = yaml.safe_load((EXAMPLES / "z2jh-values.yaml").read_text())
    [init] = values["singleuser"]["initContainers"]
    [mount] = init["volumeMounts"]
    assert mount["name"] == "home" and "subPath" not in mount  # the chart's static volume
    volume = tmp_path / "volume"
    volume.mkdir()

    def run(username):
        argv = [a.format(username=username) for a in init["command"]]
        argv[-1] = argv[-1].replace(mount["mountPath"], str(volume))
        subprocess.run(argv, check=True, timeout=30)
        st = (volume / "home" / username).stat()
        return st.st_mode & 0o777, st.st_uid, st.st_gid

    assert run("alice") == (0o700, 1000, 100)
    (volume / "home" / "bob").mkdir(mode=0o700)
    os.chown(volume / "home" / "bob", 1234, 1234)  # made by useradd for bob's account
    assert run("bob") == (0o700, 1234, 1234)


def test_helm_merge_is_helms():
    defaults = {"hub": {"image": {"name": "a", "tag": "1"}, "extraEnv": {}}, "debug": {"x": 1}}
    merged = schema_check.helm_merge(defaults, {"hub": {"image": {"tag": "2"}}, "debug": None})
    assert merged == {"hub": {"image": {"name": "a", "tag": "2"}, "extraEnv": {}}}


# -- what the fake API server serves --------------------------------------------------------


@pytest.mark.parametrize("version", ["v1alpha2", "v1alpha1"])
def test_fake_cluster_objects_pass_the_real_schemas(make_minicluster, kube, version):
    """The MiniCluster, its pods, its Secret and the errors, as a client reads them."""
    cluster = make_minicluster(version=version, multi_user=True)
    headers = {"Authorization": f"Bearer {kube.token}"}
    base = f"{kube.url}/api/v1/namespaces/{NAMESPACE}"
    answers = [
        requests.get(
            f"{kube.url}/apis/flux-framework.org/{version}/namespaces/{NAMESPACE}/"
            f"miniclusters/{cluster.name}",
            headers=headers,
        ),
        requests.get(f"{base}/pods?labelSelector=job-name%3D{cluster.name}", headers=headers),
        requests.get(f"{base}/pods/{cluster.pods[0].name}", headers=headers),
        requests.get(f"{base}/secrets/flux-restful", headers=headers),
        requests.get(f"{base}/pods/nope", headers=headers),
        requests.get(f"{kube.url}/api/v1/namespaces/nope", headers=headers),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 404]
    kinds = [a.json()["kind"] for a in answers]
    assert kinds == ["MiniCluster", "PodList", "Pod", "Secret", "Status", "Status"]
    for answer in answers:
        assert schema_check.problems(answer.json()) == []
    assert kube.schema_problems == []


def test_fake_server_reports_an_object_a_real_one_would_not_serve(make_minicluster, kube):
    # The check of every answer (conftest) is live: a pod with a field Pod does not have shows.
    cluster = make_minicluster()
    pod = cluster.pods[0]
    real = pod.to_json
    pod.to_json = lambda: {**real(), "spec": {**real()["spec"], "hostName": "x"}}
    requests.get(
        f"{kube.url}/api/v1/namespaces/{NAMESPACE}/pods/{pod.name}",
        headers={"Authorization": f"Bearer {kube.token}"},
    )
    assert any("'hostName' was unexpected" in p for p in kube.schema_problems)
    kube.schema_problems.clear()  # what this test meant to find; the fixture checks the rest


# -- exec and portforward requests, against Kubernetes' OpenAPI ----------------------------


def test_exec_requests_as_the_client_sends_them_pass_the_openapi_parameters(make_minicluster, kube):
    seen = []

    def check(subresource, method, query):
        seen.append((subresource, method, query))
        return schema_check.connect_problems(subresource, method, query)

    kube.check_connect = check
    cluster = make_minicluster("flux-sample")
    pod = cluster.pods[0].name

    PodExec(load_api_client(cluster.kubeconfig), NAMESPACE, timeout=30).run(
        pod, "flux-restful", ["sh", "-c", "cat"], stdin="x\n"
    )

    assert seen == [
        (
            "exec",
            "GET",
            {
                "command": ["sh", "-c", "cat"],
                "container": ["flux-restful"],
                "stderr": ["true"],
                "stdin": ["true"],
                "stdout": ["true"],
                "tty": ["false"],
            },
        )
    ]
    assert kube.schema_problems == []


def test_wrong_exec_and_portforward_requests_fail_the_openapi_parameters():
    found = schema_check.connect_problems(
        "exec",
        "PUT",
        {"commands": ["ls"], "stdout": ["yes"], "container": ["a", "b"], "command": ["ls"]},
    )
    assert found == [
        "pods/exec: PUT is not served (GET and POST are)",
        "pods/exec: unknown parameter 'commands' (Kubernetes declares command, container, "
        "stderr, stdin, stdout, tty)",
        "pods/exec: stdout='yes' is not a boolean",
        "pods/exec: 'container' given 2 times",
    ]
    assert schema_check.connect_problems("portforward", "GET", {"ports": ["8080,8081"]}) == []
    assert schema_check.connect_problems("portforward", "GET", {"ports": ["http"]}) == [
        "pods/portforward: ports='http' is not an integer"
    ]
    assert schema_check.connect_problems("attach", "GET", {}) == [
        "pods/attach: not a subresource Kubernetes serves"
    ]


def test_fake_server_reports_an_exec_request_a_real_one_would_not_decode(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    requests.get(
        f"{kube.url}/api/v1/namespaces/{NAMESPACE}/pods/{cluster.pods[0].name}/exec"
        "?command=ls&stdout=yes&container=flux-restful",
        headers={"Authorization": f"Bearer {kube.token}"},
    )
    assert kube.schema_problems == ["pods/exec: stdout='yes' is not a boolean"]
    kube.schema_problems.clear()  # what this test meant to find; the fixture checks the rest


# -- launchers off wherever flux-hub ships flux-restful ------------------------------------


def _shipped_restful_containers():
    """(where, container) of every flux-restful server flux-hub ships: the example
    MiniClusters' sidecars and the MiniCluster it makes for each person."""
    per_person = minicluster_manifest(
        name="flux-alice",
        namespace="flux-users",
        hub="jhub",
        account="alice",
        secret_uid="0f6e9d3c-0000-4000-8000-000000000001",
        size=2,
        image="rockylinux:9",
        restful_image="rockylinux:9",
        node_selector={},
        service_name="flux-service",
        port=5000,
    )
    assert schema_check.problems(per_person) == []
    documents = [(path.name, doc) for path in MANIFESTS for doc in schema_check.manifests(path)]
    documents.append(("flux_hub.kubernetes.percluster.manifest", per_person))
    found = []
    for where, doc in documents:
        if doc.get("kind") != "MiniCluster":
            continue
        for container in doc["spec"]["containers"]:
            text = yaml.safe_dump(container)
            if "flux-restful serve" in text or "flux_hub.guard" in text:
                found.append((f"{where}: container {container.get('name')}", container))
    return found


def test_every_shipped_flux_restful_has_no_launchers():
    """flux-restful runs a launcher inside its own process: KNOWN_LAUNCHERS=[] turns them off,
    and flux-restful's own settings read it as no launcher at all."""
    found = _shipped_restful_containers()
    assert [where for where, _ in found] == [
        "minicluster.yaml: container flux-restful",
        "flux_hub.kubernetes.percluster.manifest: container flux-restful",
    ]
    for where, container in found:
        assert container["environment"].get("KNOWN_LAUNCHERS") == "[]", where
        # The server's command keeps the container's environment (nothing unsets it)
        assert "KNOWN_LAUNCHERS" not in container["commands"]["post"], where
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from flux_restful.core.config import settings; "
            "print(json.dumps(settings.known_launchers))",
        ],
        env={
            "PATH": os.environ["PATH"],
            "FLUX_TOKEN_SIGNING_KEY": "x" * 64,
            "KNOWN_LAUNCHERS": found[0][1]["environment"]["KNOWN_LAUNCHERS"],
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (read.returncode, read.stdout) == (0, "[]\n"), read.stderr


def test_the_shared_example_serves_behind_the_guard_from_its_image():
    """The shared MiniCluster (many people on one flux-restful) runs flux-hub's guard: its
    image holds flux-hub's wheel (Dockerfile.flux-restful), the sidecar installs it without
    dependencies next to flux-restful and serves with it; its limits are the guard's."""
    from flux_hub.guard.limits import PREFIX, Limits

    [(_, container)] = [
        found for found in _shipped_restful_containers() if found[0].startswith("minicluster")
    ]
    post = container["commands"]["post"]
    assert "pip install --no-deps /opt/flux-hub/flux_hub-*.whl" in post
    [serve] = [line.strip() for line in post.splitlines() if line.strip().startswith("exec ")]
    port = container["ports"][0]
    assert (
        serve
        == f"exec /mnt/flux/view/bin/python3.11 -m flux_hub.guard --host 0.0.0.0 --port {port}"
    )
    dockerfile = (EXAMPLES / "Dockerfile.flux-restful").read_text()
    assert "COPY dist/ /opt/flux-hub/" in dockerfile
    assert container["image"].startswith("registry.example.org/flux-hub/flux-restful:")
    limits = {k: v for k, v in container["environment"].items() if k.startswith(PREFIX)}
    assert limits, "the example shows the guard's limits"
    parsed = Limits.from_environ(limits)
    assert parsed.streams_per_user == int(limits[PREFIX + "STREAMS_PER_USER"])


def test_the_guard_runs_on_flux_restfuls_dependencies_alone():
    """The sidecar installs flux-hub with --no-deps: the guard must import with none of
    flux-hub's own dependencies (tornado, traitlets, requests, pyjwt, jupyter_server)."""
    blocked = ("tornado", "traitlets", "requests", "jwt", "jupyter_server", "jupyterhub")
    probe = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {blocked!r}:\n"
        "            raise ImportError(f'{name} is not in the sidecar')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import flux_hub.guard.serve, flux_hub.guard.middleware, flux_hub.guard.listing\n"
        "import flux_hub.guard.tokens, flux_hub.guard.limits\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, "ok\n"), run.stderr
