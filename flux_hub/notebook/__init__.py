"""flux-hub in a notebook: connect(), Job objects, a job table, and the %%flux cell magic.

``%load_ext flux_hub.notebook`` (or ``%load_ext flux_hub``) adds the magic.
"""

from flux_hub.notebook.api import FluxCluster, Job, JobList, connect, parse_duration

__all__ = ["FluxCluster", "Job", "JobList", "connect", "parse_duration", "load_ipython_extension"]


def load_ipython_extension(ipython):
    from flux_hub.notebook.magic import FluxMagics

    ipython.register_magics(FluxMagics)
