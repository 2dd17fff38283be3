#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the fleet simulator's MQTT mode (otter_fleetsim --mqtt, issue #15 push
# wake-up) so it cannot rot: 50 simulated devices, each with its own connection to a local
# mosquitto (plain MQTT on 127.0.0.1, anonymous: a test broker), polling only hourly. A rollout
# start reaches every one of them through its wake-up: each logs a "wake" and then a poll
# that offers the rollout's action. The broker is then killed and started again on the same
# port: all 50 reconnect and subscribe again and poll at once (a cancel made while the broker
# was down is seen there), and a second rollout's start, published after the restart, wakes
# each of them again.
source "$(dirname "$0")/lib.sh"
need_packages jq curl mosquitto mosquitto-clients
sim="$OTTER_BUILD_DIR/tests/tools/otter_fleetsim"
keys="${OTTER_TEST_TMP:-/tmp}/fleetsim-mqtt-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
mq_pid=""; sim_pid=""
cleanup() {
  [ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true
  [ -z "$mq_pid" ] || kill "$mq_pid" 2>/dev/null || true
  [ -z "${server_pid:-}" ] || kill -TERM "$server_pid" 2>/dev/null || true
  drop_pg_db
  rm -rf "$keys" "${work:-/nonexistent}"
}
trap cleanup EXIT

# ---- the broker: on a free port, restartable on the same one ----
MQ_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$keys/mosquitto.conf" <<CONF
user $(id -un)
allow_anonymous true
persistence false
max_connections -1
log_dest stderr
log_type error
listener $MQ_PORT 127.0.0.1
CONF
broker_up() { # starts mosquitto, waits (20 s at most) until it takes a publish
  mosquitto -c "$keys/mosquitto.conf" 2>>"$keys/mq.log" & mq_pid=$!
  for _ in $(seq 200); do
    mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -t probe -n 2>/dev/null && return 0
    sleep 0.1
  done
  die "mosquitto did not start in 20 s: $(tail -5 "$keys/mq.log")"
}
broker_up

"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 4096 /dev/urandom > "$keys/v1.img"
"$otter" pack --product sim --compatible m1 --version 1.0 --security-version 1 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null
start_server fleetsim_mqtt "[trust]
root = $keys/root.json
[metrics]
enabled = true
[push]
broker = 127.0.0.1:$MQ_PORT"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"sim"}' >/dev/null
seq -f 'sim%03g,m1' 0 49 > "$work/devices.csv"
expect "50 devices provisioned" "$(req POST /api/v1/tenants/sim/devices/bulk "$A" -H 'Content-Type: text/csv' --data-binary @"$work/devices.csv")" 201
jq -r '.devices[] | "\(.controller_id) \(.token)"' "$work/body" > "$work/tokens"
R1=$(upload sim "$A" "$keys/1.0.zip")
expect "rollout created" "$(jreq POST /api/v1/tenants/sim/rollouts "$A" "{\"name\":\"all\",\"release\":$R1,\"stages\":[{\"percent\":100}]}")" 201
RO=$(body .id)
metric() { curl -s -m 20 "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
# wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds, polled every 0.1 s, else die.
wait_for() {
  local what=$1 n=$(($2 * 10)); shift 2
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  die "$what: not after ${n}00 ms"
}
server_on_broker() { [ "$(metric otter_push_connected)" = 1 ]; }
wait_for "the server's publisher connected" 30 server_on_broker

# ---- the fleet: hourly polls, first ones spread over the hour ----
ev="$work/events"
"$sim" --url "$URL" --tenant sim --tokens "$work/tokens" --interval 3600 --duration 600 \
  --connections 8 --mqtt "127.0.0.1:$MQ_PORT" --events "$ev" > "$work/sim.out" 2> "$work/sim.err" &
sim_pid=$!
# count EVENT [ARG-PREFIX]: distinct devices with such a line in the events log.
count() { awk -v e="$1" -v a="${2:-}" '$3 == e && index($4, a) == 1 { d[$2] = 1 } END { print length(d) }' "$ev"; }
all_subscribed() {
  kill -0 "$sim_pid" 2>/dev/null || die "the simulator exited: $(head -3 "$work/sim.err")"
  [ -e "$ev" ] && [ "$(awk '$3 == "sub"' "$ev" | wc -l)" -ge "$1" ]
}
wait_for "50 devices subscribed" 60 all_subscribed 50
expect "no action offered before the start" "$(count offer)" 0

# ---- a rollout start: every device woken, and its poll offers the action ----
expect "rollout started" "$(jreq POST "/api/v1/tenants/sim/rollouts/$RO/start" "$A" '{}')" 200
all_offered() { [ "$(count offer "$1")" = 50 ]; }
wait_for "all 50 devices polled and were offered the rollout" 60 all_offered deploymentBase/
expect "all 50 devices got the wake-up" "$(count wake)" 50
# Each device's offer came after its wake-up, never from its hourly schedule alone.
expect "each device's offer followed its wake-up" "$(awk '$3 == "wake" && !(($2) in w) { w[$2] = $1 }
  $3 == "offer" && ($2 in w) && $1 >= w[$2] { ok[$2] = 1 } END { print length(ok) }' "$ev")" 50

# ---- the broker restarts on the same port: reconnections, and the next wake-ups arrive ----
kill "$mq_pid"; wait "$mq_pid" 2>/dev/null || true; mq_pid=
lost_all() { [ "$(count lost)" = 50 ]; }
wait_for "all 50 devices saw the broker go" 30 lost_all
# Canceled while the broker is down (the scheduled actions are withdrawn): each device learns
# it from the poll it makes on subscribing again, as the agent does, not from a message.
expect "rollout canceled" "$(jreq POST "/api/v1/tenants/sim/rollouts/$RO/cancel" "$A" '{}')" 200
broker_up
wait_for "all 50 devices subscribed again" 120 all_subscribed 100
wait_for "all 50 devices polled on subscribing and found the action gone" 60 all_offered none
wait_for "the server's publisher reconnected" 60 server_on_broker
mark=$(wc -l < "$ev")
# since EVENT ARG-PREFIX: distinct devices with such a line after line $mark.
since() { awk -v m="$mark" -v e="$1" -v a="$2" 'NR > m && $3 == e && index($4, a) == 1 { d[$2] = 1 }
  END { print length(d) }' "$ev"; }
expect "second rollout created" "$(jreq POST /api/v1/tenants/sim/rollouts "$A" "{\"name\":\"again\",\"release\":$R1,\"stages\":[{\"percent\":100}]}")" 201
RO2=$(body .id)
expect "second rollout started" "$(jreq POST "/api/v1/tenants/sim/rollouts/$RO2/start" "$A" '{}')" 200
offered_again() { [ "$(since offer deploymentBase/)" = 50 ]; }
wait_for "all 50 devices polled and were offered the second rollout" 60 offered_again
expect "all 50 devices got its wake-up, published after the restart" "$(since wake "")" 50

kill -TERM "$sim_pid"
rc=0; wait "$sim_pid" || rc=$?; sim_pid=
cat "$work/sim.out"
expect "simulator exits 0" "$rc" 0
expect "no HTTP errors" "$(awk '$1 == "errors:" { print $2 }' "$work/sim.out")" 0
expect "the report counts the 100 wake-ups" "$(awk '$1 == "push:" { print $3 }' "$work/sim.out")" 100
expect "the report counts 100 subscriptions" "$(awk '$1 == "mqtt:" { print $10 }' "$work/sim.out")" 100
stop_server
finish
