"""The local MiniCluster as a hub-managed service, for a hub on one machine.

In jupyterhub_config.py::

    from flux_hub.hub.local import configure_local_cluster
    configure_local_cluster(c, ".flux-hub")

starts flux-restful (``python -m flux_hub.hub.local``, real Flux if installed, else the
simulated instance) with the hub, keeps its database, keys and port in the state directory so
that a restart changes nothing, and points the accounts core's LocalProvisioner at it. Unlike
``flux-hub local-cluster`` it prints no password: the hub's log must hold none. The cluster
superuser's password stays in the cluster's 0600 state file.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import sys
from pathlib import Path

from jupyterhub.utils import random_port

CRYPT_KEY_FILE = "jupyterhub-crypt-key"
PORT_FILE = "cluster-port"
# People's lab homes on a hub with one Unix account for all (state_dir/home/<hub user>)
HOMES = "home"
# What configure_local_cluster decided in the hub, for the accounts service, which loads the
# same config file: {state dir: {"args": [...], "url": ..., "provisioner": {trait: value}}}
DECIDED_ENV = "FLUX_HUB_LOCAL_CLUSTER"
_in_accounts_service = False


@contextlib.contextmanager
def in_accounts_service():
    """While the accounts service loads the hub's config file: configure_local_cluster takes
    the LocalProvisioner settings the hub decided (no probe of Flux, no `flux version`, no
    legacy server prepared again) and this module's helpers print nothing (the hub said it
    already)."""
    global _in_accounts_service
    _in_accounts_service = True
    try:
        yield
    finally:
        _in_accounts_service = False


def _say(message):
    """A note on the hub's standard error, once: in the hub, not again in its service."""
    if not _in_accounts_service:
        print(message, file=sys.stderr, flush=True)


def _decided():
    try:
        decided = json.loads(os.environ.get(DECIDED_ENV) or "{}")
    except ValueError:
        return {}
    return decided if isinstance(decided, dict) else {}


def _record_decision(c, state_dir, args, url, settings):
    """Keep what the hub decided where its accounts service finds it: the hub's environment
    (add_accounts_service hands it to the service), and an accounts service registered
    before this call."""
    decided = _decided()
    decided[str(state_dir)] = {"args": args, "url": url, "provisioner": settings}
    text = json.dumps(decided, sort_keys=True)
    os.environ[DECIDED_ENV] = text
    for service in c.JupyterHub.get("services", []):
        if "flux_hub.service" in service.get("command", ()) and "environment" in service:
            service["environment"][DECIDED_ENV] = text


