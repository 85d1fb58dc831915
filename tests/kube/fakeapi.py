"""A local stand-in for the Kubernetes API server, for tests and benchmarks.

No kube-apiserver can run here, so this tornado server answers the endpoints flux-hub uses,
the way the real one does, and the real `kubernetes` client talks to it:

- GET  /api/v1/namespaces/{ns}/pods[?labelSelector=...]       PodList
- GET  /api/v1/namespaces/{ns}/pods/{name}                     Pod
- GET  /api/v1/namespaces/{ns}/secrets/{name}                  Secret (data base64)
- GET  /apis/flux-framework.org/{v1alpha1|v1alpha2}/namespaces/{ns}/miniclusters/{name}
- POST/GET(labelSelector) /api/v1/namespaces/{ns}/secrets, DELETE .../secrets/{name},
  PATCH .../secrets/{name} (application/merge-patch+json of data and stringData)
- POST/GET(labelSelector) /apis/flux-framework.org/{version}/namespaces/{ns}/miniclusters,
  DELETE .../miniclusters/{name}; `watchers` hear of each create and delete (fake_operator.py)
- POST/GET(labelSelector) /api/v1/namespaces/{ns}/persistentvolumeclaims, GET and DELETE
  .../persistentvolumeclaims/{name}: a claim made through the API is checked as the API server
  validates one (422 without access modes or a storage request), defaulted (volumeMode,
  the pvc-protection finalizer) and bound at once to a volume of its own, a folder
  (tests/kube/podns.py claim_dir) that goes with the claim, as a dynamically provisioned
  volume's does; `add_claim` puts one there as an admin would (its folder stays). A deleted
  claim that a MiniCluster still mounts stays, Terminating (deletionTimestamp), until that
  MiniCluster is gone: the pvc-protection finalizer. Deleting a Secret deletes what names it in
  its ownerReferences (MiniClusters, claims), as Kubernetes' garbage collector does.
- GET  /api/v1/namespaces/{ns}/pods/{name}/exec?command=..&container=..   websocket upgrade,
  channel protocol v5.channel.k8s.io / v4.channel.k8s.io (stdin 0, stdout 1, stderr 2, v1 Status
  on 3; v5's close frame 255 ends stdin).
- GET  /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=..   websocket upgrade,
  v4.channel.k8s.io (fake_portforward.py), to the local addresses given with `expose()`.

Errors are v1 Status bodies with the real codes and wording: 401 without the bearer token, 403
as kube-apiserver's RBAC authorizer words it (`pods "x" is forbidden: User "..." cannot create
resource "pods/exec" in API group "" in the namespace "ns"`) for a verb taken away with
`forbid()` or not granted by the Roles given to `apply_rbac()` (then RBAC is enforced as the
real authorizer does: a Role grants only in its own namespace, so a wrong namespace is a 403),
404 for a missing object, 400 for exec into a pod that is not running or a container that is
not in the pod. A namespace that does not exist behaves as on a real server: gets answer 404 for
the object, lists are empty, GET /api/v1/namespaces/{ns} answers 404 `namespaces "x" not found`.
A command that cannot be started ends its exec stream with the kubelet's InternalError Status on
channel 3; one that exits non-zero with the NonZeroExitCode Status carrying its exit code.
With `check_body` set (a function returning a list of problems), every object the server sends
is checked and the problems are kept in `schema_problems` (the tests check them against the real
schemas); with `check_connect` set, so is every exec and portforward request's query.

Exec really runs the command on this machine, as a container runtime would, with two
differences that keep this machine safe:
- each container has a directory of its own standing for its root; the container paths listed
  in its `mounts` are bind mounts: argv elements and the working directory under them are
  mapped to the local directories (so a real flux-restful DB sits behind "/srv/flux-restful");
- `id`, `getent` and `useradd` are stand-ins (first on PATH) working on the container's own
  etc/passwd and home/, never on this machine's. The shell and python3 (the venv's) are real.
"""

