"""The `flux-hub` command: Flux jobs from a terminal, and the local MiniCluster."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="flux-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", title="commands")
    from flux_hub.local.cli import add_parser as add_local_cluster
    from flux_hub.terminal import add_parsers as add_job_commands

    add_job_commands(commands)
    add_local_cluster(commands)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
