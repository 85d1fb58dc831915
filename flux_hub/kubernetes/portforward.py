"""Reach flux-restful from a hub outside the cluster, through the API server's port-forward.

Outside the cluster the broker pod's cluster DNS name neither resolves nor routes. A person
runs `kubectl port-forward`; the hub does the same from Python with the kubernetes client's
`kubernetes.stream.portforward` (a websocket to pods/portforward, v4.channel.k8s.io):

- `PortForwardRelay` listens on a local TCP address (127.0.0.1 and a free port by default) for
  the life of the process. Its URL is flux-restful's URL for the hub, for the accounts service
  (a process of its own, with a relay of its own) and for single-user servers that run where
  they can reach that address.
- Each connection it accepts is relayed over a port-forward of its own to the broker's
  flux-restful port: the API server carries one TCP connection per port and websocket. HTTP
  keep-alive keeps a client's connection, and with it its port-forward, open between requests.
- When a port-forward drops (no websocket close frame: the API server restarted, a load
  balancer cut it), its local connection is reset, not closed: an HTTP client must not take the
  part of an answer that came through for all of it (http.client takes an end of stream in the
  headers for their end). flux-hub's restful client sends a GET once more; the next connection
  opens a new port-forward. A clean end (the server closed the connection, and the API server
  the websocket with a close frame) is passed on as a clean close.
- A port-forward refused with 404 (the broker pod was replaced) is tried once more on the pod
  a new discovery finds.
- Nobody else can pose as it or use it: with port 0 the OS picks a free port; a fixed port
  someone else holds is an error naming them (clients would send them their passwords). A
  connection from a process of this machine is relayed only when its account is trusted
  (see PortForwardRelay); others are closed before anything reaches the API server.
"""

import errno
import logging
import os
import select
import socket
import struct
import threading

from flux_hub.accounts.provisioner import ProvisioningError
from flux_hub.restful import peer

from .errors import PodNotFound
from .execution import upgrade_refused

log = logging.getLogger(__name__)


class PortForwardRelay:
    """A local TCP listener whose connections go to a pod's port through the API server.

    `target(refresh)` returns (pod name, port) to forward to; refresh=True asks for a new
    discovery (the pod found before is gone).

    Trusted accounts: root, this process's own (the hub's, or the accounts service's) and
    ``allowed_users`` (Unix user names or uids: e.g. the accounts that people's servers run
    as on this machine). A connection from any other account of this machine is closed at
    once. Connections from other machines (a relay listening on an address they reach) have
    no account here and are relayed: flux-restful still asks them for a login.
    """

    def __init__(
        self, api_client, namespace, target, *, address="127.0.0.1", port=0, allowed_users=()
    ):
        self.configuration = api_client.configuration
        self.namespace = namespace
        self.target = target
        self.address = address
        self.port = port
        self.trusted = {0, os.getuid(), os.geteuid()}
        for user in allowed_users:
            uid = peer.uid_of(user)
            if uid is None:
                raise ProvisioningError(
                    f"The port-forward relay cannot allow {user!r}: no such user"
                )
            self.trusted.add(uid)
        self._server = None

    @property
    def url(self):
        host = "127.0.0.1" if self.address in ("", "0.0.0.0") else self.address
        return f"http://{host}:{self.port}"

    def start(self):
        try:
            self._server = socket.create_server((self.address, self.port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            uid = peer.holder(self.address, self.port)
            who = f"held by {peer.describe(uid)}" if uid is not None else "in use"
            raise ProvisioningError(
                f"The port-forward relay cannot listen on {self.address}:{self.port}: it is "
                f"{who}. Stop that program, or set port_forward_port to 0 (any free port)."
            ) from None
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, name=f"port-forward {self.url}", daemon=True).start()
        log.info("flux-restful reached through a Kubernetes port-forward at %s", self.url)
        return self

    def close(self):
        if self._server is not None:
            self._server.close()
            self._server = None

    def _accept(self):
        server = self._server
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed
                return
            if self._refused(conn):
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _refused(self, conn):
        """Whether ``conn`` comes from an account of this machine that is not trusted."""
        try:
            uid = peer.client_owner(conn)
            local = peer.is_loopback(conn.getpeername()[0])
        except OSError:  # already gone
            return True
        if uid is None and not local:
            return False  # another machine's
        if uid in self.trusted:
            return False
        who = peer.describe(uid) if uid is not None else "a process that is gone"
        log.warning("The port-forward relay at %s refused a connection from %s", self.url, who)
        return True

    def _serve(self, conn):
        try:
            forward, pod, port = self._open()
        except ProvisioningError as e:  # KubernetesErrors included
            log.warning("Cannot reach flux-restful through a port-forward: %s", e)
            conn.close()
            return
        except Exception:  # a thread of its own: say why, and never leave the client waiting
            log.exception("Cannot open a port-forward to flux-restful")
            conn.close()
            return
        remote = forward.socket(port)
        ended_cleanly = _watch_close_frame(forward.websocket)
        try:
            remote_ended = _relay(conn, remote, forward)
        finally:
            error = forward.error(port)
            if error:
                log.warning("The port-forward to pod %s port %s failed: %s", pod, port, error)
            if remote_ended and (error or not ended_cleanly.is_set()):
                log.info("The port-forward to pod %s port %s dropped", pod, port)
                # A reset (RST), not an end of stream: what came through may be half an answer.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            remote.close()

    def _open(self):
        pod, port = self.target(False)
        try:
            return self._connect(pod, port), pod, port
        except PodNotFound:
            pod, port = self.target(True)
            return self._connect(pod, port), pod, port

    def _connect(self, pod, port):
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import portforward

        # As for exec: stream helpers swap call_api on the ApiClient they get; one per forward.
        api_client = client.ApiClient(self.configuration)
        try:
            return portforward(
                client.CoreV1Api(api_client).connect_get_namespaced_pod_portforward,
                pod,
                self.namespace,
                ports=str(port),
            )
        except ApiException as e:
            where = f"port {port} of pod {pod} in namespace {self.namespace}"
            raise upgrade_refused(e, where, "forward to", "pods/portforward") from None
        finally:
            api_client.close()


def _watch_close_frame(ws):
    """An Event set when the API server closes the websocket properly (a close frame).

    The client's port-forward proxy reads the frames and ignores a close; this notes it on the
    way. (Set up just after the proxy started: a close frame comes only when the connection
    in the pod ends, long after the first frames.)
    """
    from websocket import ABNF

    closed = threading.Event()
    receive = ws.recv_data_frame

    def recv_data_frame(*args, **kwargs):
        opcode, frame = receive(*args, **kwargs)
        if opcode == ABNF.OPCODE_CLOSE:
            closed.set()
        return opcode, frame

    ws.recv_data_frame = recv_data_frame
    return closed


def _relay(conn, remote, forward):
    """Copy bytes both ways until one side ends; True when the remote side ended."""
    peer = {conn.fileno(): (conn, remote), remote.fileno(): (remote, conn)}
    while True:
        readable, _, _ = select.select(list(peer), [], [], 5.0)
        if not readable and not forward.connected:
            return True  # the websocket is gone without closing its end of the pair
        for fd in readable:
            source, sink = peer[fd]
            try:
                data = source.recv(65536)
            except OSError:
                return source is remote
            if not data:
                return source is remote
            try:
                sink.sendall(data)
            except OSError:
                return sink is remote
