#!/usr/bin/env bash
# The whole podman check, in order, from nothing to nothing:
# setup → stand-in base images → app images (from a clone of HEAD, podman's
# CLI) → run both images against the lab's local environment → the container
# tests in the clone (the docker provider's containers, apps/Dockerfile through
# the API) → teardown (on every exit path; KEEP_IMAGES=1 keeps the images).
#
#   sudo scripts/podman/check-all.sh
#
# Results: $WORK/results (default /tmp/podman-work/results).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/podman-work}
export WORK
CLONE=${LAB_CLONE:-$WORK/clone}
trap '"$here/teardown.sh"' EXIT
"$here/setup.sh"
"$here/build-base-images.sh"
"$here/build-app-images.sh"
"$here/run-app-check.sh"
[ -f "$CLONE/node_modules/testcontainers/package.json" ] ||
  { echo "check-all: $CLONE has no node_modules/testcontainers (run-app-check.sh prepares it)" >&2; exit 1; }
ONLY=toxiproxy REPO="$CLONE" "$here/build-base-images.sh"
(cd "$CLONE" && DOCKER_HOST=unix:///run/podman/podman.sock TESTCONTAINERS_RYUK_DISABLED=true LAB_CONTAINER_TESTS=1 \
  LAB_IMAGES_FILE="$here/standin-images.env" npx vitest run --project containers) | tee "$WORK/results/container-tests.txt"
