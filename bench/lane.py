"""Which Flux a benchmark runs on: real Flux when it is at hand, else the simulated instance.

Real Flux is at hand when flux-core's ``flux`` is on PATH, or when ``scripts/build-flux-core`` has
built it into the project's cache (``~/.cache/flux-hub/flux-core``, or ``$FLUX_HUB_CACHE``):
``use_real_flux_if_built()`` then puts that build on PATH for the benchmark and every process it
starts. ``FLUX_HUB_SIMULATE=1`` keeps a benchmark on the simulated instance whatever is installed.
Figures from the simulator predict nothing about real Flux unless checked on it, so every
benchmark prints the line ``describe()`` gives.
"""

import os
import subprocess
from pathlib import Path

from flux_hub.local.cluster import SIMULATE_ENV, choose_flux, find_flux


def _builds():
    cache = Path(os.environ.get("FLUX_HUB_CACHE") or Path.home() / ".cache" / "flux-hub")
    return sorted(marker.parent for marker in (cache / "flux-core").glob("*/.flux-hub-complete"))


def use_real_flux_if_built():
    """Put the project's flux-core build on PATH when no flux-core is there (and none is
    refused by $FLUX_HUB_SIMULATE)."""
    if os.environ.get(SIMULATE_ENV, "").strip() in ("1", "true", "yes") or find_flux():
        return
    builds = _builds()
    if builds:
        os.environ["PATH"] = f"{builds[-1] / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


def describe():
    """One line: the Flux this run's local clusters use."""
    use_real_flux_if_built()
    flux = choose_flux()
    if not flux:
        return "flux: the simulated Flux instance (no flux-core at hand; its costs are not Flux's)"
    out = subprocess.run([flux, "version"], capture_output=True, text=True).stdout
    core = next((ln.split()[-1] for ln in out.splitlines() if "libflux-core" in ln), "?")
    return f"flux: real Flux, flux-core {core} ({flux})"
