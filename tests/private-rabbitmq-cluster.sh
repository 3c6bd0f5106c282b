#!/usr/bin/env bash
# A throwaway three-node RabbitMQ cluster for fault tests: its own data directory, node names,
# free loopback ports and Erlang cookie, so it never touches a broker the machine already runs.
#   tests/private-rabbitmq-cluster.sh start DIR      starts three nodes joined into one cluster and
#                                                    prints their AMQP endpoints, comma-separated
#   tests/private-rabbitmq-cluster.sh stop DIR       stops every node and removes DIR
# Per node (N is 1, 2 or 3), keeping its data, ports and name so the same node comes back:
#   kill DIR N        SIGKILL of everything the node runs, as a machine failure ends it
#   halt DIR N        a clean stop
#   restart DIR N     starts it again; it rejoins the cluster from its data
#   partition DIR N   cuts the node off from the other two and from every client
#   heal DIR N        undoes partition
#   leader DIR QUEUE  prints N of the node leading the quorum queue QUEUE
#   quorum DIR N      waits until stopping node N leaves every quorum queue a majority, as the
#                     RabbitMQ Cluster Operator's pre-stop hook does before a rolling restart
#
# Partitions: each node runs in a cgroup of its own, and partition adds nftables rules that drop
# every packet of a socket in that cgroup, in and out. This cuts the Erlang distribution links
# both ways (whichever node opened them, from whatever port) and the clients' AMQP connections,
# while the node itself keeps running, as when a switch port fails. Network namespaces would do
# the same, but Erlang node names then need a name per node resolving to its namespace's
# address; on loopback the nodes keep the @localhost names the single-node script uses.
set -euo pipefail

server=/usr/lib/rabbitmq/bin/rabbitmq-server
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
cgroup_root=/sys/fs/cgroup/unified
nodes=3

usage() {
  echo "usage: $0 start|stop DIR | kill|halt|restart|partition|heal DIR N | leader DIR QUEUE" >&2
  exit 2
}

# shellcheck source=tests/free-port.sh
. "$(dirname "$0")/free-port.sh"

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage

node_name() { echo "egressd-cluster-$(cat "$dir/id")-$1@localhost"; }
cgroup() { echo "$cgroup_root/egressd-rabbitmq-$(cat "$dir/id")/node$1"; }
nft_table() { echo "egressd_rabbitmq_$(cat "$dir/id")_$1"; }

# rabbitmqctl against node N, with the cluster's cookie (it lives in the private HOME).
ctl_on() {
  local n=$1
  shift
  # A CLI VM that fails writes erl_crash.dump into its working directory: keep it with the cluster.
  HOME="$dir" ERL_CRASH_DUMP="$dir/erl_crash.dump" "$ctl" -n "$(node_name "$n")" "$@"
}

# Runs node N (described by "$dir/node$N/env") in its cgroup and waits until it serves.
launch() {
  local n=$1 d="$dir/node$1"
  mkdir -p "$(cgroup "$n")"
  (
    # shellcheck disable=SC1091
    . "$d/env"
    # The shell moves itself into the node's cgroup before it becomes the server, so the
    # Erlang VM and every helper it starts are in it from their first socket on.
    nohup sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2"' sh "$(cgroup "$n")" "$server" >> "$d/log/stdout" 2>&1 &
    echo $! > "$d/server.pid"
  )
  local started=0
  for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$d/server.pid")" 2> /dev/null; then
      break
    fi
    # await_startup fails at once until the node has registered with epmd: poll it.
    if ctl_on "$n" await_startup --timeout 120 > "$d/log/await" 2>&1; then
      started=1
      break
    fi
    sleep 1
  done
  if [ "$started" != 1 ]; then
    echo "private RabbitMQ node $n did not start; see $d/log" >&2
    tail -n 20 "$d/log/stdout" >&2 || true
    exit 1
  fi
}

node_arg() {
  local n=${1:-}
  case "$n" in
    1|2|3) echo "$n" ;;
    *) usage ;;
  esac
}

case "$cmd" in
  start)
    if [ ! -x "$server" ]; then
      echo "rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server)" >&2
      exit 1
    fi
    if [ ! -d "$cgroup_root" ] || ! command -v nft > /dev/null; then
      echo "partitions need cgroup v2 at $cgroup_root and nft (Debian: apt-get install nftables)" >&2
      exit 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # epmd outside every node's cgroup: a node that started it would take it down with it,
    # or cut it off in a partition, for every broker on the machine.
    epmd -daemon
    first_port=$(free_port)
    echo "$first_port" > "$dir/id"
    # One cookie for the three nodes and the CLI: the cluster's shared secret.
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$dir/.erlang.cookie"
    chmod 400 "$dir/.erlang.cookie"
    # What the chart ships (docs/RELIABILITY.md says why): a node that finds itself in the
    # minority pauses, closing its clients' connections, until it sees a majority again.
    # A tick of 10 s (RabbitMQ's default is 60 s) has a cut link noticed within about 10 s, so a
    # 30 s partition is seen and handled as one rather than ridden out as a stall.
    cat > "$dir/rabbitmq.conf" <<CONF
