"""Which Flux the suite runs on (its lane), chosen as the local cluster chooses.

``FLUX_HUB_SIMULATE=1`` (or no flux-core on PATH): the simulated Flux instance.
``FLUX_HUB_SIMULATE=0`` (or flux-core on PATH): real Flux.
"""

from flux_hub.local.cluster import choose_flux

FLUX = choose_flux()
LANE = "real" if FLUX else "simulated"
REAL_FLUX = LANE == "real"

# What a job's returncode is after a cancel, by how far its shell had got when it came:
# 143 once the tasks run (SIGTERM, as the shell reports a task's end); -15 when the shell itself
# is ended before it started them; on real Flux (flux-core 0.88) also 1, a shell that fails
# while it sets up. The simulation gives the first two.
CANCEL_RETURNCODES = {1, -15, 143} if REAL_FLUX else {-15, 143}
