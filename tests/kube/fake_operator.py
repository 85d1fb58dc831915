"""A fake Flux Operator for the fake API server: MiniClusters made through the API become pods.

What is real and what is not:
- real: the MiniCluster and Secret objects as the hub wrote them (through the real kubernetes
  client), and, on the broker, a real flux-restful 1.1.0 server (a LocalCluster: real Flux in
  the real lane, the simulated instance in the other) configured from the Secret the sidecar's
  ``secrets`` name (FLUX_SECRET_KEY, FLUX_TOKEN_SIGNING_KEY, FLUX_USER/FLUX_TOKEN as its
  superuser, as ``flux-restful init`` makes it), with spec.size nodes;
- not real: the pods are records in the fake API server; the server listens on 127.0.0.1 at a
  port of its own, so the hub is told the URL with ``url_for`` (a cluster's DNS name does not
  resolve here); ``start_servers=False`` makes pods without starting any server (the bench).
- the pods' files: the broker's processes (flux-restful, the Flux instance and every job) run in
  a mount namespace of their own (tests/kube/podns.py) with the MiniCluster's volumes
  (``spec.containers[].volumes``: a claim is a folder of the fake API server's, ``claim_dir``;
  hostPath and emptyDir too) bind-mounted at their paths, and the fake API server's folder of
  claims hidden: a lab-side path of those files does not exist in the pod, and a mount path
  (e.g. /shared) is an empty folder outside it. ``mount_namespaces=False`` turns that off.
- multi-user (the sidecar's FLUX_SERVER_MODE=multi-user), in both lanes: each job runs as its
  owner's account of the pod, as the hub made it there (useradd through pods/exec, the broker's
  flux-restful container's etc/passwd and etc/group, bound at /etc/passwd and /etc/group in the
  pod), never as an account of this machine. The pods' files start with this machine's system
  accounts (root, flux, munge, ...: real Flux's instance owner, MUNGE and the IMP's) and the
  group flux-hub-users that the pod's accounts join (LocalCluster opens the instance's rundir
  to it), as a real Flux Operator image has its own (``_accounts_of``).
  A home useradd made through an exec is recorded as the exec saw it (the claim's folder here,
  hidden in the pod): give the sidecar FLUX_HUB_HOME_TEMPLATE (as the example does) for jobs
  submitted without a working directory.

Like the operator, it works in the background: pods appear Pending, and become Running and ready
once the broker's flux-restful answers.
"""

import json
import shutil
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from flux_hub.accounts.system import PEOPLE_GROUP, ensure_people_group, ensure_service_account
from flux_hub.local import LocalCluster
from flux_hub.local.cluster import (
    INSTANCE_OWNER,
    INSTANCE_OWNER_HOME,
    STATE_FILE,
    LocalClusterError,
    choose_flux,
)

from .containers import FakePod, pod_accounts
from .podns import PodCluster, claim_dir, claims_root

WORKDIR = "/srv/flux-restful"
# The operator's flux view, where the sidecar installed flux-restful: this venv stands for it
# (flux-restful and flux-hub's account script's needs are installed in it).
FLUX_VIEW = "/mnt/flux/view"


