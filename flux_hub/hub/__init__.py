"""flux-hub inside JupyterHub: the authenticator and config helpers.

``c.JupyterHub.authenticator_class = "flux"`` is ``FluxAuthenticator``;
``with_flux_accounts(...)`` gives any other authenticator's users provisioned accounts.
"""

from .authenticator import FluxAccountsMixin, FluxAuthenticator, with_flux_accounts
from .services import add_accounts_service

__all__ = ["FluxAccountsMixin", "FluxAuthenticator", "add_accounts_service", "with_flux_accounts"]
