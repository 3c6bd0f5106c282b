#!/usr/bin/env bash
# The mini-cluster of `sudo ./run.sh --demo`, made of network namespaces on this machine:
#   demo-node-a  zone-a region-1  the node egressd watches (a router that tracks connections,
#                                 with kube-proxy's ClusterIP played by an nftables DNAT rule)
#                                 pods: shop/web-0 10.244.1.10, shop/worker-0 10.244.1.11
#   demo-node-b  zone-a region-1  pod shop/cache-0 10.244.2.10
#   demo-node-c  zone-b region-1  pod shop/db-0 10.244.3.10, behind service shop/db 10.96.0.10:5432
#   demo-node-d  zone-c region-2  pod data/analytics-0 10.244.4.10
#   internet     198.18.0.0/24    api.payments.example 198.18.0.10, assets.shop.example (a CNAME
#                                 to edge.cdn.example) 198.18.0.11, their DNS server (dnsmasq) 198.18.0.53
# Every name starts with egd-demo-; nothing gets a route off the machine, nothing changes in the
# host's own network namespace.
#   demo-cluster.sh up DIR     removes a crashed run's leftovers, builds it, writes DIR/inventory.json,
#                              DIR/plan.json (the traffic egressd's demo generator sends) and DIR/egressd.env
#   demo-cluster.sh down DIR   removes it all
set -euo pipefail

prefix=egd-demo
cmd=${1:?usage: $0 up|down DIR}
dir=${2:?usage: $0 up|down DIR}

ns() { echo "$prefix-$1"; }

# Processes a run left behind: the DNS server, and egressd itself after a kill -9 of run.sh.
stop_process() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2> /dev/null || true)
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$name"; then
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2> /dev/null || true
  fi
  rm -f "$file"
}

down() {
  stop_process "$dir/egressd.pid" Egressd.Local
  stop_process "$dir/dnsmasq.pid" dnsmasq
  # Deleting a namespace deletes its veth ends, and with them their peers, and its nftables tables.
  local name
  for name in $(ip netns list 2> /dev/null | awk '{print $1}'); do
    case "$name" in "$prefix"-*) ip netns del "$name" 2> /dev/null || true ;; esac
  done
  rm -f "$dir/inventory.json" "$dir/plan.json" "$dir/egressd.env"
}

if [ "$cmd" = down ]; then
  down
  exit 0
fi
[ "$cmd" = up ] || { echo "usage: $0 up|down DIR" >&2; exit 2; }

for tool in ip nft dnsmasq; do
  if ! command -v "$tool" > /dev/null; then
    echo "run.sh --demo needs '$tool' (Debian: apt-get install iproute2 nftables dnsmasq-base)" >&2
    exit 2
  fi
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
down

add_ns() {
  ip netns add "$(ns "$1")"
  ip -n "$(ns "$1")" link set lo up
}

# A pod: a namespace with eth0, its peer on the node, the node as its gateway. Point-to-point
# routes (/32 each way), as Calico does, so pods of one node never share a link.
add_pod() {
  local node=$1 pod=$2 gateway=$3 address
  shift 3
  add_ns "$pod"
  ip link add "$prefix-p" netns "$(ns "$node")" type veth peer name eth0 netns "$(ns "$pod")"
  ip -n "$(ns "$node")" link set "$prefix-p" name "p-$pod"
  ip -n "$(ns "$node")" addr add "$gateway/32" dev "p-$pod"
  ip -n "$(ns "$node")" link set "p-$pod" up
  ip -n "$(ns "$pod")" link set eth0 up
  for address in "$@"; do
    ip -n "$(ns "$pod")" addr add "$address/32" dev eth0
    ip -n "$(ns "$node")" route add "$address/32" dev "p-$pod"
  done
  ip -n "$(ns "$pod")" route add "$gateway/32" dev eth0
  ip -n "$(ns "$pod")" route add default via "$gateway" dev eth0
}

# A remote node: linked to node-a (172.20.N.0/30), routes its pods' range to it and the rest back.
add_node() {
  local node=$1 n=$2
  add_ns "$node"
  ip netns exec "$(ns "$node")" sysctl -qw net.ipv4.ip_forward=1
  ip link add "$prefix-l" netns "$(ns node-a)" type veth peer name uplink netns "$(ns "$node")"
  ip -n "$(ns node-a)" link set "$prefix-l" name "l-$node"
  ip -n "$(ns node-a)" addr add "172.20.$n.1/30" dev "l-$node"
  ip -n "$(ns node-a)" link set "l-$node" up
  ip -n "$(ns "$node")" addr add "172.20.$n.2/30" dev uplink
  ip -n "$(ns "$node")" link set uplink up
  ip -n "$(ns "$node")" route add default via "172.20.$n.1"
  ip -n "$(ns node-a)" route add "10.244.$n.0/24" via "172.20.$n.2"
}

