"""A real JupyterHub whose users each get a MiniCluster (MiniClusterPerUserProvisioner) from the
fake API server and the fake operator running in the calling process.

The hub logs people in with JupyterHub's DummyAuthenticator given flux-hub accounts
(``with_flux_accounts``); its spawner starts ``envserver.py`` instead of JupyterLab: a tiny HTTP
server that writes the FLUX_* environment it received to ``<envs>/<user>.json`` (what the panel,
notebook API and CLI read), so a test sees exactly what a user's server would get.
"""

import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from e2e.hubprocess import SERVICE, HubProcess

from .podns import lab_argv

NAMESPACE = "flux-operator"
CRYPT_KEY = "ef" * 32
TOKEN = "per-user-cluster-test-token-0123456789"
ENVSERVER = Path(__file__).with_name("envserver.py")

CONFIG = """
import json
from flux_hub.hub.authenticator import with_flux_accounts
c.JupyterHub.authenticator_class = with_flux_accounts("dummy")
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = {cmd!r}
c.Spawner.environment = {{"FAKE_ENV_OUT": {envs!r}}}
c.Spawner.start_timeout = 300
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/cookie_secret"
c.JupyterHub.pid_file = "{state}/jupyterhub.pid"
c.ConfigurableHTTPProxy.pid_file = "{state}/jupyterhub-proxy.pid"
c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.MiniClusterPerUserProvisioner"
c.FluxAccounts.store_path = "{state}/flux-hub-accounts.sqlite"
c.MiniClusterPerUserProvisioner.namespace = {namespace!r}
c.MiniClusterPerUserProvisioner.kubeconfig = {kubeconfig!r}
c.MiniClusterPerUserProvisioner.poll_interval = 0.2
c.MiniClusterPerUserProvisioner.ready_timeout = 180.0


def _url_for(name, namespace):
    # The fake operator's servers listen on 127.0.0.1: their URLs come from its file.
    with open({urls!r}) as f:
        return json.load(f).get(name, f"http://{{name}}.invalid:5000")


c.MiniClusterPerUserProvisioner.cluster_url_for = _url_for
c.JupyterHub.services = [{{"name": "tester", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "tester",
        "scopes": ["admin:users", "admin:servers", "list:users", "read:users"],
        "services": ["tester"],
    }}
]
"""


SERVICE_CONFIG = """
c.Authenticator.admin_users = {{{admin!r}}}
from flux_hub.hub import add_accounts_service

add_accounts_service(c, __file__)
"""


class PerUserHub(HubProcess):
    """The hub of CONFIG; ``admin``: with that admin user and the accounts service; ``extra``:
    more config lines (after the service's); ``lab_binds``: {lab path: folder} each person's
    server sees in a mount namespace of its own, as a lab pod mounts its volumes ({user} in a
    folder: the hub user; podns.lab_argv); ``server``: the argv of each person's server
    instead of envserver.py (e.g. jupyterhub.singleuser: a real JupyterLab)."""

    def __init__(self, workdir, kube, operator, admin=None, extra="", lab_binds=None, server=None):
        workdir = Path(workdir)
        state = workdir / "state"
        state.mkdir(parents=True, exist_ok=True)
        self.envs = workdir / "envs"
        self.envs.mkdir(exist_ok=True)
        config = workdir / "jupyterhub_config.py"
        server = list(server or [sys.executable, str(ENVSERVER)])
        config.write_text(
            CONFIG.format(
                cmd=lab_argv(lab_binds, server) if lab_binds else server,
                envs=str(self.envs),
                state=str(state),
                namespace=NAMESPACE,
                kubeconfig=kube.kubeconfig(workdir / "kubeconfig", NAMESPACE),
                urls=str(operator.urls_file),
                token=TOKEN,
            )
            + (SERVICE_CONFIG.format(admin=admin) if admin else "")
            + extra
        )
        self.with_service = bool(admin)
        super().__init__(config, workdir, env={"JUPYTERHUB_CRYPT_KEY": CRYPT_KEY})

    def _ready(self):
        try:
            if requests.get(f"{self.url}/hub/api/", timeout=5).status_code != 200:
                return False
            if self.with_service:
                me = requests.get(f"{self.url}/services/{SERVICE}/api/me", timeout=5)
                return me.status_code == 401
            return True
        except requests.RequestException:
            return False

    def call(self, method, path, **kwargs):
        return self.api(TOKEN, method, path, **kwargs)

    def spawn_with_progress(self, name, timeout=240, on_event=None):
        """Start the user's server and follow the spawn page's progress stream to its end;
        returns the events (the last one says ready or failed). ``on_event(event)`` is
        called for each as it comes."""
        response = self.call("POST", f"users/{quote(name)}/server")
        assert response.status_code in (201, 202), response.text
        events = []
        deadline = time.monotonic() + timeout
        with requests.get(
            f"{self.url}/hub/api/users/{quote(name)}/server/progress",
            headers={"Authorization": f"token {TOKEN}"},
            stream=True,
            timeout=timeout,
        ) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    events.append(event)
                    if on_event:
                        on_event(event)
                    if event.get("ready") or event.get("failed"):
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"the spawn of {name} did not end: {events}")
        return events

    def server_env(self, name):
        return json.loads((self.envs / f"{name}.json").read_text())
