#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# MQTT push wake-up (issue #15, docs/operations.md "Push wake-up"): a real mosquitto on
# 127.0.0.1 (TLS listener, password file, ACL file as in docs/operations.md), a real
# otter-server publishing to it and a real otter-agentd subscribed, while the server tells
# devices to poll once an hour. Each step waits (bounded) on the server's record of the action:
#   - a rollout start makes the device poll within seconds (a poll an hour away otherwise);
#   - the broker is killed: a cancel's wake-up is dropped and counted; the broker comes back on
#     the same port, the device reconnects, polls once and confirms the cancel;
#   - a group deployment wakes the group's topic after the restart;
#   - a device offline (agentd stopped) when its wake-up went out gets the action on its return;
#   - the ACL: a device cannot subscribe to another device's topic, nor publish to its own.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
need_packages mosquitto mosquitto-clients

keys="${OTTER_TEST_TMP:-/tmp}/push-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
mq_pid=; daemon_pgid=; d2_pgid=; proxy_pids=()
cleanup() {
  [ -n "$mq_pid" ] && kill "$mq_pid" 2>/dev/null
  [ -n "$d2_pgid" ] && kill -KILL -- "-$d2_pgid" 2>/dev/null
  ddi_cleanup
}
trap cleanup EXIT
"$otter" keygen --out "$keys/r1" >/dev/null
"$otter" root new --pubkey "$keys/r1.pub" -o "$keys/root.json" >/dev/null
ddi_pkg 1.0 1 300000
ddi_pkg 2.0 2 300000
ddi_pkg 3.0 3 300000

# ---- the broker ----
mqdir="${OTTER_TEST_TMP:-/tmp}/push-mq.$$"
rm -rf "$mqdir"; mkdir -p "$mqdir"
make_tls "$mqdir/tls"
MQ_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mosquitto_passwd -c -b "$mqdir/passwd" otter-server server-pw-1 2>/dev/null
for u in acme.gw-0001:dev1-pw acme.gw-0002:dev2-pw monitor:monitor-pw; do
  mosquitto_passwd -b "$mqdir/passwd" "${u%%:*}" "${u#*:}" 2>/dev/null
done
# The ACL of docs/operations.md: only the server publishes; a device reads its own topic and
# its groups'. Anything not granted is denied once an acl_file is set.
cat > "$mqdir/acl" <<ACL
user otter-server
topic write otter/#

user monitor
topic read otter/#

user acme.gw-0001
topic read otter/acme/dev/gw-0001
topic read otter/acme/group/lab

user acme.gw-0002
topic read otter/acme/dev/gw-0002
ACL
cat > "$mqdir/mosquitto.conf" <<CONF
user $(id -un)
per_listener_settings false
allow_anonymous false
password_file $mqdir/passwd
acl_file $mqdir/acl
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
listener $MQ_PORT 127.0.0.1
cafile $mqdir/tls/ca.crt
certfile $mqdir/tls/srv.crt
keyfile $mqdir/tls/srv.key
CONF
# broker_up: mosquitto on MQ_PORT; waits (20 s at most) until it accepts a TLS login.
broker_up() {
  mosquitto -c "$mqdir/mosquitto.conf" 2>>"$mqdir/log" & mq_pid=$!
  for _ in $(seq 200); do
    mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" --cafile "$mqdir/tls/ca.crt" -u monitor -P monitor-pw \
      -t otter/probe -n -q 1 2>/dev/null && return 0
    sleep 0.1
  done
  die "mosquitto did not accept a login in 20 s: $(tail -5 "$mqdir/log")"
}
broker_down() { kill -TERM "$mq_pid"; wait "$mq_pid" 2>/dev/null || true; mq_pid=; }
broker_up

