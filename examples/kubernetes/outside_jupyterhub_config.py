# flux-hub on a machine outside the Kubernetes cluster (a workstation, a login node, a VM),
# with the MiniCluster of minicluster.yaml inside it:
#
#     KUBECONFIG=~/.kube/flux-hub.kubeconfig jupyterhub -f outside_jupyterhub_config.py
#
# The hub reaches the Kubernetes API with the kubeconfig (a service account bound to the Role
# of rbac.yaml, including its pods/portforward rule). flux-restful's cluster DNS name does not
# resolve out here, so the hub reaches flux-restful through the API server's port-forward: it
# listens on 127.0.0.1:FORWARD_PORT and relays each connection to the broker pod's port 5000
# (what `kubectl port-forward` does, from Python). Single-user servers run on this machine
# and use the same relay. See README.md, "A hub outside the cluster".
import os
from pathlib import Path

from flux_hub.hub import add_accounts_service
from flux_hub.hub.local import ensure_crypt_key

c = get_config()  # noqa: F821 (provided by JupyterHub)

STATE = Path(os.environ.get("FLUX_HUB_STATE_DIR") or Path(__file__).parent / ".flux-hub-outside")
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
# A fixed port: servers started before a hub restart keep their FLUX_RESTFUL_HOST.
FORWARD_PORT = int(os.environ.get("FLUX_HUB_FORWARD_PORT", "15000"))
FORWARD_URL = f"http://127.0.0.1:{FORWARD_PORT}"

ensure_crypt_key(STATE)

c.JupyterHub.authenticator_class = "flux"
c.Authenticator.admin_users = {"ada"}
c.FluxAccounts.store_path = str(STATE / "accounts.sqlite")
c.FluxAccounts.provisioner_class = "flux_hub.kubernetes.KubernetesProvisioner"

c.KubernetesProvisioner.minicluster = "flux-sample"
c.KubernetesProvisioner.namespace = "flux-operator"
c.KubernetesProvisioner.kubeconfig = os.environ.get("KUBECONFIG", "")
c.KubernetesProvisioner.python = "/mnt/flux/view/bin/python3.11"
# Outside a pod this is the default; said here to be plain about it.
c.KubernetesProvisioner.port_forward = True
c.KubernetesProvisioner.port_forward_address = "127.0.0.1"
c.KubernetesProvisioner.port_forward_port = FORWARD_PORT
# Single-user servers on this machine reach the hub's relay. Servers elsewhere cannot: give
# them a URL they reach instead (README.md lists the ways).
c.KubernetesProvisioner.user_cluster_url = FORWARD_URL

# The accounts service loads this file in a process of its own: it uses the hub's relay (a
# second relay could not listen on the same port).
add_accounts_service(c, __file__, environment={"FLUX_RESTFUL_HOST": FORWARD_URL})

c.Spawner.default_url = "/lab"
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
