# Shared install steps for scripts/run-hub and scripts/test (sourced, not run).
VENV="${FLUX_HUB_VENV:-$PWD/.venv}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian chromium drives the browser tests; configurable-http-proxy (npm) fronts JupyterHub.
install_system_packages() {
  if [ ! -x /usr/bin/chromium ]; then
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  fi
  if ! command -v configurable-http-proxy >/dev/null; then
    as_root npm install --global --no-fund --no-audit configurable-http-proxy
  fi
}

# The venv is made from the system's Python where there is one (Debian's /usr/bin/python3): as
# root, each person's server runs as their own Unix account on this venv, so its interpreter
# must be one every user can run (a pyenv or conda Python under root's home is not).
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    local python=python3
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      python=/usr/bin/python3
    fi
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
      as_root apt-get update -q >/dev/null
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv python3-dev >/dev/null
      "$python" -m venv "$VENV"
    fi
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
}
