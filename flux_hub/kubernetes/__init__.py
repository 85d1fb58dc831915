"""Flux Operator MiniClusters on Kubernetes: discovery, pods/exec, the KubernetesProvisioner."""

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
    "PodNotFound",
    "PodNotReady",
    "ServerCredentials",
]
