"""Errors of the Kubernetes side, each a sentence an admin can act on.

Messages name the namespace, pod and container involved and never carry a password, a
secret key or a request body: they end up on the hub's admin page and in its log.
They are ProvisioningErrors, so the accounts core records them like any provisioner failure.
"""

from flux_hub.accounts.provisioner import ProvisioningError


class KubernetesError(ProvisioningError):
    """Something about the MiniCluster on Kubernetes that stops the hub from doing its job."""


class ApiUnavailable(KubernetesError):
    """The Kubernetes API server did not answer (or answered with a server error)."""


class MiniClusterNotFound(KubernetesError):
    """No MiniCluster of that name in that namespace (in either operator generation)."""


class PodNotFound(KubernetesError):
    """The MiniCluster has no (broker) pod, or the pod went away."""


class PodNotReady(KubernetesError):
    """The pod exists but its container is not running and ready yet."""


class Forbidden(KubernetesError):
    """RBAC refused the hub's service account; the message says which verb on what."""


class ConfigurationError(KubernetesError):
    """Discovery cannot tell something and it has to be configured (the message says which)."""


class ExecFailed(KubernetesError):
    """The command ran in the container and failed: exit code and its stderr are kept."""

    def __init__(self, message, *, exit_code=None, stderr=""):
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr
