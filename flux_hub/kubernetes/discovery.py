"""Find a MiniCluster's flux-restful server: broker pod, container, working directory, URL, keys.

Both Flux Operator generations are understood:

- flux-framework.org/v1alpha1: the operator runs the older server (the `app/` layout) inside the
  Flux container from /flux-restful-api; users come from spec.users and the server's settings
  from spec.fluxRestful (port, secretKey, username, token). Multi-user when spec.users is set.
- flux-framework.org/v1alpha2: the operator knows nothing of flux-restful; the cluster owner runs
  flux-restful 1.1.0 as a sidecar container next to Flux and configures it with environment
  variables (FLUX_SECRET_KEY etc., best from a Secret). Multi-user when FLUX_SERVER_MODE says so.

The pods of a MiniCluster are an indexed Job's: label job-name=<name>, named <name>-<index>-<5
random>, hostname <name>-<index> in the headless service's subdomain. The operator patches a
job-index label in only after the pod starts, so the broker (index 0) is found from the Job
controller's completion-index annotation, the hostname or the name as well.
"""

import base64
import re
from dataclasses import dataclass, field

from .api import api_errors
from .errors import ConfigurationError, MiniClusterNotFound, PodNotFound, PodNotReady

GROUP = "flux-framework.org"
VERSIONS = ("v1alpha2", "v1alpha1")
DEFAULT_PORT = 5000
DEFAULT_SERVICE = "flux-service"
LEGACY_WORKDIR = "/flux-restful-api"
INDEX_KEYS = ("batch.kubernetes.io/job-completion-index", "job-index")
# Environment that only a flux-restful server's container has.
RESTFUL_ENV = {
    "FLUX_SECRET_KEY",
    "FLUX_TOKEN_SIGNING_KEY",
    "FLUX_AUTH_BACKEND",
    "FLUX_REQUIRE_AUTH",
    "FLUX_SERVER_MODE",
}
# flux-restful's environment names -> spec.fluxRestful fields of a v1alpha1 MiniCluster.
CREDENTIALS = {"FLUX_SECRET_KEY": "secretKey", "FLUX_USER": "username", "FLUX_TOKEN": "token"}


@dataclass(frozen=True)
class MiniClusterInfo:
    """Where a MiniCluster's flux-restful runs and how to reach it (no secrets in here)."""

    namespace: str
    name: str
    api_version: str  # "v1alpha1" | "v1alpha2"
    broker_pod: str
    restful_container: str
    workdir: str  # the server's working directory in that container ("" = exec's default)
    layout: str  # "package" (flux-restful 1.1.0) | "legacy" (app/ at /flux-restful-api)
    url: str
    multi_user: bool
    # (pod, container) pairs that get Linux accounts in multi-user mode; the broker's
    # flux-restful container comes first (its uid is the one the others copy).
    user_targets: tuple = ()


@dataclass(frozen=True)
class ServerCredentials:
    """The server's shared secret and superuser, from a Secret or configuration."""

    secret_key: str | None = field(default=None, repr=False)
    admin_user: str | None = None
    admin_password: str | None = field(default=None, repr=False)


