"""What flux-hub calls a person's MiniCluster and how it tells its own ones from others'."""

MANAGED_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "flux-hub"
ACCOUNT_LABEL = "flux-hub/account"


def cluster_name(prefix, account):
    """The MiniCluster's (and its Secret's) name for ``account``."""
    return prefix + account.replace("_", "-")


def owned_labels(account):
    """The labels on everything flux-hub makes for ``account`` (MiniCluster, Secret, pods)."""
    return {MANAGED_LABEL: MANAGED_BY, ACCOUNT_LABEL: account}


def managed_selector():
    """The label selector of everything flux-hub made."""
    return f"{MANAGED_LABEL}={MANAGED_BY}"


def secret_ours(secret):
    """A Secret (kubernetes client V1Secret) that flux-hub made."""
    return secret is not None and (secret.metadata.labels or {}).get(MANAGED_LABEL) == MANAGED_BY


def cluster_ours(cluster, secret, account):
    """Both labels, and an owner reference to flux-hub's Secret of the same name."""
    meta = cluster.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_LABEL) != MANAGED_BY or labels.get(ACCOUNT_LABEL) != account:
        return False
    if not secret_ours(secret):
        return False
    return any(
        ref.get("kind") == "Secret" and ref.get("uid") == secret.metadata.uid
        for ref in meta.get("ownerReferences") or ()
    )
