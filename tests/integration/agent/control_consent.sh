#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The user's consent end to end (#17): a real otter-server on 127.0.0.1 and otter-agentd with
# a [control] socket, the server's consent modes meeting the device's control API.
# ask: a rollout with consent "ask" over two devices. Each daemon shows the offer as needing
# consent, with the release notes of `otter pack --notes` (otter.notes.<lang>) and the size
# (otter.size); nothing is downloaded before the user answers. Download on the first device
# confirms it: the daemon installs, the boot commits, the server has "confirmed" and
# finished/success. Decline on the second is counted as declined in the rollout's stats.
# download_then_ask: a rollout over a third device; the daemon downloads, the stats say
# waiting, Start through the socket installs and the stats say started.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages python3
ddi_setup control-consent
printf 'Fixes the Wi-Fi drop.' > "$keys/en.txt"
printf '修复 Wi-Fi 断开。' > "$keys/zh.txt"
ddi_pkg 2.0 2 400000
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
  --image rootfs="$keys/2.0.img" --key "$keys/r1.key" --notes en="$keys/en.txt" \
  --notes zh-CN="$keys/zh.txt" -o "$keys/2.0.zip" >/dev/null
R=$(release 2.0)
cc() { "$OTTER_SOURCE_DIR/tests/integration/lib/control_client.py" "$@"; }
pgids=()
trap 'for p in "${pgids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done; ddi_cleanup' EXIT
# start_daemon DIR SOCKET: otter-agentd run with a [control] socket, in its own process group.
start_daemon() {
  printf '[control]\nsocket = %s\n' "$2" >> "$1/agent.conf"
  setsid "$agentd" -c "$1/agent.conf" run > "$1/daemon.log" 2>&1 & pgids+=($!)
  for _ in $(seq 200); do [ -S "$2" ] && break; sleep 0.05; done
  [ -S "$2" ] || { bad "no control socket: $(tail -3 "$1/daemon.log")"; finish; }
}
stop_daemon() { kill -TERM -- "-$1"; wait "$1" 2>/dev/null || true; }
# rollout NAME GROUP CONSENT: created and started; prints its id.
rollout() {
  local code; code=$(jreq POST /api/v1/tenants/acme/rollouts "$A" \
    "{\"name\":\"$1\",\"release\":$R,\"filter\":{\"groups\":[\"$2\"]},\"stages\":[{\"percent\":100}],\"consent\":\"$3\"}")
  [ "$code" = 201 ] || die "rollout $1: answered $code: $(head -c 300 "$work/body")"
  local id; id=$(body .id)
  code=$(jreq POST "/api/v1/tenants/acme/rollouts/$id/start" "$A" '{}')
  [ "$code" = 200 ] || die "rollout $1 start: answered $code: $(head -c 300 "$work/body")"
  echo "$id"
}
stats() { req GET "/api/v1/tenants/acme/rollouts/$1/stats" "$A" >/dev/null; body '.users | "\(.waiting) \(.postponed) \(.declined) \(.started)"'; }
history_action() { req GET "/api/v1/tenants/acme/devices/$1/history" "$A" >/dev/null; body '.actions[0].id'; }