import asyncio
import base64
import json
import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from .containers import FakeContainer, now, write_tools

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
SERVICE_ACCOUNT = "system:serviceaccount:jhub:hub"


def status_body(code, reason, message, details=None):
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def forbidden_body(verb, group, resource, name, ns, user=SERVICE_ACCOUNT):
    """kube-apiserver's RBAC refusal: responsewriters.Forbidden + apierrors.NewForbidden.

    The qualified resource in front is the resource without its subresource (`pods`, not
    `pods/exec`), with the group after a dot; the message then names verb and resource in full.
    """
    base = resource.split("/")[0]
    qualified = f"{base}.{group}" if group else base
    target = f'{qualified} "{name}"' if name else qualified
    where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    details = {"name": name, "kind": base} if name else {"kind": base}
    if group:
        details["group"] = group
    return status_body(
        403,
        "Forbidden",
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{group}" {where}',
        details,
    )


def _runc_error(argv, error):
    """runc's words for a command it cannot start."""
    command = argv[0] if argv else ""
    if isinstance(error, FileNotFoundError):
        if "/" not in command:
            return f'exec: "{command}": executable file not found in $PATH'
        return f'exec: "{command}": stat {command}: no such file or directory'
    return f'exec: "{command}": {error.strerror.lower()}'


def _grants(listed, wanted):
    return "*" in (listed or ()) or wanted in (listed or ())


