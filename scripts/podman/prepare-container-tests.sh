#!/usr/bin/env bash
# Makes the opt-in container tests runnable on a machine like these (root, no
# Docker engine, no image registry): installs podman and debootstrap if
# missing, sets podman up (setup.sh, without the health-check ticker: the
# tests ask readiness by exec) and builds the stand-in images
# (build-base-images.sh: node, redis, postgres, and the fault proxy as a
# Toxiproxy stand-in, from this checkout, which must be built). On success
# it prints the environment the tests need, one `KEY=value` per line, and
# nothing else on stdout; on failure it exits non-zero with the reason on
# stderr. Undo with teardown.sh (KEEP_IMAGES=1 keeps the images).
#
#   env $(scripts/podman/prepare-container-tests.sh) npx vitest run <the *.containers.test.ts files>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "prepare-container-tests: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "prepare-container-tests: installing ${need[*]} with apt" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    die "apt-get install ${need[*]} failed"
fi
HEALTH_TICKER=0 "$here/setup.sh" >&2
ONLY="node redis postgres toxiproxy" REPO="$root" "$here/build-base-images.sh" >&2
echo "DOCKER_HOST=unix:///run/podman/podman.sock"
echo "TESTCONTAINERS_RYUK_DISABLED=true"
echo "LAB_CONTAINER_TESTS=1"
echo "LAB_IMAGES_FILE=$here/standin-images.env"
