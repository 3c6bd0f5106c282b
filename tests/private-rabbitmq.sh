#!/usr/bin/env bash
# A throwaway RabbitMQ broker for tests and benchmarks: its own data directory, node name and
# free ports, so it never touches a broker the machine already runs.
#   tests/private-rabbitmq.sh start DIR [PLUGINS]
#                                         starts one, prints its amqp:// address; PLUGINS is the
#                                         comma-separated plugin list (default: the consistent-hash
#                                         exchange, which the Prometheus sink's shards use)
#   tests/private-rabbitmq.sh stop DIR    stops it and removes DIR
# For fault tests, keeping DIR (data, ports, node name) so the same broker comes back:
#   tests/private-rabbitmq.sh kill DIR    SIGKILL, as a node failure ends it
#   tests/private-rabbitmq.sh halt DIR    a clean stop
#   tests/private-rabbitmq.sh restart DIR starts it again on the same ports with the same data
set -euo pipefail

server=/usr/lib/rabbitmq/bin/rabbitmq-server
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl

# shellcheck source=tests/free-port.sh
. "$(dirname "$0")/free-port.sh"

cmd=${1:?usage: $0 start|stop|kill|halt|restart DIR}
dir=${2:?usage: $0 start|stop|kill|halt|restart DIR}

# Runs the broker described by "$dir/env" and waits until it serves.
launch() {
  # shellcheck disable=SC1091
  . "$dir/env"
  nohup "$server" >> "$dir/log/stdout" 2>&1 &
  echo $! > "$dir/server.pid"
  # await_startup fails at once until the node has registered with epmd: poll it.
  local started=0
  for _ in $(seq 1 90); do
    if ! kill -0 "$(cat "$dir/server.pid")" 2> /dev/null; then
      break
    fi
    if "$ctl" -n "$RABBITMQ_NODENAME" await_startup --timeout 60 > "$dir/log/await" 2>&1; then
      started=1
      break
    fi
    sleep 1
  done
  if [ "$started" != 1 ]; then
    echo "private RabbitMQ did not start; see $dir/log" >&2
    tail -n 20 "$dir/log/stdout" >&2 || true
    exit 1
  fi
}

case "$cmd" in
  start)
    if [ ! -x "$server" ]; then
      echo "rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server)" >&2
      exit 1
    fi
    mkdir -p "$dir/mnesia" "$dir/log"
    dir=$(cd "$dir" && pwd)
    port=$(free_port)
    dist=$(free_port)
    name="egressd-test-$port@localhost"
    echo "[${3-rabbitmq_consistent_hash_exchange}]." > "$dir/plugins"
    # The Erlang cookie lives in HOME; a private HOME keeps this broker's apart from any other.
    cat > "$dir/env" <<ENV
export HOME="$dir"
export RABBITMQ_NODENAME="$name"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$dist
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export RABBITMQ_FEATURE_FLAGS_FILE="$dir/feature_flags"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/plugins"
export RABBITMQ_PID_FILE="$dir/pid"
ENV
    launch
    echo "amqp://guest:guest@127.0.0.1:$port/"
    ;;
  restart)
    launch
    ;;
  kill)
    # The Erlang VM's own pid (RABBITMQ_PID_FILE): the node dies at once, as on a node failure.
    kill -9 "$(cat "$dir/pid")" 2> /dev/null || true
    kill -9 "$(cat "$dir/server.pid")" 2> /dev/null || true
    ;;
  halt)
    # shellcheck disable=SC1091
    . "$dir/env"
    timeout 60 "$ctl" -n "$RABBITMQ_NODENAME" stop > /dev/null 2>&1 || true
    ;;
  stop)
    if [ -f "$dir/env" ]; then
      # shellcheck disable=SC1091
      . "$dir/env"
      timeout 60 "$ctl" -n "$RABBITMQ_NODENAME" stop > /dev/null 2>&1 || true
      if [ -f "$dir/server.pid" ]; then
        kill "$(cat "$dir/server.pid")" 2> /dev/null || true
      fi
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop|kill|halt|restart DIR" >&2
    exit 2
    ;;
esac
