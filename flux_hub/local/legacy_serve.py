"""Serve the legacy flux-restful-api (``app.main:app``) with uvicorn, on one worker as it runs.

Run by path with the legacy server's own Python (flux_hub.local.legacy builds it), in the
server's folder; it imports nothing of flux_hub, which is not installed there:

    <legacy python> legacy_serve.py --host H --port P [--simulate NODES CORES PREFIX]

With ``--simulate`` the server runs against flux-hub's simulated Flux instance (the ``flux``
package next to this file, on ``sys.path`` of this process only); otherwise it imports the real
bindings (run it under ``flux start``, with their folder on PYTHONPATH).
"""

import argparse
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
SIMFLUX = os.path.join(HERE, "simflux")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--simulate", nargs=3, metavar=("NODES", "CORES", "PREFIX"))
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())  # the server's `app` package
    import uvicorn

    if args.simulate:
        nodes, cores, prefix = int(args.simulate[0]), int(args.simulate[1]), args.simulate[2]
        # The simulation reads job ids with flux_hub.jobid (standard library only): that module
        # alone is made importable, not flux_hub's folder, whose neighbours may clash here
        package = types.ModuleType("flux_hub")
        package.__path__ = [os.path.dirname(HERE)]
        sys.modules["flux_hub"] = package
        sys.path.insert(0, SIMFLUX)
        import flux._broker

        flux._broker.serve_instance(nodes, cores, prefix)
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=1, log_level="info")


if __name__ == "__main__":
    main()
