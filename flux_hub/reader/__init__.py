"""The hub's reader of a shared cluster: every job and the free resources, read once for all.

Each person's server asking flux-restful for their own jobs makes flux-restful's work grow with
the number of people who have JupyterLab open (issue 27). The reader asks the guard's snapshot
(``GET /flux-hub/v1/snapshot``, flux_hub/guard/snapshot.py) as a superuser of the cluster, at an
interval that follows the cluster's activity (``poller.Reader``), keeps what it read in memory
(``state.ClusterState``: per-person indexes, versions) and the accounts service answers people's
servers from that memory (flux_hub/service/handlers.py, ``api/reader/``): each person their own
jobs, everyone the anonymous state of the cluster.

A cluster has a reader when its provisioner gives ``reader_credentials()``; per-person clusters
and the legacy server have none, and people's servers then ask flux-restful directly.
"""

from dataclasses import dataclass, field

# The environment variable that hands a person's server (and its terminals) the reader's URL
READER_ENV = "FLUX_HUB_READER_URL"


@dataclass(frozen=True)
class ReaderCredentials:
    """How the reader reaches the cluster: flux-restful's URL as the hub reaches it, a
    superuser's name and password, and the shared secret (None: the login form is used)."""

    url: str
    user: str
    password: str = field(repr=False)
    secret_key: str | None = field(default=None, repr=False)


__all__ = ["READER_ENV", "ReaderCredentials"]
