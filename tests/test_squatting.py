"""Nobody can pose as the local cluster: bob holds its port while it is down (issue 24, point 3).

The real multi-user local cluster as root (both lanes), alice and bob its people. With the
cluster stopped (a hub restart, a crash), bob runs a listener on its port as his own Unix
account, recording every byte it receives. The cluster then refuses to start and names him;
alice's logins (handshake and form, sync and async client; by the kernel's sock_diag look-up
and by its socket tables) fail with ClusterUnavailable naming him, and his listener receives
nothing at all. Once he is gone the cluster starts again. And the same through the real hub
(jupyterhub_config.py as root): its log says why the cluster cannot start, alice's login page
says why she cannot log in, and bob receives nothing.
"""

import asyncio
import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests
from e2e.hubprocess import TOP_CONFIG, HubProcess
from jupyterhub.utils import random_port

import flux_hub.local.cluster as cluster_module
from flux_hub.accounts.system import ensure as ensure_account
from flux_hub.local import LocalCluster, LocalClusterError
from flux_hub.restful import AsyncFluxRestfulClient, ClusterUnavailable, FluxRestfulClient, peer

pytestmark = pytest.mark.timeout(600)

# Bob's listener: holds the port and prints, per connection, the hex of every byte it received.
# (The system Python: the project's venv may be in a folder bob cannot enter.)
LISTENER = """
import socket, sys, threading
host = sys.argv[2]
server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if ":" in host:
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 too
server.bind((host, int(sys.argv[1])))
server.listen(64)
print("listening", flush=True)
printing = threading.Lock()  # one whole line at a time: threads' lines must not interleave
def record(conn):
    conn.settimeout(10)
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except OSError:
        pass
    with printing:
        sys.stdout.write("connection " + data.hex() + "\\n")
        sys.stdout.flush()
while True:
    conn, _ = server.accept()
    threading.Thread(target=record, args=(conn,), daemon=True).start()
"""


class Listener:
    """Bob's program on a port, run as his Unix account."""

    def __init__(self, port, account, host="127.0.0.1"):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", LISTENER, str(port), host],
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=[],
            cwd="/",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        line = self.proc.stdout.readline()
        assert line == b"listening\n", line + self.proc.stderr.read()

    def received(self):
        """Stop it; [bytes received] per connection it accepted."""
        time.sleep(0.5)  # let its threads print what came last
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        lines = out.decode().splitlines()
        return [bytes.fromhex(line.removeprefix("connection ")) for line in lines]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    assert os.geteuid() == 0, "bob must be a Unix account of his own: the cluster runs as root"
    cluster = LocalCluster(
        tmp_path_factory.mktemp("squatting") / "cluster", users=["alice", "bob"], multi_user=True
    )
    cluster.start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture
def bob():
    return ensure_account("bob")  # as the multi-user cluster and the hub make it


def clients(cluster, secret_key):
    password = cluster.passwords["alice"]
    sync = FluxRestfulClient(cluster.url, "alice", password, secret_key, timeout=10)
    return sync, AsyncFluxRestfulClient(cluster.url, "alice", password, secret_key, timeout=10)


def test_logins_pass_the_check_when_the_cluster_holds_its_port(cluster):
    assert peer.holder(cluster.host, cluster.port) == 0  # the multi-user server runs as root
    for secret_key in (cluster.secret_key, None):  # the token handshake, then the form
        sync, asynchronous = clients(cluster, secret_key)
        with sync:
            assert sync.login() and sync.jobs() == []
        assert asyncio.run(asynchronous.login())
        assert asyncio.run(asynchronous.jobs()) == []


