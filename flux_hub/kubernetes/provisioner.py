"""KubernetesProvisioner: the accounts of a Flux Operator MiniCluster, through `pods/exec`.

    c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.KubernetesProvisioner"
    c.KubernetesProvisioner.minicluster = "flux-sample"
    c.KubernetesProvisioner.namespace = "flux-operator"

Everything else (broker pod, flux-restful container, working directory, URL, keys, multi-user
mode) is discovered from the Kubernetes API and can be overridden here.
"""

import os

from traitlets import Bool, Float, Int, List, Unicode, default

from flux_hub.accounts.provisioner import DBScriptProvisioner, ProvisioningError

from .api import load_api_client
from .discovery import MiniClusterLocator
from .errors import KubernetesError
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

    api_version = Unicode(
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

    layout = Unicode(
        "",
        config=True,
        help="""Server code layout: "package" (flux-restful 1.1 installed as a package) or
        "legacy" (the older server's app/ directory, as v1alpha1 runs it). Empty: by API
        version.""",
    )

    port = Int(
        0,
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

    @default("cluster_url")
    def _cluster_url_default(self):
        return os.environ.get("FLUX_RESTFUL_HOST") or self.runner.info.url

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

    _runner = None
    _keys = None

    @property
    def runner(self):
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
            self._runner = MiniClusterRunner(locator, python=self.python, timeout=self.timeout)
        return self._runner

    def describe(self):
        return f"MiniCluster {self.minicluster} in namespace {self.namespace}"

    def serves_legacy(self):
        # v1alpha1 MiniClusters run the legacy server unless a layout says otherwise
        if self.layout:
            return self.layout == "legacy"
        if self._runner is not None and self._runner._info is not None:
            return self._runner._info.layout == "legacy"
        return self.api_version == "v1alpha1"

    def run_script(self, request):
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
