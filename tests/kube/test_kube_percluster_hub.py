"""End to end: a real JupyterHub gives each person a MiniCluster of their own, waits for it at
spawn with progress on the spawn page, and hands the server that cluster's URL and credentials
(the fake API server and operator: tests/kube/perclusterhub.py, fake_operator.py)."""

import pytest

from flux_hub.restful import FluxRestfulClient

from .fake_operator import FakeFluxOperator
from .perclusterhub import NAMESPACE, PerUserHub


@pytest.fixture
def operator(kube, tmp_path):
    op = FakeFluxOperator(kube, tmp_path / "operator")
    yield op
    op.stop()


@pytest.fixture
def hub(tmp_path, kube, operator):
    hub = PerUserHub(tmp_path / "hub", kube, operator, admin="ada").start(timeout=180)
    yield hub
    hub.stop()


def cluster_creates(kube):
    return [p for m, p in kube.requests if m == "POST" and p.endswith("/miniclusters")]


def test_login_spawn_settings_removal_restart_and_delete_of_a_cluster_per_user(hub, kube, operator):
    operator.gate.clear()  # alice's flux-restful starts once the spawn page shows the wait
    hub.login("alice", "any password")

    # Login made alice's MiniCluster (the admin's was made at the hub's start); the spawn
    # waits for it.
    assert operator.seen == [("ADDED", "flux-ada"), ("ADDED", "flux-alice")]

    def release(event):
        if "pods running" in event.get("message", ""):
            operator.gate.set()

    events = hub.spawn_with_progress("alice", on_event=release)

    messages = [e.get("message", "") for e in events]
    assert events[-1].get("ready"), messages
    assert any(
        "Your Flux MiniCluster flux-alice: " in m and "pods running" in m for m in messages
    ), messages
    assert "Your Flux MiniCluster flux-alice is ready (flux-restful answers)" in messages
    env = hub.server_env("alice")
    assert env["FLUX_RESTFUL_HOST"] == operator.urls["flux-alice"]
    assert env["FLUX_USER"] == "alice"
    with FluxRestfulClient(
        env["FLUX_RESTFUL_HOST"], env["FLUX_USER"], env["FLUX_TOKEN"], env["FLUX_SECRET_KEY"]
    ) as client:
        assert isinstance(client.submit("true"), int)

    # Alice sees her cluster on her account page; the admin sets her cluster's size.
    alice = hub.token_for(hub.login("alice", "any password"), "alice")
    me = hub.service(alice, "GET", "api/me").json()
    assert (me["cluster"]["name"], me["cluster"]["state"]) == ("flux-alice", "running")
    assert me["cluster_url"] == env["FLUX_RESTFUL_HOST"]
    assert "running (1 of 1 pods)" in hub.service(alice, "GET", "").text
    assert (
        hub.service(alice, "PUT", "api/accounts/alice/cluster", json={"size": 2}).status_code == 403
    )
    admin = hub.token_for(hub.login("ada", "any password"), "ada")
    bad = hub.service(admin, "PUT", "api/accounts/alice/cluster", json={"size": 0})
    assert (bad.status_code, bad.json()["message"]) == (
        400,
        "size must be a whole number of at least 1, not 0",
    )
    good = hub.service(admin, "PUT", "api/accounts/alice/cluster", json={"size": 2})
    assert good.status_code == 200 and good.json()["settings"]["size"] == 2
    page = hub.service(admin, "GET", "admin/cluster/alice").text
    assert 'name="size" value="2"' in page and "1 of 1 pods running" in page

    # The admin removes alice's cluster (as the idle timeout does). A restarted hub neither
    # makes it again nor a second one for ada: it adopts ada's.
    hub.call("DELETE", "users/alice/server")
    removed = hub.service(admin, "POST", "api/accounts/alice/deactivate")
    assert removed.json()["status"] == "deactivated"
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    hub.restart()
    assert len(cluster_creates(kube)) == 2  # ada's at the first start, alice's at her login
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects

    # Her next spawn makes it again, of the size the admin set, with the password she had.
    assert hub.spawn_with_progress("alice")[-1].get("ready")
    assert kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]["spec"]["size"] == 2
    again = hub.server_env("alice")
    assert again["FLUX_TOKEN"] == env["FLUX_TOKEN"]
    assert again["FLUX_RESTFUL_HOST"] == operator.urls["flux-alice"] != env["FLUX_RESTFUL_HOST"]
    assert len(cluster_creates(kube)) == 3

    # Deleting the hub user removes the cluster and its Secret.
    hub.call("DELETE", "users/alice/server")
    response = hub.call("DELETE", "users/alice")
    assert response.status_code == 204, response.text
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    assert (NAMESPACE, "flux-alice") not in kube.secrets
    log = hub.log_text()
    assert env["FLUX_TOKEN"] not in log and env["FLUX_SECRET_KEY"] not in log
    assert again["FLUX_SECRET_KEY"] not in log
