#!/usr/bin/env bash
# Builds the coordinator and ingest images with podman, as a Docker user (or
# docker-compose.distributed.yml) would: `docker build -f apps/Dockerfile
# --build-arg NODE_IMAGE=... --build-arg APP=<app> --build-arg HTTP_PORT_ENV=...
# --build-arg HTTP_PORT=... .` (the compose file's build args; a commit from
# before the shared apps/Dockerfile uses apps/<app>/Dockerfile),
# from a pristine clone of the committed HEAD (never a working tree), on the
# node stand-in from build-base-images.sh. --format docker keeps HEALTHCHECK
# (the OCI format drops it).
#
#   sudo scripts/podman/build-app-images.sh [coordinator] [ingest]
#
# Env: REPO (default: this script's repository), WORK (default /tmp/podman-work),
# NODE_IMAGE (default localhost/chaos-lab-standin/node:20-bookworm), TAG (default check),
# NO_CACHE=1 (every step runs: the cold build time),
# HOST_CA: a CA bundle that npm inside the build must trust. Default: the host
# npm's `cafile` setting. On a network whose egress re-signs TLS (this machine:
# npm ci in the build container fails with "self-signed certificate in
# certificate chain"), a folder holding that bundle and an npmrc naming it is
# bind-mounted over /usr/local/etc (npm's global config folder; empty in the
# stand-in) for the RUN steps only (`podman build -v`): the Dockerfiles do not
# change and the images keep no trace of it. HOST_CA= (empty) turns that off.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(git -C "$here" rev-parse --show-toplevel)}
WORK=${WORK:-/tmp/podman-work}
NODE_IMAGE=${NODE_IMAGE:-localhost/chaos-lab-standin/node:20-bookworm}
TAG=${TAG:-check}
LABEL=chaos-lab.check=1
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(coordinator ingest)

die() { echo "build-app-images: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
command -v podman >/dev/null || die "podman is missing (apt-get install podman)"
command -v git >/dev/null || die "git is missing"
podman image exists "$NODE_IMAGE" || die "$NODE_IMAGE is missing; run scripts/podman/build-base-images.sh first"

if [ -z "${HOST_CA+x}" ]; then
  HOST_CA=$(npm config get cafile 2>/dev/null || true)
  case "$HOST_CA" in null | undefined) HOST_CA= ;; esac
fi
ca_args=()
if [ -n "$HOST_CA" ]; then
  [ -f "$HOST_CA" ] || die "HOST_CA=$HOST_CA is not a file"
  etc=$WORK/build-npm-etc
  rm -rf "$etc" && mkdir -p "$etc"
  cp "$HOST_CA" "$etc/host-ca.crt"
  printf 'cafile=/usr/local/etc/host-ca.crt\n' >"$etc/npmrc"
  chmod -R a+rX "$etc"
  ca_args=(-v "$etc:/usr/local/etc:ro")
fi

# A pristine clone of the committed HEAD.
src=$WORK/clone-build
commit=$(git -C "$REPO" rev-parse HEAD)
rm -rf "$src"
git clone -q "$REPO" "$src" || die "git clone $REPO failed"
git -C "$src" checkout -q "$commit"
mkdir -p "$WORK/results"

for app in "${apps[@]}"; do
  case "$app" in
    coordinator) port_env=COORDINATOR_HTTP_PORT port=8080 ;;
    ingest) port_env=INGEST_HTTP_PORT port=8081 ;;
    *) die "unknown app '$app' (coordinator, ingest)" ;;
  esac
  if [ -f "$src/apps/Dockerfile" ]; then
    dockerfile=apps/Dockerfile
    args=(--build-arg "APP=$app" --build-arg "HTTP_PORT_ENV=$port_env" --build-arg "HTTP_PORT=$port")
  elif [ -f "$src/apps/$app/Dockerfile" ]; then
    dockerfile=apps/$app/Dockerfile
    args=()
  else
    die "neither apps/Dockerfile nor apps/$app/Dockerfile exists at $commit"
  fi
  img=localhost/chaos-lab/$app:$TAG
  log=$WORK/results/build-$app.log
  echo "building $img from $commit ..."
  t0=$(date +%s.%N)
  podman build --format docker --label "$LABEL" "${ca_args[@]}" ${NO_CACHE:+--no-cache} \
    -f "$dockerfile" --build-arg "NODE_IMAGE=$NODE_IMAGE" "${args[@]}" -t "$img" "$src" >"$log" 2>&1 ||
    { tail -25 "$log" >&2; die "podman build of $img failed; see $log"; }
  t1=$(date +%s.%N)
  {
    echo "image:       $img"
    echo "commit:      $commit"
    echo "dockerfile:  $dockerfile ${args[*]}"
    echo "base:        $NODE_IMAGE"
    echo "ca mount:    ${HOST_CA:-none}"
    echo "cache:       $([ -n "${NO_CACHE:-}" ] && echo "off (--no-cache)" || echo on)"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "build wall:  %.1f s\n", b - a }'
    echo "size:        $(podman image inspect --format '{{.Size}}' "$img") bytes"
    echo "user:        $(podman image inspect --format '{{.Config.User}}' "$img")"
    echo "healthcheck: $(podman image inspect --format '{{json .HealthCheck}}' "$img")"
    echo "cmd:         $(podman image inspect --format '{{json .Config.Cmd}}' "$img")"
    echo "env:         $(podman image inspect --format '{{json .Config.Env}}' "$img")"
  } | tee "$WORK/results/build-$app.txt"
done
