#!/usr/bin/env bash
# Create the project's virtual environment, installing Debian's venv support first if needed.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
if ! command -v "$python" >/dev/null; then
  echo "rhinoapp needs Python 3.11 ($python not found): apt-get install python3" >&2; exit 1
fi
"$python" - <<'PY' || { echo "rhinoapp needs Python 3.11 to 3.13" >&2; exit 1; }
import sys
sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)
PY
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    else
      echo "Python's venv module is missing: run 'sudo apt-get install python3-venv'" >&2; exit 1
    fi
  fi
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
fi