def _selector_matches(selector, labels):
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class FakeKubeAPI:
    """The fake API server; `start()` runs it in a thread of its own on 127.0.0.1."""

    def __init__(self, workdir, *, token="hub-token", protocols=(V5, V4)):
        self.workdir = Path(workdir)
        self.token = token
        self.protocols = tuple(protocols)
        self.pods = {}  # (ns, name) -> FakePod
        self.secrets = {}  # (ns, name) -> {key: str}
        self.objects = {}  # (version, ns, name) -> dict (MiniClusters)
        self.forbidden = set()  # {(verb, resource)}
        self.rbac = None  # [Role/RoleBinding dicts] once apply_rbac() is called: RBAC enforced
        self.namespaces = set()  # namespaces that exist (those with objects in them, and more)
        self.check_body = None  # body -> [problem]: the schema check of every answer
        # (subresource, method, {name: [values]}) -> [problem]: the check of every exec and
        # portforward request's parameters
        self.check_connect = None
        self.schema_problems = []
        self.exposed = {}  # (ns, pod, port) -> (host, port) on this machine
        self.port_forwards = []  # [(ns, pod, ports)] of each port-forward websocket
        self.port_forward_drops = []  # see drop_port_forward()
        self.exec_calls = []  # [(ns, pod, container, argv)]
        self.requests = []  # [(method, path)]
        self.running = set()  # commands of exec calls, while they run
        self.secret_meta = {}  # (ns, name) -> metadata of Secrets made through the API
        self.claims = {}  # (ns, name) -> PersistentVolumeClaim (dict)
        self.dynamic_claims = set()  # (ns, name) of claims made through the API
        self.bind_claims = True  # False: new claims stay Pending (no volume for them yet)
        self.watchers = []  # callables(event, version, ns, name, body): a fake operator
        self.tools = self.workdir / "container-tools"
        self.tools.mkdir(parents=True, exist_ok=True)
        write_tools(self.tools)
        self.url = None
        self._loop = None
        self._thread = None

    # -- state ---------------------------------------------------------------------------
    def add_container(self, ns, pod, name, **kwargs):
        root = self.workdir / "roots" / ns / pod / name
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        passwd = root / "etc" / "passwd"
        if not passwd.exists():
            passwd.write_text(
                "root:x:0:0:root:/root:/bin/bash\nflux:x:1000:1000::/home/flux:/bin/bash\n"
            )
        return FakeContainer(name=name, root=root, **kwargs)

    def add_pod(self, pod):
        self.namespaces.add(pod.namespace)
        self.pods[(pod.namespace, pod.name)] = pod
        return pod

    def add_secret(self, ns, name, data):
        self.namespaces.add(ns)
        self.secrets[(ns, name)] = dict(data)

    def add_object(self, version, ns, name, body):
        self.namespaces.add(ns)
        self.objects[(version, ns, name)] = body

    def add_claim(self, ns, name, *, access_modes=("ReadWriteMany",), size="10Gi", labels=None):
        """A PersistentVolumeClaim someone else made (bound; its folder is not removed with it)."""
        self.namespaces.add(ns)
        body = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, **({"labels": dict(labels)} if labels else {})},
            "spec": {
                "accessModes": list(access_modes),
                "resources": {"requests": {"storage": size}},
            },
        }
        self.claims[(ns, name)] = _claim_made(body, ns, bind=True)
        return self.claims[(ns, name)]

    def claim_mounted(self, ns, name):
        """Whether a MiniCluster in ``ns`` mounts claim ``name`` (its pods would use it)."""
        for (_, ons, _), body in self.objects.items():
            for container in (body.get("spec") or {}).get("containers") or ():
                for volume in (container.get("volumes") or {}).values():
                    if ons == ns and volume.get("claimName") == name:
                        return True
        return False

    def release_claims(self, ns):
        """Finish deleting the Terminating claims of ``ns`` that nothing mounts any more."""
        for (cns, name), body in list(self.claims.items()):
            terminating = body["metadata"].get("deletionTimestamp")
            if cns == ns and terminating and not self.claim_mounted(ns, name):
                self._remove_claim(ns, name)

    def _remove_claim(self, ns, name):
        self.claims.pop((ns, name), None)
        if (ns, name) in self.dynamic_claims:
            self.dynamic_claims.discard((ns, name))
            from .podns import claims_root

            shutil.rmtree(claims_root(self) / ns / name, ignore_errors=True)

    def collect_garbage(self, ns, owner_uid):
        """Kubernetes' garbage collector after an owner is deleted: what names ``owner_uid``
        in its ownerReferences goes too (MiniClusters, claims)."""
        if not owner_uid:
            return

        def owned(meta):
            return any(r.get("uid") == owner_uid for r in (meta or {}).get("ownerReferences") or ())

        for key, body in list(self.objects.items()):
            if key[1] == ns and owned(body.get("metadata")):
                self.objects.pop(key, None)
                for watcher in self.watchers:
                    watcher("DELETED", key[0], ns, key[2], body)
        for (cns, name), claim in list(self.claims.items()):
            if cns == ns and owned(claim.get("metadata")):
                self._remove_claim(ns, name)
        self.release_claims(ns)

    def forbid(self, verb, resource):
        self.forbidden.add((verb, resource))

    def expose(self, ns, pod, port, address):
        """Port `port` of the pod is the local TCP address (host, port)."""
        self.exposed[(ns, pod, port)] = tuple(address)

    def drop_port_forward(self, pattern):
        """Drop the port-forward connection that carries `pattern` (bytes) from the client,
        halfway through the pod's answer (once)."""
        self.port_forward_drops.append(pattern)

    def apply_rbac(self, docs):
        """Enforce RBAC from Role and RoleBinding objects (e.g. examples/kubernetes/rbac.yaml):
        the service account may then do only what a Role bound to it in that namespace grants."""
        self.rbac = list(self.rbac or []) + [d for d in docs if d]

    def allowed(self, verb, group, resource, name, ns):
        if (verb, resource) in self.forbidden:
            return False
        if self.rbac is None:
            return True
        _, _, sa_ns, sa_name = SERVICE_ACCOUNT.split(":")
        roles = {
            d["metadata"]["name"]: d
            for d in self.rbac
            if d["kind"] == "Role" and d["metadata"].get("namespace") == ns
        }
        for binding in self.rbac:
            if binding["kind"] != "RoleBinding" or binding["metadata"].get("namespace") != ns:
                continue
            if not any(
                s.get("kind") == "ServiceAccount"
                and s.get("name") == sa_name
                and s.get("namespace", ns) == sa_ns
                for s in binding.get("subjects") or ()
            ):
                continue
            role = roles.get(binding["roleRef"]["name"])
            for rule in (role or {}).get("rules") or ():
                if (
                    _grants(rule.get("apiGroups"), group)
                    and _grants(rule.get("resources"), resource)
                    and _grants(rule.get("verbs"), verb)
                    and (not rule.get("resourceNames") or name in rule["resourceNames"])
                ):
                    return True
        return False

    def fail_useradd(self, pod, container, name="*"):
        """Make useradd fail for `name` ("*": anyone) in one container, like a locked passwd."""
        c = next(p for p in self.pods.values() if p.name == pod).containers[container]
        with open(c.root / "etc" / "useradd.fail", "a") as f:
            f.write(name + "\n")

    def kubeconfig(self, path, namespace="default"):
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "hub", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "hub", "namespace": namespace},
                }
            ],
            "current-context": "fake",
        }
        Path(path).write_text(json.dumps(doc))  # JSON is YAML
        return str(path)

    # -- server --------------------------------------------------------------------------
    def start(self):
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        ready = threading.Event()

        def serve():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            server = tornado.httpserver.HTTPServer(self._app())
            server.add_sockets(sockets)
            self._loop.call_soon(ready.set)
            self._loop.run_forever()
            server.stop()
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-kube-api", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self):
        if self._loop:
            # Commands still running (a client gave up on them) end with the server.
            asyncio.run_coroutine_threadsafe(self._end_commands(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    async def _end_commands(self):
        for command in list(self.running):
            command.kill()
            await command.done

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _app(self):
        from .fake_portforward import PortForwardHandler

        ns = r"/api/v1/namespaces/([^/]+)"
        return tornado.web.Application(
            [
                (ns + r"/pods/([^/]+)/exec", ExecHandler, {"api": self}),
                (ns + r"/pods/([^/]+)/portforward", PortForwardHandler, {"api": self}),
                (ns + r"/pods", PodsHandler, {"api": self}),
                (ns + r"/pods/([^/]+)", PodsHandler, {"api": self}),
                (ns + r"/secrets/([^/]+)", SecretHandler, {"api": self}),
                (ns, NamespaceHandler, {"api": self}),
                (
                    r"/apis/flux-framework\.org/([^/]+)/namespaces/([^/]+)/miniclusters/([^/]+)",
                    MiniClusterHandler,
                    {"api": self},
                ),
                (ns + r"/secrets", SecretsHandler, {"api": self}),
                (ns + r"/persistentvolumeclaims/([^/]+)", ClaimHandler, {"api": self}),
                (ns + r"/persistentvolumeclaims", ClaimsHandler, {"api": self}),
                (
                    r"/apis/flux-framework\.org/([^/]+)/namespaces/([^/]+)/miniclusters",
                    MiniClustersHandler,
                    {"api": self},
                ),
            ],
            default_handler_class=NotFoundHandler,
            default_handler_args={"api": self},
            log_function=lambda handler: None,
        )

    def refusal(self, request, verb, resource, name, ns):
        """(code, Status) when the request is not authenticated or not authorized, else None."""
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        group = "flux-framework.org" if resource == "miniclusters" else ""
        if not self.allowed(verb, group, resource, name, ns):
            return 403, forbidden_body(verb, group, resource, name, ns)
        return None

    def note_connect(self, subresource, request):
        """Check an exec or portforward request's parameters (check_connect), keeping what
        is wrong in schema_problems."""
        if self.check_connect:
            query = {k: [v.decode() for v in vs] for k, vs in request.query_arguments.items()}
            self.schema_problems += self.check_connect(subresource, request.method, query)


class _Handler(tornado.web.RequestHandler):
    def initialize(self, api):
        self.api = api

    def send(self, code, body):
        if self.api.check_body:
            self.api.schema_problems += self.api.check_body(body)
        self.set_status(code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def check(self, verb, resource, name, ns):
        refusal = self.api.refusal(self.request, verb, resource, name, ns)
        if refusal:
            self.send(*refusal)
        return refusal is None


class NotFoundHandler(_Handler):
    def get(self, *args):
        self.send(
            404, status_body(404, "NotFound", "the server could not find the requested resource")
        )


class NamespaceHandler(_Handler):
    def get(self, ns):
        if not self.check("get", "namespaces", ns, ""):
            return
        if ns not in self.api.namespaces:
            return self.send(404, status_body(404, "NotFound", f'namespaces "{ns}" not found'))
        self.send(
            200,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "status": {"phase": "Active"},
            },
        )


class PodsHandler(_Handler):
    def get(self, ns, name=None):
        if name is None:
            if not self.check("list", "pods", "", ns):
                return
            selector = self.get_argument("labelSelector", "")
            items = [
                p.to_json()
                for (pns, _), p in sorted(self.api.pods.items())
                if pns == ns and _selector_matches(selector, p.labels)
            ]
            return self.send(
                200,
                {
                    "apiVersion": "v1",
                    "kind": "PodList",
                    "metadata": {"resourceVersion": "1"},
                    "items": items,
                },
            )
        if not self.check("get", "pods", name, ns):
            return
        pod = self.api.pods.get((ns, name))
        if pod is None:
            return self.send(404, status_body(404, "NotFound", f'pods "{name}" not found'))
        self.send(200, pod.to_json())


class SecretHandler(_Handler):
    def get(self, ns, name):
        if not self.check("get", "secrets", name, ns):
            return
        data = self.api.secrets.get((ns, name))
        if data is None:
            return self.send(404, status_body(404, "NotFound", f'secrets "{name}" not found'))
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self.send(
            200,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": self.api.secret_meta.get((ns, name)) or {"name": name, "namespace": ns},
                "type": "Opaque",
                "data": encoded,
            },
        )


class MiniClusterHandler(_Handler):
    def get(self, version, ns, name):
        if not self.check("get", "miniclusters", name, ns):
            return
        body = self.api.objects.get((version, ns, name))
        if body is None:
            return self.send(
                404,
                status_body(404, "NotFound", f'miniclusters.flux-framework.org "{name}" not found'),
            )
        self.send(200, body)


class ExecHandler(tornado.websocket.WebSocketHandler):
    """pods/exec: refuse like the API server would, else run the command over the channels."""

    def initialize(self, api):
        self.api = api
        self.command = None
        self.channels = None  # the negotiated channel protocol

    async def get(self, ns, name):
        self.api.note_connect("exec", self.request)
        container_name = self.get_argument("container", None)
        refusal = self.api.refusal(self.request, "create", "pods/exec", name, ns)
        pod = self.api.pods.get((ns, name))
        if refusal is None and pod is None:
            refusal = 404, status_body(404, "NotFound", f'pods "{name}" not found')
        if refusal is None:
            if container_name is None and len(pod.containers) == 1:
                container_name = next(iter(pod.containers))
            if container_name is None:
                refusal = (
                    400,
                    status_body(
                        400,
                        "BadRequest",
                        f"a container name must be specified for pod {name}, choose one of: "
                        f"[{' '.join(pod.containers)}]",
                    ),
                )
            elif container_name not in pod.containers:
                refusal = (
                    400,
                    status_body(
                        400, "BadRequest", f"container {container_name} is not valid for pod {name}"
                    ),
                )
            elif pod.phase != "Running" or not pod.containers[container_name].ready:
                refusal = (
                    400,
                    status_body(
                        400,
                        "BadRequest",
                        f'unable to upgrade connection: container not found ("{container_name}")',
                    ),
                )
        if refusal:
            code, body = refusal
            self.set_status(code)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body))
            return
        self.pod, self.container = pod, pod.containers[container_name]
        self.argv = self.get_arguments("command", strip=False)
        self.api.exec_calls.append((ns, name, container_name, list(self.argv)))
        await super().get(ns, name)

    def select_subprotocol(self, subprotocols):
        for proto in subprotocols:
            if proto in self.api.protocols:
                self.channels = proto
                return proto
        return None

    async def open(self, ns, name):
        c = self.container
        argv = [c.local(a) or a if a.startswith("/") else a for a in self.argv]
        cwd = c.local(c.working_dir) if c.working_dir else None
        env = {
            "PATH": os.pathsep.join(
                [
                    *c.bin_path,
                    str(self.api.tools),
                    str(Path(sys.executable).parent),
                    "/usr/bin:/bin",
                ]
            ),
            "HOME": str(c.root / "root"),
            "LANG": "C.UTF-8",
            "FAKE_CONTAINER_ROOT": str(c.root),
        }
        if c.python_path:
            env["PYTHONPATH"] = os.pathsep.join(c.python_path)
        loop = asyncio.get_running_loop()
        try:
            _, self.command = await loop.subprocess_exec(
                lambda: Command(self, loop),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd or str(c.root),
                env=env,
            )
        except OSError as e:
            # What the kubelet sends when the runtime cannot start the command: an
            # InternalError (apierrors.NewInternalError) on the error channel, no exit code.
            cause = (
                "error executing command in container: failed to exec in container: failed to "
                f'start exec "{os.urandom(32).hex()}": OCI runtime exec failed: exec failed: '
                f"unable to start container process: {_runc_error(self.argv, e)}: unknown"
            )
            status = {
                "metadata": {},
                "status": "Failure",
                "message": f"Internal error occurred: {cause}",
                "reason": "InternalError",
                "details": {"causes": [{"message": cause}]},
                "code": 500,
            }
            self._send(3, json.dumps(status))
            self.close()
            return
        self.api.running.add(self.command)

    def finish_command(self, code):
        """The command ended and its output is sent: send its status, as the kubelet does."""
        self.api.running.discard(self.command)
        if code == 0:
            status = {"metadata": {}, "status": "Success"}
        else:
            code = code if code > 0 else 128 - code
            status = {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: exit status {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        self._send(3, json.dumps(status))
        self.close()

    def _send(self, channel, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.write_message(bytes([channel]) + data, binary=True)
        except tornado.websocket.WebSocketClosedError:
            pass

    def on_message(self, message):
        if isinstance(message, str):
            message = message.encode()
        if not message or self.command is None:
            return
        stdin = self.command.transport.get_pipe_transport(0)
        if self.channels == V5 and message[0] == 255:
            if message[1:2] == b"\x00":
                stdin.close()
            return
        if message[0] == 0 and not stdin.is_closing():
            stdin.write(message[1:])

    def on_close(self):
        if self.command is not None:
            self.command.kill()


class Command(asyncio.SubprocessProtocol):
    """An exec'd process: its stdout and stderr go to the channels as they come."""

    def __init__(self, handler, loop):
        self.handler = handler
        self.transport = None
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def pipe_data_received(self, fd, data):
        self.handler._send(fd, data)

    def connection_lost(self, exc):
        # The process exited and its pipes are drained.
        code = self.transport.get_returncode()
        self.transport.close()
        self.handler.finish_command(code)
        self.done.set_result(code)

    def kill(self):
        if self.transport.get_returncode() is None:
            self.transport.kill()


# -- Objects made and removed through the API (a MiniCluster per user: tests/kube/fake_operator.py)


def _object_meta(meta, ns):
    meta = dict(meta or {})
    meta.update(
        namespace=ns,
        uid=str(uuid.uuid4()),
        creationTimestamp=now(),
        resourceVersion=str(time.monotonic_ns()),
    )
    return meta


class SecretsHandler(_Handler):
    """POST (stringData and data, labels kept; 409 if the name is taken) and GET with
    labelSelector of Secrets, plus DELETE on a named one (SecretDeleteHandler below)."""

    def get(self, ns):
        if not self.check("list", "secrets", "", ns):
            return
        selector = self.get_argument("labelSelector", "")
        items = []
        for (sns, name), data in sorted(self.api.secrets.items()):
            meta = self.api.secret_meta.get((sns, name)) or {"name": name, "namespace": sns}
            if sns == ns and _selector_matches(selector, meta.get("labels") or {}):
                items.append(_secret_json(meta, data))
        self.send(200, {"apiVersion": "v1", "kind": "SecretList", "metadata": {}, "items": items})

    def post(self, ns):
        body = json.loads(self.request.body or b"{}")
        name = (body.get("metadata") or {}).get("name", "")
        if not self.check("create", "secrets", name, ns):
            return
        if (ns, name) in self.api.secrets:
            return self.send(
                409, status_body(409, "AlreadyExists", f'secrets "{name}" already exists')
            )
        data = {k: base64.b64decode(v).decode() for k, v in (body.get("data") or {}).items()}
        data.update(body.get("stringData") or {})
        meta = _object_meta(body.get("metadata"), ns)
        self.api.secrets[(ns, name)] = data
        self.api.secret_meta[(ns, name)] = meta
        self.send(201, _secret_json(meta, data))


def _secret_json(meta, data):
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": encoded,
    }


def _secret_delete(self, ns, name):
    if not self.check("delete", "secrets", name, ns):
        return
    if self.api.secrets.pop((ns, name), None) is None:
        return self.send(404, status_body(404, "NotFound", f'secrets "{name}" not found'))
    meta = self.api.secret_meta.pop((ns, name), None) or {}
    self.api.collect_garbage(ns, meta.get("uid"))
    self.send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}})


