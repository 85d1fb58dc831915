"""The flux-restful client: the only code in flux-hub that speaks the flux-restful HTTP API.

``FluxRestfulClient`` (requests) and ``AsyncFluxRestfulClient`` (tornado) share one protocol
core (``flux_hub.restful.protocol``) and raise the errors below.
"""

from .async_client import AsyncFluxRestfulClient
from .errors import (
    AuthenticationFailed,
    ClusterUnavailable,
    FluxRestfulError,
    InvalidRequest,
    JobNotFound,
    LimitReached,
    PermissionDenied,
)
from .protocol import LEGACY_WARNING
from .sync_client import FluxRestfulClient

__all__ = [
    "AsyncFluxRestfulClient",
    "AuthenticationFailed",
    "ClusterUnavailable",
    "FluxRestfulClient",
    "FluxRestfulError",
    "InvalidRequest",
    "JobNotFound",
    "LEGACY_WARNING",
    "LimitReached",
    "PermissionDenied",
]
