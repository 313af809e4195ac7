#!/usr/bin/env bash
# Host setup for running the project's Docker path on rootful podman, on a
# machine without a Docker engine. Idempotent: run it as often as you like.
#
#   sudo scripts/podman/setup.sh
#
# 1. cgroups: crun refuses "hybrid" cgroups (a v1 hierarchy plus controllers
#    on the cgroup2 mount). When /sys/fs/cgroup/unified has controllers
#    (here: hugetlb), mount that controller as its own v1 hierarchy so the
#    cgroup2 mount keeps none.
# 2. rlimits: without CAP_SYS_RESOURCE crun cannot raise a limit above the
#    caller's hard limit, and podman's default nofile/nproc (1048576) fail with
#    "setrlimit RLIMIT_NOFILE: Operation not permitted". The defaults go into
#    a containers.conf drop-in (so containers created through the API, e.g.
#    by testcontainers, get them too): nofile = the hard limit here, nproc =
#    min(the hard limit, kernel.pid_max) (a larger nproc fails on this kernel).
#    The network backend is pinned to CNI: podman picks netavark whenever that
#    package happens to be present, and the two need different DNS packages
#    (CNI: golang-github-containernetworking-plugin-dnsname, installed by
#    prepare-container-tests.sh; netavark: aardvark-dns). One backend, one
#    package list, whatever else the machine carries.
# 3. The Docker-compatible API on unix:///run/podman/podman.sock, started in
#    the background; its PID goes to $STATE_DIR/service.pid for teardown.sh.
# 4. Health checks: podman runs them from systemd timers, and there is no
#    systemd here, so health-ticker.sh runs them instead (PID in
#    $STATE_DIR/health-ticker.pid). HEALTH_TICKER=0 leaves it out.
set -euo pipefail

STATE_DIR=${PODMAN_CHECK_STATE_DIR:-/run/chaos-lab-podman}
SOCK=/run/podman/podman.sock
CONF_D=/etc/containers/containers.conf.d
CONF=$CONF_D/50-chaos-lab.conf

die() { echo "podman setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
command -v podman >/dev/null || die "podman is missing (apt-get install podman)"
command -v crun >/dev/null || die "crun is missing (apt-get install crun)"

# --- 1. cgroups ------------------------------------------------------------
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    [ -d "/sys/fs/cgroup/$c" ] || mkdir -p "/sys/fs/cgroup/$c"
    if ! mountpoint -q "/sys/fs/cgroup/$c"; then
      mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" ||
        die "could not mount the $c controller as a v1 hierarchy at /sys/fs/cgroup/$c"
    fi
  done
  [ -z "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ] ||
    die "/sys/fs/cgroup/unified still has controllers: $(cat /sys/fs/cgroup/unified/cgroup.controllers)"
fi

# --- 2. containers.conf drop-in -------------------------------------------------
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
{ [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; } && nproc=$pid_max
mkdir -p "$CONF_D"
want=$(cat <<CONF
# Written by scripts/podman/setup.sh (chaos-lab). Remove to undo.
[containers]
default_ulimits = [
  "nofile=$nofile:$nofile",
  "nproc=$nproc:$nproc",
]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "cni"
CONF
)
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$want" ]; then
  printf '%s\n' "$want" > "$CONF"
fi

# Smoke test: a container must start with those defaults (needs a local image;
# skipped before build-base-images.sh has made one).
if podman image exists localhost/chaos-lab-standin/node:20-bookworm; then
  podman run --rm --label chaos-lab.check=1 localhost/chaos-lab-standin/node:20-bookworm true ||
    die "a container does not start even with $CONF; see the error above"
fi

# --- 3. the Docker-compatible API ---------------------------------------------
mkdir -p "$STATE_DIR" /run/podman
pidfile=$STATE_DIR/service.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
  tr '\0' ' ' < "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null | grep -q 'podman system service'; then
  echo "podman API already running (pid $(cat "$pidfile")) on unix://$SOCK"
else
  [ -S "$SOCK" ] && curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 &&
    die "$SOCK already answers but was not started by this script (pid file $pidfile); stop that service first"
  rm -f "$SOCK"
  setsid podman system service --time=0 "unix://$SOCK" >"$STATE_DIR/service.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 50); do
    curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 ||
    die "the podman API did not answer on $SOCK within 10 s (log: $STATE_DIR/service.log)"
  echo "podman API started (pid $(cat "$pidfile")) on unix://$SOCK"
fi
# --- 4. the health-check ticker ---------------------------------------------------
if [ "${HEALTH_TICKER:-1}" = 1 ]; then
  tpid=$STATE_DIR/health-ticker.pid
  if [ -f "$tpid" ] && kill -0 "$(cat "$tpid")" 2>/dev/null &&
    tr '\0' ' ' < "/proc/$(cat "$tpid")/cmdline" 2>/dev/null | grep -q 'health-ticker.sh'; then
    echo "health-check ticker already running (pid $(cat "$tpid"))"
  else
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    setsid "$here/health-ticker.sh" >"$STATE_DIR/health-ticker.log" 2>&1 < /dev/null &
    echo $! > "$tpid"
    echo "health-check ticker started (pid $(cat "$tpid"))"
  fi
fi
echo "export DOCKER_HOST=unix://$SOCK TESTCONTAINERS_RYUK_DISABLED=true"
