#!/usr/bin/env bash
# Runs egressd locally: collector, enricher and exporter in one process on the in-memory bus.
# Needs root: the collector reads the kernel's connection tracking (sudo ./run.sh).
#   sudo ./run.sh                  this host's conntrack, a live view when the output is a terminal
#   sudo ./run.sh --demo           a throwaway mini-cluster in network namespaces, with traffic
#   sudo ./run.sh --kubeconfig F   this host's conntrack, named from the cluster F points at (or KUBECONFIG)
#   --quiet                        no live view: a banner, then the logs stay in .egressd/egressd.log
#   --view                         the live view even when the output is not a terminal (one table per window)
#   --no-build                     run what the last build made (tests, repeated runs)
# Settings can be overridden with environment variables, e.g. Egressd__Collector__ReadInterval=00:00:02.
# Exit codes: 2 for a mistake in the set-up or the settings (one line says which), else egressd's own.
set -euo pipefail
cd "$(dirname "$0")"
# No telemetry from the tools: the .NET SDK, its first-run banner, and the test platforms
# (VSTest and Microsoft.Testing.Platform) all stay quiet.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 VSTEST_TELEMETRY_OPTEDIN=0 TESTINGPLATFORM_TELEMETRY_OPTOUT=1
root=$(pwd)
state="$root/.egressd"

fail() {
  echo "run.sh: $1" >&2
  exit 2
}

