#!/usr/bin/env bash
# Debian packages rhinoapp needs. `runtime` (for `make run`): EGL/Mesa (and OSMesa as fallback)
# for VTK's offscreen rendering, OpenMP for the solver. `test` (the default, for `make test`): the
# runtime packages plus Chromium for the browser tests, fonts for screenshots and poppler-utils (pdftoppm)
# for the report tests, Xvfb and xwd for the desktop window test (and the one X display the ParaView
# backend's pvpython processes share), ParaView 5.11 (pvpython) for the ParaView render backend and
# its .pvsm downloads, Node.js and npm for the JupyterHub test (whose
# proxy, configurable-http-proxy, scripts/install-chp.sh then installs with npm into .tools/).
# Installs what is missing when run as root; otherwise prints the command to run.
set -euo pipefail
packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libxrender1 libgomp1)
if [ "${1:-test}" = test ]; then
  packages+=(chromium fonts-liberation poppler-utils xvfb x11-apps paraview python3-paraview)
  # Node.js and npm as commands: another Node.js (e.g. one that bundles npm) serves as well
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${1:-test}" = test ]; then
  bash "$(dirname "$0")/install-chp.sh"
fi
