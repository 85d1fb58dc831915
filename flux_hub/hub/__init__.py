"""flux-hub inside JupyterHub: the authenticator and config helpers.

``c.JupyterHub.authenticator_class = "flux"`` is ``FluxAuthenticator``;
``with_flux_accounts(...)`` gives any other authenticator's users provisioned accounts.
"""

from .accounts_service import add_accounts_service
from .authenticator import FluxAccountsMixin, FluxAuthenticator, with_flux_accounts

__all__ = ["FluxAccountsMixin", "FluxAuthenticator", "add_accounts_service", "with_flux_accounts"]
