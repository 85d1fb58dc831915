"""Config helper: run the accounts service as a hub-managed service.

In jupyterhub_config.py::

    from flux_hub.hub import add_accounts_service
    add_accounts_service(c, __file__)

adds the service (``python -m flux_hub.service``) to ``c.JupyterHub.services``, lets it list hub
users, and lets every user open it (it is listed in the hub's Services menu).
"""

import os
import socket
import sys


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def add_accounts_service(c, config_file, *, name="flux-accounts", port=None, environment=None):
    """Register the accounts service with the hub configuration ``c``.

    ``config_file`` is the hub's config file (pass ``__file__``): the service loads it to build
    the same accounts core as the authenticator. So that the config file reads the same
    settings there, the service gets the hub's environment as it is now (call this after
    anything in the config that sets environment variables, e.g. the crypt key). The service
    is part of the hub: it decrypts the stored passwords with JUPYTERHUB_CRYPT_KEY.
    """
    env = {**os.environ, "FLUX_HUB_CONFIG": os.path.abspath(config_file), **(environment or {})}
    c.JupyterHub.services = [
        *[s for s in c.JupyterHub.get("services", []) if s.get("name") != name],
        {
            "name": name,
            "display": True,
            "url": f"http://127.0.0.1:{port or free_port()}",
            "command": [sys.executable, "-m", "flux_hub.service"],
            "cwd": os.getcwd(),
            "environment": env,
            "oauth_no_confirm": True,
        },
    ]
    roles = c.JupyterHub.get("load_roles", [])
    c.JupyterHub.load_roles = [
        *[r for r in roles if r.get("name") not in (name, "user")],
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
    ]


def _user_scopes(roles):
    """Scopes an earlier config gave the 'user' role, kept (minus 'self')."""
    for role in roles:
        if role.get("name") == "user":
            return [s for s in role.get("scopes", []) if s != "self"]
    return []
