#!/usr/bin/env bash
# Runs the built coordinator and ingest images for real against the lab's
# local environment on the host (lab-env.mjs: redis-server, PostgreSQL, the
# mock Kafka cluster), with --network host, and records: time to /healthz,
# the uid inside, `podman healthcheck run`, /readyz, /metrics, and the exit
# code and time of `podman stop` (SIGTERM, then the compose file's grace period).
# Everything it starts is stopped on every exit path.
#
#   sudo scripts/podman/run-app-check.sh [coordinator] [ingest]
#
# Env: WORK (default /tmp/podman-work), LAB_CLONE (a built checkout, default
# $WORK/clone; made with git clone + npm ci + npx tsc -b when missing), TAG (default check).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/podman-work}
CLONE=${LAB_CLONE:-$WORK/clone}
TAG=${TAG:-check}
LABEL=chaos-lab.check=1
RES=$WORK/results
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(coordinator ingest)

die() { echo "run-app-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
for c in podman curl node git npm; do command -v "$c" >/dev/null || die "$c is missing"; done
for app in "${apps[@]}"; do
  podman image exists "localhost/chaos-lab/$app:$TAG" ||
    die "localhost/chaos-lab/$app:$TAG is missing; run scripts/podman/build-app-images.sh first"
done
mkdir -p "$RES"
if [ ! -f "$CLONE/packages/lab/dist/index.js" ]; then
  echo "preparing $CLONE (git clone, npm ci, npx tsc -b) ..."
  repo=$(git -C "$here" rev-parse --show-toplevel)
  rm -rf "$CLONE"
  git clone -q "$repo" "$CLONE" || die "git clone $repo $CLONE failed"
  (cd "$CLONE" && npm ci --no-audit --no-fund >"$WORK/clone-npm-ci.log" 2>&1) || die "npm ci in $CLONE failed; see $WORK/clone-npm-ci.log"
  (cd "$CLONE" && npx tsc -b >"$WORK/clone-tsc.log" 2>&1) || die "npx tsc -b in $CLONE failed; see $WORK/clone-tsc.log"
fi

state=$WORK/lab-env.json
lab_pid=
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  if [ -n "$lab_pid" ] && kill -0 "$lab_pid" 2>/dev/null; then
    kill -TERM "$lab_pid" 2>/dev/null || true
    wait "$lab_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

rm -f "$state"
node "$here/lab-env.mjs" "$CLONE" "$state" "$WORK/lab-logs" >"$WORK/lab-env.log" 2>&1 &
lab_pid=$!
for _ in $(seq 1 120); do
  [ -f "$state" ] && break
  kill -0 "$lab_pid" 2>/dev/null || { tail -20 "$WORK/lab-env.log" >&2; die "the lab environment exited before it was up; see $WORK/lab-env.log"; }
  sleep 0.5
done
[ -f "$state" ] || die "the lab environment was not up within 60 s; see $WORK/lab-env.log"
cat "$WORK/lab-env.log"

check_app() { # check_app <app> <VAR PREFIX> <env key in the state file> <stop grace s>
  local app=$1 prefix=$2 key=$3 grace=$4
  local name=chaos-lab-check-$app img=localhost/chaos-lab/$app:$TAG port out=$RES/run-$app.txt
  local envargs=() line t0 t1 code
  port=$(free_port)
  while IFS= read -r line; do envargs+=(-e "$line"); done < <(node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]];
    for (const [k, v] of Object.entries(s)) console.log(`${k}=${v}`);' "$state" "$key")
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  containers+=("$name")
  t0=$(now)
  podman run -d --name "$name" --label "$LABEL" --network host "${envargs[@]}" \
    -e "${prefix}_HTTP_PORT=$port" -e "${prefix}_INSTANCE_ID=$app-podman" "$img" >/dev/null 2>"$WORK/run-$app.err" ||
    { cat "$WORK/run-$app.err" >&2; die "podman run $img failed"; }
  code=
  for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
    [ "$code" = 200 ] && break
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] ||
      { podman logs "$name" 2>&1 | tail -20 >&2; die "$app exited before /healthz answered"; }
    sleep 0.2
  done
  [ "$code" = 200 ] || { podman logs "$name" 2>&1 | tail -20 >&2; die "$app: /healthz did not answer 200 within 60 s"; }
  t1=$(now)
  {
    echo "image:            $img ($(podman image inspect --format '{{.Id}}' "$img" | cut -c1-12))"
    echo "run:              podman run -d --network host -e ${prefix}_HTTP_PORT=$port -e ${prefix}_* (from the lab) $img"
    echo "healthz 200 after: $(secs "$t0" "$t1") s from podman run"
    echo "id inside:        $(podman exec "$name" id)"
    echo "pid 1:            $(podman exec "$name" cat /proc/1/cmdline | tr '\0' ' ')"
    local hc_out hc_rc=0
    hc_out=$(podman healthcheck run "$name" 2>&1) || hc_rc=$?
    echo "healthcheck run:  rc=$hc_rc output='${hc_out}' status=$(podman inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null || podman inspect --format '{{.State.Healthcheck.Status}}' "$name")"
    echo "readyz:           $(curl -s -w ' (HTTP %{http_code})' "http://127.0.0.1:$port/readyz" | tr -d '\n' | cut -c1-300)"
    local metrics
    metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
    echo "metrics:          HTTP 200, $(printf '%s\n' "$metrics" | wc -l) lines, $(printf '%s\n' "$metrics" | grep -c '^# TYPE') metric families"
    echo "metric families:  $(printf '%s\n' "$metrics" | awk '/^# TYPE/ { print $3 }' | grep -v '^process_\|^nodejs_' | head -12 | tr '\n' ' ')"
    t0=$(now)
    podman stop -t "$grace" "$name" >/dev/null
    t1=$(now)
    echo "podman stop -t $grace: $(secs "$t0" "$t1") s, exit code $(podman inspect --format '{{.State.ExitCode}}' "$name")"
    echo "last log lines:"
    podman logs "$name" 2>&1 | tail -4 | cut -c1-400 | sed 's/^/  /'
  } | tee "$out"
  podman rm "$name" >/dev/null
}

for app in "${apps[@]}"; do
  case "$app" in
    coordinator) check_app coordinator COORDINATOR coordinatorEnv 30 ;;
    ingest) check_app ingest INGEST ingestEnv 20 ;;
    *) die "unknown app '$app' (coordinator, ingest)" ;;
  esac
done
