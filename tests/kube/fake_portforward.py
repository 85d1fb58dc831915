"""pods/portforward of the fake API server: the websocket protocol v4.channel.k8s.io.

What kube-apiserver (proxying to the kubelet's websocket port-forward) does, and what the
kubernetes client's `kubernetes.stream.portforward` expects:

- GET /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=5000[,...] upgraded to a websocket
  with the subprotocol v4.channel.k8s.io (the client offers v5 and v4; port-forward has no v5);
  RBAC verb "create" on "pods/portforward" (a websocket GET, authorized as create since 1.31).
- per requested port i, two channels: 2i carries data both ways, 2i+1 carries the server's
  errors (text). The first frame the server sends on each of them is the channel byte and the
  port number in two bytes, little-endian; the client checks both.
- the server connects to the port in the pod once per websocket, so one websocket carries one
  TCP connection per port; when the pod's side closes, the websocket closes. When nothing
  listens there, the kubelet's message goes on that port's error channel and that port's
  stream ends; the websocket ends with the last of its ports.

The pod's ports are local TCP addresses given with `FakeKubeAPI.expose()`. `drop_port_forward`
makes the server drop a connection (the TCP connection, no close frame) halfway through the
pod's answer to a request containing some bytes, as a restarting API server or a load balancer
with an idle timeout does.
"""

import asyncio
import json

import tornado.iostream
import tornado.tcpclient
import tornado.websocket

from .fakeapi import status_body

V4 = "v4.channel.k8s.io"


class PortForwardHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, api):
        self.api = api
        self.streams = {}  # channel -> IOStream to the pod's port
        self.live = 0  # ports whose connection is still open: the websocket ends with the last
        self.drop = False

    async def get(self, ns, name):
        self.api.note_connect("portforward", self.request)
        refusal = self.api.refusal(self.request, "create", "pods/portforward", name, ns)
        pod = self.api.pods.get((ns, name))
        if refusal is None and pod is None:
            refusal = 404, status_body(404, "NotFound", f'pods "{name}" not found')
        if refusal is None:
            try:
                self.ports = [int(p) for p in self.get_argument("ports", "").split(",") if p]
            except ValueError:
                self.ports = []
            if not self.ports or not all(0 < p < 65536 for p in self.ports):
                refusal = 400, status_body(400, "BadRequest", "at least one port is required")
            elif pod.phase != "Running":
                refusal = (
                    400,
                    status_body(
                        400,
                        "BadRequest",
                        f"pod {name} is not running and cannot be used for port forwarding",
                    ),
                )
        if refusal:
            code, body = refusal
            self.set_status(code)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body))
            return
        self.pod = pod
        self.api.port_forwards.append((ns, name, tuple(self.ports)))
        await super().get(ns, name)

    def select_subprotocol(self, subprotocols):
        return V4 if V4 in subprotocols else None

    async def open(self, ns, name):
        for index, port in enumerate(self.ports):
            prefix = port.to_bytes(2, "little")
            self._send(2 * index, prefix)
            self._send(2 * index + 1, prefix)
        self.live = len(self.ports)
        for index, port in enumerate(self.ports):
            target = self.api.exposed.get((self.pod.namespace, self.pod.name, port))
            try:
                if target is None:
                    raise ConnectionRefusedError("connection refused")
                stream = await tornado.tcpclient.TCPClient().connect(*target)
            except OSError as e:
                # The kubelet's words (pkg/kubelet/cri/streaming/portforward/websocket.go).
                self._send(
                    2 * index + 1,
                    f"error forwarding port {port} to pod {self.pod.uid}, uid : failed to "
                    f"connect to localhost:{port} inside namespace of pod {self.pod.name}: "
                    f"dial tcp4 127.0.0.1:{port}: connect: {getattr(e, 'strerror', None) or e}",
                )
                self._port_done()
                continue
            self.streams[2 * index] = stream
            asyncio.ensure_future(self._pump(2 * index, stream))

    async def _pump(self, channel, stream):
        """The pod's bytes to the client, until the pod closes the connection."""
        try:
            while True:
                data = await stream.read_bytes(65536, partial=True)
                if self.drop:
                    self._send(channel, data[: len(data) // 2])
                    self.ws_connection.stream.close()  # the connection is lost, no close frame
                    return
                self._send(channel, data)
        except tornado.iostream.StreamClosedError:
            self._port_done()

    def _port_done(self):
        self.live -= 1
        if self.live <= 0:
            self.close()

    def on_message(self, message):
        if isinstance(message, str):
            message = message.encode()
        stream = self.streams.get(message[0]) if message else None
        if stream is None or stream.closed():
            return
        if any(pattern in message for pattern in self.api.port_forward_drops):
            self.api.port_forward_drops = [
                p for p in self.api.port_forward_drops if p not in message
            ]
            self.drop = True
        stream.write(message[1:])

    def on_close(self):
        for stream in self.streams.values():
            stream.close()

    def _send(self, channel, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.write_message(bytes([channel]) + data, binary=True)
        except tornado.websocket.WebSocketClosedError:
            pass
