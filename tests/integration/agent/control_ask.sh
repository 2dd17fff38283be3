#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# "Download then ask" (#17) against a real otter-server on 127.0.0.1: a deployment with
# update "attempt" to a device with a control socket. The daemon downloads and verifies into
# the spool, says "ready" and tells the server otter.user=waiting, and installs nothing by
# itself. Start is refused while the battery is low and not charging (the reasons in the answer
# and in the state's start_blockers); a postpone reaches the server as
# otter.user=postponed;until=...; a failing health command refuses Start in the daemon (the
# client ends, naming it); with the charger in and healthy, `otter-agent install --from-server`
# (a client of the running daemon) starts it: otter.user=started, slot B holds 2.0, reboot.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages python3
ddi_setup control-ask
ddi_pkg 2.0 2 600000
release 2.0 >/dev/null
d="$work/dev"
ddi_device "$d" gw-0001
sock=$work/control.sock
mkdir -p "$work/bat"
echo 15 > "$work/bat/capacity"; echo Discharging > "$work/bat/status"
cat >> "$d/agent.conf" <<CONF
[control]
socket = $sock
[preconditions]
power_supply = $work/bat
min_battery = 30
need_charging = yes
health_command = test -e $work/healthy
CONF
cc() { "$OTTER_SOURCE_DIR/tests/integration/lib/control_client.py" "$@"; }
before=$(device_print "$d")
act=$(deploy 2.0 gw-0001 '"update":"attempt"')
setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { bad "the control socket did not appear: $(tail -3 "$work/daemon.log")"; finish; }
st=$(cc "$sock" --until "s['state'] in ('ready', 'failed')") || bad "no ready state: $(tail -5 "$work/daemon.log")"
expect "downloaded and verified, then ready" "$(jq -r .state <<< "$st")" ready
expect "the offer: version and size" "$(jq -r '"\(.offer.action) \(.offer.version) \(.offer.size > 0)"' <<< "$st")" "$act 2.0 true"
expect "the spool holds it" "$(find "$d/spool" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null | wc -l)" 1
# The daemon keeps polling; nothing gets installed without the user.
n=$(jq .checks <<< "$st")
cc "$sock" --until "s['checks'] > $n + 2" > /dev/null
expect "two more polls later: still ready" "$(cc "$sock" '{"id":1,"method":"status"}' | jq -r .result.state)" ready
expect "nothing installed, nothing switched" "$(device_print "$d")" "$before"
expect "the server heard otter.user=waiting" \
  "$(action "$act" '[.feedback[] | select(.details[0] == "otter.user=waiting")] | length')" 1
expect "the action still runs on the server" "$(action "$act" .status)" running

# Start with the battery low and discharging: refused, and the state says why.
a=$(cc "$sock" '{"id":2,"method":"start"}')
expect "start refused by the preconditions" "$(jq -r '.error.code' <<< "$a")" preconditions
expect "... naming both reasons" "$(jq -r '.error.message' <<< "$a")" \
  "start is not possible yet: battery at 15 %, at least 30 % needed; not charging (Discharging): connect the charger"
expect "the state's start_blockers" "$(cc "$sock" '{"id":3,"method":"status"}' | jq -rc '[.result.start_blockers[].what]')" '["battery","charging"]'
rc=0; out=$("$agent" -c "$d/agent.conf" install --from-server 2>&1) || rc=$?
expect "otter-agent install --from-server refused too (exit 1): $out" "$rc" 1
expect "still nothing installed" "$(device_print "$d")" "$before"

# Postpone: the server hears until when.
expect "postpone accepted" "$(cc "$sock" '{"id":4,"method":"postpone","params":{"seconds":3600}}' | jq -r .result.accepted)" postpone
expect "postponed_until in the state" "$(cc "$sock" '{"id":5,"method":"status"}' | jq -r '.result.postponed_until | test("^20[0-9-]+T[0-9:]+Z$")')" true
for _ in $(seq 100); do
  [ "$(action "$act" '[.feedback[] | select(.details[0] | startswith("otter.user=postponed;until="))] | length')" = 1 ] && break
  sleep 0.1
done
expect "the server heard otter.user=postponed;until=..." \
  "$(action "$act" '[.feedback[] | select(.details[0] | test("^otter.user=postponed;until=20[0-9-]+T[0-9:]+Z$"))] | length')" 1
