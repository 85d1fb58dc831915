"""KubernetesProvisioner: the accounts of a Flux Operator MiniCluster, through `pods/exec`.

    c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.KubernetesProvisioner"
    c.KubernetesProvisioner.minicluster = "flux-sample"
    c.KubernetesProvisioner.namespace = "flux-operator"

Everything else (broker pod, flux-restful container, working directory, URL, keys, multi-user
mode) is discovered from the Kubernetes API and can be overridden here. A hub outside the
cluster reaches flux-restful through the API server's port-forward (see `port_forward`).

With a volume the lab pods and the MiniCluster share (`shared_paths`), each person's server is
told how their lab's paths map to the cluster's (FLUX_HUB_PATHS), and in multi-user mode their
account's home is their folder on it and their lab pod runs as its uid (`home_template`,
`spawner_overrides`): examples/kubernetes/README.md, "Your files on the cluster".
"""

import os
from urllib.parse import urlsplit

from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate

from flux_hub.accounts.provisioner import DBScriptProvisioner, ProvisioningError
from flux_hub.config_checks import absolute_path, kubernetes_names, not_empty, positive_seconds

from .api import load_api_client
from .discovery import DEFAULT_PORT, MiniClusterLocator
from .errors import KubernetesError
from .portforward import PortForwardRelay
from .runner import MiniClusterRunner

NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class KubernetesProvisioner(DBScriptProvisioner):
    """Create, update, deactivate and list accounts of a MiniCluster's flux-restful server."""

    minicluster = Unicode(
        config=True,
        help="""Name of the MiniCluster (the flux-framework.org custom resource).""",
    )

    namespace = Unicode(
        config=True,
        help="""Namespace of the MiniCluster.

        Defaults to the hub pod's own namespace when the hub runs in Kubernetes, else "default".
        """,
    )

    @default("namespace")
    def _namespace_default(self):
        if os.path.exists(NAMESPACE_FILE):
            with open(NAMESPACE_FILE) as f:
                return f.read().strip()
        return "default"

    kubeconfig = Unicode(
        "",
        config=True,
        help="""Path of a kubeconfig file. Empty: the pod's service account inside Kubernetes,
        else $KUBECONFIG or ~/.kube/config.""",
    )

    context = Unicode("", config=True, help="""kubeconfig context to use (empty: current).""")

    api_version = Enum(
        ["", "v1alpha2", "v1alpha1"],
        "",
        config=True,
        help="""MiniCluster API version, v1alpha2 or v1alpha1. Empty: whichever exists.""",
    )

    restful_container = Unicode(
        "",
        config=True,
        help="""Container of the broker pod that runs flux-restful.

        Empty: the one named *restful*, else the one with flux-restful's environment
        (FLUX_SECRET_KEY, FLUX_SERVER_MODE, ...), else the pod's only container.
        """,
    )

    workdir = Unicode(
        None,
        allow_none=True,
        config=True,
        help="""flux-restful's working directory in its container (where flux-restful.db is).

        None: /flux-restful-api for v1alpha1 MiniClusters, else the container's workingDir.
        """,
    )

    layout = Enum(
        ["", "package", "legacy"],
        "",
        config=True,
        help="""Server code layout: "package" (flux-restful 1.1 installed as a package) or
        "legacy" (the older server's app/ directory, as v1alpha1 runs it). Empty: by API
        version.""",
    )

    port = Int(
        0,
        min=0,
        max=65535,
        config=True,
        help="""flux-restful's port for the discovered URL (0: from the MiniCluster or the
        container's ports, else 5000). Ignored when cluster_url is set.""",
    )

    multi_user = Bool(
        None,
        allow_none=True,
        config=True,
        help="""Whether the server runs jobs as each user's Linux account (FLUX_SERVER_MODE
        multi-user). Then every account also gets a Linux user on every pod. None: from the
        container's FLUX_SERVER_MODE, or for v1alpha1 from spec.users.""",
    )

    user_containers = List(
        Unicode(),
        config=True,
        help="""In multi-user mode, the containers (by name) of each pod that get the Linux
        accounts. Empty: all of them.""",
    )

    secret_name = Unicode(
        "",
        config=True,
        help="""A Secret with FLUX_SECRET_KEY, FLUX_USER and FLUX_TOKEN (the superuser).

        Empty: followed from the flux-restful container's environment (valueFrom
        secretKeyRef, or plain values), or for v1alpha1 taken from spec.fluxRestful.
        """,
    )

    python = Unicode(
        "python3",
        config=True,
        help="""Python of the flux-restful container (must be able to import the server).""",
    )

    timeout = Float(
        600.0,
        config=True,
        help="""Seconds one exec may take (each new password costs ~0.3 s of bcrypt).""",
    )

    port_forward = Bool(
        None,
        allow_none=True,
        config=True,
        help="""Reach flux-restful through the Kubernetes API server's port-forward (what
        `kubectl port-forward` does) instead of the broker pod's cluster DNS name.

        For a hub outside the cluster, where cluster DNS names do not resolve. The hub (and
        the accounts service, in its own process) listens on port_forward_address and
        relays each connection to the broker's flux-restful port; the service account then
        also needs 'create' on 'pods/portforward'. None (default): when the hub does not run
        in a pod (no $KUBERNETES_SERVICE_HOST). Not used when cluster_url is set.
        """,
    )

    @default("port_forward")
    def _port_forward_default(self):
        return not os.environ.get("KUBERNETES_SERVICE_HOST")

    port_forward_address = Unicode(
        "127.0.0.1",
        config=True,
        help="""Local address the port-forward relay listens on.

        127.0.0.1: the hub, the accounts service and single-user servers on the same machine
        (e.g. LocalProcessSpawner, SystemdSpawner) use it. Servers elsewhere cannot: either
        listen on an address they reach (and set user_cluster_url to it; anyone who reaches
        it reaches flux-restful, which still asks for a login) or give them a URL of their
        own in user_cluster_url. See examples/kubernetes/README.md.
        """,
    )

    port_forward_port = Int(
        0,
        min=0,
        max=65535,
        config=True,
        help="""Local port of the port-forward relay (0: any free port).

        A fixed port that another account holds when the hub starts is an error naming it.
        """,
    )

    port_forward_allowed_users = List(
        Unicode(),
        config=True,
        help="""Unix accounts (names or uids) of this machine that may connect to the relay.

        Root and the hub's own account always may; a connection from any other account of
        this machine is closed before it reaches the API server. List here the accounts
        people's servers run as when they use the relay (LocalProcessSpawner, SudoSpawner).
        """,
    )

    shared_paths = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="""Folders a person's JupyterLab and the MiniCluster's pods share: {lab path:
        cluster path}, e.g. {"/home/jovyan": "/shared/home/{account}"}. The first pair is the
        person's own folder. `{account}` (the cluster account) and `{username}` (the hub user)
        are filled in per person, and the result goes to the person's server as
        FLUX_HUB_PATHS, which every front-end uses to send the cluster's path of a lab file.

        Empty (the default): nothing is shared (FLUX_HUB_PATHS=""), so a submit that names a
        lab file or folder is refused saying so. See examples/kubernetes/README.md, "Your files
        on the cluster".
        """,
    )

    home_template = Unicode(
        config=True,
        help="""Multi-user mode: the home of each person's Linux account in the MiniCluster,
        PARENT/{account} on the volume every pod mounts, e.g. "/shared/home/{account}". The
        broker makes it (mode 0700, the account's uid), the other pods point at it, and the
        person's lab pod runs as that uid (spawner_overrides), so lab and jobs are one owner.

        Default: the cluster side of the first pair of shared_paths when it ends in
        /{account}, else "" (a home of its own in each container, /home/NAME).
        """,
    )

    @default("home_template")
    def _home_template_default(self):
        first = next(iter(self.shared_paths.values()), "")
        return first if first.endswith("/{account}") else ""

    @validate("shared_paths")
    def _valid_shared_paths(self, proposal):
        for lab, cluster in proposal.value.items():
            if not lab.startswith("/") or not cluster.startswith("/"):
                raise TraitError(
                    f"KubernetesProvisioner.shared_paths: {lab!r}: {cluster!r} must be two "
                    "absolute paths (the lab's folder and the same folder on the cluster)."
                )
        return proposal.value

    @validate("home_template")
    def _valid_home_template(self, proposal):
        value = proposal.value
        parent, _, last = value.rpartition("/")
        if value and (last != "{account}" or not parent.startswith("/") or "{" in parent):
            raise TraitError(
                f"KubernetesProvisioner.home_template must be an absolute folder followed by "
                f"/{{account}}, e.g. /shared/home/{{account}}; got {value!r}."
            )
        return value

    @default("cluster_url")
    def _cluster_url_default(self):
        # At first use (or start()), never when the provisioner is made: finds the
        # MiniCluster, and outside a pod starts the relay
        if os.environ.get("FLUX_RESTFUL_HOST"):
            return os.environ["FLUX_RESTFUL_HOST"]
        if self.port_forward:
            return self.relay.url
        return self.runner.info.url

    @default("secret_key")
    def _secret_key_default(self):
        if os.environ.get("FLUX_SECRET_KEY"):
            return os.environ["FLUX_SECRET_KEY"]
        return self._credentials().secret_key or ""

    @default("superusers")
    def _superusers_default(self):
        # No hub user may ever be mapped onto the server's superuser: if it cannot be looked up
        # that is an error, not an empty list (set superusers to skip the lookup). "fluxuser"
        # is flux-restful's superuser when FLUX_USER is not set.
        admin = self._credentials().admin_user
        return sorted({admin, "fluxuser"} - {None})

    @validate("minicluster", "secret_name")
    def _valid_name(self, proposal):
        return kubernetes_names(self, proposal)

    @validate("namespace", "restful_container", "user_containers")
    def _valid_label(self, proposal):
        return kubernetes_names(self, proposal, "label")

    @validate("workdir")
    def _valid_workdir(self, proposal):
        return absolute_path(self, proposal)

    @validate("python", "port_forward_address")
    def _valid_not_empty(self, proposal):
        return not_empty(self, proposal)

    @validate("timeout")
    def _valid_timeout(self, proposal):
        return positive_seconds(self, proposal)

    _runner = None
    _keys = None
    _relay = None

    def start(self):
        """A fixed relay port is a URL known in advance (user_cluster_url, the accounts
        service's FLUX_RESTFUL_HOST) that may be handed out before this process needs
        flux-restful itself: listen from the start (unless a URL is configured). With port 0
        the URL exists only once the relay does, at first use. Making the provisioner starts
        nothing: no discovery, no relay."""
        if self.port_forward_port and self.port_forward:
            _ = self.cluster_url  # its default starts the relay, unless a URL is configured

    @property
    def relay(self):
        """The port-forward relay to flux-restful, started on first use."""
        if self._relay is None:
            runner = self.runner
            self._relay = PortForwardRelay(
                runner.locator.core.api_client,
                self.namespace,
                self._forward_target,
                address=self.port_forward_address,
                port=self.port_forward_port,
                allowed_users=self.port_forward_allowed_users,
            ).start()
        return self._relay

    def _forward_target(self, refresh):
        info = self.runner.discover() if refresh else self.runner.info
        return info.broker_pod, urlsplit(info.url).port or DEFAULT_PORT

    @property
    def runner(self):
        """The MiniClusterRunner (exec in the MiniCluster's pods), made on first use."""
        if self._runner is None:
            if not self.minicluster:
                raise ProvisioningError("KubernetesProvisioner.minicluster is not set.")
            locator = MiniClusterLocator(
                load_api_client(self.kubeconfig or None, self.context or None),
                self.minicluster,
                self.namespace,
                api_version=self.api_version or None,
                restful_container=self.restful_container or None,
                workdir=self.workdir,
                layout=self.layout or None,
                port=self.port or None,
                multi_user=self.multi_user,
                user_containers=self.user_containers,
                secret_name=self.secret_name or None,
            )
            self._runner = MiniClusterRunner(
                locator,
                python=self.python,
                timeout=self.timeout,
                home_template=self.home_template,
            )
        return self._runner

    def server_mode(self, account):
        """flux_server_mode if set, else as the MiniCluster was discovered (None if it cannot
        be looked up now: the server then assumes single-user)."""
        if self.flux_server_mode:
            return self.flux_server_mode
        try:
            return "multi-user" if self.runner.info.multi_user else "single-user"
        except (KubernetesError, ProvisioningError):
            return None

    def server_endpoint(self, account):
        """As for any cluster, but without the secret key when the MiniCluster runs the legacy
        server (or it cannot be told now): that key signs every access token there, so a
        person holding it could act as anyone. People's clients log in with the password
        form instead, which both servers take."""
        url, secret_key = super().server_endpoint(account)
        if secret_key and self._legacy_or_unknown():
            return url, ""
        return url, secret_key

    def _legacy_or_unknown(self):
        if self.layout:
            return self.layout == "legacy"
        try:
            return self.runner.info.layout == "legacy"
        except (KubernetesError, ProvisioningError):
            return True

    def reader_credentials(self):
        """The MiniCluster's superuser (FLUX_USER and FLUX_TOKEN of flux-restful's container
        or the configured Secret) at cluster_url; None for the legacy server (no guard) or
        when no superuser password is configured."""
        if self._legacy_or_unknown():
            return None
        keys = self._credentials()
        if not keys.admin_user or not keys.admin_password:
            return None
        from flux_hub.reader import ReaderCredentials

        return ReaderCredentials(
            url=self.cluster_url,
            user=keys.admin_user,
            password=keys.admin_password,
            secret_key=self.secret_key,
        )

    def describe(self):
        """The MiniCluster and its namespace, for messages."""
        return f"MiniCluster {self.minicluster} in namespace {self.namespace}"

    def serves_legacy(self):
        """Whether the MiniCluster runs the legacy server: the layout if set, else as discovered,
        else true for v1alpha1."""
        # v1alpha1 MiniClusters run the legacy server unless a layout says otherwise
        if self.layout:
            return self.layout == "legacy"
        if self._runner is not None and self._runner._info is not None:
            return self._runner._info.layout == "legacy"
        return self.api_version == "v1alpha1"

    def run_script(self, request):
        """Run the DB script in the flux-restful container (one exec)."""
        return self.runner.run_dbscript(request)

    def ensure_host_accounts(self, names):
        """Multi-user mode: each account's Linux user on every pod, before its DB row.

        Also what gives existing accounts their Linux users again on a replaced pod (a new pod
        starts without them): no DB change and no bcrypt, one exec per container, which forks
        only for the missing users. Returns {name: error} of the failures.
        """
        info = self.runner.discover()
        if not info.multi_user or not names:
            return {}
        return self.runner.ensure_linux_users(list(names), info)

    def lab_environment(self, account, hub_user):
        """FLUX_HUB_PATHS for the person's server: shared_paths filled in for them ("" when
        nothing is shared: their server then says so instead of sending lab paths)."""
        if not self.shared_paths:
            return {"FLUX_HUB_PATHS": ""}
        from flux_hub.paths import render

        return {"FLUX_HUB_PATHS": render(self.shared_paths, account=account, username=hub_user)}

    def spawner_overrides(self, account, hub_user):
        """Multi-user mode with homes on the shared volume: the person's lab pod runs as their
        account's uid and gid, the owner of their folder there and of their jobs' files. No
        fsGroup: on volumes that honour it the kubelet would give every file of the volume to
        that group (group-readable), which would open everyone's folder to everyone."""
        if not self.home_template or self.server_mode(account) != "multi-user":
            return {}
        runner = self.runner
        info = runner.discover()
        ids = runner.linux_ids(account, info)
        if ids is None:
            # Not on the broker (a replaced pod): make it again everywhere, then ask again.
            errors = runner.ensure_linux_users([account], info) if info.multi_user else {}
            ids = None if errors else runner.linux_ids(account, info)
            if ids is None:
                why = errors.get(account) or "it does not exist on the broker pod"
                raise ProvisioningError(
                    f"The Linux account {account} of {self.describe()} cannot be used for "
                    f"the server's uid: {why}"
                )
        uid, gid, owner = ids
        if owner != uid:
            # Not the account's (e.g. jovyan's, from a single-user setup): its lab could not
            # write its own home. Say so rather than start it.
            home = self.home_template.replace("{account}", account)
            raise ProvisioningError(
                f"{home} on the shared volume of {self.describe()} belongs to uid {owner}, not "
                f"to the account {account} (uid {uid}): if its files are the account's, give it "
                f"to the account (chown -R {uid}:{gid} {home}), else move it away; then start "
                "again."
            )
        return {"uid": uid, "gid": gid, "fs_gid": None}

    def _credentials(self):
        if self._keys is not None:
            return self._keys
        try:
            self._keys = self.runner.locator.credentials(self.runner.info)
            return self._keys
        except KubernetesError as e:
            raise ProvisioningError(
                f"Cannot read the flux-restful keys of {self.describe()}: {e}"
            ) from None