# ---- the server: devices poll once an hour; push through the broker ----
start_server push "[trust]
root = $keys/root.json
[ddi]
polling = 1h
[metrics]
enabled = true
[push]
broker = 127.0.0.1:$MQ_PORT
tls_ca = $mqdir/tls/ca.crt
username = otter-server
password = server-pw-1
group_topics = true"
A=$(login admin "$ADMIN_PW")
expect "tenant acme" "$(jreq POST /api/v1/tenants "$A" '{"name":"acme"}')" 201
metric() { curl -s -m 20 "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# push_state: the tenant's push field (the dashboard's).
push_state() { req GET /api/v1/tenants/acme "$A" >/dev/null; body '.push | "\(.enabled),\(.connected)"'; }
# until_true SECONDS WHAT CMD...: polls CMD every 0.2 s until it succeeds, or fails the check.
until_true() {
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" && { ok "$what"; return 0; }; sleep 0.2; done
  bad "$what (not within $secs s)"
}
connected() { [ "$(push_state)" = "$1" ]; }
until_true 30 "the server is connected to the broker (tenant's push: enabled, connected)" connected true,true

d1="$work/dev1"; ddi_device "$d1" gw-0001
d2="$work/dev2"; ddi_device "$d2" gw-0002
expect "group lab" "$(jreq POST /api/v1/tenants/acme/groups "$A" '{"name":"lab"}')" 201
expect "gw-0001 joins lab" "$(req PUT /api/v1/tenants/acme/groups/lab/devices/gw-0001 "$A")" 204
cat >> "$d1/agent.conf" <<CONF
[push]
url = mqtts://127.0.0.1:$MQ_PORT
ca = $mqdir/tls/ca.crt
username = acme.gw-0001
password = dev1-pw
groups = lab
CONF
release 2.0 >/dev/null; release 3.0 >/dev/null

# status ACTION_SQL_WHERE: the status of gw-0001's action matching the condition.
status_of() {
  db "SELECT a.status FROM actions a JOIN devices d ON d.id = a.device_id
      WHERE d.controller_id = 'gw-0001' AND $1 ORDER BY a.id DESC LIMIT 1"
}
is_status() { [ "$(status_of "$1")" = "$2" ]; }
subscriptions() { grep -c 'push: subscribed to 2 topic' "$work/d1.log" 2>/dev/null || true; }
start_daemon() {
  setsid "$agentd" -c "$d1/agent.conf" run >> "$work/d1.log" 2>&1 & daemon_pgid=$!
}
start_daemon
subscribed_n() { [ "$(subscriptions)" -ge "$1" ]; }
until_true 30 "agentd subscribed to its topic and its group's" subscribed_n 1
# Its start-up poll and the poll after subscribing are done: from now on it waits an hour.
polls_n() { [ "$(metric otter_ddi_polls_total)" -ge "$1" ]; }
until_true 30 "agentd polled at start and once subscribed" polls_n 2
polls_before=$(metric otter_ddi_polls_total)
pushed_before=$(grep -c 'push: polling now' "$work/d1.log" || true)

# 1. A rollout start wakes the device: it fetches the deployment (the action runs).
expect "rollout to 2.0 created" "$(jreq POST /api/v1/tenants/acme/rollouts "$A" \
  "{\"name\":\"r2\",\"release\":$(release 2.0),\"download\":\"skip\",\"filter\":{\"models\":[\"gw-a\"]},\"stages\":[{\"percent\":100}]}")" 201
RO=$(body .id)
expect "rollout started" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/start" "$A" '{}')" 200
until_true 30 "the rollout start made gw-0001 poll at once (its action runs)" \
  is_status "a.rollout_id = $RO" running
expect "gw-0001 polled once more than before" "$(( $(metric otter_ddi_polls_total) > polls_before ))" 1
expect "the daemon says the poll came from a push" \
  "$(( $(grep -c 'push: polling now' "$work/d1.log" || true) > pushed_before ))" 1
expect "gw-0002 (no daemon) still has its action scheduled" \
  "$(db "SELECT a.status FROM actions a JOIN devices d ON d.id = a.device_id WHERE d.controller_id = 'gw-0002' AND a.rollout_id = $RO")" scheduled

# 2. Broker down: the cancel's wake-up is dropped (counted); back up, the device polls once.
published=$(metric otter_push_published_total)
[ "$published" -ge 1 ] && ok "published wake-ups counted ($published)" || bad "otter_push_published_total is $published"
broker_down
until_true 30 "the server sees the broker gone (connected false)" connected true,false
dropped=$(metric otter_push_dropped_total)
expect "rollout canceled while the broker is down" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/cancel" "$A" '{}')" 200
expect "gw-0001's action waits for its cancel confirmation" "$(status_of "a.rollout_id = $RO")" canceling
drops() { [ "$(metric otter_push_dropped_total)" -gt "$dropped" ]; }
until_true 10 "the cancel's wake-up was dropped and counted" drops
expect "the server still answers polls with the broker down" \
  "$(curl -s -o /dev/null -w '%{http_code}' -m 20 -H "Authorization: TargetToken $(sed -n 's/^target_token = //p' "$d2/agent.conf")" "$URL/acme/controller/v1/gw-0002")" 200
broker_up
until_true 90 "after the broker's restart the device re-subscribed" subscribed_n 2
until_true 60 "and polled: it confirmed the cancel sent while the broker was down" \
  is_status "a.rollout_id = $RO" canceled
until_true 60 "the server reconnected to the broker" connected true,true

# 3. A group deployment wakes the group's topic (group_topics = true), after the restart.
expect "deployment of 3.0 to group lab" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$(release 3.0),\"group\":\"lab\",\"download\":\"skip\"}")" 201
ACT=$(body '.actions[0].id')
until_true 30 "the group's wake-up made gw-0001 poll (its action runs)" is_status "a.id = $ACT" running