a=$(cc "$sock" '{"id":6,"method":"postpone","params":{"seconds":2000000}}')
expect "a postpone beyond [control] postpone_max refused" "$(jq -r .error.code <<< "$a")" bad_request

# The charger in, but the health command fails: the daemon's own check before the install
# refuses, and the client ends with the reason (it does not wait for a reboot that never comes).
echo 80 > "$work/bat/capacity"; echo Charging > "$work/bat/status"
rc=0; out=$(timeout 120 "$agent" -c "$d/agent.conf" install --from-server 2>&1) || rc=$?
expect "health check failing: install --from-server ends with 1" "$rc" 1
expect "... naming the health check" "$(tail -1 <<< "$out")" "otter-agent: the health check failed (test -e $work/healthy)"
expect "... nothing installed" "$(device_print "$d")" "$before"
# Healthy: Start through otter-agent (a client of the running daemon) installs.
touch "$work/healthy"
rc=0; out=$("$agent" -c "$d/agent.conf" install --from-server 2>&1) || rc=$?
expect "otter-agent install --from-server through the daemon: $(tail -1 <<< "$out")" "$rc" 0
expect "its last line: reboot" "$(tail -1 <<< "$out")" "update: reboot"
expect "slot B holds 2.0" "$(head -c 11 "$d/b")" "version 2.0"
expect "the reboot was asked for" "$([ -e "$d/reboot-requested" ] && echo yes)" yes
expect "the server heard otter.user=started" \
  "$(action "$act" '[.feedback[] | select(.details[0] == "otter.user=started")] | length')" 1
kill -TERM -- "-$daemon_pgid"; wait "$daemon_pgid" 2>/dev/null || true; daemon_pgid=
"$agent" bootsim --root "$d" >/dev/null
expect "boot-check commits 2.0 on slot B" "$(booted "$d")" B
expect "the next cycle reports finished/success" "$(cycle "$d")" 0
expect "the action finished" "$(action "$act" '.status + "/" + .result')" finished/success

# Download on request and Cancel: download and update "attempt" on a second device that talks
# through a proxy holding the package's body halfway for 30 s (so the cancel lands
# mid-download); nothing moves until Download, the cancel stops it with nothing kept, and the
# daemon does not download it again by itself.
size=$(stat -c %s "$keys/2.0.zip")
start_proxy --stall "$((size / 2))" --stall-ms 30000 --stall-any
d2="$work/dev2"
ddi_device "$d2" gw-0002 "$proxy_url"
sock2=$work/control2.sock
printf '[control]\nsocket = %s\n' "$sock2" >> "$d2/agent.conf"
act2=$(deploy 2.0 gw-0002 '"download":"attempt","update":"attempt"')
setsid "$agentd" -c "$d2/agent.conf" run > "$work/daemon2.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock2" ] && break; sleep 0.05; done
st=$(cc "$sock2" --until "s['state'] == 'available'")
expect "download attempt: offered, nothing fetched" "$(jq -r .offer.action <<< "$st") $(find "$d2/spool" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null | wc -l)" "$act2 0"
cc "$sock2" --until "s['state'] == 'downloading'" > "$work/downloading.json" & sub=$!
for _ in $(seq 100); do [ -e "$work/downloading.json" ] && break; sleep 0.05; done
expect "download accepted" "$(cc "$sock2" '{"id":1,"method":"download"}' | jq -r .result.accepted)" download
wait "$sub" || { bad "never downloading: $(tail -3 "$work/daemon2.log")"; finish; }
proxy_stalled
expect "cancel accepted while downloading" "$(cc "$sock2" '{"id":2,"method":"cancel"}' | jq -r .result.accepted)" cancel
st=$(cc "$sock2" --until "s['state'] != 'downloading'")
expect "canceled: available again" "$(jq -r .state <<< "$st")" available
n=$(jq .checks <<< "$st")
st=$(cc "$sock2" --until "s['checks'] > $n + 2")
expect "two polls later: still available, not downloading again" "$(jq -r .state <<< "$st")" available
expect "nothing in the spool" "$(find "$d2/spool" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null | wc -l)" 0
grep -q "the user canceled the download" "$work/daemon2.log" && ok "the daemon says the user canceled" || bad "daemon2: $(tail -3 "$work/daemon2.log")"
finish
