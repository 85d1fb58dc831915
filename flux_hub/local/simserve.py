"""Run flux-restful, behind flux-hub's guard, against the simulated Flux instance.

    python -m flux_hub.local.simserve --nodes 2 --cores-per-node 4 --host 127.0.0.1 --port ...

The arguments after the simulation's are the guard's (python -m flux_hub.guard --help).

The simulated ``flux`` package (flux_hub/local/simflux/flux) goes on ``sys.path`` of this
process only: it is never on PYTHONPATH, so jobs and other programs cannot import it.
"""

import argparse
import os
import sys

SIMFLUX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "simflux")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flux_hub.local.simserve", description=__doc__)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--cores-per-node", type=int, default=4)
    # Every other argument is the guard's
    args, guard_args = parser.parse_known_args(argv)
    if args.nodes < 1 or args.cores_per_node < 1:
        parser.error("--nodes and --cores-per-node must be at least 1")

    if "flux" in sys.modules:
        sys.exit("flux-hub: a flux package is already imported; cannot simulate Flux here")
    sys.path.insert(0, SIMFLUX)
    import flux._broker

    from flux_hub.guard.serve import main as guard_main
    from flux_hub.local.cluster import node_prefix

    flux._broker.serve_instance(args.nodes, args.cores_per_node, node_prefix())
    return guard_main(guard_args)


if __name__ == "__main__":
    sys.exit(main())
