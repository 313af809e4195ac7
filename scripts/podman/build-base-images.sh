#!/usr/bin/env bash
# Local stand-ins for the public base images, which cannot be pulled on a
# machine that reaches only deb.debian.org and registry.npmjs.org. They are
# NOT the pinned official images (.env): they are Debian bookworm packages
# plus the host's own Node, named honestly under localhost/chaos-lab-standin/.
#
#   sudo scripts/podman/build-base-images.sh          # after setup.sh
#
#   localhost/chaos-lab-standin/debian:bookworm     debootstrap --variant=minbase, imported
#   localhost/chaos-lab-standin/node:20-bookworm    + host node/npm/npx in /usr/local, user node (1000:1000)
#   localhost/chaos-lab-standin/redis:bookworm      + Debian redis-server (redis-cli), entrypoint like the official one
#   localhost/chaos-lab-standin/postgres:15-bookworm + Debian postgresql-15, entrypoint for POSTGRES_USER/_DB/
#                                                   _PASSWORD/_HOST_AUTH_METHOD, listens on *:5432
#   localhost/chaos-lab-standin/toxiproxy:fault-proxy  (only with ONLY=toxiproxy) the node stand-in + this
#                                                   repo's packages/fault-proxy, which speaks Toxiproxy's
#                                                   HTTP API, on :8474; Toxiproxy's flags are accepted
#                                                   and ignored. Needs a built checkout (REPO, default
#                                                   this one: npx tsc -b first).
#
# Env: ROOTFS (a bookworm rootfs to read; default: debootstrap one into
# $WORK/rootfs-bookworm), WORK (default /tmp/podman-work), FORCE=1 (rebuild),
# ONLY="node redis postgres" (subset), BUILD_NETWORK (podman build --network;
# default: podman's own, the bridge, which reaches deb.debian.org over http here).
set -euo pipefail

WORK=${WORK:-/tmp/podman-work}
ROOTFS=${ROOTFS:-$WORK/rootfs-bookworm}
PREFIX=localhost/chaos-lab-standin
ONLY=${ONLY:-node redis postgres}
BUILD_NETWORK=${BUILD_NETWORK:-}
LABEL=chaos-lab.check=1

die() { echo "build-base-images: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
command -v podman >/dev/null || die "podman is missing (apt-get install podman)"
command -v node >/dev/null || die "node is missing on the host (its binary is copied into the node stand-in)"
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/package.json" ] || die "npm's package folder not found (looked at $npm_dir)"
node_version=$("$node_bin" --version)
case "$node_version" in v20.*) ;; *) die "the host's node is $node_version, not Node 20" ;; esac

want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
need_build() { [ "${FORCE:-0}" = 1 ] || ! podman image exists "$1"; }
mkdir -p "$WORK"

# --- the rootfs ----------------------------------------------------------------
if [ ! -x "$ROOTFS/bin/bash" ]; then
  command -v debootstrap >/dev/null || die "no rootfs at $ROOTFS and debootstrap is missing (apt-get install debootstrap)"
  echo "debootstrap --variant=minbase bookworm $ROOTFS"
  debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $WORK/debootstrap.log"
fi

