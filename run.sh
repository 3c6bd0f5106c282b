#!/usr/bin/env bash
# Runs egressd locally: collector, enricher and exporter in one process on the in-memory bus.
# Needs root: the collector reads the kernel's connection tracking (sudo ./run.sh).
# Settings can be overridden with environment variables, e.g. Egressd__Collector__ReadInterval=00:00:02.
set -euo pipefail
cd "$(dirname "$0")"
# No telemetry from the tools: the .NET SDK, its first-run banner, and the test platforms
# (VSTest and Microsoft.Testing.Platform) all stay quiet.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 VSTEST_TELEMETRY_OPTEDIN=0 TESTINGPLATFORM_TELEMETRY_OPTOUT=1
root=$(pwd)
state="$root/.egressd"
mkdir -p "$state"
# Run as root (sudo), in a folder the invoking user owns: never follow a link planted there to
# truncate another file, and leave the folder theirs.
rm -f "$state/build.log" "$state/egressd.log"
[ -n "${SUDO_UID:-}" ] && chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$state"

if [ "${Egressd__Collector__Source:-netfilter}" = netfilter ] && [ "$(id -u)" != 0 ]; then
  echo "Reading the kernel's conntrack needs root: sudo ./run.sh" >&2
  exit 1
fi

echo "Building egressd ..."
dotnet build services/local/Egressd.Local.csproj -c Release -nologo -v quiet > "$state/build.log" 2>&1 || {
  cat "$state/build.log"
  exit 1
}

port=${Egressd__Http__Port:-6060}
log="$state/egressd.log"
flows="${Egressd__Exporter__FlowLog__Path:-$state/flows.jsonl}"

export Egressd__Bus__Transport=${Egressd__Bus__Transport:-inmemory}
export Egressd__Http__Port=$port
# /metrics names pods, addresses and destinations: this machine only, unless told otherwise.
bind=${Egressd__Http__BindAddress:-127.0.0.1}
export Egressd__Http__BindAddress=$bind
# The collector's restart checkpoint stays beside the run's other files, not in the host's /var/lib.
export Egressd__Collector__StateDirectory=${Egressd__Collector__StateDirectory:-$state/collector}
export Egressd__Exporter__FlowLog__Path="$flows"
# The collector reads this host's conntrack (root needed). Egressd__Collector__Source=replay with
# Egressd__Collector__ReplayFile=services/collector/Fixtures/sample-flows.jsonl replays a recording instead.
export Egressd__Collector__Source=${Egressd__Collector__Source:-netfilter}

cat <<INFO
egressd is running (Ctrl+C stops it).
  flows (one JSON line per flow): $flows
  logs (JSON):                    $log
  metrics:                        http://$bind:$port/metrics
  health:                         http://$bind:$port/healthz  http://$bind:$port/readyz
Try: tail -f $flows
INFO

# Errors (a bad setting, say) also reach the terminal.
exec dotnet services/local/bin/Release/net10.0/Egressd.Local.dll > "$log" 2> >(tee -a "$log" >&2)
