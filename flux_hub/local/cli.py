"""``flux-hub local-cluster``: run a local MiniCluster in the foreground until Ctrl-C."""

import signal
import sys
import time

from .cluster import (
    STATE_FILE,
    LocalCluster,
    LocalClusterError,
    choose_flux,
    find_flux,
    multi_user_possible,
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "local-cluster",
        help="run flux-restful on this machine with seeded users",
        description="Run the flux-restful server on 127.0.0.1 (under real Flux if flux-core is "
        "installed, else a simulated Flux instance) with a superuser and the given users. "
        "New users' passwords are printed once; all of them are kept in the state directory.",
    )
    parser.add_argument(
        "--state-dir",
        default=".flux-hub/local-cluster",
        help="database, keys, passwords and log (default: %(default)s)",
    )
    parser.add_argument("--port", type=int, default=5000, help="default: %(default)s")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        dest="users",
        metavar="NAME",
        help="a user to create (repeat for more)",
    )
    parser.add_argument("--nodes", type=int, default=2, help="default: %(default)s")
    parser.add_argument(
        "--cores",
        type=int,
        default=4,
        help="cores per node (default: %(default)s)",
    )
    parser.add_argument(
        "--admin", default="fluxadmin", help="the superuser's name (default: %(default)s)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--simulate",
        action="store_true",
        help="use the simulated Flux instance even if flux-core is installed",
    )
    which.add_argument(
        "--real",
        action="store_true",
        help="use real Flux, and fail if flux-core is not installed or usable",
    )
    users = parser.add_mutually_exclusive_group()
    users.add_argument(
        "--multi-user",
        action="store_true",
        help="run each job as the Unix account of its user, made if missing (needs root; "
        "the default as root where the instance can)",
    )
    users.add_argument(
        "--single-user",
        action="store_true",
        help="run every job as this process's own Unix account",
    )
    parser.set_defaults(func=run)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args):
    try:
        simulate = True if args.simulate else False if args.real else None
        multi_user = args.multi_user
        if not (args.multi_user or args.single_user):
            mode = "flux" if choose_flux(simulate) else "simulated"
            multi_user = multi_user_possible(mode)
        cluster = LocalCluster(
            args.state_dir,
            port=args.port,
            users=args.users,
            nodes=args.nodes,
            cores_per_node=args.cores,
            admin_user=args.admin,
            simulate=simulate,
            multi_user=multi_user,
        )
    except (ValueError, LocalClusterError) as error:
        print(f"flux-hub local-cluster: {error}", file=sys.stderr)
        return 2
    # "Press Ctrl-C to stop" holds even when started in the background from a script, which
    # hands down an ignored SIGINT (a CI run killed nothing here: it hung for 15 minutes).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    def announce(cluster):
        for name, password in cluster.new_passwords.items():
            print(f"Adding '{name}' with password '{password}'")
        if cluster.mode == "flux":
            how = (
                f"real Flux, flux start --test-size={cluster.nodes}, "
                f"{cluster.nodes} nodes x {cluster.cores_per_node} cores"
            )
        else:
            how = (
                f"simulated Flux instance, {cluster.nodes} nodes x {cluster.cores_per_node} cores"
                + (" (flux-core is not installed)" if find_flux() is None else "")
            )
        print(f"flux-restful is running at {cluster.url} ({how})")
        if cluster.multi_user:
            print("Each job runs as the Unix account of the user who submitted it.")
        else:
            print(
                "Every job runs as this Unix account, whoever submits it: users can read "
                "each other's files (--multi-user, as root, gives each their own)."
            )
        print(f"Passwords and the shared secret are in {cluster.state_dir / STATE_FILE}")
        print(f"Server log: {cluster.log_path}")
        print("Press Ctrl-C to stop.", flush=True)

    return serve(cluster, announce, prog="flux-hub local-cluster")


def serve(cluster, announce, *, prog, timeout=60):
    """Start the cluster, announce it, run until it stops or is stopped; the exit status.

    Shared by `flux-hub local-cluster` and the hub's local-cluster service.
    """
    try:
        cluster.start(timeout=timeout)
        announce(cluster)
        while cluster.running:
            time.sleep(0.5)
        print(f"{prog}: flux-restful stopped unexpectedly; see {cluster.log_path}", file=sys.stderr)
        return 1
    except LocalClusterError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopping flux-restful.", flush=True)
        return 0
    finally:
        cluster.stop()
