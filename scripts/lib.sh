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

ensure_venv() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
}