# 4. Offline when the wake-up went out: the device gets it when it comes back.
kill -TERM -- "-$daemon_pgid"; wait "$daemon_pgid" 2>/dev/null || true; daemon_pgid=
expect "action canceled while gw-0001 is offline" "$(req POST "/api/v1/tenants/acme/actions/$ACT/cancel" "$A")" 200
expect "it waits for the device" "$(status_of "a.id = $ACT")" canceling
start_daemon
until_true 60 "back online, gw-0001 confirmed the cancel it missed" is_status "a.id = $ACT" canceled

# 5. With a control socket the daemon waits on the control API's condition variable, not the
# eventfd: a wake-up must end that wait too (gw-0002, a deployment naming it).
cat >> "$d2/agent.conf" <<CONF
[control]
socket = $d2/ctl.sock
[push]
url = mqtts://127.0.0.1:$MQ_PORT
ca = $mqdir/tls/ca.crt
username = acme.gw-0002
password = dev2-pw
CONF
polls_before=$(metric otter_ddi_polls_total)
setsid "$agentd" -c "$d2/agent.conf" run > "$work/d2.log" 2>&1 & d2_pgid=$!
d2_subscribed() { grep -q 'push: subscribed to 1 topic' "$work/d2.log"; }
until_true 30 "gw-0002's daemon (control socket) subscribed" d2_subscribed
# One poll at least: the due poll of its subscription may be the start-up one (a cycle that
# begins after the subscription takes the control API's "check" with it).
until_true 30 "it polled since it started" polls_n $((polls_before + 1))
expect "deployment of 3.0 to gw-0002" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$(release 3.0),\"devices\":[\"gw-0002\"],\"download\":\"skip\"}")" 201
ACT2=$(body '.actions[0].id')
d2_running() { [ "$(db "SELECT status FROM actions WHERE id = $ACT2")" = running ]; }
until_true 30 "the wake-up ended gw-0002's wait on its control API (its action runs)" d2_running

# 6. The ACL. mosquitto grants any subscription and applies the ACL on delivery, so each check
# listens (the listener is ready once a "ready" message reached it), makes the publish that
# must not arrive, then one that must, by the same publisher: once that one is there, the
# first would have been too.
mq_pub() { # mq_pub USER PASSWORD TOPIC MESSAGE (QoS 1: returns once the broker has it)
  mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" --cafile "$mqdir/tls/ca.crt" -u "$1" -P "$2" -t "$3" \
    -m "$4" -q 1 2>/dev/null
}
listen() { # listen USER PASSWORD OUT TOPIC...: a subscriber in the background ($listener)
  local u=$1 pw=$2 out=$3; shift 3
  local t=() x; for x in "$@"; do t+=(-t "$x"); done
  : > "$out"
  mosquitto_sub -V 5 -h 127.0.0.1 -p "$MQ_PORT" --cafile "$mqdir/tls/ca.crt" -u "$u" -P "$pw" \
    "${t[@]}" -v > "$out" 2>&1 & listener=$!
}
ready_on() { mq_pub otter-server server-pw-1 "$1" ready; [ -s "$2" ]; }
has_line() { grep -qx "$1" "$2"; }

listen acme.gw-0002 dev2-pw "$mqdir/snoop.out" otter/acme/dev/gw-0001 otter/acme/dev/gw-0002
until_true 20 "gw-0002 listens on its own topic and (it tries) gw-0001's" \
  ready_on otter/acme/dev/gw-0002 "$mqdir/snoop.out"
mq_pub otter-server server-pw-1 otter/acme/dev/gw-0001 for-gw-0001
mq_pub otter-server server-pw-1 otter/acme/dev/gw-0002 after
until_true 20 "gw-0002 got the message sent after" has_line "otter/acme/dev/gw-0002 after" "$mqdir/snoop.out"
kill "$listener"; wait "$listener" 2>/dev/null || true
expect "gw-0002 never got what was published to gw-0001's topic" \
  "$(grep -c '^otter/acme/dev/gw-0001 ' "$mqdir/snoop.out" || true)" 0

listen monitor monitor-pw "$mqdir/monitor.out" otter/acme/dev/gw-0001
until_true 20 "a monitor listens on gw-0001's topic" ready_on otter/acme/dev/gw-0001 "$mqdir/monitor.out"
mq_pub acme.gw-0001 dev1-pw otter/acme/dev/gw-0001 forged || true
mq_pub otter-server server-pw-1 otter/acme/dev/gw-0001 marker
until_true 20 "the monitor got the server's message" has_line "otter/acme/dev/gw-0001 marker" "$mqdir/monitor.out"
kill "$listener"; wait "$listener" 2>/dev/null || true
expect "gw-0001's own publish never reached its topic (only the server publishes)" \
  "$(grep -c '^otter/acme/dev/gw-0001 forged' "$mqdir/monitor.out" || true)" 0

[ "$fails" = 0 ] && rm -rf "$mqdir"
finish