# --- debian:bookworm (the rootfs read as a tar, never modified) ----------------------------------
base=$PREFIX/debian:bookworm
if need_build "$base"; then
  echo "import $base from $ROOTFS"
  tar -C "$ROOTFS" --numeric-owner \
    --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./run/*' \
    --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' -c . |
    podman import --change 'CMD ["/bin/bash"]' --change "LABEL $LABEL" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null ||
    die "podman import of $ROOTFS failed"
fi

build() { # build <image> <context dir>
  podman build --format docker ${BUILD_NETWORK:+--network "$BUILD_NETWORK"} --label "$LABEL" -t "$1" "$2" >"$2.log" 2>&1 ||
    { tail -20 "$2.log" >&2; die "podman build of $1 failed; see $2.log"; }
  echo "built $1 ($(podman image inspect --format '{{.Size}}' "$1") bytes)"
}

# --- node:20-bookworm --------------------------------------------------------------
img=$PREFIX/node:20-bookworm
if want node && need_build "$img"; then
  ctx=$WORK/ctx-node
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  # This machine's egress re-signs TLS with a CA only the host trusts: the stand-in trusts it too (npm's global
  # config), so `npm ci` in a build works through any API, with no bind mount. Not in any official image.
  host_ca=${HOST_CA-$(npm config get cafile 2>/dev/null || true)}
  case "$host_ca" in null | undefined) host_ca= ;; esac
  mkdir -p "$ctx/etc"
  if [ -n "$host_ca" ]; then
    [ -f "$host_ca" ] || die "HOST_CA=$host_ca is not a file"
    cp "$host_ca" "$ctx/etc/host-ca.crt"
    printf 'cafile=/usr/local/etc/host-ca.crt\n' >"$ctx/etc/npmrc"
  fi
  cat >"$ctx/Containerfile" <<CF
FROM $base
# What the Dockerfiles use of node:20-bookworm-slim: node, npm and npx on PATH
# (in /usr/local, as there), user node 1000:1000 with home /home/node, and
# find/xargs/cp --parents (findutils, coreutils: already in minbase).
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY etc /usr/local/etc
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_VERSION=${node_version#v}
LABEL org.opencontainers.image.description="chaos-lab stand-in for node:20-bookworm-slim: Debian bookworm minbase + the build host's node ${node_version}"
CMD ["node"]
CF
  build "$img" "$ctx"
fi

# --- redis ------------------------------------------------------------------------
img=$PREFIX/redis:bookworm
if want redis && need_build "$img"; then
  ctx=$WORK/ctx-redis
  rm -rf "$ctx" && mkdir -p "$ctx"
  cat >"$ctx/docker-entrypoint.sh" <<'SH'
#!/bin/sh
# Like the official redis image: a first argument that is an option or a
# .conf file means redis-server; protected mode is off by default (the
# official image patches that default); runs as user redis.
set -e
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ]; then
  shift
  conf=
  case "${1:-}" in *.conf) conf=$1; shift ;; esac
  set -- redis-server $conf --protected-mode no "$@"
  if [ "$(id -u)" = 0 ]; then
    chown redis:redis /data 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
SH
  cat >"$ctx/Containerfile" <<CF
FROM $base
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
LABEL org.opencontainers.image.description="chaos-lab stand-in for redis: Debian bookworm redis-server"
CF
  build "$img" "$ctx"
fi

# --- postgres ---------------------------------------------------------------------
img=$PREFIX/postgres:15-bookworm
if want postgres && need_build "$img"; then
  ctx=$WORK/ctx-postgres
  rm -rf "$ctx" && mkdir -p "$ctx"
  cat >"$ctx/docker-entrypoint.sh" <<'SH'
#!/bin/bash
# The part of the official postgres image's entrypoint the lab and
# testcontainers use: POSTGRES_USER (default postgres), POSTGRES_PASSWORD,
# POSTGRES_DB (default: the user), POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS;
# initdb on first start, listen on all addresses, `postgres -c ...` as the
# command, run as user postgres. No /docker-entrypoint-initdb.d.
set -euo pipefail
if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  method=${POSTGRES_HOST_AUTH_METHOD:-}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$method" != trust ]; then
    echo "Error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  [ -n "$method" ] || method=scram-sha-256
  pw=()
  pwfile=
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    pw=(--pwfile="$pwfile")
  fi
  # shellcheck disable=SC2086
  initdb --username="$user" -D "$PGDATA" --auth-local=trust --auth-host="$method" "${pw[@]}" ${POSTGRES_INITDB_ARGS:-}
  [ -z "$pwfile" ] || rm -f "$pwfile"
  printf "\nhost all all all %s\n" "$method" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -c "CREATE DATABASE \"$db\""
    pg_ctl -D "$PGDATA" -m fast -w stop
  fi
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
SH
  cat >"$ctx/Containerfile" <<CF
FROM $base
# No cluster from the Debian package: the entrypoint makes one in PGDATA.
RUN mkdir -p /etc/postgresql-common \\
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      -o Dpkg::Options::=--force-confold postgresql-15 \\
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PGDATA=/var/lib/postgresql/data
RUN mkdir -p "\$PGDATA" /var/run/postgresql \\
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && chmod 1777 /var/run/postgresql
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
LABEL org.opencontainers.image.description="chaos-lab stand-in for postgres:15: Debian bookworm postgresql-15"
CF
  build "$img" "$ctx"
fi

# --- toxiproxy (the lab's fault proxy, which speaks Toxiproxy's API) -------------------
img=$PREFIX/toxiproxy:fault-proxy
if want toxiproxy && need_build "$img"; then
  REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  [ -f "$REPO/packages/fault-proxy/dist/main.js" ] ||
    die "$REPO/packages/fault-proxy/dist/main.js is missing: build the checkout first (npx tsc -b) or set REPO"
  podman image exists "$PREFIX/node:20-bookworm" || die "$PREFIX/node:20-bookworm is missing: build it first (ONLY=node)"
  ctx=$WORK/ctx-toxiproxy
  rm -rf "$ctx" && mkdir -p "$ctx/app/packages/fault-proxy" "$ctx/app/node_modules"
  cp -a "$REPO/packages/fault-proxy/dist" "$REPO/packages/fault-proxy/package.json" "$ctx/app/packages/fault-proxy/"
  # Its runtime dependencies, copied from the checkout's node_modules (the closure of "dependencies").
  (cd "$REPO" && node -e '
    const { readFileSync } = require("node:fs");
    const seen = new Set();
    const visit = (dir) => {
      const deps = Object.keys(JSON.parse(readFileSync(dir + "/package.json", "utf8")).dependencies ?? {});
      for (const d of deps) if (!seen.has(d)) { seen.add(d); visit("node_modules/" + d); }
    };
    visit("packages/fault-proxy");
    console.log([...seen].join("\n"));
  ') | while read -r dep; do
    mkdir -p "$ctx/app/node_modules/$(dirname "$dep")"
    cp -a "$REPO/node_modules/$dep" "$ctx/app/node_modules/$dep"
  done
  cat >"$ctx/toxiproxy" <<'SH'
#!/bin/sh
# Toxiproxy's command line (-host, -port, -config, -proxy-metrics, -runtime-metrics) is
# accepted; the fault proxy listens on all addresses, on -port (default 8474).
port=8474
for a in "$@"; do case "$a" in -port=*) port=${a#-port=} ;; esac; done
exec node /app/packages/fault-proxy/dist/main.js --host 0.0.0.0 --port "$port"
SH
  cat >"$ctx/Containerfile" <<CF
FROM $PREFIX/node:20-bookworm
COPY app /app
COPY toxiproxy /toxiproxy
RUN chmod 755 /toxiproxy
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
LABEL org.opencontainers.image.description="chaos-lab stand-in for ghcr.io/shopify/toxiproxy: the lab's fault proxy (Toxiproxy's HTTP API) on the node stand-in"
CF
  build "$img" "$ctx"
fi

podman images --filter "reference=$PREFIX/*" --format '{{.Repository}}:{{.Tag}} {{.Size}}'
