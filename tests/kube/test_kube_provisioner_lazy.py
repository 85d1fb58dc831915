"""Making a KubernetesProvisioner does nothing (issue 29.4): no discovery, no thread, no
process, no socket. The MiniCluster is found at first use and the port-forward relay starts at
first use (port 0) or at start() (a fixed port, as the hub and the accounts service call it),
against the fake API server."""

import socket
import subprocess
import threading

import pytest
import requests
from jupyterhub.utils import random_port

import flux_hub.kubernetes.provisioner as kube_provisioner
from flux_hub.accounts import EnsureOp

from .conftest import NAMESPACE
from .test_kube_portforward import pod_server  # noqa: F401 (a fixture)


def _refuse(what):
    def refused(*args, **kwargs):
        raise AssertionError(f"making the provisioner {what}")

    return refused


@pytest.fixture
def nothing_may_start(monkeypatch):
    """While in effect, any discovery, thread, process or socket fails the test."""

    def forbid():
        m = monkeypatch.context()
        patch = m.__enter__()
        patch.setattr(kube_provisioner, "load_api_client", _refuse("loaded the Kubernetes API"))
        patch.setattr(kube_provisioner, "MiniClusterLocator", _refuse("looked for the cluster"))
        patch.setattr(kube_provisioner, "PortForwardRelay", _refuse("started the relay"))
        patch.setattr(threading.Thread, "start", _refuse("started a thread"))
        patch.setattr(subprocess, "Popen", _refuse("ran a process"))
        patch.setattr(subprocess, "run", _refuse("ran a process"))
        patch.setattr(socket, "socket", _refuse("opened a socket"))
        return m

    return forbid


def _listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_making_it_with_a_fixed_relay_port_starts_nothing_until_start(
    make_minicluster,
    kube,
    pod_server,  # noqa: F811 (the fixture imported above)
    nothing_may_start,
):
    cluster = make_minicluster()
    kube.expose(NAMESPACE, cluster.pods[0].name, 5000, pod_server)
    port = random_port()
    forbidden = nothing_may_start()
    try:
        provisioner = cluster.provisioner(port_forward=True, port_forward_port=port)
        # What the hub reads while it starts, before any use, is cheap and finds nothing
        assert provisioner.describe() == f"MiniCluster {cluster.name} in namespace {NAMESPACE}"
        assert provisioner.serves_legacy() is False
        assert provisioner.waits_for_cluster is False
    finally:
        forbidden.__exit__(None, None, None)
    assert (provisioner._runner, provisioner._relay) == (None, None)
    assert not _listening(port)
    try:
        provisioner.start()  # the hub's start: the fixed port listens from here on
        assert _listening(port)
        assert requests.get(f"http://127.0.0.1:{port}/early", timeout=10).text == "hello /early\n"
        assert provisioner.cluster_url == f"http://127.0.0.1:{port}"
        results = provisioner.ensure([EnsureOp("alice", "alice-pw")])
        assert [r.status for r in results] == ["created"]
        assert cluster.password_works("alice", "alice-pw")
    finally:
        provisioner.relay.close()


def test_without_a_fixed_port_the_cluster_is_found_at_first_use(
    make_minicluster, nothing_may_start
):
    cluster = make_minicluster()
    forbidden = nothing_may_start()
    try:
        provisioner = cluster.provisioner(port_forward=False)
        provisioner.start()  # nothing to start: no fixed relay port
    finally:
        forbidden.__exit__(None, None, None)
    assert provisioner._runner is None
    assert provisioner.cluster_url == (
        f"http://{cluster.name}-0.flux-service.{NAMESPACE}.svc.cluster.local:5000"
    )
    results = provisioner.ensure([EnsureOp("bob", "bob-pw")])
    assert [r.status for r in results] == ["created"]
