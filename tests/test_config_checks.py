"""Every validated setting refuses a bad value when it is set, with a message naming it.

The classes are built as JupyterHub, the accounts service and Jupyter Server build them: from
a Config. Nothing is started and no cluster is needed.
"""

import pytest
from traitlets import TraitError
from traitlets.config import Config

from flux_hub.accounts import FluxAccounts, LocalProvisioner
from flux_hub.hub.authenticator import FluxAuthenticator
from flux_hub.kubernetes import KubernetesProvisioner
from flux_hub.serverextension.config import FluxHub
from flux_hub.service.app import FluxAccountsService

CLASSES = {
    cls.__name__: cls
    for cls in (
        FluxHub,
        FluxAccounts,
        FluxAuthenticator,
        FluxAccountsService,
        LocalProvisioner,
        KubernetesProvisioner,
    )
}

REFUSED = [
    ("FluxHub", "user", "two words",
     "FluxHub.user: 'two words' is not a valid user name (printable, no spaces)"),
    ("FluxHub", "job_names_path", " ", "FluxHub.job_names_path must not be empty, not ' '"),
    ("FluxAccounts", "store_path", "", "FluxAccounts.store_path must not be empty, not ''"),
    ("FluxAuthenticator", "announce_passwords_to", ["/dev/tty", ""],
     "FluxAuthenticator.announce_passwords_to must list file paths (none of them empty), "
     "not ['/dev/tty', '']"),
    ("FluxAccountsService", "config_file", "/no/such/jupyterhub_config.py",
     "FluxAccountsService.config_file must be the hub's config file (no such file), "
     "not '/no/such/jupyterhub_config.py'"),
    ("FluxAccountsService", "reconcile_interval", -1.0,
     "FluxAccountsService.reconcile_interval must be a number of seconds, 0 or more, not -1.0"),
    ("FluxAccountsService", "reconcile_interval", float("nan"),
     "FluxAccountsService.reconcile_interval must be a number of seconds, 0 or more, not nan"),
    ("LocalProvisioner", "cluster_url", "127.0.0.1:port",
     "LocalProvisioner.cluster_url must be the URL of the flux-restful server, like "
     "http://127.0.0.1:5000, not '127.0.0.1:port'"),
    ("LocalProvisioner", "user_cluster_url", "ftp://cluster",
     "LocalProvisioner.user_cluster_url must be the URL of the flux-restful server"),
    ("LocalProvisioner", "superusers", ["fluxadmin", "flux admin"],
     "LocalProvisioner.superusers: 'flux admin' is not a valid user name"),
    ("LocalProvisioner", "python", "", "LocalProvisioner.python must not be empty, not ''"),
    ("LocalProvisioner", "timeout", 0.0,
     "LocalProvisioner.timeout must be a number of seconds above 0, not 0.0"),
    ("LocalProvisioner", "home_root", "home",
     "LocalProvisioner.home_root must be an absolute path, not 'home'"),
    ("KubernetesProvisioner", "minicluster", "Flux_Sample",
     "KubernetesProvisioner.minicluster must hold Kubernetes names (lower case letters, "
     "digits and '-', dots), not 'Flux_Sample'"),
    ("KubernetesProvisioner", "secret_name", "keys!",
     "KubernetesProvisioner.secret_name must hold Kubernetes names"),
    ("KubernetesProvisioner", "namespace", "flux.operator",
     "KubernetesProvisioner.namespace must hold Kubernetes names (lower case letters, digits "
     "and '-'), not 'flux.operator'"),
    ("KubernetesProvisioner", "restful_container", "Restful",
     "KubernetesProvisioner.restful_container must hold Kubernetes names"),
    ("KubernetesProvisioner", "user_containers", ["flux", "Not OK"],
     "KubernetesProvisioner.user_containers must hold Kubernetes names (lower case letters, "
     "digits and '-'), not 'Not OK'"),
    ("KubernetesProvisioner", "workdir", "data",
     "KubernetesProvisioner.workdir must be an absolute path, not 'data'"),
    ("KubernetesProvisioner", "python", " ", "KubernetesProvisioner.python must not be empty"),
    ("KubernetesProvisioner", "port_forward_address", "",
     "KubernetesProvisioner.port_forward_address must not be empty"),
    ("KubernetesProvisioner", "timeout", float("inf"),
     "KubernetesProvisioner.timeout must be a number of seconds above 0, not inf"),
    ("KubernetesProvisioner", "port", 70000,
     "The value of the 'port' trait of a KubernetesProvisioner instance should not be greater "
     "than 65535"),
]  # fmt: skip


@pytest.mark.parametrize("cls, setting, value, message", REFUSED)
def test_a_bad_setting_is_refused_naming_it(cls, setting, value, message):
    config = Config()
    config[cls][setting] = value
    with pytest.raises(TraitError) as refused:
        CLASSES[cls](config=config)
    assert message in str(refused.value)


def test_good_values_and_the_unset_ones_pass(tmp_path):
    config = Config()
    config.LocalProvisioner.cluster_url = "http://127.0.0.1:5000/"
    config.LocalProvisioner.user_cluster_url = ""  # not set: the default applies
    config.LocalProvisioner.superusers = ["fluxadmin", "ünïcode"]
    config.LocalProvisioner.home_root = "/srv/homes"
    provisioner = LocalProvisioner(config=config)
    assert provisioner.cluster_url == "http://127.0.0.1:5000"
    kube = KubernetesProvisioner(
        minicluster="flux-sample",
        namespace="flux-operator",
        secret_name="flux.keys",
        user_containers=["flux-sample"],
        workdir=None,
        restful_container="",
    )
    assert (kube.minicluster, kube.workdir) == ("flux-sample", None)
    service = FluxAccountsService(reconcile_interval=0.0, config_file="")
    assert service.reconcile_interval == 0.0
    assert FluxHub(user="", job_names_path=str(tmp_path / "names.json")).user == ""


def test_the_accounts_service_stops_at_start_in_one_line(tmp_path):
    config_file = tmp_path / "jupyterhub_config.py"
    config_file.write_text('c.FluxAccounts.store_path = ""\n')
    with pytest.raises(SystemExit) as stopped:
        FluxAccountsService().initialize([f"--config={config_file}"])
    assert str(stopped.value) == (
        "flux-hub accounts service: FluxAccounts.store_path must not be empty, not ''"
    )
