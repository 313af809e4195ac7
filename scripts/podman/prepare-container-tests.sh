#!/usr/bin/env bash
# Makes the opt-in container tests runnable on a machine like these (root, no
# Docker engine, no image registry): installs the "containers" group of
# scripts/apt-packages.txt where missing (podman, debootstrap, the CNI
# plugins and their DNS plugin), sets podman up (setup.sh, without the health-check ticker: the
# tests ask readiness by exec) and builds the stand-in images
# (build-base-images.sh: node, redis, postgres, and the fault proxy as a
# Toxiproxy stand-in, from this checkout, which must be built), then checks
# that a container resolves another by its network alias (check-dns.sh). On success
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
# podman, debootstrap, and what containers on one network need to find each other by alias (the
# proxies' upstreams are "redis" and "postgres"): the CNI plugins and their DNS plugin. setup.sh pins
# the CNI backend, so a machine that also carries netavark resolves names the same way.
# shellcheck source=../lib/apt.sh
source "$root/scripts/lib/apt.sh"
apt_ensure containers || die "could not install the container test packages: $(apt_missing $(apt_group containers) | xargs)"
HEALTH_TICKER=0 "$here/setup.sh" >&2
ONLY="node redis postgres toxiproxy" REPO="$root" "$here/build-base-images.sh" >&2
dns=$("$here/check-dns.sh" 2>&1) || die "$(tail -1 <<<"$dns")"
echo "$dns" >&2
echo "DOCKER_HOST=unix:///run/podman/podman.sock"
echo "TESTCONTAINERS_RYUK_DISABLED=true"
echo "LAB_CONTAINER_TESTS=1"
echo "LAB_IMAGES_FILE=$here/standin-images.env"
