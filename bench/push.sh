#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push wake-up at fleet size (issue #15): DEVICES (10000) provisioned devices, one otter-server
# with [push] on a local mosquitto, a rollout to all of them started at t0.
#   1. measured: t0 -> 95 % of the devices' wake-ups delivered by the broker. The fleet's side is
#      ONE mosquitto_sub connection subscribed to otter/bench/dev/+ (every device's topic), not
#      10,000 connections: otter_fleetsim has no MQTT mode yet, and a wildcard subscriber gets
#      exactly the messages 10,000 devices would. It measures the server's publishing path (the
#      start's commit, the store query, the queue, libmosquitto) and the broker's routing, not
#      the broker's per-connection fan-out.
#   2. measured: how fast the server answers the polls the wake-ups cause (otter_fleetsim, 64
#      keep-alive connections, every device polling once a second for a few seconds: polls/s);
#      time to 95 % polled with push ~= (1) + 0.95 * DEVICES / polls/s (the sum: an upper bound,
#      the polls start while wake-ups are still going out).
#   3. computed: with a 5-minute poll, first polls spread uniformly over the interval (as the
#      simulator and real fleets with jitter do), 95 % have polled after 0.95 * 300 s; requests
#      per hour from the intervals.
# The broker here is plain MQTT on 127.0.0.1 without accounts (a bench, not a deployment:
# docs/operations.md has the TLS + ACL configuration, tests/integration/agent/push.sh tests it).
#   bench/push.sh [DEVICES]
set -euo pipefail
devices=${1:-10000}
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
server="$build/src/server/otter-server"
sim="$build/tests/tools/otter_fleetsim"
otter="$build/bin/otter"
if ! [ -x "$server" ] || ! [ -x "$sim" ] || ! [ -x "$otter" ]; then make -C "$top" build >/dev/null; fi
for p in mosquitto mosquitto_sub jq curl bc; do
  command -v "$p" >/dev/null || { echo "missing $p (make deps)"; exit 1; }
done
work=$(mktemp -d /var/tmp/otter-bench-push.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > mosquitto.conf <<CONF
user $(id -un)
allow_anonymous true
persistence false
max_queued_messages 0
listener $port 127.0.0.1
CONF
mosquitto -c mosquitto.conf 2>mosquitto.log & pids+=($!)
for _ in $(seq 100); do mosquitto_pub -h 127.0.0.1 -p "$port" -t probe -n 2>/dev/null && break; sleep 0.1; done

"$otter" keygen --out rel >/dev/null
"$otter" root new --pubkey rel.pub -o root.json >/dev/null
head -c 4096 /dev/urandom > img
"$otter" pack --product bench --compatible bench-1 --version 1 --security-version 1 \
  --image rootfs=img --key rel.key -o update.zip >/dev/null
cat > server.conf <<CONF
[http]
listen = 127.0.0.1:0
[database]
url = sqlite:$work/otter.db
[storage]
artifacts = $work/artifacts
[trust]
root = $work/root.json
[limits]
max_body = 16M
max_connections = 4096
max_connections_per_ip = 0
[ddi]
polling = 5m
[metrics]
enabled = true
[push]
broker = 127.0.0.1:$port
queue = 1000000
CONF
OTTER_ADMIN_PASSWORD=bench-admin-pw "$server" init --config server.conf >/dev/null
"$server" serve --config server.conf --ready-file ready 2>server.log & server_pid=$!; pids+=("$server_pid")
for _ in $(seq 100); do [ -s ready ] && break; sleep 0.1; done
url=$(head -1 ready)
tok=$(curl -s -m 30 -X POST "$url/api/v1/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pw"}' | jq -r .token)
api() { local m=$1 p=$2; shift 2; curl -s -m 600 -X "$m" -H "Authorization: Bearer $tok" "$@" "$url/api/v1$p"; }
api POST /tenants -H 'Content-Type: application/json' -d '{"name":"bench"}' >/dev/null
: > tokens
for ((first = 0; first < devices; first += 10000)); do
  last=$((first + 10000 < devices ? first + 10000 : devices))
  seq -f 'sim%06g,bench-1' "$first" $((last - 1)) |
    api POST /tenants/bench/devices/bulk -H 'Content-Type: text/csv' --data-binary @- |
    jq -r '.devices[] | "\(.controller_id) \(.token)"' >> tokens
done
[ "$(wc -l < tokens)" = "$devices" ] || { echo "provisioning failed"; exit 1; }
rid=$(api POST /tenants/bench/releases --data-binary @update.zip | jq -r .id)
api POST "/tenants/bench/releases/$rid/approve" -H 'Content-Type: application/json' -d '{}' >/dev/null
ro=$(api POST /tenants/bench/rollouts -H 'Content-Type: application/json' \
  -d "{\"name\":\"all\",\"release\":$rid,\"stages\":[{\"percent\":100}]}" | jq -r .id)
for _ in $(seq 100); do
  curl -s "$url/metrics" | grep -q '^otter_push_connected 1' && break; sleep 0.1
done

# 1. wake-ups delivered: one subscriber for every device topic, ready once a probe reaches it.
n95=$(( (devices * 95 + 99) / 100 ))
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'otter/bench/dev/+' -q 1 -C $((n95 + 1)) > woken & sub=$!
pids+=("$sub")
for _ in $(seq 100); do
  mosquitto_pub -h 127.0.0.1 -p "$port" -t otter/bench/dev/probe -m probe -q 1; [ -s woken ] && break; sleep 0.1
done
t0=$(date +%s.%N)
api POST "/tenants/bench/rollouts/$ro/start" -H 'Content-Type: application/json' -d '{}' > start.json
t_start=$(date +%s.%N)
wait "$sub"
t1=$(date +%s.%N)
jq -e '.state == "running"' start.json >/dev/null || { echo "rollout start failed: $(cat start.json)"; exit 1; }
deliver=$(echo "$t1 - $t0" | bc -l)
printf '\n== %d devices, rollout start -> 95 %% of wake-ups delivered (measured)\n' "$devices"
printf 'start request answered after %.2f s; 95 %% (%d) delivered after %.2f s\n' \
  "$(echo "$t_start - $t0" | bc -l)" "$n95" "$deliver"
curl -s "$url/metrics" | grep -E '^otter_push_(published_total|dropped_total)'

# 2. the polls the wake-ups cause: the server's poll rate with every device due at once.
"$sim" --url "$url" --tenant bench --tokens tokens --interval 1 --duration 10 \
  --server-pid "$server_pid" > sim.out 2> sim.err || true
rate=$(awk '/polls\/s/ { for (i = 1; i <= NF; i++) if ($i == "polls/s:") { print $(i + 1); exit } }' sim.out)
printf '\n== the poll burst (otter_fleetsim, every device polling each second for 10 s)\n'
cat sim.out
if [ -n "$rate" ]; then
  push95=$(echo "$deliver + 0.95 * $devices / $rate" | bc -l)
  printf '\n== time to 95 %% of %d devices having polled after the start\n' "$devices"
  printf 'push:          %.1f s (delivery %.2f s + 95 %% of the fleet at %s polls/s)\n' "$push95" "$deliver" "$rate"
fi
printf '5-minute poll: %.0f s (0.95 x 300 s: first polls spread uniformly)\n' "$(echo '0.95 * 300' | bc -l)"
printf '\n== requests per hour at the server (polls; a rollout adds one deploymentBase per device either way)\n'
printf '5-minute poll:        %d\n' $((devices * 12))
printf 'push + 1 h fallback:  %d (+%d per rollout event that wakes every device, +1 per device reconnect)\n' \
  "$devices" "$devices"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
