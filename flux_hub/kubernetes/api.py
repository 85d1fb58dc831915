"""The Kubernetes API client: how the hub connects, and how API failures become readable errors.

All Kubernetes calls of flux-hub go through `kubernetes.client` objects built on an ApiClient
made here, and every failure of such a call is turned into one of the errors in `errors.py`
by `api_errors` (one place for the mapping).
"""

import json
import os
from contextlib import contextmanager

from urllib3.exceptions import HTTPError as TransportError

from .errors import ApiUnavailable, Forbidden, KubernetesError


def load_api_client(kubeconfig=None, context=None):
    """An ApiClient of its own (the client's global default configuration is left alone).

    In a pod (KUBERNETES_SERVICE_HOST set) and without an explicit kubeconfig the pod's service
    account is used; otherwise the kubeconfig file (KUBECONFIG or ~/.kube/config by default).
    """
    from kubernetes import client, config

    if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    try:
        return config.new_client_from_config(config_file=kubeconfig or None, context=context)
    except config.ConfigException as e:
        raise KubernetesError(f"Cannot load the Kubernetes configuration: {e}") from None


def status_message(body):
    """The `message` of a Kubernetes v1 Status body (JSON text or bytes), else the text itself."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return ""
    try:
        status = json.loads(body)
    except ValueError:
        return body.strip()[:500]
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    return body.strip()[:500]


@contextmanager
def api_errors(what, *, not_found=None):
    """Turn a failure of the API calls inside into an error that says what was being done.

    `what` completes "Kubernetes refused to ..." / "Cannot ...", e.g. "get pod x in namespace y".
    `not_found` is called with the server's message on a 404 and returns the error to raise, or
    None to leave the block quietly.
    """
    from kubernetes.client.exceptions import ApiException

    try:
        yield
    except ApiException as e:
        message = status_message(e.body) or e.reason or ""
        if e.status == 404 and not_found is not None:
            error = not_found(message)
            if error is None:  # the caller expects absence and carries on after the block
                return
            raise error from None
        if e.status in (401, 403):
            raise Forbidden(
                f"Kubernetes refused to {what}: {message}. Check the Role bound to the hub's "
                "service account (examples/kubernetes/rbac.yaml lists what it needs)."
            ) from None
        if e.status == 0 or (e.status or 0) >= 500:
            raise ApiUnavailable(f"Cannot {what}: the Kubernetes API answered {message}") from None
        raise KubernetesError(f"Cannot {what}: {message} (HTTP {e.status})") from None
    except TransportError as e:
        raise ApiUnavailable(
            f"Cannot {what}: the Kubernetes API server is unreachable ({type(e).__name__})"
        ) from None
