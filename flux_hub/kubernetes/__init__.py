"""Flux Operator MiniClusters on Kubernetes: discovery, pods/exec, the KubernetesProvisioner,
and the MiniClusterPerUserProvisioner (a MiniCluster for each hub user)."""

from .discovery import MiniClusterInfo, MiniClusterLocator, ServerCredentials
from .errors import (
    ApiUnavailable,
    ConfigurationError,
    ExecFailed,
    Forbidden,
    KubernetesError,
    MiniClusterNotFound,
    PodNotFound,
    PodNotReady,
)
from .percluster import MiniClusterPerUserProvisioner
from .provisioner import KubernetesProvisioner
from .runner import MiniClusterRunner

__all__ = [
    "ApiUnavailable",
    "ConfigurationError",
    "ExecFailed",
    "Forbidden",
    "KubernetesError",
    "KubernetesProvisioner",
    "MiniClusterInfo",
    "MiniClusterLocator",
    "MiniClusterRunner",
    "MiniClusterNotFound",
    "MiniClusterPerUserProvisioner",
    "PodNotFound",
    "PodNotReady",
    "ServerCredentials",
]
