"""A hub outside the cluster reaches flux-restful through the API server's port-forward.

Against the fake API server's pods/portforward (websocket, v4.channel.k8s.io): the protocol as
the kubernetes client reads it, the relay flux-hub keeps open, a dropped connection, a replaced
broker pod, RBAC, and a provisioning batch whose flux-restful calls go through the forward
while the connection drops.
"""

import dataclasses
import logging
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import websocket
from jupyterhub.utils import random_port
from kubernetes import client
from kubernetes.stream import portforward
from traitlets.config import Config

from flux_hub.accounts import FluxAccounts
from flux_hub.accounts.provisioner import ProvisioningError
from flux_hub.accounts.system import ensure as ensure_account
from flux_hub.kubernetes import KubernetesProvisioner
from flux_hub.kubernetes.api import load_api_client
from flux_hub.restful import ClusterUnavailable, FluxRestfulClient

from .conftest import NAMESPACE
from .miniclusters import add_minicluster
from .test_kube_rbac import _rbac


class _Pod(BaseHTTPRequestHandler):
    """What listens on the broker's port 5000 in these tests: a small keep-alive HTTP server."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        size = int(self.path.split("/")[-1]) if self.path.startswith("/big/") else 0
        body = (f"hello {self.path}\n" + "x" * size).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def pod_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pod)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address
    server.shutdown()
    server.server_close()


@pytest.fixture
def forwarded(make_minicluster, kube, pod_server):
    """A MiniCluster whose broker's port 5000 is the pod server; a provisioner forwarding to it."""
    cluster = make_minicluster()
    kube.expose(NAMESPACE, cluster.pods[0].name, 5000, pod_server)
    provisioner = cluster.provisioner(port_forward=True)
    yield cluster, provisioner
    provisioner.relay.close()


def _raw(kube, pod, ports):
    ws = websocket.create_connection(
        f"{kube.url.replace('http', 'ws')}/api/v1/namespaces/{NAMESPACE}/pods/{pod}/"
        f"portforward?ports={ports}",
        header=[f"Authorization: Bearer {kube.token}"],
        subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"],
        timeout=10,
    )
    return ws


