"""Account provisioning helpers shared by the local and Kubernetes provisioners.

``run_dbscript`` is the one way to run the DB script (``dbscript.py``, whose docstring is its
request and answer format) on this machine; ``LocalProvisioner`` and ``LocalCluster`` both use
it. On Kubernetes the same source runs in the flux-restful container (kubernetes/runner.py).
``ensure_op`` and ``dbscript_request`` build its request, and ``new_password`` the password of
every account flux-hub makes, for all of them.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from . import dbscript


def new_password():
    """A strong random password (192 bits, 32 URL-safe characters: well under bcrypt's 72-byte
    limit), for every account flux-hub makes, on any cluster."""
    return secrets.token_urlsafe(24)


def ensure_op(name, password, *, superuser=False, reset_password=False):
    """The DB script's "ensure" op for one account."""
    return {
        "op": "ensure",
        "name": name,
        "password": password,
        "superuser": bool(superuser),
        "reset_password": bool(reset_password),
    }


def dbscript_request(ops):
    """The DB script's request (one JSON line, for its stdin) for ``ops``."""
    return json.dumps({"ops": ops}, separators=(",", ":")) + "\n"


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