def _secret_patch(self, ns, name):
    if not self.check("patch", "secrets", name, ns):
        return
    data = self.api.secrets.get((ns, name))
    if data is None:
        return self.send(404, status_body(404, "NotFound", f'secrets "{name}" not found'))
    kind = self.request.headers.get("Content-Type", "")
    if kind != "application/merge-patch+json":
        message = f"the fake API server only applies merge patches to secrets, not {kind!r}"
        return self.send(415, status_body(415, "UnsupportedMediaType", message))
    body = json.loads(self.request.body or b"{}")
    for key, value in (body.get("data") or {}).items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = base64.b64decode(value).decode()
    data.update(body.get("stringData") or {})
    meta = self.api.secret_meta.setdefault((ns, name), {"name": name, "namespace": ns})
    meta["resourceVersion"] = str(time.monotonic_ns())
    self.send(200, _secret_json(meta, data))


SecretHandler.delete = _secret_delete
SecretHandler.patch = _secret_patch


class MiniClustersHandler(_Handler):
    """POST (create; 409 if taken) and GET with labelSelector of MiniClusters; DELETE of a
    named one below. Watchers (the fake operator) hear of each create and delete."""

    def get(self, version, ns):
        if not self.check("list", "miniclusters", "", ns):
            return
        selector = self.get_argument("labelSelector", "")
        items = [
            body
            for (v, ons, _), body in sorted(self.api.objects.items())
            if v == version
            and ons == ns
            and _selector_matches(selector, (body.get("metadata") or {}).get("labels") or {})
        ]
        self.send(
            200,
            {
                "apiVersion": f"flux-framework.org/{version}",
                "kind": "MiniClusterList",
                "metadata": {"resourceVersion": "1"},
                "items": items,
            },
        )

    def post(self, version, ns):
        body = json.loads(self.request.body or b"{}")
        name = (body.get("metadata") or {}).get("name", "")
        if not self.check("create", "miniclusters", name, ns):
            return
        if (version, ns, name) in self.api.objects:
            return self.send(
                409,
                status_body(
                    409, "AlreadyExists", f'miniclusters.flux-framework.org "{name}" already exists'
                ),
            )
        body["metadata"] = _object_meta(body.get("metadata"), ns)
        self.api.objects[(version, ns, name)] = body
        for watcher in self.api.watchers:
            watcher("ADDED", version, ns, name, body)
        self.send(201, body)


