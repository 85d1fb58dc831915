"""A person's files on their own MiniCluster: the PersistentVolumeClaim mounted in it.

Two ways, chosen by MiniClusterPerUserProvisioner's settings:

- flux-hub's claim (``storage_class`` set): one ReadWriteMany claim per person, named
  ``storage_claim`` (default ``{name}-files``), made before the person's MiniCluster, with the
  labels and annotation of everything flux-hub makes for them (``names``) and NO owner
  reference: deleting the cluster's Secret (idle removal, deactivation) lets Kubernetes remove
  the cluster, never the claim. The next cluster mounts the same claim; the claim goes only when
  the person is deleted. A claim of that name without this hub's labels is never used, changed
  or deleted.
- an existing claim (``storage_class`` empty, ``storage_claim`` set): a claim someone else made
  per person (e.g. an admin's claim on the group's NFS home folders), which must exist and be
  ReadWriteMany before the person's cluster is made. flux-hub mounts it and never creates,
  changes or deletes it.

Either way the claim is mounted at ``storage_mount`` in every container of the person's
MiniCluster and at ``lab_mount`` in their JupyterLab pod (KubeSpawner's ``volumes`` and
``volume_mounts``). A claim is a namespaced object: the lab pods must run in the namespace of
the clusters.
"""

import re
import string

from .names import account_label, owned_annotations, owned_labels

VOLUME = "flux-hub-files"  # the volume's name in the MiniCluster's pods and in the lab pod
DEFAULT_CLAIM = "{name}-files"
RWX = "ReadWriteMany"
# A resource quantity as Kubernetes parses it (e.g. 10Gi, 500M, 1.5T)
QUANTITY = re.compile(r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[KMGTPE]i?|[munkMGTPE])?$")


def template_fields(template):
    """The ``{field}`` names of a str.format template (ValueError for a broken one)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def fill(template, **values):
    """``template`` with its {fields} filled from ``values`` (every field must be one)."""
    return template.format(**values)


def claim_body(name, namespace, *, hub, account, storage_class, size):
    """The claim flux-hub makes for ``account`` (a plain dict, as the API takes it)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": owned_labels(hub, account),
            "annotations": owned_annotations(account),
        },
        "spec": {
            "accessModes": [RWX],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": size}},
        },
    }


def claim_ours(claim, hub, account):
    """Whether a claim (kubernetes client V1PersistentVolumeClaim) is the one hub ``hub`` made
    for ``account``: its labels, and the exact account in its annotation."""
    if claim is None:
        return False
    meta = claim.metadata
    labels = meta.labels or {}
    annotations = meta.annotations or {}
    return (
        labels == {**labels, **owned_labels(hub, account)}
        and labels.get("flux-hub/account") == account_label(account)
        and annotations.get("flux-hub/account") == account
    )


def access_modes(claim):
    return list((claim.spec.access_modes if claim.spec else None) or ())


def phase(claim):
    return (claim.status.phase if claim.status else None) or "Pending"


def cluster_volumes(claim, mount):
    """The operator's ``containers[].volumes`` entry of the person's claim."""
    return {VOLUME: {"path": mount, "claimName": claim}}


def lab_overrides(claim, mount):
    """KubeSpawner's ``volumes`` and ``volume_mounts`` for the same claim in the lab pod."""
    return {
        "volumes": [{"name": VOLUME, "persistentVolumeClaim": {"claimName": claim}}],
        "volume_mounts": [{"name": VOLUME, "mountPath": mount}],
    }