def _private_file(path, make):
    """The content of ``path``, created mode 0600 with ``make()`` the first time."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make() + "\n")
    return path.read_text().strip()


def ensure_crypt_key(state_dir):
    """Set JUPYTERHUB_CRYPT_KEY from a key kept (0600) in ``state_dir`` unless it is set.

    The hub encrypts auth_state with it and flux-hub its stored passwords; losing it loses
    them, so it is generated once and kept.
    """
    if not os.environ.get("JUPYTERHUB_CRYPT_KEY"):
        key = _private_file(Path(state_dir) / CRYPT_KEY_FILE, lambda: secrets.token_hex(32))
        os.environ["JUPYTERHUB_CRYPT_KEY"] = key
    return os.environ["JUPYTERHUB_CRYPT_KEY"]


def configure_local_cluster(
    c,
    state_dir,
    *,
    port=None,
    nodes=2,
    cores_per_node=4,
    admin="fluxadmin",
    name="flux-cluster",
    multi_user=None,
    legacy=False,
    limits=None,
):
    """Run a local MiniCluster with the hub and provision accounts into it.

    ``port``: the cluster's port (default: $FLUX_HUB_CLUSTER_PORT, else a free port chosen
    once and kept in the state directory). ``multi_user``: every account gets a Unix account
    and each job runs as it (default: when the hub runs as root and the instance can run jobs
    as their owners, see ``multi_user_possible``). ``legacy``: run the legacy
    flux-restful-api (the seed's server) instead of flux-restful 1.1; it keeps no user apart
    from another, and the hub's log says so. ``limits``: the per-person limits of the guard in
    front of flux-restful (a dict of some of ``flux_hub.guard.limits.Limits``' fields, e.g.
    ``{"streams_per_user": 8, "active_jobs_per_user": 500}``; the others keep their defaults).
    A bad one stops the hub's start with the reason. Returns the cluster's URL.
    """
    state_dir = Path(state_dir).resolve()
    given = [port, nodes, cores_per_node, admin, name, multi_user, legacy, limits]
    args = json.loads(json.dumps(given, default=repr))  # as the record keeps them
    decided = _decided().get(str(state_dir)) if _in_accounts_service else None
    if decided and decided.get("args") == args:
        # The accounts service: the same settings as the hub, without finding them again
        for trait, value in decided["provisioner"].items():
            c.LocalProvisioner[trait] = value
        return decided["url"]
    from flux_hub.local import LocalCluster

    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    port = _cluster_port(state_dir, port)
    cluster = LocalCluster(
        state_dir / "cluster",
        port=port,
        nodes=nodes,
        cores_per_node=cores_per_node,
        admin_user=admin,
        legacy=legacy,
        limits=limits,
    )
    cluster.secret_key  # noqa: B018 (creates the cluster's keys now, for LocalProvisioner)
    settings = {}
    if legacy:
        settings.update(_prepare_legacy(cluster, multi_user))
        multi_user = False
    elif multi_user is None:
        multi_user = _multi_user_default(cluster)
    # Over the simulation flux-restful itself stays single-user (the simulator runs the jobs
    # as their owners)
    real_multi_user = multi_user and cluster.mode == "flux"
    settings.update(
        system_accounts=multi_user,
        flux_server_mode="multi-user" if real_multi_user else "single-user",
        server_dir=str(cluster.server_dir),
        # The hub's reader of the cluster logs in as its superuser (flux_hub/reader)
        cluster_state_dir=str(cluster.state_dir),
        cluster_url=cluster.url,
        superusers=[admin],
    )
    for trait, value in settings.items():
        c.LocalProvisioner[trait] = value
    _record_decision(c, state_dir, args, cluster.url, settings)
    service = {
        "name": name,
        "environment": _service_environment(legacy),
        "command": [
            sys.executable,
            "-m",
            "flux_hub.hub.local",
            f"--state-dir={cluster.state_dir}",
            f"--port={port}",
            f"--nodes={nodes}",
            f"--cores={cores_per_node}",
            f"--admin={admin}",
            # Chosen here, where $FLUX_HUB_SIMULATE and PATH are the hub's own: the hub
            # hands its services a reduced environment
            f"--mode={cluster.mode}",
            *(["--multi-user"] if multi_user else []),
            *(["--legacy"] if legacy else []),
            f"--limits={json.dumps(dataclasses.asdict(cluster.limits))}",
            # One Unix account for all: a job sent without a working directory starts in its
            # person's lab home (configure_local_spawner's), where their file browser sees it
            *([] if multi_user or legacy else [f"--homes={state_dir / HOMES}"]),
        ],
    }
    others = [s for s in c.JupyterHub.get("services", []) if s.get("name") != name]
    c.JupyterHub.services = [*others, service]
    return cluster.url


def home_template(homes):
    """The guard's FLUX_HUB_HOME_TEMPLATE for homes in folder ``homes`` ({} for None). The
    guard fills in the Flux account, the spawner the hub user: one folder for every name
    flux-hub keeps as it is (alice), two for an awkward one (Erin.Lee@x: its jobs sent
    without a folder start in homes/<account> then)."""
    if not homes:
        return {}
    from flux_hub.guard.workdir import FIELD, TEMPLATE_ENV

    return {TEMPLATE_ENV: str(Path(homes) / FIELD)}


def _cluster_port(state_dir, port):
    """The port asked for, else $FLUX_HUB_CLUSTER_PORT, else a free one kept in state_dir."""
    port = port or os.environ.get("FLUX_HUB_CLUSTER_PORT")
    return int(port or _private_file(state_dir / PORT_FILE, lambda: str(random_port())))


def _prepare_legacy(cluster, multi_user):
    """The legacy server: accounts go into its DB with its own code and Python; people log in
    with the form, so nobody is handed its secret key (which signs every access token there).
    The authenticator says in the hub's log that this server keeps no one apart. Returns the
    LocalProvisioner's settings for it."""
    if multi_user:
        raise ValueError("the legacy flux-restful-api cannot run jobs as their owners")
    cluster.prepare()  # its folder and DB, which accounts go into before it starts
    if os.geteuid() == 0:
        _say(
            "flux-hub: one Unix account for all users: the legacy flux-restful-api runs "
            "every job as the instance's owner"
        )
    return {"layout": "legacy", "python": cluster.legacy_python, "secret_key": ""}


def _multi_user_default(cluster):
    """Multi-user when this hub and instance can run each job as its owner; as root, says
    why not otherwise."""
    from flux_hub.local.cluster import multi_user_problem

    why_not = multi_user_problem(cluster.mode)
    if why_not and os.geteuid() == 0:
        _say(f"flux-hub: one Unix account for all users: {why_not}")
    return why_not is None


def _service_environment(legacy):
    """What the cluster's service needs from the hub's environment, which the hub hands its
    services reduced: for the legacy server, where its source (and its cached venv) is."""
    if not legacy:
        return {}
    from flux_hub.local import legacy as legacy_server

    environment = {legacy_server.SOURCE_ENV: str(legacy_server.source_tarball())}
    if os.environ.get(legacy_server.CACHE_ENV):
        environment[legacy_server.CACHE_ENV] = os.environ[legacy_server.CACHE_ENV]
    return environment


def configure_local_spawner(c, state_dir):
    """Single-user servers on this machine, with JupyterLab and the flux-hub extension.

    With the local cluster in multi-user mode (``configure_local_cluster`` first), each server
    runs as its person's own Unix account (``FluxLocalProcessSpawner``). Otherwise every
    server shares the hub's Unix account, and the hub says so at start.
    """
    c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    if c.LocalProvisioner.get("system_accounts"):
        c.JupyterHub.spawner_class = "flux_hub.hub.spawner.FluxLocalProcessSpawner"
        return
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(Path(state_dir) / HOMES / "{username}")
    account = "root" if os.geteuid() == 0 else os.environ.get("USER") or str(os.geteuid())
    if os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]
    _say(
        f"flux-hub: every user's server and Flux jobs run as one Unix account ({account}), so "
        "they can read each other's files and this hub's secrets: share this hub only among "
        "people who trust each other"
        + ("" if os.geteuid() == 0 else " (run it as root to give each person their own)")
    )


