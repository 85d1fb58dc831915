"""One MiniCluster per hub user (the seed's second multi-tenant use case).

``c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.MiniClusterPerUserProvisioner"``:
each hub user's "account" is a Flux Operator v1alpha2 MiniCluster of their own, with
flux-restful 1.1.0 as a sidecar of the lead broker (as examples/kubernetes/minicluster.yaml),
in single-user mode, whose superuser is the person's account name. Per cluster, flux-hub owns:

- a Secret ``<cluster>`` with FLUX_SECRET_KEY, FLUX_TOKEN_SIGNING_KEY, FLUX_USER and FLUX_TOKEN
  (the person's password), made first; the sidecar reads its keys from it;
- the MiniCluster ``<cluster>``, labelled ``app.kubernetes.io/managed-by=flux-hub``,
  ``flux-hub/hub=<hub_id>`` and ``flux-hub/account=<account>``, with an owner reference to that
  Secret (so deleting the Secret lets Kubernetes' garbage collector remove the cluster too);
- with ``storage_class`` set, a ReadWriteMany PersistentVolumeClaim of the person's files
  (``storage``), labelled the same but owned by nothing: it outlives idle removal and
  re-creation of the cluster and is deleted with the hub user. Or, with ``storage_claim``
  alone, an existing claim per person that flux-hub only mounts. Either is mounted in every
  container of the cluster and in the person's JupyterLab pod (``spawner_overrides``), whose
  server is told the mapping of lab paths to cluster paths (``lab_environment``:
  FLUX_HUB_PATHS).

``<cluster>`` is the name prefix plus the account, or plus a readable stem and a hash when the
account is not a valid Kubernetes name (``names``). A MiniCluster counts as this hub's only with
the labels (its own hub_id) and the owner reference to a Secret that carries them; any other
MiniCluster (or Secret) of the same name is never changed or
deleted, and the person's account is reported as failed with the reason. A cluster that exists
is adopted (its Secret's password kept), so a hub restart or a lost store never makes a second
one. Per-user size, image and node selector (the accounts service's admin page) are kept in
the accounts store's sqlite file and apply when a cluster is next created.

Modules: ``names`` (what things are called, and which are flux-hub's), ``settings`` (per-person
settings and their store), ``manifest`` (the MiniCluster made), ``storage`` (the claim of the
person's files and its mounts), ``provisioner`` (create, adopt,
wait, remove, rotate), ``password`` (a new password on a running cluster), ``idle``
(which clusters the accounts service removes).
"""

from .idle import idle_to_remove
from .manifest import RESTFUL_CONTAINER, RESTFUL_WORKDIR, VERSION
from .names import ACCOUNT_LABEL, HUB_LABEL, MANAGED_BY, MANAGED_LABEL
from .provisioner import MiniClusterPerUserProvisioner
from .settings import ClusterSettings, ClusterState, check_node_selector

__all__ = [
    "ACCOUNT_LABEL",
    "HUB_LABEL",
    "MANAGED_BY",
    "MANAGED_LABEL",
    "RESTFUL_CONTAINER",
    "RESTFUL_WORKDIR",
    "VERSION",
    "ClusterSettings",
    "ClusterState",
    "MiniClusterPerUserProvisioner",
    "check_node_selector",
    "idle_to_remove",
]
