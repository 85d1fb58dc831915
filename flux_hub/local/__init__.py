"""The local MiniCluster: flux-restful on this machine, on real Flux or a simulated instance."""

from .cluster import LocalCluster, LocalClusterError

__all__ = ["LocalCluster", "LocalClusterError"]
