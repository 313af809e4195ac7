#!/usr/bin/env bash
# Undoes what the podman check started: stops the API service and the
# health-check ticker that setup.sh started (by their recorded PIDs, after
# checking each PID is still that process), removes every container and
# image labelled chaos-lab.check=1 (nothing else), and the pid files.
#
#   sudo scripts/podman/teardown.sh
#
# Env: KEEP_IMAGES=1 keeps the images; REMOVE_CONF=1 also removes the
# containers.conf drop-in. The hugetlb cgroup mount is left in place (harmless;
# it goes at reboot).
set -euo pipefail

STATE_DIR=${PODMAN_CHECK_STATE_DIR:-/run/chaos-lab-podman}
CONF=/etc/containers/containers.conf.d/50-chaos-lab.conf
LABEL=chaos-lab.check=1

die() { echo "podman teardown: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
command -v podman >/dev/null || die "podman is missing"

stop_pid() { # stop_pid <pid file> <pattern its command line must contain>
  local file=$1 pattern=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && die "pid $pid ($pattern) did not exit within 10 s of SIGTERM"
    echo "stopped $pattern (pid $pid)"
  else
    echo "$pattern (pid $pid) was not running"
  fi
  rm -f "$file"
}

stop_pid "$STATE_DIR/health-ticker.pid" health-ticker.sh

mapfile -t cs < <(podman ps -a -q --filter "label=$LABEL")
if [ ${#cs[@]} -gt 0 ]; then
  podman rm -f -t 10 "${cs[@]}" >/dev/null
  echo "removed ${#cs[@]} container(s) labelled $LABEL"
fi

stop_pid "$STATE_DIR/service.pid" 'podman system service'

if [ "${KEEP_IMAGES:-0}" != 1 ]; then
  mapfile -t is < <(podman images -a -q --filter "label=$LABEL" | sort -u)
  if [ ${#is[@]} -gt 0 ]; then
    podman rmi -f "${is[@]}" >/dev/null 2>&1 || true
    podman image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
    left=$(podman images -a -q --filter "label=$LABEL" | wc -l)
    echo "removed the images labelled $LABEL (${#is[@]} before, $left left)"
  fi
fi
if [ "${REMOVE_CONF:-0}" = 1 ] && [ -f "$CONF" ]; then
  rm -f "$CONF"
  echo "removed $CONF"
fi