def test_the_protocol_on_the_wire(forwarded, kube):
    cluster, _ = forwarded
    ws = _raw(kube, cluster.pods[0].name, "5000,5001")
    assert ws.subprotocol == "v4.channel.k8s.io"  # port-forward has no v5
    # First frames: each port's data and error channel, with the port number little-endian.
    first = [ws.recv() for _ in range(4)]
    assert sorted(first) == [b"\x00\x88\x13", b"\x01\x88\x13", b"\x02\x89\x13", b"\x03\x89\x13"]
    # Nothing listens on 5001: the kubelet's message comes on its error channel.
    error = ws.recv()
    assert error[0] == 3 and error[1:].startswith(b"error forwarding port 5001 to pod ")
    ws.close()

    ws = _raw(kube, cluster.pods[0].name, "5000")
    [ws.recv() for _ in range(2)]
    ws.send_binary(b"\x00GET /on-the-wire HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
    answer = b""
    while b"hello /on-the-wire" not in answer:
        frame = ws.recv()
        assert frame[0] == 0
        answer += frame[1:]
    assert answer.startswith(b"HTTP/1.1 200 ")
    ws.close()


def test_the_kubernetes_client_forwards(forwarded, kube):
    cluster, _ = forwarded
    core = client.CoreV1Api(load_api_client(cluster.kubeconfig))
    forward = portforward(
        core.connect_get_namespaced_pod_portforward,
        cluster.pods[0].name,
        NAMESPACE,
        ports="5000,5001",
    )
    sock = forward.socket(5000)
    sock.sendall(b"GET /py HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"hello /py\n")
    refused = forward.socket(5001)
    assert refused.recv(10) == b""  # closed after the error
    assert forward.error(5001).startswith("error forwarding port 5001 to pod ")
    forward.close()


def test_the_hub_uses_one_forward_per_connection_and_keeps_it(forwarded, kube):
    cluster, provisioner = forwarded
    url = provisioner.cluster_url
    assert url.startswith("http://127.0.0.1:")
    assert provisioner.user_cluster_url == url  # same machine: the servers share the relay

    with requests.Session() as session:
        answers = [session.get(f"{url}/n/{i}", timeout=10).text for i in range(5)]
    assert answers == [f"hello /n/{i}\n" for i in range(5)]
    assert kube.port_forwards == [(NAMESPACE, cluster.pods[0].name, (5000,))]


def test_a_dropped_forward_is_opened_again(forwarded, kube):
    cluster, provisioner = forwarded
    url = provisioner.cluster_url
    kube.drop_port_forward(b"GET /big/")
    with requests.Session() as session:
        assert session.get(f"{url}/before", timeout=10).text == "hello /before\n"
        with pytest.raises(requests.exceptions.RequestException):
            session.get(f"{url}/big/200000", timeout=10)
        assert session.get(f"{url}/after", timeout=10).text == "hello /after\n"
    assert len(kube.port_forwards) == 2


def test_a_replaced_broker_pod_is_found_again(forwarded, kube, pod_server):
    cluster, provisioner = forwarded
    url = provisioner.cluster_url
    old = cluster.pods[0]
    assert requests.get(f"{url}/first", timeout=10).status_code == 200

    del kube.pods[(NAMESPACE, old.name)]
    new = kube.add_pod(dataclasses.replace(old, name=f"{cluster.name}-0-zzzzz"))
    kube.expose(NAMESPACE, new.name, 5000, pod_server)

    assert requests.get(f"{url}/second", timeout=10).text == "hello /second\n"
    assert [pod for _, pod, _ in kube.port_forwards] == [old.name, new.name]


def test_without_portforward_rights_the_hub_says_so(forwarded, kube, caplog):
    cluster, provisioner = forwarded
    kube.apply_rbac(_rbac(drop_rule=_rule_index("pods/portforward")))
    client_ = FluxRestfulClient(provisioner.cluster_url, "alice", "pw", "k" * 32, timeout=10)
    with caplog.at_level(logging.WARNING, "flux_hub.kubernetes.portforward"):
        with pytest.raises(ClusterUnavailable, match="Cannot reach the Flux cluster at http://127"):
            client_.nodes()
    assert (
        f"Kubernetes refused to forward to port 5000 of pod {cluster.pods[0].name} in namespace "
        f'{NAMESPACE}: pods "{cluster.pods[0].name}" is forbidden: User '
        '"system:serviceaccount:jhub:hub" cannot create resource "pods/portforward"'
    ) in caplog.text
    assert "needs 'create' on 'pods/portforward'" in caplog.text


def test_a_wrong_minicluster_name_is_in_the_log(make_minicluster, kube, caplog):
    cluster = make_minicluster()
    provisioner = cluster.provisioner(port_forward=True, minicluster="flux-smaple")
    try:
        client_ = FluxRestfulClient(provisioner.cluster_url, "alice", "pw", "k" * 32, timeout=10)
        with caplog.at_level(logging.WARNING, "flux_hub.kubernetes.portforward"):
            with pytest.raises(ClusterUnavailable):
                client_.nodes()
        assert (
            "Cannot reach flux-restful through a port-forward: There is no MiniCluster "
            "'flux-smaple' in namespace 'flux-operator'"
        ) in caplog.text
        assert kube.port_forwards == []
    finally:
        provisioner.relay.close()


def _rule_index(resource):
    role = next(d for d in _rbac() if d["kind"] == "Role")
    return next(i for i, rule in enumerate(role["rules"]) if resource in rule["resources"])


# -- a provisioning batch over the forward, with real flux-restful ---------------------------

CRYPT_KEY = "cd" * 32


@pytest.fixture
def outside_config(kube, cluster, tmp_path, monkeypatch):
    """The config of a hub outside the cluster: exec for the DB, port-forward for HTTP.

    The broker's flux-restful is the session's real server (its state directory behind the
    sidecar's working directory, its port behind the broker's port 5000).
    """
    from jupyterhub.crypto import CryptKeeper

    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)
    monkeypatch.delenv("FLUX_RESTFUL_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    CryptKeeper.clear_instance()
    kube.apply_rbac(_rbac())
    kube.add_secret(
        NAMESPACE,
        "flux-restful",
        {
            "FLUX_SECRET_KEY": cluster.secret_key,
            "FLUX_USER": cluster.admin_user,
            "FLUX_TOKEN": cluster.passwords[cluster.admin_user],
        },
    )
    pods = add_minicluster(kube, NAMESPACE, "flux-sample", restful_dir=cluster.state_dir)
    host, port = cluster.url.removeprefix("http://").split(":")
    kube.expose(NAMESPACE, pods[0].name, 5000, (host, int(port)))
    config = Config()
    config.FluxAccounts.store_path = str(tmp_path / "accounts.sqlite")
    config.FluxAccounts.provisioner_class = "flux_hub.kubernetes.KubernetesProvisioner"
    config.KubernetesProvisioner.minicluster = "flux-sample"
    config.KubernetesProvisioner.namespace = NAMESPACE
    config.KubernetesProvisioner.kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", NAMESPACE)
    config.KubernetesProvisioner.timeout = 120.0
    yield config
    CryptKeeper.clear_instance()


@pytest.fixture
def outside_hub(outside_config):
    accounts = FluxAccounts(config=outside_config)
    yield accounts
    accounts.provisioner.relay.close()


@pytest.mark.asyncio
async def test_the_hub_logs_people_in_through_the_forward(outside_config, kube):
    from tornado import web

    from flux_hub.hub import FluxAuthenticator

    authenticator = FluxAuthenticator(config=outside_config)
    provisioner = authenticator.accounts.provisioner
    try:
        (made,) = authenticator.accounts.ensure(["pf-dee"])
        form = {"username": "pf-dee", "password": made.password}

        # The API server drops the forward carrying the login: the person is told the cluster
        # cannot be reached, and the next try (a new forward) logs them in.
        kube.drop_port_forward(b"/v1/token")
        with pytest.raises(web.HTTPError) as failed:
            await authenticator.get_authenticated_user(None, form)
        assert failed.value.status_code == 503
        assert "The Flux cluster cannot be reached" in failed.value.log_message
        assert kube.port_forward_drops == []  # it was the drop

        user = await authenticator.get_authenticated_user(None, form)
        assert user["name"] == "pf-dee" and not user.get("auth_state")
        env = authenticator.accounts.credentials("pf-dee")
        assert env["FLUX_RESTFUL_HOST"] == provisioner.cluster_url
        assert provisioner.cluster_url.startswith("http://127.0.0.1:")
        wrong = await authenticator.get_authenticated_user(
            None, {"username": "pf-dee", "password": "not-it"}
        )
        assert wrong is None
    finally:
        provisioner.relay.close()


def test_a_batch_over_the_forward_survives_dropped_connections(outside_hub, kube, cluster, caplog):
    accounts = outside_hub
    provisioner = accounts.provisioner
    assert provisioner.port_forward is True  # not in a pod: the default
    assert provisioner.cluster_url.startswith("http://127.0.0.1:")
    people = ["pf-ada", "pf-bob", "pf-cy"]

    outcomes = accounts.ensure(people)
    assert [o.status for o in outcomes] == ["created"] * 3
    jobs = {}
    for person in people:
        env = accounts.credentials(person)
        assert env["FLUX_RESTFUL_HOST"] == provisioner.cluster_url
        with FluxRestfulClient(
            env["FLUX_RESTFUL_HOST"], env["FLUX_USER"], env["FLUX_TOKEN"], env["FLUX_SECRET_KEY"]
        ) as user:
            jobs[person] = user.submit(["sleep", "600"])
    opened = len(kube.port_forwards)

    # Deleting them cancels their jobs through the forward. The connection drops twice on the
    # way: halfway through the answer to the first listing of jobs (a GET: sent again on a new
    # forward) and halfway through the answer to the second cancel (a POST: not sent again; it
    # had reached the server, so the job is cancelled, and the log says the answer was lost).
    kube.drop_port_forward(b"GET /v1/jobs")
    kube.drop_port_forward(b"POST /v1/jobs/" + str(jobs["pf-bob"]).encode() + b"/cancel")
    with caplog.at_level(logging.WARNING):
        outcomes = accounts.deactivate(people, cancel_jobs=True, forget=True)

    assert [o.status for o in outcomes] == ["deactivated"] * 3
    assert kube.port_forward_drops == []  # both drops happened
    assert len(kube.port_forwards) > opened
    lost = [r.getMessage() for r in caplog.records if "Could not cancel" in r.getMessage()]
    assert len(lost) == 1 and lost[0].startswith("Could not cancel all jobs of pf-bob: ")
    assert "the connection was closed" in lost[0]
    with FluxRestfulClient(
        provisioner.cluster_url,
        cluster.admin_user,
        cluster.passwords[cluster.admin_user],
        provisioner.secret_key,
    ) as admin:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = {p: admin.job(j).get("state") for p, j in jobs.items()}
            if set(states.values()) == {"INACTIVE"}:
                break
            time.sleep(0.5)
    assert states == dict.fromkeys(people, "INACTIVE")
    users = {a.name: a.active for a in provisioner.list()}
    assert [users[p] for p in people] == [False] * 3


# -- the documented configuration of a hub outside the cluster ------------------------------

OUTSIDE_CONFIG = (
    Path(__file__).parents[2] / "examples" / "kubernetes" / "outside_jupyterhub_config.py"
)


def test_the_outside_hub_example_config_works(
    make_minicluster, kube, pod_server, tmp_path, monkeypatch
):
    from jupyterhub.crypto import CryptKeeper
    from traitlets.config import PyFileConfigLoader

    cluster = make_minicluster()
    kube.apply_rbac(_rbac())
    kube.expose(NAMESPACE, cluster.pods[0].name, 5000, pod_server)
    port = random_port()
    monkeypatch.setenv("KUBECONFIG", cluster.kubeconfig)
    monkeypatch.setenv("FLUX_HUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("FLUX_HUB_FORWARD_PORT", str(port))
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)  # kept by the config's ensure_crypt_key
    monkeypatch.delenv("FLUX_RESTFUL_HOST", raising=False)
    CryptKeeper.clear_instance()
    config = PyFileConfigLoader(OUTSIDE_CONFIG.name, str(OUTSIDE_CONFIG.parent)).load_config()
    # The fake's containers have the venv's python3, not the flux view's.
    config.KubernetesProvisioner.python = "python3"

    accounts = FluxAccounts(config=config)
    provisioner = accounts.provisioner
    provisioner.start()  # as the hub's authenticator does, once
    try:
        assert isinstance(provisioner, KubernetesProvisioner)
        # A fixed port is handed out before the hub needs flux-restful itself (to servers
        # started before a restart, to the accounts service): it listens from the start.
        assert requests.get(f"http://127.0.0.1:{port}/early", timeout=10).ok
        assert provisioner.cluster_url == provisioner.user_cluster_url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{provisioner.cluster_url}/via-relay", timeout=10).text == (
            "hello /via-relay\n"
        )
        assert [o.status for o in accounts.ensure(["ada"])] == ["created"]
        assert "ada" in cluster.db_users()
        (service,) = config.JupyterHub.services
        assert service["environment"]["FLUX_RESTFUL_HOST"] == provisioner.cluster_url
    finally:
        provisioner.relay.close()
        CryptKeeper.clear_instance()


# -- nobody else can use the relay or pose as it (issue 24, point 3) ---------------------------

# A raw HTTP request from a process of another Unix account; prints what came back (hex).
_AS_ACCOUNT = """
import socket, sys
conn = socket.create_connection((sys.argv[3], int(sys.argv[1])), timeout=20)
request = f"GET /from-{sys.argv[2]} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"
conn.sendall(request.encode())
answer = b""
try:
    while chunk := conn.recv(65536):
        answer += chunk
except ConnectionResetError:
    pass
print(answer.hex())
"""


def _get_as(account, port, host="127.0.0.1"):
    done = subprocess.run(
        ["/usr/bin/python3", "-c", _AS_ACCOUNT, str(port), account.pw_name, host],
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return bytes.fromhex(done.stdout.strip())


@pytest.fixture(scope="module")
def bob_account():
    assert os.geteuid() == 0, "bob must be a Unix account of his own"
    return ensure_account("bob")


def test_the_relay_serves_only_trusted_accounts(forwarded, kube, bob_account, caplog):
    cluster, provisioner = forwarded
    port = urlsplit(provisioner.cluster_url).port
    with caplog.at_level(logging.WARNING, "flux_hub.kubernetes.portforward"):
        assert _get_as(bob_account, port) == b""  # closed unanswered
    assert kube.port_forwards == []  # nothing reached the API server
    assert (
        f"The port-forward relay at {provisioner.cluster_url} refused a connection from "
        f"bob (uid {bob_account.pw_uid})"
    ) in caplog.text
    # The hub's own account (root here) passes
    assert requests.get(f"{provisioner.cluster_url}/from-root", timeout=10).text == (
        "hello /from-root\n"
    )
    assert len(kube.port_forwards) == 1

    # An account the admin allows passes too
    allowed = cluster.provisioner(port_forward=True, port_forward_allowed_users=["bob"])
    try:
        answer = _get_as(bob_account, urlsplit(allowed.cluster_url).port)
        assert answer.startswith(b"HTTP/1.") and answer.endswith(b"hello /from-bob\n")
    finally:
        allowed.relay.close()


def test_a_relay_open_to_other_machines_still_refuses_local_accounts(
    make_minicluster, kube, pod_server, bob_account
):
    """Listening on every address (for servers on other machines), a connection from bob on
    this machine, to its own address, is still his, and refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent; the address of the default route
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "this test needs an address besides loopback"
    cluster = make_minicluster()
    kube.expose(NAMESPACE, cluster.pods[0].name, 5000, pod_server)
    provisioner = cluster.provisioner(port_forward=True, port_forward_address="0.0.0.0")
    try:
        port = urlsplit(provisioner.cluster_url).port
        assert _get_as(bob_account, port, address) == b""
        assert kube.port_forwards == []
        assert requests.get(f"http://{address}:{port}/root", timeout=10).text == "hello /root\n"
    finally:
        provisioner.relay.close()


def test_a_fixed_relay_port_held_by_another_account_is_refused(make_minicluster, bob_account):
    cluster = make_minicluster()
    port = random_port()
    squatter = subprocess.Popen(
        ["/usr/bin/python3", "-c", _SQUAT, str(port)],
        user=bob_account.pw_uid,
        group=bob_account.pw_gid,
        extra_groups=[],
        cwd="/",
        stdout=subprocess.PIPE,
    )
    try:
        assert squatter.stdout.readline() == b"listening\n"
        # A fixed port is listened on from the provisioner's start (the hub's, the
        # service's), not when it is made
        provisioner = cluster.provisioner(port_forward=True, port_forward_port=port)
        assert provisioner._relay is None
        with pytest.raises(ProvisioningError) as refused:
            provisioner.start()
        assert str(refused.value) == (
            f"The port-forward relay cannot listen on 127.0.0.1:{port}: it is held by bob "
            f"(uid {bob_account.pw_uid}). Stop that program, or set port_forward_port to 0 "
            "(any free port)."
        )
    finally:
        squatter.kill()
        squatter.wait()


_SQUAT = """
import socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(8)
print("listening", flush=True)
time.sleep(120)
"""
