"""Account provisioning helpers shared by the local and Kubernetes provisioners.

``run_dbscript`` is the one way to run the DB script (``dbscript.py``, whose docstring is its
request and answer format) on this machine; ``LocalProvisioner`` and ``LocalCluster`` both use
it. On Kubernetes the same source runs in the flux-restful container (kubernetes/runner.py).
"""

import os
import subprocess
import sys
from pathlib import Path

from . import dbscript


class DBScriptRunError(RuntimeError):
    """The DB script could not run (``exit_status`` None) or exited with an error.

    The message is the reason alone (``dbscript.script_error``); callers name the cluster.
    """

    def __init__(self, reason, exit_status=None):
        super().__init__(reason)
        self.exit_status = exit_status


def run_dbscript(request, server_dir, *, python=sys.executable, legacy=False, timeout=600.0):
    """Run the DB script once in ``server_dir`` with ``request`` (JSON text) on stdin.

    Returns its stdout (the JSON answer). ``legacy``: the script goes to ``python`` as text
    with ``--legacy`` (the legacy server's Python has no flux_hub). The caller's FLUX_* and
    JUPYTERHUB_* settings are not passed on: they are not the script's business.
    Raises DBScriptRunError.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "JUPYTERHUB_"))}
    if legacy:
        argv = [python, "-c", Path(dbscript.__file__).read_text(), "--legacy"]
    else:
        argv = [python, "-m", "flux_hub.provision.dbscript"]
    try:
        done = subprocess.run(
            argv,
            cwd=server_dir,
            env=env,
            input=request,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DBScriptRunError(str(e)) from None
    if done.returncode != 0:
        raise DBScriptRunError(dbscript.script_error(done.stdout, done.stderr), done.returncode)
    return done.stdout
