"""A real `jupyterhub` start without JUPYTERHUB_CRYPT_KEY stops at once with the reason."""

import os
import subprocess
import sys

import pytest

CONFIG = """
c.JupyterHub.authenticator_class = "flux"
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.LocalProvisioner.server_dir = "cluster"
"""


@pytest.mark.timeout(120)
def test_missing_crypt_key_stops_the_hub_with_a_clear_message(tmp_path):
    (tmp_path / "jupyterhub_config.py").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "FLUX_"))}
    done = subprocess.run(
        [sys.executable, "-m", "jupyterhub", "-f", "jupyterhub_config.py", "--port=0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "FluxAuthenticator: flux-hub keeps MiniCluster account passwords encrypted" in output
    assert "export JUPYTERHUB_CRYPT_KEY=$(openssl rand -hex 32)" in output
    assert "Traceback" not in output
