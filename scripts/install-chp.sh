#!/usr/bin/env bash
# configurable-http-proxy, the proxy JupyterHub starts (npm), for the JupyterHub test: installed into
# .tools/ of this checkout (or $RHINOAPP_TOOLS_DIR), once; a second run with it in place does nothing.
# Needs Debian's nodejs and npm (scripts/install-system-deps.sh installs them).
set -euo pipefail
version=4.6.3  # the last release for Debian 12's Node.js 18 (5.x needs Node.js 20)
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${RHINOAPP_TOOLS_DIR:-$root/.tools}"
bin="$prefix/node_modules/.bin/configurable-http-proxy"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: install Debian's nodejs and npm (bash scripts/install-system-deps.sh, as root)" >&2
  exit 1
fi
echo "Installing configurable-http-proxy $version into $prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "configurable-http-proxy@$version" >/dev/null
