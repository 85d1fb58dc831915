"""A new password for a person on their running MiniCluster, without restarting it.

The sidecar's ``flux-restful init`` made the person the superuser of their cluster's database
from the Secret, at the pod's start. A rotation changes that database row the way the shared
cluster's accounts are changed (flux-hub's account script through ``pods/exec`` in the
flux-restful container), then the Secret, so a restarted pod and a hub that adopts the cluster
get the same password. flux-restful checks the database at each login: the new password works
at once and the old one no longer does.
"""

from flux_hub.accounts.provisioner import DBScriptProvisioner, EnsureOp, ProvisioningError
from flux_hub.redact import redact

from ..discovery import MiniClusterLocator
from ..errors import KubernetesError
from ..runner import MiniClusterRunner
from .manifest import RESTFUL_CONTAINER, RESTFUL_PYTHON, RESTFUL_WORKDIR, VERSION


class _ClusterDB(DBScriptProvisioner):
    """The database of one person's cluster, through pods/exec."""

    def __init__(self, runner, where, **kwargs):
        super().__init__(**kwargs)
        self._runner, self._where = runner, where

    def describe(self):
        return self._where

    def run_script(self, request):
        return self._runner.run_dbscript(request)


def set_db_password(api_client, namespace, name, account, password, *, hide, timeout, log):
    """Set ``account``'s password in the flux-restful database of MiniCluster ``name``.
    ProvisioningError (with no password in it; ``hide``: the others to keep out) if not done."""
    where = f"MiniCluster {name} in namespace {namespace}"
    locator = MiniClusterLocator(
        api_client,
        name,
        namespace,
        api_version=VERSION,
        restful_container=RESTFUL_CONTAINER,
        workdir=RESTFUL_WORKDIR,
        layout="package",
        url="-",  # not used: nothing here talks to flux-restful over HTTP
        multi_user=False,
        secret_name=name,
    )
    runner = MiniClusterRunner(locator, python=RESTFUL_PYTHON, timeout=timeout)
    db = _ClusterDB(runner, where, log=log)
    op = EnsureOp(account, password, reset_password=True, superuser=True)
    secrets = [password, *hide]
    try:
        (result,) = db.ensure([op])
    except (KubernetesError, ProvisioningError) as e:
        hint = ""
        # A refusal (Forbidden; the account script's runner re-raises it as a plain
        # ProvisioningError with the passwords taken out): name this mode's Role.
        if "Kubernetes refused to" in str(e):
            hint = " For MiniClusters per person, examples/kubernetes/rbac-per-user.yaml grants it."
        raise ProvisioningError(
            f"The password of {account} on {where} was not changed: {redact(str(e), secrets)}{hint}"
        ) from None
    if not result.ok:
        raise ProvisioningError(
            f"The password of {account} on {where} was not changed: {result.error}"
        )
