# The top-level jupyterhub_config.py as it is, except that users' servers keep running when the
# hub stops: the reliability tests restart the hub under running servers, as an admin upgrading
# the hub would (JupyterHub reconnects to them at its next start).
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)
load_subconfig(str(Path(__file__).resolve().parents[2] / "jupyterhub_config.py"))  # noqa: F821
c.JupyterHub.cleanup_servers = False