cluster_partition_handling = pause_minority
net_ticktime = 10
CONF
    endpoints=()
    for n in $(seq 1 $nodes); do
      d="$dir/node$n"
      mkdir -p "$d/mnesia" "$d/log"
      if [ "$n" = 1 ]; then port=$first_port; else port=$(free_port); fi
      dist=$(free_port)
      echo "[${3-rabbitmq_consistent_hash_exchange}]." > "$d/plugins"
      cat > "$d/env" <<ENV
export HOME="$dir"
export RABBITMQ_NODENAME="$(node_name "$n")"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$dist
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
export RABBITMQ_MNESIA_BASE="$d/mnesia"
export RABBITMQ_LOG_BASE="$d/log"
export RABBITMQ_FEATURE_FLAGS_FILE="$d/feature_flags"
export RABBITMQ_ENABLED_PLUGINS_FILE="$d/plugins"
export RABBITMQ_PID_FILE="$d/pid"
ENV
      endpoints+=("127.0.0.1:$port")
    done
    launch 1
    # The other two start side by side, then join the first one's cluster.
    pids=()
    for n in 2 3; do
      (
        launch "$n"
        ctl_on "$n" stop_app > /dev/null
        ctl_on "$n" join_cluster "$(node_name 1)" > /dev/null
        ctl_on "$n" start_app > /dev/null
        ctl_on "$n" await_startup --timeout 120 > /dev/null
      ) &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do
      wait "$pid"
    done
    (IFS=,; echo "${endpoints[*]}")
    ;;
  restart)
    n=$(node_arg "${3:-}")
    launch "$n"
    ;;
  kill)
    n=$(node_arg "${3:-}")
    # Every process of the node at once (the VM, its port helpers): nothing is flushed or closed.
    if [ -f "$(cgroup "$n")/cgroup.kill" ]; then
      echo 1 > "$(cgroup "$n")/cgroup.kill"
    fi
    kill -9 "$(cat "$dir/node$n/pid")" 2> /dev/null || true
    kill -9 "$(cat "$dir/node$n/server.pid")" 2> /dev/null || true
    ;;
  halt)
    n=$(node_arg "${3:-}")
    timeout 120 bash -c 'HOME="$1" ERL_CRASH_DUMP="$1/erl_crash.dump" "$2" -n "$3" stop' sh "$dir" "$ctl" "$(node_name "$n")" > /dev/null 2>&1 || true
    ;;
  quorum)
    n=$(node_arg "${3:-}")
    HOME="$dir" ERL_CRASH_DUMP="$dir/erl_crash.dump" /usr/lib/rabbitmq/bin/rabbitmq-upgrade -n "$(node_name "$n")" await_online_quorum_plus_one -t 300 > /dev/null
    ;;
  partition)
    n=$(node_arg "${3:-}")
    table=$(nft_table "$n")
    # The cgroup's path as nft reads it: relative to /sys/fs/cgroup; the level is its depth in the
    # cgroup2 hierarchy (egressd-rabbitmq-ID/nodeN).
    path=${cgroup_root#/sys/fs/cgroup/}/$(basename "$(dirname "$(cgroup "$n")")")/node$n
    nft -f - <<NFT
table inet $table {
  chain input {
    type filter hook input priority filter - 10; policy accept;
    socket cgroupv2 level 2 "$path" drop
  }
  chain output {
    type filter hook output priority filter - 10; policy accept;
    socket cgroupv2 level 2 "$path" drop
  }
}
NFT
    ;;
  heal)
    n=$(node_arg "${3:-}")
    nft delete table inet "$(nft_table "$n")" 2> /dev/null || true
    ;;
  leader)
    queue=${3:?usage: $0 leader DIR QUEUE}
    for n in $(seq 1 $nodes); do
      if line=$(ctl_on "$n" list_queues name leader --quiet --no-table-headers 2> /dev/null | awk -v q="$queue" '$1 == q { print $2 }') && [ -n "$line" ]; then
        for m in $(seq 1 $nodes); do
          if [ "$line" = "$(node_name "$m")" ]; then
            echo "$m"
            exit 0
          fi
        done
      fi
    done
    echo "no node leads $queue" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/id" ]; then
      for n in $(seq 1 $nodes); do
        nft delete table inet "$(nft_table "$n")" 2> /dev/null || true
        if [ -f "$(cgroup "$n")/cgroup.kill" ]; then
          echo 1 > "$(cgroup "$n")/cgroup.kill"
        fi
        kill -9 "$(cat "$dir/node$n/server.pid" 2> /dev/null)" 2> /dev/null || true
      done
      group=$(dirname "$(cgroup 1)")
      for _ in $(seq 1 50); do
        rmdir "$group"/node* 2> /dev/null || true
        if rmdir "$group" 2> /dev/null; then
          break
        fi
        sleep 0.2
      done
    fi
    rm -rf "$dir"
    ;;
  *)
    usage
    ;;
esac
