# Provisioned accounts: another authenticator decides who may log in, flux-hub gives each
# such person a MiniCluster account they never see (its password goes straight into their
# server's environment).
#
#     export FLUX_HUB_SHARED_PASSWORD=...        # at least 8 characters, for users
#     export FLUX_HUB_ADMIN_PASSWORD=...         # at least 32 characters, for the admin
#     jupyterhub -f examples/hub-provisioned/jupyterhub_config.py
#
# Here JupyterHub's shared-password authenticator decides (fine for a workshop: anyone with
# the password may log in as any allowed user). Any authenticator works the same way; for
# GitHub (pip install oauthenticator):
#
#     c.JupyterHub.authenticator_class = with_flux_accounts("github")
#     c.GitHubOAuthenticator.oauth_callback_url = "https://hub.example.org/hub/oauth_callback"
#     c.GitHubOAuthenticator.client_id = os.environ["GITHUB_CLIENT_ID"]
#     c.GitHubOAuthenticator.client_secret = os.environ["GITHUB_CLIENT_SECRET"]
#     c.GitHubOAuthenticator.allowed_organizations = {"my-lab"}
#
# GitHub names such as "Alice-Smith" become valid account names ("alice-smith"); names that
# cannot be (e-mail addresses, non-ASCII) get a short hash suffix, or set your own mapping:
#     c.FluxAccounts.account_name = lambda hub_name: "u_" + hub_name.split("@")[0]
#
# The MiniCluster here is the local one (a hub-managed service, as in the top-level config).
# For a Flux Operator MiniCluster elsewhere, set c.FluxAccounts.provisioner_class and the
# provisioner's cluster_url / secret_key instead of calling configure_local_cluster.
# State lives in .flux-hub/provisioned-example/ in the repository, or $FLUX_HUB_STATE_DIR.
import os
from pathlib import Path

from flux_hub.hub import add_accounts_service, with_flux_accounts
from flux_hub.hub.local import configure_local_cluster, configure_local_spawner, ensure_crypt_key

c = get_config()  # noqa: F821 (provided by JupyterHub)

STATE = Path(
    os.environ.get("FLUX_HUB_STATE_DIR")
    or Path(__file__).resolve().parents[2] / ".flux-hub" / "provisioned-example"
)
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)

ensure_crypt_key(STATE)
configure_local_cluster(c, STATE)

c.JupyterHub.authenticator_class = with_flux_accounts("shared-password")
c.SharedPasswordAuthenticator.user_password = os.environ.get("FLUX_HUB_SHARED_PASSWORD")
c.SharedPasswordAuthenticator.admin_password = os.environ.get("FLUX_HUB_ADMIN_PASSWORD")
c.Authenticator.admin_users = {"admin"}
# Users the admin adds on the admin page are allowed from then on (allow_existing_users).
c.Authenticator.allowed_users = {"alice", "bob"}
c.FluxAccounts.store_path = str(STATE / "accounts.sqlite")

add_accounts_service(c, __file__)

# Servers as each person's own Unix account when run as root, else one shared account
configure_local_spawner(c, STATE)

c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
