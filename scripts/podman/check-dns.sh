#!/usr/bin/env bash
# Checks that containers on a podman network find each other by their network
# alias, as the docker provider's Toxiproxy must find "redis" and "postgres":
# a network, a container with the alias dns-check-target, and a second one
# that must resolve it (getent hosts). Everything it creates carries the label
# chaos-lab.check=1 and is removed on every exit path.
#
#   sudo scripts/podman/check-dns.sh      # after setup.sh and build-base-images.sh
#
# On failure the last line on stderr is the one-line reason, naming the
# missing piece (the backend's DNS plugin and the package that has it).
set -euo pipefail
IMAGE=${IMAGE:-localhost/chaos-lab-standin/debian:bookworm}
LABEL=chaos-lab.check=1
net=chaos-lab-dnscheck-$$
target=chaos-lab-dnscheck-target-$$
alias_name=dns-check-target

fail() { echo "check-dns: $*" >&2; exit 1; }
cleanup() {
  podman rm -f -t 0 "$target" >/dev/null 2>&1 || true
  podman network rm -f "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

command -v podman >/dev/null || fail "podman is missing"
podman image exists "$IMAGE" || fail "no image $IMAGE to run the check in (build-base-images.sh makes it)"
backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) || fail "podman info failed"

# The missing piece, named before anything runs when it can be seen from the host.
case $backend in
  cni)
    plugin=golang-github-containernetworking-plugin-dnsname
    [ -x /usr/lib/cni/dnsname ] ||
      fail "containers cannot resolve each other's aliases: podman's network backend is CNI and its DNS plugin /usr/lib/cni/dnsname is missing (apt-get install $plugin)"
    command -v dnsmasq >/dev/null ||
      fail "containers cannot resolve each other's aliases: the CNI DNS plugin needs dnsmasq, which is missing (apt-get install dnsmasq-base)"
    ;;
  netavark)
    plugin=aardvark-dns
    [ -x /usr/lib/podman/aardvark-dns ] || command -v aardvark-dns >/dev/null ||
      fail "containers cannot resolve each other's aliases: podman's network backend is netavark and aardvark-dns is missing (apt-get install aardvark-dns)"
    ;;
  *) fail "podman's network backend is '$backend'; the check knows cni and netavark" ;;
esac

podman network create --label "$LABEL" "$net" >/dev/null || fail "podman network create $net failed"
podman run -d --name "$target" --label "$LABEL" --network "$net" --network-alias "$alias_name" "$IMAGE" sleep 120 >/dev/null ||
  fail "could not start the alias target container on $net"
if out=$(podman run --rm --label "$LABEL" --network "$net" "$IMAGE" getent hosts "$alias_name" 2>&1); then
  echo "check-dns: ok: $alias_name resolves to $(awk '{print $1; exit}' <<<"$out") on a $backend network ($plugin)"
  exit 0
fi
dns=$(podman network inspect "$net" --format '{{.DNSEnabled}}' 2>/dev/null || echo '?')
fail "containers cannot resolve each other's aliases: on a fresh $backend network (dns_enabled=$dns) '$alias_name' did not resolve although $plugin is installed; see 'podman network inspect' and $plugin's logs"
