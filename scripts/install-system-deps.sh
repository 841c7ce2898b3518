#!/usr/bin/env bash
# Debian packages rhinoapp needs. `runtime` (for `make run`): EGL/Mesa (and OSMesa as fallback)
# for VTK's offscreen rendering, OpenMP for the solver. `test` (the default, for `make test`): the
# runtime packages plus Chromium for the browser tests, fonts for screenshots and poppler-utils (pdftoppm)
# for the report tests, Xvfb and xwd for the desktop window test, ParaView 5.11 (pvpython) for the
# ParaView render backend and its .pvsm downloads. Installs what is
# missing when run as root; otherwise prints the command to run.
set -euo pipefail
packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libxrender1 libgomp1)
if [ "${1:-test}" = test ]; then
  packages+=(chromium fonts-liberation poppler-utils xvfb x11-apps paraview python3-paraview)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
