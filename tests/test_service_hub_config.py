"""The accounts service loads the hub's config file (issue 29.4): it runs the file, but the
local cluster's helpers take what the hub decided there (no `flux version`, no probe, no
legacy server prepared again) and do not print the hub's notes a second time."""

import subprocess
import textwrap

import pytest
from traitlets.config import Config

import flux_hub.local
from flux_hub.hub import add_accounts_service
from flux_hub.hub.local import (
    DECIDED_ENV,
    configure_local_cluster,
    configure_local_spawner,
    in_accounts_service,
)

SETTINGS = (
    "system_accounts",
    "flux_server_mode",
    "server_dir",
    "cluster_state_dir",
    "cluster_url",
    "superusers",
)


@pytest.fixture(autouse=True)
def hub_environment(monkeypatch):
    """The hub's environment, restored after the test (the helpers write to it)."""
    monkeypatch.setenv(DECIDED_ENV, "{}")
    monkeypatch.setenv("FLUX_HUB_SIMULATE", "1")
    monkeypatch.delenv("FLUX_HUB_CLUSTER_PORT", raising=False)


def _forbid_finding_flux(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the accounts service looked for the cluster again")

    monkeypatch.setattr(flux_hub.local, "LocalCluster", refused)
    monkeypatch.setattr(subprocess, "run", refused)
    monkeypatch.setattr(subprocess, "Popen", refused)


def test_the_service_takes_the_hubs_settings_without_finding_them_again(
    tmp_path, monkeypatch, capsys
):
    hub = Config()
    url = configure_local_cluster(hub, tmp_path, multi_user=False)
    add_accounts_service(hub, __file__, port=8557)
    configure_local_spawner(hub, tmp_path)
    assert "every user's server and Flux jobs run as one Unix account" in capsys.readouterr().err
    [service] = [s for s in hub.JupyterHub.services if s["name"] == "flux-accounts"]

    # The service's process: the environment the hub gave it, the same config file run again
    monkeypatch.setenv(DECIDED_ENV, service["environment"][DECIDED_ENV])
    with monkeypatch.context() as m:
        _forbid_finding_flux(m)
        again = Config()
        with in_accounts_service():
            assert configure_local_cluster(again, tmp_path, multi_user=False) == url
            configure_local_spawner(again, tmp_path)
    assert capsys.readouterr().err == ""  # the hub said it already
    assert {k: again.LocalProvisioner[k] for k in SETTINGS} == {
        k: hub.LocalProvisioner[k] for k in SETTINGS
    }
    assert again.LocalProvisioner.cluster_url == url


def test_a_service_registered_first_still_gets_the_hubs_decision(tmp_path):
    hub = Config()
    add_accounts_service(hub, __file__, port=8558)
    configure_local_cluster(hub, tmp_path, multi_user=False)
    [service] = [s for s in hub.JupyterHub.services if s["name"] == "flux-accounts"]
    assert str(tmp_path.resolve()) in service["environment"][DECIDED_ENV]


def test_other_arguments_than_the_hubs_are_found_again(tmp_path):
    hub = Config()
    configure_local_cluster(hub, tmp_path, multi_user=False, admin="boss")
    again = Config()
    with in_accounts_service():
        configure_local_cluster(again, tmp_path, multi_user=False, admin="chief")
    assert again.LocalProvisioner.superusers == ["chief"]
    # ... and outside the service the hub always decides afresh
    fresh = Config()
    configure_local_cluster(fresh, tmp_path, multi_user=False, admin="boss")
    assert fresh.LocalProvisioner.superusers == ["boss"]


def test_the_service_built_from_the_hubs_config_file(tmp_path, monkeypatch, capsys, request):
    """FluxAccountsService.initialize on a hub config file as the examples write it."""
    from jupyterhub.crypto import CryptKeeper

    from flux_hub.service.app import FluxAccountsService

    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "")  # the config's ensure_crypt_key makes one
    CryptKeeper.clear_instance()
    request.addfinalizer(CryptKeeper.clear_instance)
    config_file = tmp_path / "jupyterhub_config.py"
    config_file.write_text(
        textwrap.dedent(
            f"""
            from flux_hub.hub import add_accounts_service, with_flux_accounts
            from flux_hub.hub.local import (
                configure_local_cluster, configure_local_spawner, ensure_crypt_key)

            c = get_config()
            ensure_crypt_key({str(tmp_path)!r})
            configure_local_cluster(c, {str(tmp_path)!r}, multi_user=False)
            c.JupyterHub.authenticator_class = with_flux_accounts("shared-password")
            c.FluxAccounts.store_path = {str(tmp_path / "accounts.sqlite")!r}
            add_accounts_service(c, __file__, port=8559)
            configure_local_spawner(c, {str(tmp_path)!r})
            """
        )
    )
    from traitlets.config import PyFileConfigLoader

    hub = PyFileConfigLoader(config_file.name, str(tmp_path)).load_config()  # the hub's start
    capsys.readouterr()
    [service] = [s for s in hub.JupyterHub.services if s["name"] == "flux-accounts"]
    monkeypatch.setenv(DECIDED_ENV, service["environment"][DECIDED_ENV])
    with monkeypatch.context() as m:
        _forbid_finding_flux(m)
        app = FluxAccountsService()
        app.initialize([f"--config={config_file}"])
    assert capsys.readouterr().err == ""
    provisioner = app.accounts.provisioner
    assert [getattr(provisioner, k) for k in SETTINGS] == [
        hub.LocalProvisioner[k] for k in SETTINGS
    ]


def test_a_hub_config_that_fails_to_load_stops_the_service(tmp_path):
    """Not default settings (an accounts store made in the working directory, the wrong
    cluster): one line naming the file and the error."""
    from flux_hub.service.app import FluxAccountsService

    config_file = tmp_path / "jupyterhub_config.py"
    config_file.write_text("c = get_config()\nc.FluxAccounts.store_path = undefined_name\n")
    app = FluxAccountsService()
    with pytest.raises(SystemExit) as stopped:
        app.initialize([f"--config={config_file}"])
    said = str(stopped.value)
    assert said == (
        f"flux-hub accounts service: the hub's config {config_file} could not be loaded: "
        "NameError: name 'undefined_name' is not defined"
    )
    assert not (tmp_path / "flux-hub-accounts.sqlite").exists()
