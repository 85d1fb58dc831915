"""Discovery of a MiniCluster's flux-restful server with the real kubernetes client."""

import pytest
from jupyterhub.utils import random_port

from flux_hub.kubernetes import (
    ApiUnavailable,
    ConfigurationError,
    Forbidden,
    MiniClusterLocator,
    MiniClusterNotFound,
    PodNotFound,
    PodNotReady,
)
from flux_hub.kubernetes.api import load_api_client

from .conftest import ADMIN_PASSWORD, ADMIN_USER, NAMESPACE, SECRET_KEY
from .containers import FakePod


def test_v1alpha2_sidecar_is_found_before_the_job_index_label_exists(make_minicluster):
    cluster = make_minicluster("flux-sample", size=3, job_index_label=False)
    broker = cluster.pods[0]

    info = cluster.locator().discover()

    assert info.api_version == "v1alpha2"
    assert info.broker_pod == broker.name
    assert "job-index" not in broker.labels
    assert info.restful_container == "flux-restful"
    assert info.workdir == "/srv/flux-restful"
    assert info.layout == "package"
    assert info.url == "http://flux-sample-0.flux-service.flux-operator.svc.cluster.local:5000"
    assert info.multi_user is False
    assert info.user_targets == ()


def test_v1alpha2_keys_come_from_the_secret_the_sidecar_references(make_minicluster):
    cluster = make_minicluster("flux-sample")
    locator = cluster.locator()
    info = locator.discover()

    credentials = locator.credentials(info)

    assert credentials.secret_key == SECRET_KEY
    assert (credentials.admin_user, credentials.admin_password) == (ADMIN_USER, ADMIN_PASSWORD)
    assert SECRET_KEY not in repr(credentials) and ADMIN_PASSWORD not in repr(credentials)
    assert ("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/flux-restful") in cluster.api.requests


def test_a_configured_secret_wins_over_the_container_environment(make_minicluster):
    cluster = make_minicluster("flux-sample")
    cluster.api.add_secret(NAMESPACE, "hub-keys", {"FLUX_SECRET_KEY": "from-config"})
    locator = cluster.locator(secret_name="hub-keys")

    credentials = locator.credentials(locator.discover())

    assert credentials.secret_key == "from-config"
    assert credentials.admin_user == ADMIN_USER  # not in hub-keys: from the container's Secret


def test_multi_user_v1alpha2_targets_every_container_of_every_pod(make_minicluster):
    cluster = make_minicluster("flux-sample", size=3, multi_user=True)

    info = cluster.locator().discover()

    assert info.multi_user is True
    broker = cluster.pods[0].name
    assert info.user_targets[0] == (broker, "flux-restful")
    assert sorted(info.user_targets) == sorted(
        (pod.name, container) for pod in cluster.pods for container in ("flux", "flux-restful")
    )
    only_flux = cluster.locator(user_containers=["flux"]).discover()
    assert only_flux.user_targets[1:] == tuple((pod.name, "flux") for pod in cluster.pods)


def test_v1alpha1_runs_the_legacy_server_from_flux_restful_api(make_minicluster):
    cluster = make_minicluster(
        "legacy", version="v1alpha1", multi_user=True, port=5001, job_index_label=True
    )
    locator = cluster.locator()

    info = locator.discover()
    credentials = locator.credentials(info)

    assert info.api_version == "v1alpha1"
    assert info.layout == "legacy"
    assert info.workdir == "/flux-restful-api"
    assert info.restful_container == "legacy"
    assert info.url == "http://legacy-0.flux-service.flux-operator.svc.cluster.local:5001"
    assert info.multi_user is True  # spec.users is set
    assert credentials.secret_key == "legacy-secret-key"
    assert credentials.admin_user == "fluxuser"


def test_settings_override_discovery(make_minicluster):
    cluster = make_minicluster("flux-sample")

    info = cluster.locator(
        workdir="/data", port=8080, multi_user=True, restful_container="flux"
    ).discover()

    assert (info.workdir, info.restful_container, info.multi_user) == ("/data", "flux", True)
    assert info.url.endswith(":8080")
    configured = cluster.locator(url="http://restful.example:5000").discover()
    assert configured.url == "http://restful.example:5000"


def test_a_restarted_broker_replaces_the_old_pod(make_minicluster, kube):
    cluster = make_minicluster("flux-sample", size=2)
    old = cluster.pods[0]
    old.phase = "Failed"
    new = kube.add_pod(
        FakePod(
            namespace=NAMESPACE,
            name="flux-sample-0-zzzzz",
            containers=old.containers,
            labels=dict(old.labels),
            annotations=dict(old.annotations),
            hostname=old.hostname,
            subdomain=old.subdomain,
        )
    )

    assert cluster.locator().discover().broker_pod == new.name


def test_missing_minicluster_names_what_was_looked_for(make_minicluster):
    cluster = make_minicluster("flux-sample")

    with pytest.raises(MiniClusterNotFound) as info:
        cluster.locator("nope").discover()

    message = str(info.value)
    assert "'nope'" in message and "'flux-operator'" in message
    assert "flux-framework.org/v1alpha2" in message and "v1alpha1" in message


def test_minicluster_without_pods_says_it_has_no_broker(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    kube.pods.clear()

    with pytest.raises(PodNotFound, match="no broker pod"):
        cluster.locator().discover()


def test_rbac_refusal_says_what_is_missing(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    kube.forbid("get", "miniclusters")

    with pytest.raises(Forbidden) as info:
        cluster.locator().discover()

    assert 'cannot get resource "miniclusters"' in str(info.value)
    assert "rbac.yaml" in str(info.value)


def test_wrong_credentials_are_refused(make_minicluster, kube, tmp_path):
    cluster = make_minicluster("flux-sample")
    kube.token = "another-token"

    with pytest.raises(Forbidden, match="Unauthorized"):
        cluster.locator().discover()


def test_unreachable_api_server(tmp_path):
    port = random_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        '{"apiVersion": "v1", "kind": "Config", "current-context": "x",'
        f' "clusters": [{{"name": "x", "cluster": {{"server": "http://127.0.0.1:{port}"}}}}],'
        ' "users": [{"name": "x", "user": {"token": "t"}}],'
        ' "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]}'
    )
    locator = MiniClusterLocator(load_api_client(str(kubeconfig)), "flux-sample", NAMESPACE)

    with pytest.raises(ApiUnavailable, match="unreachable"):
        locator.discover()


def test_two_anonymous_containers_need_configuration(make_minicluster, kube):
    cluster = make_minicluster("flux-sample")
    for pod in cluster.pods:
        pod.containers["flux-restful"].env = []
        pod.containers["sidecar"] = pod.containers.pop("flux-restful")
        pod.containers["sidecar"].name = "sidecar"

    with pytest.raises(ConfigurationError, match="configure the container name"):
        cluster.locator().discover()


def test_pod_not_ready_is_reported_with_its_phase(make_minicluster):
    cluster = make_minicluster("flux-sample", phase="Pending")
    locator = cluster.locator()
    info = locator.discover()

    with pytest.raises(PodNotReady) as error:
        locator.require_ready(info.broker_pod, info.restful_container)

    assert "phase Pending" in str(error.value) and info.broker_pod in str(error.value)
