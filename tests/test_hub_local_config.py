"""configure_local_cluster: what it sets in the hub's config (nothing is started here)."""

import pytest
from traitlets.config import Config

from flux_hub.hub.local import PORT_FILE, configure_local_cluster
from flux_hub.local.cluster import multi_user_problem


def test_the_cluster_service_and_the_provisioner_point_at_one_cluster(tmp_path, monkeypatch):
    monkeypatch.delenv("FLUX_HUB_CLUSTER_PORT", raising=False)
    c = Config()
    c.JupyterHub.services = [{"name": "flux-cluster", "command": ["old"]}, {"name": "other"}]
    url = configure_local_cluster(c, tmp_path, nodes=3, cores_per_node=2, admin="boss")
    port = int((tmp_path / PORT_FILE).read_text())
    assert url == f"http://127.0.0.1:{port}"
    assert configure_local_cluster(Config(), tmp_path) == url  # the port is kept
    provisioner = c.LocalProvisioner
    assert provisioner.cluster_url == url and provisioner.superusers == ["boss"]
    assert provisioner.server_dir == str(tmp_path.resolve() / "cluster")
    [other, service] = c.JupyterHub.services
    assert other == {"name": "other"} and service["name"] == "flux-cluster"
    command = service["command"]
    assert command[1:3] == ["-m", "flux_hub.hub.local"]
    assert f"--state-dir={tmp_path.resolve() / 'cluster'}" in command
    assert {f"--port={port}", "--nodes=3", "--cores=2", "--admin=boss"} <= set(command)
    mode = next(arg.split("=")[1] for arg in command if arg.startswith("--mode="))
    multi_user = multi_user_problem(mode) is None
    assert provisioner.system_accounts is multi_user
    assert ("--multi-user" in command) is multi_user and "--legacy" not in command
    assert service["environment"] == {}
    # flux-restful itself is multi-user only on real Flux (over the simulation the simulator
    # runs jobs as their owners): what each person's server is told
    real = multi_user and mode == "flux"
    assert provisioner.flux_server_mode == ("multi-user" if real else "single-user")


def test_a_port_from_the_environment_and_no_multi_user_when_told(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUX_HUB_CLUSTER_PORT", "45678")
    c = Config()
    assert configure_local_cluster(c, tmp_path, multi_user=False).endswith(":45678")
    assert c.LocalProvisioner.system_accounts is False
    assert c.LocalProvisioner.flux_server_mode == "single-user"
    assert "--multi-user" not in c.JupyterHub.services[0]["command"]


def test_the_legacy_server_cannot_run_jobs_as_their_owners(tmp_path):
    with pytest.raises(ValueError, match="cannot run jobs as their owners"):
        configure_local_cluster(Config(), tmp_path, legacy=True, multi_user=True)


def test_the_guards_limits_reach_the_cluster_service(tmp_path):
    """An admin's limits (jupyterhub_config.py) go to the service that runs the cluster, whose
    guard gets them; a bad one stops the hub's start with the reason."""
    import json

    from flux_hub.local import LocalCluster

    c = Config()
    configure_local_cluster(c, tmp_path, limits={"streams_per_user": 8})
    [service] = c.JupyterHub.services
    [given] = [arg for arg in service["command"] if arg.startswith("--limits=")]
    limits = json.loads(given.partition("=")[2])
    assert limits["streams_per_user"] == 8 and limits["active_jobs_per_user"] == 100
    # what the service makes of it (flux_hub.hub.local.main)
    cluster = LocalCluster(tmp_path / "cluster", limits=limits)
    environment = cluster._server_environment()
    assert environment["FLUX_HUB_LIMIT_STREAMS_PER_USER"] == "8"
    assert environment["FLUX_HUB_LIMIT_ACTIVE_JOBS_PER_USER"] == "100"
    with pytest.raises(ValueError, match="unknown limit streams: the limits are"):
        configure_local_cluster(Config(), tmp_path, limits={"streams": 8})


def test_one_account_for_all_a_job_without_a_folder_starts_in_the_lab_home(tmp_path):
    """With one Unix account for all, the guard's folder for a job sent without one is the
    person's lab home (the spawner's home_dir_template), where their file browser sees it;
    multi-user servers use the account's own home instead."""
    from flux_hub.guard.workdir import TEMPLATE_ENV
    from flux_hub.hub.local import configure_local_spawner, home_template
    from flux_hub.local import LocalCluster

    c = Config()
    configure_local_cluster(c, tmp_path, multi_user=False)
    configure_local_spawner(c, tmp_path)
    [given] = [a for a in c.JupyterHub.services[0]["command"] if a.startswith("--homes=")]
    homes = given.partition("=")[2]
    lab_home = c.SimpleLocalProcessSpawner.home_dir_template.replace("{username}", "alice")
    # what the service makes of it (flux_hub.hub.local.main)
    cluster = LocalCluster(tmp_path / "cluster", server_env=home_template(homes))
    template = cluster._server_environment()[TEMPLATE_ENV]
    assert template.replace("{user}", "alice") == lab_home
    multi = Config()
    configure_local_cluster(multi, tmp_path, multi_user=True)
    assert not [a for a in multi.JupyterHub.services[0]["command"] if a.startswith("--homes")]
