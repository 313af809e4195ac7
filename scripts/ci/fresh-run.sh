#!/usr/bin/env bash
# Runs CI as a new machine would, before every stop:
#   1. the apt audit (apt-audit.mjs): every package beyond the machine's baseline must have been installed
#      by a script of the project; with --purge, those that were not are removed first;
#   2. with --without PKG (repeatable), a package the project installs is removed first, so the run proves
#      the scripts install it again (e.g. --without golang-github-containernetworking-plugin-dnsname);
#   3. `CI=true bash .ci/run` on a fresh clone of HEAD (committed work only), its log kept.
#
#   sudo scripts/ci/fresh-run.sh [--purge] [--without PKG]...
#
# Ends with .ci/run's own closing line ("N passed, N failed") and its exit code.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
purge=()
without=()
while [ $# -gt 0 ]; do
  case $1 in
    --purge) purge=(--purge); shift ;;
    --without)
      [ $# -ge 2 ] || { echo "fresh-run: --without needs a package name" >&2; exit 2; }
      grep -qE "^$2[[:space:]]" "$root/scripts/apt-packages.txt" ||
        { echo "fresh-run: --without $2: not a package of scripts/apt-packages.txt" >&2; exit 2; }
      without+=("$2"); shift 2 ;;
    *) echo "fresh-run: unknown argument '$1'; expected --purge or --without PKG" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-run: must run as root (CI does)" >&2; exit 2; }

node "$root/scripts/ci/apt-audit.mjs" "${purge[@]}"
if [ ${#without[@]} -gt 0 ]; then
  echo "fresh-run: removing ${without[*]} first"
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "${without[@]}" >/dev/null
fi
[ -z "$(git -C "$root" status --porcelain)" ] || echo "fresh-run: note: uncommitted changes are not in the clone"

# Not chaos-lab-*: that prefix is the lab's work dirs, which `lab reap` takes when left without an owner.
work=$(mktemp -d /tmp/fresh-ci-XXXXXX)
log=$work.log
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/chaos-lab"
echo "fresh-run: CI=true bash .ci/run in $work/chaos-lab ($(git -C "$root" rev-parse --short HEAD)); log $log"
start=$(date +%s)
set +e
(cd "$work/chaos-lab" && CI=true bash .ci/run) >"$log" 2>&1
rc=$?
set -e
grep -E '^container tests:' "$log" || true
echo "fresh-run: $(( $(date +%s) - start )) s, exit $rc"
tail -1 "$log"
exit $rc
