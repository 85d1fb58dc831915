"""End to end: a real JupyterHub gives each person a MiniCluster of their own, waits for it at
spawn with progress on the spawn page, and hands the server that cluster's URL and credentials
(the fake API server and operator: tests/kube/perclusterhub.py, fake_operator.py)."""

import html
import os
import re
import subprocess
import sys
import time

import pytest
import requests
from serverext.serverext_support import UserServer

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


def as_the_person(env, home, argv):
    """Run argv as a terminal or kernel in the person's server would: with its FLUX_* only."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "JUPYTERHUB_"))}
    home.mkdir(exist_ok=True)
    return subprocess.run(
        argv,
        env={**environ, **env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def form_xsrf(page):
    return re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)


def shown_message(page):
    """The message a page shows at its top (as a person reads it)."""
    found = re.search(r'<div class="alert alert-info message">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else None


def test_login_spawn_settings_removal_restart_and_delete_of_a_cluster_per_user(
    hub, kube, operator, tmp_path
):
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
    # Her JupyterLab's panel (the flux-hub extension of a real Jupyter server), the CLI in its
    # terminal and the notebook API in its kernels use her cluster with that environment.
    server = UserServer(tmp_path / "alice-server", env)
    try:
        home = tmp_path / "alice-server" / "home"  # the server's: where job names are kept
        cli = as_the_person(
            env, home, [sys.executable, "-m", "flux_hub.cli", "submit", "--wait", "echo", "hi"]
        )
        assert (cli.returncode, cli.stdout) == (0, "hi\n"), cli.stderr
        kernel = as_the_person(
            env,
            home,
            [
                sys.executable,
                "-c",
                "from flux_hub.notebook import connect\n"
                "job = connect().submit('echo from a notebook', name='nb')\n"
                "print(job.wait(timeout=60).output(), end='')\n",
            ],
        )
        assert (kernel.returncode, kernel.stdout) == (0, "from a notebook\n"), kernel.stderr
        status, cluster = server.call("GET", "cluster")
        assert status == 200 and (cluster["account"], cluster["reachable"]) == ("alice", True)
        status, submitted = server.call("POST", "jobs", json={"command": "true", "name": "lab"})
        assert status == 201, submitted
        status, listed = server.call("GET", "jobs")
        assert status == 200
        assert {"nb", "lab"} <= set(listed["names"].values())
        assert len(listed["jobs"]) == 4  # the client's, the CLI's, the notebook's, the panel's
    finally:
        server.stop()

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

    # The admin's browser: the settings form, posted with the page's own xsrf token.
    browser = hub.login("ada", "any password")
    url = f"{hub.url}/services/flux-accounts/admin/cluster/alice"
    form = browser.get(url, timeout=60)
    assert form.status_code == 200 and 'name="size" value="2"' in form.text

    def post(**fields):
        data = {"_xsrf": form_xsrf(form.text), "size": "2", "image": "", "node_selector": ""}
        return browser.post(url, data={**data, **fields}, timeout=60)

    def settings():
        return hub.service(admin, "GET", "api/accounts/alice/cluster").json()["settings"]

    saved = post(image="ghcr.io/example/alice:1", node_selector="pool=a, disk=ssd")
    assert saved.status_code == 200, saved.text
    assert shown_message(saved.text) == "Saved; they apply when this MiniCluster is next created."
    assert 'value="ghcr.io/example/alice:1"' in saved.text
    chosen = {
        "size": 2,
        "image": "ghcr.io/example/alice:1",
        "node_selector": {"pool": "a", "disk": "ssd"},
    }
    assert settings() == chosen
    for fields, message in [
        ({"size": "two"}, "Not saved: size must be a whole number, not 'two'"),
        ({"size": "0"}, "Not saved: size must be a whole number of at least 1, not 0"),
        ({"node_selector": "pool"}, "Not saved: node selector: write label=value, not 'pool'"),
        (
            {"node_selector": "pool=a b"},
            "Not saved: node selector: 'a b' (for pool) is not a valid label value",
        ),
        (
            {"image": "bad image"},
            "Not saved: image must be a container image name, not 'bad image'",
        ),
    ]:
        refused = post(**fields)
        assert refused.status_code == 200 and shown_message(refused.text) == message
        assert settings() == chosen  # nothing of a refused form is kept
    # A form from elsewhere (the login cookie, no token of this page): refused, nothing saved.
    forged = requests.post(url, data={"size": "9"}, cookies=browser.cookies, timeout=60)
    assert forged.status_code == 403
    assert settings() == chosen

    # The admin removes alice's cluster (as the idle timeout does). A restarted hub neither
    # makes it again nor a second one for ada: it adopts ada's.
    hub.call("DELETE", "users/alice/server")
    removed = hub.service(admin, "POST", "api/accounts/alice/deactivate")
    assert removed.json()["status"] == "deactivated"
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects
    hub.restart()
    assert len(cluster_creates(kube)) == 2  # ada's at the first start, alice's at her login
    assert ("v1alpha2", NAMESPACE, "flux-alice") not in kube.objects

    # Her next spawn makes it again, as the admin set it, with the password she had.
    assert hub.spawn_with_progress("alice")[-1].get("ready")
    spec = kube.objects[("v1alpha2", NAMESPACE, "flux-alice")]["spec"]
    assert spec["size"] == 2 and spec["containers"][0]["image"] == "ghcr.io/example/alice:1"
    assert spec["pod"]["nodeSelector"] == {"pool": "a", "disk": "ssd"}
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


@pytest.fixture
def idle_hub(tmp_path, kube, operator):
    extra = (
        "c.MiniClusterPerUserProvisioner.idle_timeout = 2.0\n"
        "c.FluxAccountsService.reconcile_interval = 0  # reconciles only when the test asks\n"
    )
    hub = PerUserHub(tmp_path / "hub", kube, operator, admin="ada", extra=extra)
    hub.start(timeout=180)
    yield hub
    hub.stop()


def stop_server(hub, name, timeout=60):
    hub.call("DELETE", f"users/{name}/server")
    deadline = time.monotonic() + timeout
    while hub.call("GET", f"users/{name}").json().get("servers"):
        assert time.monotonic() < deadline, f"{name}'s server did not stop"
        time.sleep(0.2)


def test_the_accounts_service_removes_an_idle_cluster_and_keeps_busy_ones(idle_hub, kube):
    hub = idle_hub
    for name in ("alice", "bob"):
        hub.login(name, "any password")  # ada's cluster was made at the hub's start
    for name in ("ada", "alice", "bob"):
        assert hub.spawn_with_progress(name)[-1].get("ready")
    # alice keeps her server; bob stops his but has a job running; ada stops hers, no job.
    bob = hub.server_env("bob")
    with FluxRestfulClient(
        bob["FLUX_RESTFUL_HOST"], bob["FLUX_USER"], bob["FLUX_TOKEN"], bob["FLUX_SECRET_KEY"]
    ) as client:
        client.submit("sleep 600")
    stop_server(hub, "bob")
    stop_server(hub, "ada")
    admin = hub.token_for(hub.login("ada", "any password"), "ada")

    first = hub.service(admin, "POST", "api/reconcile").json()
    assert (first["changes"], first["error"]) == ([], None)  # ada is idle from now on
    time.sleep(2.5)
    second = hub.service(admin, "POST", "api/reconcile").json()

    assert second["error"] is None
    assert [(c["hub_user"], c["status"]) for c in second["changes"]] == [("ada", "deactivated")]
    assert ("v1alpha2", NAMESPACE, "flux-ada") not in kube.objects
    assert (NAMESPACE, "flux-ada") not in kube.secrets
    for busy in ("flux-alice", "flux-bob"):
        assert ("v1alpha2", NAMESPACE, busy) in kube.objects
    # ada's account page says her cluster is gone; the admin page's report lists the removal.
    me = hub.service(admin, "GET", "api/me").json()
    assert me["cluster"]["state"] == "absent"
    report = hub.service(admin, "GET", "api/accounts").json()["last_reconcile"]
    assert [(c["hub_user"], c["status"]) for c in report["changes"]] == [("ada", "deactivated")]
    # Nothing more is removed while the others stay busy.
    third = hub.service(admin, "POST", "api/reconcile").json()
    assert (third["changes"], third["error"]) == ([], None)