class MiniClusterLocator:
    """Discover one MiniCluster; every setting left None is found from the API."""

    def __init__(
        self,
        api_client,
        name,
        namespace,
        *,
        api_version=None,
        restful_container=None,
        workdir=None,
        layout=None,
        url=None,
        port=None,
        multi_user=None,
        user_containers=None,
        secret_name=None,
    ):
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.name, self.namespace = name, namespace
        self.api_version = api_version
        self.restful_container = restful_container
        self.workdir, self.layout, self.url, self.port = workdir, layout, url, port
        self.multi_user = multi_user
        self.user_containers = tuple(user_containers or ())
        self.secret_name = secret_name

    # -- API reads -----------------------------------------------------------------------
    def minicluster(self):
        """(version, object) of the MiniCluster custom resource."""
        versions = (self.api_version,) if self.api_version else VERSIONS
        for version in versions:
            with api_errors(
                f"get MiniCluster {self.name} in namespace {self.namespace}",
                not_found=lambda message: None,
            ):
                obj = self.custom.get_namespaced_custom_object(
                    GROUP, version, self.namespace, "miniclusters", self.name
                )
                return version, obj
        looked = " or ".join(f"{GROUP}/{v}" for v in versions)
        raise MiniClusterNotFound(
            f"There is no MiniCluster {self.name!r} in namespace {self.namespace!r} "
            f"(looked for {looked})."
        )

    def pods(self):
        """The MiniCluster's live pods (not finished, not being deleted), by index."""
        with api_errors(f"list pods in namespace {self.namespace}"):
            found = self.core.list_namespaced_pod(
                self.namespace, label_selector=f"job-name={self.name}"
            ).items
        live = [
            p
            for p in found
            if not p.metadata.deletion_timestamp
            and (p.status.phase if p.status else None) not in ("Succeeded", "Failed")
        ]
        return sorted(live, key=lambda p: (self._index(p), p.metadata.name))

    def pod(self, name):
        with api_errors(
            f"get pod {name} in namespace {self.namespace}",
            not_found=lambda message: PodNotFound(
                f"Pod {name} of MiniCluster {self.name} in namespace {self.namespace} is gone "
                "(restarted?); it will be looked up again next time."
            ),
        ):
            return self.core.read_namespaced_pod(name, self.namespace)

    def secret(self, name):
        with api_errors(
            f"get secret {name} in namespace {self.namespace}",
            not_found=lambda message: ConfigurationError(
                f"Secret {name!r} does not exist in namespace {self.namespace!r}."
            ),
        ):
            data = self.core.read_namespaced_secret(name, self.namespace).data or {}
        return {k: base64.b64decode(v).decode("utf-8") for k, v in data.items()}

    # -- discovery -----------------------------------------------------------------------
    def discover(self):
        version, obj = self.minicluster()
        spec = obj.get("spec") or {}
        pods = self.pods()
        brokers = [p for p in pods if self._index(p) == 0]
        if not brokers:
            raise PodNotFound(
                f"MiniCluster {self.name} in namespace {self.namespace} has no broker pod "
                f"(index 0, label job-name={self.name}) yet; is it starting?"
            )
        # A restarted broker may briefly coexist with its predecessor: take the ready, newest.
        broker = max(brokers, key=lambda p: (_pod_ready(p), p.metadata.creation_timestamp))
        container = self._restful_container(broker)
        legacy = (self.layout or ("legacy" if version == "v1alpha1" else "package")) == "legacy"
        workdir = self.workdir
        if workdir is None:
            workdir = LEGACY_WORKDIR if legacy else (container.working_dir or "")
        multi_user = self.multi_user
        if multi_user is None:
            mode = _env_value(container, "FLUX_SERVER_MODE")
            multi_user = mode == "multi-user" if mode else bool(spec.get("users"))
        targets = ()
        if multi_user:
            targets = ((broker.metadata.name, container.name),) + tuple(
                (p.metadata.name, c.name)
                for p in pods
                for c in p.spec.containers
                if (not self.user_containers or c.name in self.user_containers)
                and (p.metadata.name, c.name) != (broker.metadata.name, container.name)
            )
        return MiniClusterInfo(
            namespace=self.namespace,
            name=self.name,
            api_version=version,
            broker_pod=broker.metadata.name,
            restful_container=container.name,
            workdir=workdir,
            layout="legacy" if legacy else "package",
            url=self.url or self._url(broker, container, spec, version),
            multi_user=multi_user,
            user_targets=targets,
        )

    def credentials(self, info):
        """FLUX_SECRET_KEY and the superuser: configured Secret > container env > v1alpha1 spec."""
        configured = self.secret(self.secret_name) if self.secret_name else {}
        pod = self.pod(info.broker_pod)
        container = next(c for c in pod.spec.containers if c.name == info.restful_container)
        rest = {}
        if info.api_version == "v1alpha1":
            rest = (self.minicluster()[1].get("spec") or {}).get("fluxRestful") or {}
        secrets = {}
        values = {}
        for env_name, field_name in CREDENTIALS.items():
            value = configured.get(env_name)
            for var in container.env or ():
                if value is None and var.name == env_name:
                    ref = var.value_from.secret_key_ref if var.value_from else None
                    if ref is not None:
                        if ref.name not in secrets:
                            secrets[ref.name] = self.secret(ref.name)
                        value = secrets[ref.name].get(ref.key)
                    else:
                        value = var.value
            values[env_name] = value if value is not None else (rest.get(field_name) or None)
        return ServerCredentials(
            secret_key=values["FLUX_SECRET_KEY"],
            admin_user=values["FLUX_USER"],
            admin_password=values["FLUX_TOKEN"],
        )

    def require_ready(self, pod_name, container):
        """Raise PodNotReady (or PodNotFound) unless the container is running and ready."""
        pod = self.pod(pod_name)
        phase = pod.status.phase if pod.status else "Unknown"
        for status in (pod.status.container_statuses if pod.status else None) or ():
            if status.name == container and phase == "Running" and status.ready:
                return pod
        raise PodNotReady(
            f"Pod {pod_name} of MiniCluster {self.name} in namespace {self.namespace} is not "
            f"ready (phase {phase}; container {container} not ready). Try again once "
            f"`kubectl get pod -n {self.namespace} {pod_name}` shows it Running and ready."
        )

    def _index(self, pod):
        """The pod's completion index, from whichever of the usual places has it (else -1)."""
        meta = pod.metadata
        for source in (meta.annotations or {}, meta.labels or {}):
            for key in INDEX_KEYS:
                if str(source.get(key, "")).isdigit():
                    return int(source[key])
        hostname = pod.spec.hostname if pod.spec else None
        for text, pattern in (
            (hostname or "", rf"{re.escape(self.name)}-(\d+)"),
            (meta.name, rf"{re.escape(self.name)}-(\d+)-[a-z0-9]{{5}}"),
        ):
            found = re.fullmatch(pattern, text)
            if found:
                return int(found.group(1))
        return -1

    def _restful_container(self, pod):
        containers = list(pod.spec.containers)
        names = ", ".join(c.name for c in containers)
        if self.restful_container:
            for c in containers:
                if c.name == self.restful_container:
                    return c
            raise ConfigurationError(
                f"Pod {pod.metadata.name} has no container {self.restful_container!r} "
                f"(it has {names})."
            )
        candidates = [c for c in containers if "restful" in c.name] or [
            c for c in containers if RESTFUL_ENV & {v.name for v in c.env or ()}
        ]
        if len(candidates) == 1:
            return candidates[0]
        if len(containers) == 1:
            return containers[0]
        raise ConfigurationError(
            f"Cannot tell which container of pod {pod.metadata.name} runs flux-restful "
            f"(it has {names}); configure the container name."
        )

    def _url(self, broker, container, spec, version):
        hostname = broker.spec.hostname or f"{self.name}-0"
        service = (
            broker.spec.subdomain
            or (spec.get("network") or {}).get("headlessName")
            or DEFAULT_SERVICE
        )
        port = self.port
        if port is None and version == "v1alpha1":
            port = (spec.get("fluxRestful") or {}).get("port")
        if port is None and container.ports:
            port = container.ports[0].container_port
        return (
            f"http://{hostname}.{service}.{self.namespace}.svc.cluster.local:{port or DEFAULT_PORT}"
        )


def _pod_ready(pod):
    for condition in (pod.status.conditions if pod.status else None) or ():
        if condition.type == "Ready":
            return condition.status == "True"
    return False


def _env_value(container, name):
    for var in container.env or ():
        if var.name == name and var.value is not None:
            return var.value
    return None