demo=0
build=1
view=auto
kubeconfig=${KUBECONFIG:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --demo) demo=1 ;;
    --quiet) view=off ;;
    --view) view=on ;;
    --no-build) build=0 ;;
    --kubeconfig)
      [ $# -ge 2 ] || fail "--kubeconfig needs a file: ./run.sh --kubeconfig ~/.kube/config"
      kubeconfig=$2
      shift
      ;;
    --kubeconfig=*) kubeconfig=${1#--kubeconfig=} ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) fail "unknown argument '$1' (run.sh [--demo] [--quiet] [--view] [--no-build] [--kubeconfig FILE])" ;;
  esac
  shift
done
# A kubeconfig means a real cluster: its context, this host's conntrack, no demo.
if [ -n "$kubeconfig" ]; then
  [ -f "$kubeconfig" ] || fail "kubeconfig '$kubeconfig' does not exist (--kubeconfig or KUBECONFIG)"
  demo=0
fi

command -v dotnet > /dev/null ||
  fail "no .NET SDK: install the .NET 10 SDK (Debian: add Microsoft's package feed, then apt-get install dotnet-sdk-10.0; or the dotnet-install script), then run ./run.sh again"
if [ "$(id -u)" != 0 ] && { [ "$demo" = 1 ] || [ "${Egressd__Collector__Source:-netfilter}" != replay ]; }; then
  fail "reading the kernel's conntrack needs root: sudo ./run.sh $([ "$demo" = 1 ] && echo --demo)"
fi

# Run as root (sudo), in a folder the invoking user owns: never follow a link planted there to
# truncate another file, and leave the folder and everything egressd writes in it theirs.
mkdir -p "$state"
owner=""
[ -n "${SUDO_UID:-}" ] && owner="$SUDO_UID:${SUDO_GID:-$SUDO_UID}"
give_back() { [ -z "$owner" ] || chown -R -h "$owner" "$state" 2> /dev/null || true; }
rm -f "$state/build.log" "$state/egressd.log"
give_back

# The build's own progress on one line (a terminal) or its lines (a log); its errors in full.
dll=services/local/bin/Release/net10.0/Egressd.Local.dll
if [ "$build" = 1 ]; then
  echo "Building egressd (the first build restores packages and takes a minute or two) ..."
  started=$SECONDS
  build_ok=0
  if [ -t 1 ]; then
    if dotnet build services/local/Egressd.Local.csproj -c Release -nologo -v minimal 2>&1 | tee "$state/build.log" |
      while IFS= read -r line; do printf '\r\033[K  %s' "${line:0:$(( $(tput cols 2> /dev/null || echo 100) - 4 ))}"; done; then
      build_ok=1
    fi
    printf '\r\033[K'
  else
    dotnet build services/local/Egressd.Local.csproj -c Release -nologo -v minimal 2>&1 | tee "$state/build.log" | sed 's/^/  /' && build_ok=1
  fi
  if [ "$build_ok" != 1 ] || ! grep -q "Build succeeded" "$state/build.log"; then
    grep -E "error|Error" "$state/build.log" | sort -u >&2 || cat "$state/build.log" >&2
    echo "run.sh: the build failed (all of it in $state/build.log)" >&2
    exit 1
  fi
  echo "Built in $((SECONDS - started)) s."
  # A build under sudo writes bin/ and obj/ as root: give them back, or the user's own
  # ./test.sh or dotnet build would then fail on files it cannot overwrite.
  if [ -n "$owner" ]; then
    find services shared -type d \( -name bin -o -name obj \) -prune -exec chown -R -h "$owner" {} + 2> /dev/null || true
  fi
elif [ ! -f "$dll" ]; then
  fail "--no-build, but there is no build yet ($dll): run ./run.sh without it once"
fi

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

demo_script="$root/services/local/Demo/demo-cluster.sh"
demo_state="$state/demo"
pid=""
finish() {
  local code=$?
  # A second Ctrl-C or SIGTERM (a process group signalled twice, an impatient user) must not cut
  # the clean-up short and leave the demo's namespaces behind; SIGKILL still stops it.
  trap - EXIT
  trap '' INT TERM
  if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
    kill -TERM "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  fi
  [ -z "${watcher:-}" ] || kill "$watcher" 2> /dev/null || true
  if [ "$demo" = 1 ]; then
    "$demo_script" down "$demo_state" || true
  fi
  give_back
  exit "$code"
}
trap finish EXIT
# Ctrl-C or a SIGTERM is how a user stops it: a clean end, once egressd has stopped and the demo is gone.
trap 'exit 0' INT TERM

if [ "$demo" = 1 ]; then
  echo "Starting the demo cluster (network namespaces egd-demo-*) ..."
  # A crashed run's leftovers (namespaces, links, its DNS server, a stray egressd) go first.
  "$demo_script" up "$demo_state" || fail "the demo cluster could not be built (see the line above)"
  # shellcheck disable=SC1091
  . "$demo_state/egressd.env"
  export Egressd__Collector__Netns Egressd__Collector__NodeName Egressd__Inventory__File Egressd__ClusterContext__Source Egressd__Demo__PlanFile
  export Egressd__Collector__ReadInterval=${Egressd__Collector__ReadInterval:-00:00:02}
  # Every label the demo fills: classes, workloads, regions, the service and the DNS name of each destination.
  export Egressd__Exporter__Prometheus__AddLabels=${Egressd__Exporter__Prometheus__AddLabels:-traffic_class,src_workload,dst_workload,src_region,dst_region,dst_service,dst_dns_name}
elif [ -n "$kubeconfig" ]; then
  export Egressd__Kubernetes__Kubeconfig="$kubeconfig" Egressd__ClusterContext__Source=Kubernetes
fi

# The live view goes to the terminal on descriptor 3; the logs (JSON) to the log file.
if [ "$view" = auto ]; then
  if [ -t 1 ]; then view=live; else view=off; fi
elif [ "$view" = on ]; then
  if [ -t 1 ]; then view=live; else view=lines; fi
fi
export Egressd__View__Mode=$view Egressd__View__Output=/dev/fd/3

# The flow file exists from the start, so `tail -f` works before the first flow.
# Private like the file egressd would create (0600): it names pods and destinations.
if [ ! -e "$flows" ] && [ ! -L "$flows" ]; then
  (umask 077 && : > "$flows")
fi
give_back

# Errors (a bad setting, say) also reach the terminal.
dotnet "$dll" 3>&1 > "$log" 2> >(tee -a "$log" >&2) &
pid=$!
[ "$demo" = 0 ] || echo "$pid" > "$demo_state/egressd.pid"

# Ready when /readyz answers 200; the process ending first is its error, already on the terminal.
probe=$bind
case "$probe" in 0.0.0.0 | "::" | "[::]") probe=127.0.0.1 ;; esac
ready() {
  local status
  { exec 4<> "/dev/tcp/$probe/$port"; } 2> /dev/null || return 1
  printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&4
  IFS= read -r -t 2 status <&4 || status=""
  exec 4<&-
  [[ $status == *" 200"* ]]
}
# Exits with egressd's own exit code once it has ended (the trap then finds nothing to stop).
exit_with_egressd() {
  set +e
  wait "$pid"
  local code=$?
  set -e
  pid=""
  exit "$code"
}
# EGRESSD_READY_TIMEOUT: seconds to wait for /readyz (a broker that is slow to come, say).
limit=$(( ${EGRESSD_READY_TIMEOUT:-60} * 10 ))
waited=0
until ready; do
  if ! kill -0 "$pid" 2> /dev/null; then
    exit_with_egressd
  fi
  if [ "$waited" -ge "$limit" ]; then
    broker=$(grep -o '"Message":"Connection Failed: [^"]*"' "$log" | tail -n 1 | sed 's/.*Connection Failed: //; s/"$//' || true)
    if [ -n "$broker" ]; then
      echo "run.sh: no RabbitMQ broker reachable at $broker (set Egressd__Bus__RabbitMq__Host and Egressd__Bus__RabbitMq__Port, or leave Egressd__Bus__Transport unset for the in-memory bus)" >&2
    else
      echo "run.sh: egressd did not become ready in $((limit / 10)) s (EGRESSD_READY_TIMEOUT); see $log" >&2
    fi
    exit 2
  fi
  sleep 0.1
  waited=$((waited + 1))
done

cat <<INFO
egressd is running (Ctrl+C stops it).
  flows (one JSON line per flow): $flows
  logs (JSON):                    $log
  metrics:                        http://$bind:$port/metrics
  health:                         http://$bind:$port/healthz  http://$bind:$port/readyz
Try: tail -f $flows
INFO
if [ "$demo" = 1 ]; then
  echo "Demo: pods, nodes and zones in $demo_state/inventory.json; names served by the demo's DNS server."
fi

# Without the view, the terminal still hears that there is nothing to show, and what to do.
if [ "$view" = off ] && [ "$demo" = 0 ]; then
  (
    while kill -0 "$pid" 2> /dev/null; do
      if grep -q '"EventId":2303' "$log"; then
        echo "The conntrack table is empty: nothing on this host uses connection tracking, so there are no flows to show. To see egressd at work: sudo ./run.sh --demo"
        break
      fi
      sleep 1
    done
  ) &
  watcher=$!
fi

exit_with_egressd
