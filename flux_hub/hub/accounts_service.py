"""Config helper: run the accounts service as a hub-managed service.

In jupyterhub_config.py::

    from flux_hub.hub import add_accounts_service
    add_accounts_service(c, __file__)

adds the service (``python -m flux_hub.service``) to ``c.JupyterHub.services``, lets it list hub
users, lets every user open it (it is listed in the hub's Services menu), and lets every
person's server read their jobs from its reader of the cluster (``FluxAccountsMixin.reader_url``).
"""

import os
import sys

from jupyterhub.utils import random_port


def add_accounts_service(c, config_file, *, name="flux-accounts", port=None, environment=None):
    """Register the accounts service with the hub configuration ``c``.

    ``config_file`` is the hub's config file (pass ``__file__``): the service loads it to build
    the same accounts core as the authenticator. So that the config file reads the same
    settings there, the service gets the hub's environment as it is now (call this after
    anything in the config that sets environment variables, e.g. the crypt key). The service
    is part of the hub: it decrypts the stored passwords with JUPYTERHUB_CRYPT_KEY.
    """
    env = {**os.environ, "FLUX_HUB_CONFIG": os.path.abspath(config_file), **(environment or {})}
    url = f"http://127.0.0.1:{port or random_port()}"
    c.JupyterHub.services = [
        *[s for s in c.JupyterHub.get("services", []) if s.get("name") != name],
        {
            "name": name,
            "display": True,
            "url": url,
            "command": [sys.executable, "-m", "flux_hub.service"],
            "cwd": os.getcwd(),
            "environment": env,
            "oauth_no_confirm": True,
        },
    ]
    roles = c.JupyterHub.get("load_roles", [])
    c.JupyterHub.load_roles = [
        *[r for r in roles if r.get("name") not in (name, "user", "server")],
        {
            "name": name,
            "description": "The flux-hub accounts service lists hub users (and whether their "
            "servers run: per-user MiniClusters are removed only when idle).",
            "scopes": ["list:users", "read:users:name", "read:servers"],
            "services": [name],
        },
        {
            "name": "user",
            "scopes": [
                "self",
                f"access:services!service={name}",
                *_user_scopes(roles),
            ],
        },
        # A person's server reads their jobs from the service's reader with its own token
        {
            "name": "server",
            "scopes": _server_scopes(roles, f"access:services!service={name}"),
        },
    ]
    if "reader_url" not in c.FluxAccountsMixin:
        c.FluxAccountsMixin.reader_url = f"{url}/services/{name}/api/reader"


def _user_scopes(roles):
    """Scopes an earlier config gave the 'user' role, kept (minus 'self')."""
    for role in roles:
        if role.get("name") == "user":
            return [s for s in role.get("scopes", []) if s != "self"]
    return []


# JupyterHub's own scopes of the 'server' role (jupyterhub.roles), kept when a config has none
SERVER_SCOPES = ("users:activity!user", "access:servers!server")


def _server_scopes(roles, scope):
    """The 'server' role's scopes: an earlier config's (else JupyterHub's), plus ``scope``."""
    scopes = list(SERVER_SCOPES)
    for role in roles:
        if role.get("name") == "server":
            scopes = list(role.get("scopes", []))
    return [*scopes, *([scope] if scope not in scopes else [])]