if ! {
  add_ns node-a
  ip netns exec "$(ns node-a)" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$(ns node-a)" addr add 172.20.0.1/32 dev lo
  add_pod node-a web 10.244.1.1 10.244.1.10
  add_pod node-a worker 10.244.1.1 10.244.1.11
  add_node node-b 2
  add_pod node-b cache 10.244.2.1 10.244.2.10
  add_node node-c 3
  add_pod node-c db 10.244.3.1 10.244.3.10
  add_node node-d 4
  add_pod node-d analytics 10.244.4.1 10.244.4.10
  add_pod node-a internet 198.18.0.1 198.18.0.10 198.18.0.11 198.18.0.53
  # A forward rule that uses conntrack makes node-a track what it routes; the nat chain plays kube-proxy.
  ip netns exec "$(ns node-a)" nft -f - <<'NFT'
table inet egd_demo {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ct state new,established,related accept
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ip daddr 10.96.0.10 tcp dport 5432 dnat ip to 10.244.3.10:5432
  }
}
NFT
  ip netns exec "$(ns internet)" dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll --user=root \
    --pid-file="$dir/dnsmasq.pid" --bind-interfaces --listen-address=198.18.0.53 --local-ttl=600 \
    --host-record=api.payments.example,198.18.0.10 --host-record=edge.cdn.example,198.18.0.11 \
    --cname=assets.shop.example,edge.cdn.example
}; then
  echo "demo-cluster.sh: building the demo cluster failed; removing what was built" >&2
  down
  exit 1
fi

# AWS provider ids, so the demo is priced at AWS list prices (docs/COST.md); no node has an
# ExternalIP, so internet traffic also pays a NAT gateway's processing, as in a private subnet.
cat > "$dir/inventory.json" <<'JSON'
{
  "nodes": [
    { "name": "demo-node-a", "providerId": "aws:///zone-a/i-demo-a", "zone": "zone-a", "region": "region-1", "internalIps": ["172.20.0.1"] },
    { "name": "demo-node-b", "providerId": "aws:///zone-a/i-demo-b", "zone": "zone-a", "region": "region-1", "internalIps": ["172.20.2.2"] },
    { "name": "demo-node-c", "providerId": "aws:///zone-b/i-demo-c", "zone": "zone-b", "region": "region-1", "internalIps": ["172.20.3.2"] },
    { "name": "demo-node-d", "providerId": "aws:///zone-c/i-demo-d", "zone": "zone-c", "region": "region-2", "internalIps": ["172.20.4.2"] }
  ],
  "pods": [
    { "namespace": "shop", "name": "web-0", "node": "demo-node-a", "ips": ["10.244.1.10"], "workloadKind": "Deployment", "workloadName": "web" },
    { "namespace": "shop", "name": "worker-0", "node": "demo-node-a", "ips": ["10.244.1.11"], "workloadKind": "Deployment", "workloadName": "worker" },
    { "namespace": "shop", "name": "cache-0", "node": "demo-node-b", "ips": ["10.244.2.10"], "workloadKind": "StatefulSet", "workloadName": "cache" },
    { "namespace": "shop", "name": "db-0", "node": "demo-node-c", "ips": ["10.244.3.10"], "workloadKind": "StatefulSet", "workloadName": "db" },
    { "namespace": "data", "name": "analytics-0", "node": "demo-node-d", "ips": ["10.244.4.10"], "workloadKind": "Deployment", "workloadName": "analytics" }
  ],
  "services": [
    { "namespace": "shop", "name": "db", "clusterIps": ["10.96.0.10"] }
  ]
}
JSON

# What the demo's traffic generator (inside egressd's process) sends, once a second each:
# a TCP connection from the client pod that uploads and downloads the given bytes.
run=/run/netns
cat > "$dir/plan.json" <<JSON
{
  "dnsServer": "198.18.0.53",
  "flows": [
    { "name": "same-node",    "client": "$run/$prefix-web",    "server": "$run/$prefix-worker",    "target": "10.244.1.11", "port": 8080, "upload": 20000, "download": 150000 },
    { "name": "same-zone",    "client": "$run/$prefix-web",    "server": "$run/$prefix-cache",     "target": "10.244.2.10", "port": 6379, "upload": 4000,  "download": 60000 },
    { "name": "cross-zone",   "client": "$run/$prefix-worker", "server": "$run/$prefix-db",        "target": "10.244.3.10", "port": 5432, "upload": 8000,  "download": 90000 },
    { "name": "service",      "client": "$run/$prefix-web",    "server": "$run/$prefix-db",        "target": "10.96.0.10",  "port": 5432, "upload": 6000,  "download": 120000 },
    { "name": "cross-region", "client": "$run/$prefix-worker", "server": "$run/$prefix-analytics", "target": "10.244.4.10", "port": 9000, "upload": 250000, "download": 5000 },
    { "name": "internet",     "client": "$run/$prefix-web",    "server": "$run/$prefix-internet",  "target": "api.payments.example", "port": 443, "upload": 3000, "download": 40000 },
    { "name": "internet-cdn", "client": "$run/$prefix-worker", "server": "$run/$prefix-internet",  "target": "assets.shop.example",  "port": 443, "upload": 1000, "download": 300000 }
  ]
}
JSON

cat > "$dir/egressd.env" <<ENV
Egressd__Collector__Netns=$run/$prefix-node-a
Egressd__Collector__NodeName=demo-node-a
Egressd__Inventory__File=$dir/inventory.json
Egressd__ClusterContext__Source=Inventory
Egressd__Demo__PlanFile=$dir/plan.json
ENV
