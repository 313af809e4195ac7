#!/usr/bin/env bash
# Installs what the local environment needs and builds the workspace.
# Idempotent: apt runs only for missing packages, npm ci only when
# node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages are listed, with why, in scripts/apt-packages.txt (group "local").
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
if [ -n "$(apt_missing $(apt_group local))" ]; then
  apt_ensure local
  # Debian starts the packaged services; the lab runs its own servers, so stop the system ones.
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if command -v service >/dev/null 2>&1; then
    for s in redis-server postgresql prometheus prometheus-node-exporter; do
      $SUDO service "$s" stop >/dev/null 2>&1 || true
    done
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
# The patches of patches/ (npm ci applies them, postinstall); again here for a node_modules older than a patch.
npx --no-install patch-package >/dev/null

echo "setup: building" >&2
npx tsc -b
