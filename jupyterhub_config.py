# flux-hub on one machine: JupyterHub + a local MiniCluster (flux-restful) + accounts.
#
#     jupyterhub -f jupyterhub_config.py
#
# then open http://127.0.0.1:8000 and log in with a seeded user's MiniCluster password. The
# first start creates the seeded users' accounts and prints their passwords seed-style,
#     Adding 'alice' with password '...'
# on the terminal it was started from (never into the log); without a terminal (a service,
# `> hub.log`) they go to .flux-hub/new-passwords.txt (mode 0600), where each line stays only
# until its person first logs in. Admins also find them on the "flux-accounts" service page
# (Services menu).
#
# Everything this hub keeps (its database, the cluster's database, keys and port, the
# accounts store, the crypt key, users' home directories) is in .flux-hub/ next to this file,
# or in $FLUX_HUB_STATE_DIR. Settings from the environment:
#   FLUX_HUB_USERS   seeded users (default "alice bob carol")
#   FLUX_HUB_ADMIN   the hub admin, one of them (default "alice")
#   FLUX_HUB_CLUSTER_PORT  the cluster's port (default: a free one, chosen once)
#   FLUX_HUB_CLUSTER_SERVER  "flux-restful" (default: flux-restful 1.1) or "legacy" (the seed's
#                    flux-restful-api 0.2, which cannot keep users apart; see flux_hub.local.legacy)
import os
from pathlib import Path

from flux_hub.hub import add_accounts_service
from flux_hub.hub.local import configure_local_cluster, configure_local_spawner, ensure_crypt_key

c = get_config()  # noqa: F821 (provided by JupyterHub)

STATE = Path(os.environ.get("FLUX_HUB_STATE_DIR") or Path(__file__).parent / ".flux-hub")
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
USERS = os.environ.get("FLUX_HUB_USERS", "alice bob carol").split()
ADMIN = os.environ.get("FLUX_HUB_ADMIN", USERS[0])

# auth_state and flux-hub's stored passwords are encrypted with this key (kept in STATE).
ensure_crypt_key(STATE)

# The local MiniCluster runs as a hub-managed service; accounts go into its database. As root,
# it runs each job as the Unix account of the person who submitted it.
SERVER = os.environ.get("FLUX_HUB_CLUSTER_SERVER", "flux-restful")
if SERVER not in ("flux-restful", "legacy"):
    raise ValueError(f"FLUX_HUB_CLUSTER_SERVER must be flux-restful or legacy, not {SERVER!r}")
# Per-person limits of the guard in front of flux-restful (README, "The guard") take their
# defaults here; e.g. limits={"streams_per_user": 8, "active_jobs_per_user": 500} changes two.
configure_local_cluster(c, STATE, nodes=2, cores_per_node=4, legacy=SERVER == "legacy")

# People log in with their MiniCluster account (the seed's way); the seeded users are hub
# users from the start, so their accounts are created (and announced) when the hub starts.
c.JupyterHub.authenticator_class = "flux"
# Only they and the users an admin adds may log in (not every account on the cluster).
c.Authenticator.allowed_users = set(USERS)
c.Authenticator.admin_users = {ADMIN}
c.FluxAuthenticator.announce_passwords_to = ["/dev/tty", str(STATE / "new-passwords.txt")]
c.FluxAccounts.store_path = str(STATE / "accounts.sqlite")

# Job templates for everyone: each person's submit form offers them (marked "(group)", read-only)
# above their own. Checked as job requests when the hub starts (README, "Job history, run again,
# templates").
c.FluxAuthenticator.job_templates = [
    {
        "name": "Hello from every node",
        "description": "One task on each of the cluster's 2 nodes, at most a minute",
        "request": {"command": "hostname", "num_nodes": 2, "num_tasks": 2, "runtime": "1m"},
    },
]

# The accounts service: admin page, each user's own page, reconcile loop.
add_accounts_service(c, __file__)

# Single-user servers on this machine, with JupyterLab and the flux-hub server extension
# (enabled by its jupyter_server_config.d file). As root, each person's server and jobs run as
# their own Unix account (made with their Flux account, home in /home); otherwise all share
# this hub's account, and the hub says so when it starts.
configure_local_spawner(c, STATE)

c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