# ---- ask ----
d1="$work/dev1"; d2="$work/dev2"; d3="$work/dev3"
ddi_device "$d1" gw-0001; ddi_device "$d2" gw-0002; ddi_device "$d3" gw-0003
jreq POST /api/v1/tenants/acme/groups "$A" '{"name":"asked"}' >/dev/null
jreq POST /api/v1/tenants/acme/groups "$A" '{"name":"soft"}' >/dev/null
for g in gw-0001:asked gw-0002:asked gw-0003:soft; do
  expect "$g in its group" "$(req PUT "/api/v1/tenants/acme/groups/${g#*:}/devices/${g%:*}" "$A")" 204
done
before1=$(device_print "$d1"); before2=$(device_print "$d2")
RO=$(rollout w-ask asked ask)
act1=$(history_action gw-0001); act2=$(history_action gw-0002)
s1="$work/c1.sock"; s2="$work/c2.sock"
start_daemon "$d1" "$s1"; start_daemon "$d2" "$s2"
st=$(cc "$s1" --until "s.get('offer') is not None and s['state'] in ('available', 'failed')") \
  || bad "no offer on gw-0001: $(tail -5 "$d1/daemon.log")"
expect "ask: offered, needing consent" "$(jq -r '"\(.state) \(.offer.action) \(.offer.needs_consent)"' <<< "$st")" "available $act1 true"
expect "ask: the notes in both languages" "$(jq -r '.offer.notes.en + "|" + .offer.notes["zh-CN"]' <<< "$st")" \
  "Fixes the Wi-Fi drop.|修复 Wi-Fi 断开。"
expect "ask: the size is the package's" "$(jq -r .offer.size <<< "$st")" "$(stat -c %s "$keys/2.0.zip")"
n=$(jq .checks <<< "$st")
st=$(cc "$s1" --until "s['checks'] > $n + 2")
expect "two polls later: still available, nothing downloaded" "$(jq -r .state <<< "$st") $(find "$d1/spool" -type f 2>/dev/null | wc -l)" "available 0"
expect "the server: waiting for confirmation, no feedback" "$(action "$act1" '.confirmation + " " + (.feedback | length | tostring)')" "waiting 0"
expect "nothing switched before consent" "$(device_print "$d1")" "$before1"
expect "stats: two waiting for their users" "$(stats "$RO")" "2 0 0 0"

# Download on gw-0001: that is the consent; the daemon confirms, installs, asks for a reboot.
expect "download accepted" "$(cc "$s1" '{"id":1,"method":"download"}' | jq -r .result.accepted)" download
st=$(cc "$s1" --until "s['state'] in ('reboot', 'failed')") || bad "no reboot state: $(tail -5 "$d1/daemon.log")"
expect "ask: installed, reboot needed" "$(jq -r .state <<< "$st")" reboot
expect "the server recorded the confirmation" "$(action "$act1" .confirmation)" confirmed
expect "slot B holds 2.0" "$(head -c 11 "$d1/b")" "version 2.0"
stop_daemon "${pgids[0]}"
"$agent" bootsim --root "$d1" >/dev/null
expect "boot-check commits 2.0 on slot B" "$(booted "$d1")" B
expect "the next cycle reports" "$(cycle "$d1")" 0
expect "ask: finished/success on the server" "$(action "$act1" '.status + "/" + .result')" finished/success

# Decline on gw-0002: the server hears denied, the rollout counts it, nothing is fetched.
cc "$s2" --until "s.get('offer') is not None and s['offer']['needs_consent']" > /dev/null \
  || bad "no offer on gw-0002: $(tail -5 "$d2/daemon.log")"
expect "decline accepted" "$(cc "$s2" '{"id":1,"method":"decline"}' | jq -r .result.accepted)" decline
for _ in $(seq 200); do [ "$(action "$act2" .confirmation)" = denied ] && break; sleep 0.05; done
expect "the server recorded the decline" "$(action "$act2" '.confirmation + " " + .user.choice')" "denied declined"
expect "stats: one declined" "$(stats "$RO")" "0 0 1 0"
n=$(cc "$s2" '{"id":2,"method":"status"}' | jq .result.checks)
st=$(cc "$s2" --until "s['checks'] > $n + 2")
expect "declined: nothing downloaded, nothing switched" "$(find "$d2/spool" -type f 2>/dev/null | wc -l) $(device_print "$d2")" "0 $before2"
stop_daemon "${pgids[1]}"

# ---- download_then_ask: waiting, then Start ----
before3=$(device_print "$d3")
RO2=$(rollout w-soft soft download_then_ask)
act3=$(history_action gw-0003)
s3="$work/c3.sock"
start_daemon "$d3" "$s3"
st=$(cc "$s3" --until "s['state'] in ('ready', 'failed')") || bad "no ready state: $(tail -5 "$d3/daemon.log")"
expect "dta: downloaded, ready, not needing consent" "$(jq -r '"\(.state) \(.offer.action) \(.offer.needs_consent)"' <<< "$st")" "ready $act3 false"
for _ in $(seq 200); do [ "$(stats "$RO2")" = "1 0 0 0" ] && break; sleep 0.05; done
expect "stats: waiting for the user" "$(stats "$RO2")" "1 0 0 0"
expect "nothing switched before Start" "$(device_print "$d3")" "$before3"
expect "start accepted" "$(cc "$s3" '{"id":1,"method":"start"}' | jq -r .result.accepted)" start
st=$(cc "$s3" --until "s['state'] in ('reboot', 'failed')") || bad "no reboot state: $(tail -5 "$d3/daemon.log")"
expect "dta: installed, reboot needed" "$(jq -r .state <<< "$st")" reboot
expect "stats: started" "$(stats "$RO2")" "0 0 0 1"
stop_daemon "${pgids[2]}"
"$agent" bootsim --root "$d3" >/dev/null
expect "the next cycle reports" "$(cycle "$d3")" 0
expect "dta: finished/success on the server" "$(action "$act3" '.status + "/" + .result')" finished/success
stop_server
finish
