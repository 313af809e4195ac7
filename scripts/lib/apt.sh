# shellcheck shell=bash
# Installs the missing packages of one group of scripts/apt-packages.txt:
#   source scripts/lib/apt.sh; apt_ensure local
# A package counts as present when dpkg has it installed, not when some
# command of the same name is on PATH: the audit (scripts/ci/apt-audit.mjs)
# reasons in packages, and so does this. Runs apt-get update only when
# something is missing. Progress and errors go to stderr.
_apt_manifest="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/apt-packages.txt"

apt_group() { # apt_group <group>: the group's packages, one per line
  awk -v g="$1" '!/^#/ && NF >= 2 && $2 == g { print $1 }' "$_apt_manifest"
}

apt_missing() { # apt_missing <package>...: those not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
  done
}

apt_ensure() { # apt_ensure <group>
  local group=$1 sudo="" need
  mapfile -t need < <(apt_missing $(apt_group "$group"))
  [ ${#need[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "apt: installing ${need[*]} (group $group of scripts/apt-packages.txt)" >&2
  $sudo apt-get update -qq >&2 || { echo "apt: apt-get update failed" >&2; return 1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || {
    echo "apt: apt-get install ${need[*]} failed" >&2
    return 1
  }
}
