"""Which Flux the suite runs on (its lane), chosen as the local cluster chooses.

``FLUX_HUB_SIMULATE=1`` (or no flux-core on PATH): the simulated Flux instance.
``FLUX_HUB_SIMULATE=0`` (or flux-core on PATH): real Flux.
"""

from flux_hub.local.cluster import choose_flux

FLUX = choose_flux()
LANE = "real" if FLUX else "simulated"
REAL_FLUX = LANE == "real"

# What a job's returncode is after a cancel: 143 (SIGTERM, as the shell reports it) on the
# simulated instance; on real Flux it depends on how far the job shell had got when the
# exception came: 1 or -15 while it starts the tasks, 143 once they run (flux-core 0.88).
CANCEL_RETURNCODES = {1, -15, 143} if REAL_FLUX else {143}
