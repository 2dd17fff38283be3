#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Campaign controls end to end (#15): a real otter-server on 127.0.0.1 and otter-agentd.
# Deferrals: a download_then_ask rollout allowing one postponement of at most an hour. The
# daemon's control socket shows deferrals_left 1; a two-hour postpone is refused by the agent
# (not_allowed, with the reason); a ten-minute one reaches the server, which counts it; the next
# offer says 0 left and the agent refuses another postpone with the reason.
# Windows: a device in a group whose schedule is closed gets the same release forced: the daemon
# downloads ahead into the spool and does not install; once the server's clock (the test clock,
# OTTER_TEST_NOW_FILE) stands inside the window, the daemon installs.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages python3 tzdata
export OTTER_TEST_NOW_FILE="${OTTER_TEST_TMP:-/tmp}/deferral-now.$$"
echo 1796592600 > "$OTTER_TEST_NOW_FILE" # Mon 2026-12-07 05:30 in Shanghai: outside 01:00-05:00
ddi_setup control-deferral
ddi_pkg 2.0 2 300000
R=$(release 2.0)
cc() { "$OTTER_SOURCE_DIR/tests/integration/lib/control_client.py" "$@"; }
pgids=()
trap 'for p in "${pgids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done; rm -f "$OTTER_TEST_NOW_FILE"; ddi_cleanup' EXIT
start_daemon() {
  printf '[control]\nsocket = %s\n' "$2" >> "$1/agent.conf"
  setsid "$agentd" -c "$1/agent.conf" run > "$1/daemon.log" 2>&1 & pgids+=($!)
  for _ in $(seq 200); do [ -S "$2" ] && break; sleep 0.05; done
  [ -S "$2" ] || { bad "no control socket: $(tail -3 "$1/daemon.log")"; finish; }
}
stop_daemon() { kill -TERM -- "-$1"; wait "$1" 2>/dev/null || true; }
rollout() { # rollout NAME GROUP EXTRA: created and started; prints its id
  local code; code=$(jreq POST /api/v1/tenants/acme/rollouts "$A" \
    "{\"name\":\"$1\",\"release\":$R,\"filter\":{\"groups\":[\"$2\"]},\"stages\":[{\"percent\":100}]$3}")
  [ "$code" = 201 ] || die "rollout $1: answered $code: $(head -c 300 "$work/body")"
  local id; id=$(body .id)
  code=$(jreq POST "/api/v1/tenants/acme/rollouts/$id/start" "$A" '{}')
  [ "$code" = 200 ] || die "rollout $1 start: answered $code: $(head -c 300 "$work/body")"
  echo "$id"
}
history_action() { req GET "/api/v1/tenants/acme/devices/$1/history" "$A" >/dev/null; body '.actions[0].id'; }
d1="$work/dev1"; d2="$work/dev2"
ddi_device "$d1" gw-0001; ddi_device "$d2" gw-0002
for g in soft night; do jreq POST /api/v1/tenants/acme/groups "$A" "{\"name\":\"$g\"}" >/dev/null; done
expect "gw-0001 in soft" "$(req PUT /api/v1/tenants/acme/groups/soft/devices/gw-0001 "$A")" 204
expect "gw-0002 in night" "$(req PUT /api/v1/tenants/acme/groups/night/devices/gw-0002 "$A")" 204

# ---- deferrals ----
RO=$(rollout w-later soft ',"consent":"download_then_ask","deferrals":{"max":1,"max_seconds":3600}')
act1=$(history_action gw-0001)
s1="$work/c1.sock"
start_daemon "$d1" "$s1"
st=$(cc "$s1" --until "s['state'] in ('ready', 'failed')") || bad "no ready state: $(tail -5 "$d1/daemon.log")"
expect "ready, one postponement left" "$(jq -r '"\(.state) \(.offer.deferrals_left) \(.offer.urgent)"' <<< "$st")" "ready 1 false"
ans=$(cc "$s1" '{"id":1,"method":"postpone","params":{"seconds":7200}}')
expect "two hours: refused by the agent" "$(jq -r .error.code <<< "$ans")" not_allowed
expect "... saying why" "$(jq -r .error.message <<< "$ans" | grep -c 'longer than this update allows (3600 s)')" 1
expect "ten minutes: accepted" "$(cc "$s1" '{"id":2,"method":"postpone","params":{"seconds":600}}' | jq -r .result.accepted)" postpone
for _ in $(seq 200); do [ "$(action "$act1" '.user.choice // ""')" = postponed ] && break; sleep 0.05; done
expect "the server heard the postponement" "$(action "$act1" .user.choice)" postponed
req GET "/api/v1/tenants/acme/rollouts/$RO/stats" "$A" >/dev/null
expect "stats: one deferral, the device used them all" "$(body '.deferrals | "\(.total) \(.exhausted) \(.max)"')" "1 1 1"
st=$(cc "$s1" --until "s.get('offer') is not None and s['offer']['deferrals_left'] == 0") \
  || bad "the offer never said 0 left: $(tail -5 "$d1/daemon.log")"
ans=$(cc "$s1" '{"id":3,"method":"postpone","params":{"seconds":600}}')
expect "no postponement left: refused by the agent" "$(jq -r .error.code <<< "$ans")" not_allowed
expect "... saying why" "$(jq -r .error.message <<< "$ans" | grep -c 'every postponement this update allows is used')" 1
stop_daemon "${pgids[0]}"

# ---- windows: download ahead outside, install inside ----
code=$(jreq PUT /api/v1/tenants/acme/groups/night/maintenance-schedule "$A" \
  '{"maintenance_schedule":{"time_zone":"Asia/Shanghai","windows":[{"days":["mon-fri"],"start":"01:00","end":"05:00"}]}}')
expect "night: Mon-Fri 01:00-05:00 Shanghai (200)" "$code" 200
before2=$(device_print "$d2")
rollout w-night night '' >/dev/null
act2=$(history_action gw-0002)
s2="$work/c2.sock"
start_daemon "$d2" "$s2"
spooled() { find "$d2/spool" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null | wc -l; }
for _ in $(seq 400); do [ "$(spooled)" -gt 0 ] && break; sleep 0.05; done
n=$(cc "$s2" '{"id":1,"method":"status"}' | jq .result.checks)
cc "$s2" --until "s['checks'] > $n + 2" > /dev/null
expect "outside the window: downloaded ahead" "$(spooled)" 1
expect "... and nothing installed" "$(device_print "$d2")" "$before2"
expect "... the server's action still open" "$(action "$act2" .status)" running
echo 1796578200 > "$OTTER_TEST_NOW_FILE" # Mon 01:30 in Shanghai
st=$(cc "$s2" --until "s['state'] in ('reboot', 'failed')") || bad "no install: $(tail -5 "$d2/daemon.log")"
expect "inside the window: installed" "$(jq -r .state <<< "$st")" reboot
expect "slot B holds 2.0" "$(head -c 11 "$d2/b")" "version 2.0"
stop_daemon "${pgids[1]}"
stop_server
finish