def test_the_squatter_gets_no_password_and_the_cluster_names_him(cluster, bob, monkeypatch):
    cluster.stop()
    who = f"bob (uid {bob.pw_uid})"
    listener = Listener(cluster.port, bob)
    try:
        # The cluster cannot start, and says who holds its port
        with pytest.raises(LocalClusterError) as refused:
            cluster.start(timeout=60)
        assert f"127.0.0.1:{cluster.port} is held by {who}, another account" in str(refused.value)
        assert not cluster.running

        # The same when the port is taken after start()'s check, before the server's bind:
        # the readiness probe names him instead of asking his listener anything
        monkeypatch.setattr(cluster_module, "_bind", lambda host, port: port)
        with pytest.raises(LocalClusterError) as raced:
            cluster.start(timeout=60)
        assert f"is held by {who}, another account" in str(raced.value)
        assert not cluster.running
        monkeypatch.undo()

        # The hub's cluster service (its standard error is the hub's log) says it in one line
        service = subprocess.run(
            [sys.executable, "-m", "flux_hub.hub.local", f"--state-dir={cluster.state_dir}"]
            + [f"--port={cluster.port}", f"--mode={cluster.mode}", "--multi-user"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert service.returncode == 1
        assert service.stderr.strip().splitlines() == [
            f"flux-hub: 127.0.0.1:{cluster.port} is held by {who}, another account, so "
            "flux-restful cannot listen there and the cluster is not started. Stop that "
            f"program (`ss -ltnp 'sport = :{cluster.port}'` shows it as root), then start the "
            "cluster again; clients send no password to it meanwhile."
        ]

        # alice's logins, sync and async, handshake and form: refused before a byte is sent
        for secret_key in (cluster.secret_key, None):
            sync, asynchronous = clients(cluster, secret_key)
            with sync, pytest.raises(ClusterUnavailable) as failed:
                sync.jobs()
            with pytest.raises(ClusterUnavailable) as async_failed:
                asyncio.run(asynchronous.jobs())
            for error in (failed.value, async_failed.value):
                assert error.url == cluster.url
                assert f"{cluster.url}: 127.0.0.1:{cluster.port} is held by {who}" in str(error)
                assert "nothing was sent to it" in str(error)

        # Output streams (their own connections) are refused the same way
        with pytest.raises(ClusterUnavailable, match=re.escape(f"is held by {who}")):
            next(FluxRestfulClient(cluster.url).stream_output(1))

        async def stream():
            async for _ in AsyncFluxRestfulClient(cluster.url).stream_output(1):
                pass

        with pytest.raises(ClusterUnavailable, match=re.escape(f"is held by {who}")):
            asyncio.run(stream())

        # Where the kernel's sock_diag look-up is not available, its socket tables say the same
        monkeypatch.setattr(peer, "_diag_owner", no_sock_diag)
        with pytest.raises(
            ClusterUnavailable, match=re.escape(f"is held by {who}, not by an account")
        ):
            clients(cluster, cluster.secret_key)[0].jobs()
        monkeypatch.undo()
    finally:
        received = listener.received()
    # His listener saw the seven attempts connect, and not one byte from them
    assert len(received) == 7, received
    everything = b"".join(received)
    password = cluster.passwords["alice"].encode()
    assert password not in everything and b"alice" not in everything and b"eyJ" not in everything
    assert everything == b""

    # Once he is gone the cluster starts again, and alice logs in
    cluster.start(timeout=120)
    sync, asynchronous = clients(cluster, cluster.secret_key)
    with sync:
        assert sync.jobs() == []
    assert asyncio.run(asynchronous.jobs()) == []


def own_address():
    """This machine's address on its default route (None without one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # no packet is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_a_squatter_on_every_address_is_found_for_ipv4_and_ipv6(bob, monkeypatch):
    """bob's dual-stack listener on [::] answers 127.0.0.1, [::1] and this machine's own
    address: each is refused naming him (by sock_diag and by the socket tables)."""
    port = random_port()
    listener = Listener(port, bob, host="::")
    assert own_address(), "this test needs an address besides loopback"
    hosts = ["127.0.0.1", "[::1]", own_address()]
    expected = re.escape(f"is held by bob (uid {bob.pw_uid}), not by an account")
    try:
        for tables_only in (False, True):
            if tables_only:
                monkeypatch.setattr(peer, "_diag_owner", no_sock_diag)
            for host in hosts:
                with pytest.raises(ClusterUnavailable, match=expected):
                    FluxRestfulClient(f"http://{host}:{port}", "alice", "pw", "k" * 32).login()
    finally:
        received = listener.received()
    assert received == [b""] * (2 * len(hosts))


def no_sock_diag(*args):
    raise OSError("no sock_diag here")


def hub_answers(hub):
    try:
        return requests.get(f"{hub.url}/hub/api/", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_the_hub_says_why_and_sends_the_squatter_nothing(tmp_path, bob):
    port = random_port()
    listener = Listener(port, bob)
    who = f"bob (uid {bob.pw_uid})"
    hub = HubProcess(TOP_CONFIG, tmp_path / "hub", env={"FLUX_HUB_CLUSTER_PORT": str(port)})
    hub._ready = lambda: hub_answers(hub)  # up as far as it can be: its cluster cannot start
    try:
        hub.start()
        why = (
            f"flux-hub: 127.0.0.1:{port} is held by {who}, another account, so flux-restful "
            "cannot listen there and the cluster is not started."
        )
        deadline = time.monotonic() + 120
        while why not in hub.log_text():
            assert time.monotonic() < deadline, hub.tail()
            time.sleep(0.5)
        # alice (seeded, her password announced) cannot log in, and is told why
        password = hub.announced_passwords()["alice"]
        session = requests.Session()
        session.get(f"{hub.url}/hub/login", timeout=30).raise_for_status()
        page = session.post(
            f"{hub.url}/hub/login",
            data={"username": "alice", "password": password, "_xsrf": session.cookies["_xsrf"]},
            timeout=60,
            allow_redirects=False,
        )
        assert page.status_code == 503
        assert f"127.0.0.1:{port} is held by {who}, not by an account" in page.text
    finally:
        hub.stop()
        received = listener.received()
    assert received and set(received) == {b""}, received  # her login connected, sent nothing
    assert password.encode() not in hub.log_path.read_bytes()
