#!/usr/bin/env bash
# Remakes docs/screenshots/timeline-valid.png and timeline-failing.png: the timeline at the top of the report of
# two real runs, as headless Chromium draws it (packages/report/src/screenshot.ts).
#
#   scripts/timeline-screenshots.sh                          # runs both seeds (about 1 min each), then screenshots
#   scripts/timeline-screenshots.sh <valid.html> <failing.html>   # screenshots of reports already written
#
# The valid run: instance-crash seed 1 (a commit-boundary crash and a restart; every checker holds). The failing
# run: the same seed with the known-bad variant check-then-act (a duplicate assignment); it must fail, or the
# picture would show something else than it says.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f packages/report/dist/screenshot.js ] || npx tsc -b

# Runs a seed; prints its report's path; fails unless the verdict is the one expected (VALID or INVALID).
run() {
  local want=$1
  shift
  local out
  # The run's lines go on to stderr as they come (through fd 2, not /dev/stderr, which reopens a redirected file).
  out=$(node packages/lab/dist/cli.js run "$@" 2>&1 | tee >(cat >&2)) || true
  grep -q "): ${want}\$" <<<"$out" || {
    echo "timeline-screenshots: lab run $* was not ${want}" >&2
    return 1
  }
  sed -n 's/^report: //p' <<<"$out" | tail -1
}

if [ $# -eq 2 ]; then
  valid=$1
  failing=$2
else
  valid=$(run VALID instance-crash --seed 1)
  failing=$(run INVALID instance-crash --seed 1 --variant check-then-act)
fi
node packages/report/dist/screenshot.js \
  "$valid" docs/screenshots/timeline-valid.png \
  "$failing" docs/screenshots/timeline-failing.png