def main(argv=None):
    from flux_hub.local import LocalCluster
    from flux_hub.local.cli import serve

    parser = argparse.ArgumentParser(
        prog="python -m flux_hub.hub.local", description="The hub's local MiniCluster."
    )
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--admin", default="fluxadmin")
    parser.add_argument("--mode", choices=["flux", "simulated"], default=None)
    parser.add_argument("--multi-user", action="store_true")
    parser.add_argument("--legacy", action="store_true", help="the legacy flux-restful-api")
    parser.add_argument("--limits", type=json.loads, default=None, help="the guard's, as JSON")
    parser.add_argument(
        "--homes", default=None, help="single-user: the folder of people's homes (the guard's)"
    )
    args = parser.parse_args(argv)

    def stop(signum, frame):
        raise KeyboardInterrupt

    # The hub stops services with SIGINT, then SIGTERM; a hub started in the background may
    # hand down an ignored SIGINT, so both are handled explicitly.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    cluster = LocalCluster(
        args.state_dir,
        port=args.port,
        nodes=args.nodes,
        cores_per_node=args.cores,
        admin_user=args.admin,
        simulate=None if args.mode is None else args.mode == "simulated",
        multi_user=args.multi_user,
        legacy=args.legacy,
        limits=args.limits,
        server_env=home_template(args.homes),
    )

    def announce(cluster):
        # No passwords here: this runs under the hub, whose log must never hold them
        print(f"flux-hub: flux-restful is running at {cluster.url} ({cluster.mode})", flush=True)

    return serve(cluster, announce, prog="flux-hub", timeout=120)


if __name__ == "__main__":
    sys.exit(main())
