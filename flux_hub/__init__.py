"""flux-hub: a shared Flux cluster (a MiniCluster behind flux-restful) from JupyterHub."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flux-hub")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


# Entry points for Jupyter and IPython. The imports wait until a server or kernel asks, so that
# `import flux_hub` stays light for the hub and the command line.
def _jupyter_server_extension_points():
    return [{"module": "flux_hub"}]


def _load_jupyter_server_extension(serverapp):
    from flux_hub.serverextension import _load_jupyter_server_extension as load

    load(serverapp)


def load_ipython_extension(ipython):
    """`%load_ext flux_hub` adds the %%flux cell magic."""
    from flux_hub.notebook import load_ipython_extension as load

    load(ipython)
