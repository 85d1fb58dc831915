"""Run the flux-restful command against the simulated Flux instance.

    python -m flux_hub.local.simserve --nodes 2 --cores-per-node 4 serve --host 127.0.0.1 ...

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
    parser.add_argument("restful_args", nargs=argparse.REMAINDER, help="flux-restful arguments")
    args = parser.parse_args(argv)
    if args.nodes < 1 or args.cores_per_node < 1:
        parser.error("--nodes and --cores-per-node must be at least 1")

    if "flux" in sys.modules:
        sys.exit("flux-hub: a flux package is already imported; cannot simulate Flux here")
    sys.path.insert(0, SIMFLUX)
    import flux._broker
    from flux_restful.cli import main as flux_restful_main

    from flux_hub.local.cluster import node_prefix

    flux._broker.serve_instance(args.nodes, args.cores_per_node, node_prefix())
    flux_restful_main(args.restful_args)


if __name__ == "__main__":
    main()
