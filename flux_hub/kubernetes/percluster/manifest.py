"""The MiniCluster flux-hub makes for a person (as examples/kubernetes/minicluster.yaml)."""

from ..discovery import GROUP
from .names import owned_annotations, owned_labels
from .storage import cluster_volumes

VERSION = "v1alpha2"
RESTFUL_CONTAINER = "flux-restful"
RESTFUL_WORKDIR = "/srv/flux-restful"
RESTFUL_PYTHON = "/mnt/flux/view/bin/python3"  # the operator's flux view, with flux-restful
SECRET_KEYS = ("FLUX_SECRET_KEY", "FLUX_TOKEN_SIGNING_KEY", "FLUX_USER", "FLUX_TOKEN")


def serve_command(port):
    """The sidecar's command: flux-restful 1.1.0 with the operator's flux view's Python, on the
    lead broker only."""
    return (
        'if [ "${JOB_COMPLETION_INDEX}" = 0 ]; then\n'
        "  . /mnt/flux/flux-view.sh\n"
        f"  {RESTFUL_PYTHON} -m ensurepip\n"
        f"  {RESTFUL_PYTHON} -m pip install flux-restful==1.1.0\n"
        f"  mkdir -p {RESTFUL_WORKDIR} && cd {RESTFUL_WORKDIR}\n"
        "  /mnt/flux/view/bin/flux-restful init\n"
        "  export FLUX_URI=$fluxsocket\n"
        "  unset LD_LIBRARY_PATH PYTHONPATH\n"
        f"  exec /mnt/flux/view/bin/flux-restful serve --host 0.0.0.0 --port {port}\n"
        "else\n"
        "  sleep infinity\n"
        "fi\n"
    )


def minicluster_manifest(
    *,
    name,
    namespace,
    hub,
    account,
    secret_uid,
    size,
    image,
    restful_image,
    node_selector,
    service_name,
    port,
    storage=None,
):
    """The MiniCluster hub ``hub`` makes for ``account``: labelled, owner-referenced to its
    Secret ``name``. ``storage``: (claim name, mount path) of the person's files, mounted in
    every container; the Flux container starts there, so a job given no working directory
    starts in the person's folder."""
    spec = {
        "size": size,
        "interactive": True,
        "network": {"headlessName": service_name},
        "containers": [
            {"image": image, "runFlux": True},
            {
                "image": restful_image,
                "name": RESTFUL_CONTAINER,
                "workingDir": RESTFUL_WORKDIR,
                "ports": [port],
                "environment": {
                    "FLUX_AUTH_BACKEND": "shared-secret",
                    "FLUX_SERVER_MODE": "single-user",
                    "FLUX_NUMBER_NODES": str(size),
                    # No launchers (examples/kubernetes/README.md): flux-restful would run them
                    # inside its own process, found on the PATH the request supplies.
                    "KNOWN_LAUNCHERS": "[]",
                },
                "secrets": {key: {"name": name, "key": key} for key in SECRET_KEYS},
                "commands": {"post": serve_command(port)},
            },
        ],
    }
    if storage is not None:
        claim, mount = storage
        spec["containers"][0]["workingDir"] = mount
        for container in spec["containers"]:
            container["volumes"] = cluster_volumes(claim, mount)
    # The pods carry the labels too, so network policies can select every person's pods.
    spec["pod"] = {"labels": owned_labels(hub, account)}
    if node_selector:
        spec["pod"]["nodeSelector"] = dict(node_selector)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MiniCluster",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": owned_labels(hub, account),
            "annotations": owned_annotations(account),
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "name": name,
                    "uid": secret_uid,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": spec,
    }
