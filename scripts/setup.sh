#!/usr/bin/env bash
# Installs what the local environment needs and builds the workspace.
# Idempotent: apt runs only for missing programs, npm ci only when
# node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
ldconfig -p 2>/dev/null | grep -q 'librdkafka.so.1 ' || [ -e /usr/lib/x86_64-linux-gnu/librdkafka.so.1 ] || need+=(librdkafka1)
# Each environment runs a Prometheus; the report's browser test runs Chromium (headless, through playwright-core).
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation)
# The benchmark measures raw Kafka produce with librdkafka's own client.
command -v kcat >/dev/null 2>&1 || need+=(kcat)
# The Docker path cannot run here, but its compose file is validated with docker-compose (offline).
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts the packaged services; the lab runs its own servers, so stop the system ones.
  if command -v service >/dev/null 2>&1; then
    $SUDO service redis-server stop >/dev/null 2>&1 || true
    $SUDO service postgresql stop >/dev/null 2>&1 || true
    $SUDO service prometheus stop >/dev/null 2>&1 || true
    $SUDO service prometheus-node-exporter stop >/dev/null 2>&1 || true
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building" >&2
npx tsc -b
