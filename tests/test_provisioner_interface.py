"""The provisioners' declared interface (issue 29.4): what a per-person cluster provisioner has
besides Provisioner's methods is ClusterPerPerson, MiniClusterPerUserProvisioner has all of it,
and flux-hub's callers use nothing else; making a LocalProvisioner runs nothing."""

import ast
import inspect
import os
import subprocess
import threading
from pathlib import Path

import pytest

import flux_hub
from flux_hub.accounts.provisioner import (
    PER_PERSON_MEMBERS,
    ClusterPerPerson,
    EnsureOp,
    LocalProvisioner,
    Provisioner,
    per_person_problems,
)
from flux_hub.kubernetes import MiniClusterPerUserProvisioner
from flux_hub.local import LocalCluster

PACKAGE = Path(flux_hub.__file__).parent


def test_the_per_person_interface_is_what_the_issue_lists():
    assert sorted(PER_PERSON_MEMBERS) == sorted(
        [
            "waits_for_cluster",
            "idle_timeout",
            "wait_ready",
            "cluster_state",
            "url_of",
            "settings",
            "defaults",
            "set_settings",
            "active_jobs",
        ]
    )


def test_the_minicluster_per_user_provisioner_satisfies_it():
    assert MiniClusterPerUserProvisioner.waits_for_cluster is True
    assert per_person_problems(MiniClusterPerUserProvisioner) == ""
    provisioner = MiniClusterPerUserProvisioner()  # (makes nothing: no Kubernetes call)
    assert isinstance(provisioner, ClusterPerPerson)
    assert inspect.iscoroutinefunction(provisioner.wait_ready)
    for name in PER_PERSON_MEMBERS:
        declared = getattr(ClusterPerPerson, name, None)
        if not inspect.isfunction(declared):
            continue
        given = getattr(MiniClusterPerUserProvisioner, name)
        assert list(inspect.signature(given).parameters) == list(
            inspect.signature(declared).parameters
        ), name
    # The shared-cluster provisioners wait for nothing and need none of it
    assert not LocalProvisioner.waits_for_cluster
    assert not isinstance(LocalProvisioner(), ClusterPerPerson)


def test_a_provisioner_that_waits_for_clusters_without_the_interface_is_refused():
    with pytest.raises(TypeError) as lacking:

        class Half(Provisioner):
            waits_for_cluster = True

            async def wait_ready(self, account, password, report):
                pass

    assert str(lacking.value) == (
        "Half waits for a cluster of each person's own (waits_for_cluster) but has no "
        "idle_timeout, active_jobs, cluster_state, defaults, set_settings, settings, url_of: "
        "see ClusterPerPerson"
    )

    with pytest.raises(TypeError) as blocking:

        class Blocking(MiniClusterPerUserProvisioner):
            def wait_ready(self, account, password, report):
                pass

    assert "its wait_ready is not a coroutine function (async def)" in str(blocking.value)


def _provisioner_uses():
    """{name: {file}} of every attribute flux-hub's code reads of a provisioner outside the
    provisioners' own modules: X.provisioner.NAME, provisioner.NAME, getattr(provisioner,
    "NAME", ...)."""
    own = {PACKAGE / "accounts" / "provisioner.py", PACKAGE / "kubernetes" / "provisioner.py"}
    own |= set((PACKAGE / "kubernetes" / "percluster").glob("*.py")) - {
        PACKAGE / "kubernetes" / "percluster" / "idle.py"  # a caller
    }

    def is_provisioner(node):
        return (isinstance(node, ast.Attribute) and node.attr == "provisioner") or (
            isinstance(node, ast.Name) and node.id == "provisioner"
        )

    uses = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in own:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            name = None
            if isinstance(node, ast.Attribute) and is_provisioner(node.value):
                name = node.attr
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2
                and is_provisioner(node.args[0])
                and isinstance(node.args[1], ast.Constant)
            ):
                name = node.args[1].value
            if name is not None:
                uses.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
    return uses


def test_callers_use_only_what_the_interfaces_declare():
    uses = _provisioner_uses()
    declared = {name for name in dir(Provisioner) if not name.startswith("_")}
    declared |= set(PER_PERSON_MEMBERS)
    undeclared = {name: sorted(files) for name, files in uses.items() if name not in declared}
    assert undeclared == {}
    # ... and the per-person interface declares nothing nobody uses
    assert set(PER_PERSON_MEMBERS) <= set(uses)
    # the callers the issue names are among those found
    assert "hub/authenticator.py" in uses["wait_ready"]
    assert "service/handlers.py" in uses["cluster_state"]
    assert "kubernetes/percluster/idle.py" in uses["active_jobs"]


def _forbid(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("a process or thread was started")

    monkeypatch.setattr(subprocess, "run", refused)
    monkeypatch.setattr(subprocess, "Popen", refused)
    monkeypatch.setattr(threading.Thread, "start", refused)


def test_making_a_local_provisioner_and_reading_its_key_runs_nothing(tmp_path, monkeypatch):
    server = tmp_path / "server"
    key = LocalCluster(server).secret_key  # the local cluster's state, as it keeps it
    monkeypatch.delenv("FLUX_SECRET_KEY", raising=False)
    # A `flux` on PATH and no choice of simulation: finding flux-core would run it
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "flux").write_text("#!/bin/sh\necho libflux-core\n")
    (bin_dir / "flux").chmod(0o755)
    with monkeypatch.context() as forbidden:
        forbidden.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
        forbidden.delenv("FLUX_HUB_SIMULATE", raising=False)
        _forbid(forbidden)
        provisioner = LocalProvisioner(server_dir=str(server))
        # From the cluster's state file, without `flux version` (which making a LocalCluster
        # runs to find flux-core)
        assert provisioner.secret_key == key
        assert LocalProvisioner(server_dir=str(tmp_path / "none")).secret_key == ""
        assert provisioner.serves_legacy() is False
        provisioner.start()
    # First real use: the account script, one process
    (result,) = provisioner.ensure([EnsureOp("alice", "a-long-password-1")])
    assert (result.name, result.status) == ("alice", "created")
    assert provisioner.runs == 1
