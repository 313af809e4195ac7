#!/usr/bin/env bash
# Podman runs a container's HEALTHCHECK from a systemd timer. Without systemd
# (this machine: "unable to get systemd connection to add healthchecks: dial
# unix /run/systemd/private: connect: no such file or directory") no check
# ever runs: the status stays "starting", so testcontainers' Wait.forHealthCheck()
# (the PostgreSQL module's default) times out and compose's
# `condition: service_healthy` never holds. This loop stands in for the timers:
# every TICK seconds (default 1) it runs `podman healthcheck run` on every
# running container that has a health check. Podman applies the retries and
# the start period itself; the per-container interval is not honoured (every
# check runs every tick). setup.sh starts it and teardown.sh stops it by PID.
set -euo pipefail
TICK=${TICK:-1}
command -v podman >/dev/null || { echo "health-ticker: podman is missing" >&2; exit 1; }
while :; do
  for id in $(podman ps -q --filter health=starting --filter health=healthy --filter health=unhealthy 2>/dev/null); do
    podman healthcheck run "$id" >/dev/null 2>&1 || true
  done
  sleep "$TICK"
done
