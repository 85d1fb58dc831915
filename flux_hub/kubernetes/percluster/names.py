"""What flux-hub calls a person's MiniCluster and how a hub tells its own ones from others'.

Names: ``<prefix><account>`` when the account name already is a DNS-1123 label (what
Kubernetes allows for these names: lower case letters, digits and ``-``, a letter or digit at
both ends); any other account (``a_b``, ``ab-``) gets ``<prefix><stem>--<hash>``, the stem
readable, the hash (50 bits) of the exact account name. So ``a_b`` and ``a-b`` get different
clusters, and a name is the same at every hub start.

Ownership: everything a hub makes carries ``app.kubernetes.io/managed-by=flux-hub``, the hub's
identity ``flux-hub/hub=<hub_id>`` and ``flux-hub/account`` (a label-safe form of the account;
the exact name is the annotation of the same key). A hub adopts, changes and removes only what
carries its own ``hub_id``: two hubs in one namespace leave each other's clusters alone.
"""

from flux_hub.names import hashed_name, is_dns_label, is_label_value

MANAGED_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "flux-hub"
HUB_LABEL = "flux-hub/hub"
ACCOUNT_LABEL = "flux-hub/account"  # also the annotation with the exact account name


def cluster_name(prefix, account):
    """The MiniCluster's (and its Secret's) name for ``account``: distinct accounts get
    distinct names (see the module's docstring)."""
    return prefix + _name_part(account)


def _name_part(account):
    if is_dns_label(account):
        return account
    return hashed_name(account, salt=b"flux-hub cluster name\0")


def account_label(account):
    """The account as a label value (Kubernetes refuses values ending in ``_`` or ``-``)."""
    if is_label_value(account):
        return account
    return _name_part(account)


def owned_labels(hub, account):
    """The labels on everything hub ``hub`` makes for ``account`` (MiniCluster, Secret, pods)."""
    return {MANAGED_LABEL: MANAGED_BY, HUB_LABEL: hub, ACCOUNT_LABEL: account_label(account)}


def owned_annotations(account):
    return {ACCOUNT_LABEL: account}


def managed_selector(hub):
    """The label selector of everything hub ``hub`` made."""
    return f"{MANAGED_LABEL}={MANAGED_BY},{HUB_LABEL}={hub}"


def _labels(meta):
    if isinstance(meta, dict):
        return meta.get("labels") or {}
    return meta.labels or {}


def other_hub(meta, hub):
    """The hub_id of another flux-hub that made this object ("" when it was made before hubs
    were named: no flux-hub/hub label), else None."""
    labels = _labels(meta)
    if labels.get(MANAGED_LABEL) == MANAGED_BY and labels.get(HUB_LABEL) != hub:
        return labels.get(HUB_LABEL) or ""
    return None


def account_of(meta):
    """The exact account an object of flux-hub's was made for."""
    if isinstance(meta, dict):
        annotations = meta.get("annotations") or {}
    else:
        annotations = meta.annotations or {}
    return annotations.get(ACCOUNT_LABEL) or _labels(meta).get(ACCOUNT_LABEL, "")


def secret_ours(secret, hub):
    """A Secret (kubernetes client V1Secret) that this hub made."""
    if secret is None:
        return False
    labels = _labels(secret.metadata)
    return labels.get(MANAGED_LABEL) == MANAGED_BY and labels.get(HUB_LABEL) == hub


def cluster_ours(cluster, secret, hub, account):
    """This hub's labels for ``account``, and an owner reference to this hub's Secret."""
    meta = cluster.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels != {**labels, **owned_labels(hub, account)}:
        return False
    if not secret_ours(secret, hub):
        return False
    return any(
        ref.get("kind") == "Secret" and ref.get("uid") == secret.metadata.uid
        for ref in meta.get("ownerReferences") or ()
    )