def _minicluster_delete(self, version, ns, name):
    if not self.check("delete", "miniclusters", name, ns):
        return
    body = self.api.objects.pop((version, ns, name), None)
    if body is None:
        return self.send(
            404, status_body(404, "NotFound", f'miniclusters.flux-framework.org "{name}" not found')
        )
    for watcher in self.api.watchers:
        watcher("DELETED", version, ns, name, body)
    self.api.release_claims(ns)  # its pods are gone: the claims they held can go
    self.send(200, body)


MiniClusterHandler.delete = _minicluster_delete


# -- PersistentVolumeClaims (a person's files on their own MiniCluster) ----------------------


def _claim_made(body, ns, *, bind):
    """A claim as the API server stores it: defaulted, and bound to a volume when ``bind``."""
    claim = json.loads(json.dumps(body))
    claim["metadata"] = _object_meta(claim.get("metadata"), ns)
    claim["metadata"].setdefault("finalizers", ["kubernetes.io/pvc-protection"])
    spec = claim.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    claim["status"] = {"phase": "Pending"}
    if bind:
        spec["volumeName"] = "pvc-" + claim["metadata"]["uid"]
        claim["status"] = {
            "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or ()),
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
        }
    return claim


def _claim_invalid(body):
    """The API server's validation of a new claim: [(field, message)] of what it refuses."""
    spec = body.get("spec") or {}
    found = []
    if not spec.get("accessModes"):
        found.append(("spec.accessModes", "Required value: at least 1 access mode is required"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        found.append(("spec.resources[storage]", "Required value"))
    return found


class ClaimsHandler(_Handler):
    """POST (create; 409 if taken, 422 if invalid) and GET with labelSelector of claims."""

    def get(self, ns):
        if not self.check("list", "persistentvolumeclaims", "", ns):
            return
        selector = self.get_argument("labelSelector", "")
        items = [
            body
            for (cns, _), body in sorted(self.api.claims.items())
            if cns == ns and _selector_matches(selector, body["metadata"].get("labels") or {})
        ]
        self.send(
            200,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaimList",
                "metadata": {"resourceVersion": "1"},
                "items": items,
            },
        )

    def post(self, ns):
        body = json.loads(self.request.body or b"{}")
        name = (body.get("metadata") or {}).get("name", "")
        if not self.check("create", "persistentvolumeclaims", name, ns):
            return
        if (ns, name) in self.api.claims:
            return self.send(
                409,
                status_body(
                    409, "AlreadyExists", f'persistentvolumeclaims "{name}" already exists'
                ),
            )
        invalid = _claim_invalid(body)
        if invalid:
            listed = ", ".join(f"{field}: {message}" for field, message in invalid)
            return self.send(
                422,
                status_body(
                    422,
                    "Invalid",
                    f'PersistentVolumeClaim "{name}" is invalid: '
                    + (listed if len(invalid) == 1 else f"[{listed}]"),
                    {
                        "name": name,
                        "kind": "PersistentVolumeClaim",
                        "causes": [
                            {"reason": "FieldValueRequired", "message": m, "field": f}
                            for f, m in invalid
                        ],
                    },
                ),
            )
        self.api.namespaces.add(ns)
        claim = _claim_made(body, ns, bind=self.api.bind_claims)
        self.api.claims[(ns, name)] = claim
        self.api.dynamic_claims.add((ns, name))
        self.send(201, claim)


class ClaimHandler(_Handler):
    def _missing(self, name):
        self.send(404, status_body(404, "NotFound", f'persistentvolumeclaims "{name}" not found'))

    def get(self, ns, name):
        if not self.check("get", "persistentvolumeclaims", name, ns):
            return
        claim = self.api.claims.get((ns, name))
        if claim is None:
            return self._missing(name)
        self.send(200, claim)

    def delete(self, ns, name):
        if not self.check("delete", "persistentvolumeclaims", name, ns):
            return
        claim = self.api.claims.get((ns, name))
        if claim is None:
            return self._missing(name)
        if self.api.claim_mounted(ns, name):
            # pvc-protection: Terminating until no pod uses it
            claim["metadata"].setdefault("deletionTimestamp", now())
            claim["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        else:
            self.api._remove_claim(ns, name)
        self.send(200, claim)