class FakeFluxOperator:
    def __init__(
        self,
        api,
        workdir,
        *,
        start_servers=True,
        nodes_cap=None,
        workers=4,
        mount_namespaces=True,
    ):
        self.api = api
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start_servers = start_servers
        self.nodes_cap = nodes_cap  # at most this many Flux nodes per cluster (memory)
        self.clusters = {}  # (ns, name) -> LocalCluster
        self.urls = {}  # name -> URL of its flux-restful
        self.urls_file = self.workdir / "urls.json"
        self.seen = []  # (event, name) in the order the operator heard of them
        self.errors = {}  # name -> why its server could not start
        self.mount_namespaces = mount_namespaces
        self.volumes = {}  # (ns, name) -> {mount path: local folder} of its pods
        self.start_seconds = []  # (name, seconds) each server took to start, namespace and all
        self._lock = threading.Lock()
        self._last = {}  # (ns, name) -> the future of its latest event
        # Cleared: servers wait to start (pods stay Pending) until it is set again.
        self.gate = threading.Event()
        self.gate.set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fake-operator")
        self._save_urls()
        api.watchers.append(self._event)

    def url_for(self, name, namespace):
        return self.urls.get(name, f"http://{name}.invalid:5000")

    def settle(self, timeout=120):
        """Wait until every event heard so far has been handled."""
        with self._lock:
            pending = list(self._last.values())
        wait(pending, timeout)

    def stop(self):
        self.gate.set()
        self.api.watchers.remove(self._event)
        self._pool.shutdown(wait=True)
        for cluster in list(self.clusters.values()):
            cluster.stop()
        self.clusters.clear()

    # -- events from the API server's thread: the work goes to the operator's own ----------
    def _event(self, event, version, ns, name, body):
        if version != "v1alpha2":
            return
        with self._lock:
            self.seen.append((event, name))
        if event == "ADDED":
            work = (self._create, ns, name, json.loads(json.dumps(body)))
        else:
            work = (self._delete, ns, name)
        with self._lock:
            # One MiniCluster's events are handled in order (a delete, then a new create).
            previous = self._last.get((ns, name))
            self._last[(ns, name)] = self._pool.submit(self._after, previous, *work)

    @staticmethod
    def _after(previous, func, *args):
        if previous is not None:
            wait([previous])
        func(*args)

    def _create(self, ns, name, body):
        spec = body.get("spec") or {}
        size = int(spec.get("size") or 1)
        containers = spec.get("containers") or []
        restful = next((c for c in containers if c.get("name") == "flux-restful"), None)
        restful_dir = self.workdir / ns / name
        restful_dir.mkdir(parents=True, exist_ok=True)
        labels = (spec.get("pod") or {}).get("labels") or {}
        mounts = self._volumes(ns, containers, restful_dir)
        self.volumes[(ns, name)] = {target: source for source, target, _ in mounts}
        pods = self._make_pods(ns, name, size, containers, restful_dir, labels)
        environment = (restful or {}).get("environment") or {}
        multi_user = environment.get("FLUX_SERVER_MODE") == "multi-user"
        if restful is None or not self.start_servers:
            for pod in pods:
                pod.phase = "Running"
            return
        keys = {}
        for env, ref in (restful.get("secrets") or {}).items():
            value = self.api.secrets.get((ns, ref.get("name")), {}).get(ref.get("key"))
            if value is not None:
                keys[env] = value
        self.gate.wait()
        try:
            if multi_user:
                mounts = mounts + self._accounts_of(pods)
            started = time.perf_counter()
            # flux-hub's own settings of the sidecar (FLUX_HUB_HOME_TEMPLATE, the guard's limits)
            settings = {k: str(v) for k, v in environment.items() if k.startswith("FLUX_HUB_")}
            cluster = self._start_server(restful_dir, keys, size, mounts, multi_user, settings)
            self.start_seconds.append((name, time.perf_counter() - started))
        except Exception as e:  # the pod would crash-loop; the hub sees it never gets ready
            self.errors[name] = str(e)
            for pod in pods:
                pod.phase = "Running"
            pods[0].containers["flux-restful"].ready = False
            return
        if (body.get("apiVersion", "").split("/")[-1], ns, name) not in self.api.objects:
            cluster.stop()  # deleted while it started
            return
        self.clusters[(ns, name)] = cluster
        self.urls[name] = cluster.url
        self._save_urls()
        for pod in pods:
            pod.phase = "Running"

    def _volumes(self, ns, containers, restful_dir):
        """[(local folder, mount path, read only)] of the pods' volumes: every container's
        (the runFlux container's first, where jobs run; one folder per mount path)."""
        mounts = {}
        ordered = sorted(containers, key=lambda c: not c.get("runFlux"))
        for spec in ordered:
            for vname, volume in (spec.get("volumes") or {}).items():
                target = volume.get("path")
                if not target or target in mounts:
                    continue
                if volume.get("claimName"):
                    source = claim_dir(self.api, ns, volume["claimName"])
                elif volume.get("hostPath"):
                    source = Path(volume["hostPath"])
                elif volume.get("emptyDir"):
                    source = restful_dir / "emptydir" / vname
                    source.mkdir(parents=True, exist_ok=True)
                else:  # config maps, secrets, CSI: not modelled
                    continue
                mounts[target] = (str(source), target, bool(volume.get("readOnly")))
        return list(mounts.values())

    def _accounts_of(self, pods):
        """The pods' accounts as their processes see them (containers.pod_accounts): in every
        container this machine's system accounts (root, flux, munge, ...) and the image's own,
        and the people the hub makes through pods/exec; the broker's flux-restful container's
        etc/passwd and etc/group (where the hub's useradd writes) are bound at /etc/passwd and
        /etc/group in the pod. With real Flux the instance runs as the machine's flux, MUNGE
        as its munge, and the rundir is opened to the group flux-hub-users, which the pod's
        accounts join as useradd makes them (the image's default group), as a real Flux
        Operator image would have its Flux user and its people's group."""
        if not self.mount_namespaces:
            raise RuntimeError(
                "the fake operator runs a multi-user MiniCluster in pod namespaces only "
                "(without them jobs would run as this machine's accounts)"
            )
        groups = ()
        if choose_flux() is not None:
            # Made as LocalCluster makes them before its instance starts: here first, so the
            # pods' files have them
            ensure_service_account(
                INSTANCE_OWNER, INSTANCE_OWNER_HOME, "Flux instance owner (flux-hub)"
            )
            ensure_people_group()
            groups = (PEOPLE_GROUP,)
        files = {}
        for pod in pods:
            for container in pod.containers.values():
                files[(pod.name, container.name)] = pod_accounts(container.root, groups)
        passwd, group = files[(pods[0].name, "flux-restful")]
        return [(str(passwd), "/etc/passwd", False), (str(group), "/etc/group", True)]

    def _start_server(self, *args, **kwargs):
        # The port LocalCluster picks is free when picked; another test's server (other
        # accounts' too) may take it before flux-restful binds it: a pod would restart
        for attempt in range(3):
            try:
                return self._start_once(*args, **kwargs)
            except LocalClusterError as error:
                if attempt == 2 or " is held by " not in str(error) and "in use" not in str(error):
                    raise

    def _start_once(self, restful_dir, keys, size, mounts=(), multi_user=False, server_env=None):
        state = restful_dir / STATE_FILE
        admin = keys.get("FLUX_USER") or "fluxuser"
        if not state.exists():
            state.write_text(
                json.dumps(
                    {
                        "secret_key": keys["FLUX_SECRET_KEY"],
                        "token_signing_key": keys["FLUX_TOKEN_SIGNING_KEY"],
                        "passwords": {admin: keys["FLUX_TOKEN"]},
                    }
                )
            )
            state.chmod(0o600)
        nodes = min(size, self.nodes_cap) if self.nodes_cap else size
        if not self.mount_namespaces:
            cluster = LocalCluster(
                restful_dir, admin_user=admin, nodes=nodes, cores_per_node=2, server_env=server_env
            )
        else:
            cluster = PodCluster(
                restful_dir,
                multi_user=multi_user,
                server_env=server_env,
                admin_user=admin,
                nodes=nodes,
                cores_per_node=2,
                mounts=mounts,
                hidden=[claims_root(self.api)],
            )
        return cluster.start(timeout=120)

    def _make_pods(self, ns, name, size, containers, restful_dir, labels, service="flux-service"):
        pods = []
        for index in range(size):
            pod_name = f"{name}-{index}-{uuid.uuid4().hex[:5]}"
            made = []
            for number, spec in enumerate(containers):
                cname = spec.get("name") or (name if number == 0 else f"{name}-{number}")
                # An exec sees the volumes where the pod's processes do
                mounts = dict(self.volumes.get((ns, name), {}))
                if index == 0 and cname == "flux-restful":
                    mounts.update({WORKDIR: str(restful_dir), FLUX_VIEW: sys.prefix})
                env = [
                    {"name": k, "value": str(v)} for k, v in (spec.get("environment") or {}).items()
                ]
                env += [
                    {"name": k, "valueFrom": {"secretKeyRef": {"name": r["name"], "key": r["key"]}}}
                    for k, r in (spec.get("secrets") or {}).items()
                ]
                made.append(
                    self.api.add_container(
                        ns,
                        pod_name,
                        cname,
                        env=env,
                        working_dir=spec.get("workingDir", ""),
                        ports=list(spec.get("ports") or ()),
                        mounts=mounts,
                    )
                )
            pods.append(
                self.api.add_pod(
                    FakePod(
                        namespace=ns,
                        name=pod_name,
                        containers={c.name: c for c in made},
                        labels={
                            **labels,
                            "job-name": name,
                            "batch.kubernetes.io/job-name": name,
                        },
                        annotations={"batch.kubernetes.io/job-completion-index": str(index)},
                        hostname=f"{name}-{index}",
                        subdomain=service,
                        phase="Pending",
                    )
                )
            )
        return pods

    def _delete(self, ns, name):
        for key, pod in list(self.api.pods.items()):
            if key[0] == ns and pod.labels.get("job-name") == name:
                self.api.pods.pop(key, None)
        cluster = self.clusters.pop((ns, name), None)
        self.urls.pop(name, None)
        self._save_urls()
        if cluster is not None:
            cluster.stop()
        # The pods' storage goes with them: a MiniCluster made again starts afresh.
        shutil.rmtree(self.workdir / ns / name, ignore_errors=True)

    def _save_urls(self):
        with self._lock:
            tmp = self.urls_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.urls))
            tmp.replace(self.urls_file)


def url_from_file(path):
    """A cluster_url_for for a hub in another process: reads the operator's urls.json."""

    def url_for(name, namespace):
        urls = json.loads(Path(path).read_text())
        return urls.get(name, f"http://{name}.invalid:5000")

    return url_for
