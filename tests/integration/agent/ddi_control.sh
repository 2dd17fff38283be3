#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd against a real otter-server on 127.0.0.1, the operator's
# controls and the device's feedback: progress and "downloaded" feedback; a
# result that could not be sent while the server was down is sent once it
# is back, exactly once; so is the failure of an install refused (flipped
# byte) while the server was unreachable, without a second download, and a
# refusal the server already closed is answered 410 and forgotten; maintenance window unavailable (downloaded into
# the spool, nothing switched) then available (installed from the spool);
# download skip (nothing fetched) and the person at the device overriding
# it (otter-agent check / download / install --from-server); cancelAction
# during the download (child stopped, nothing switched, confirmed) and
# after the switch (rejected, the update completes).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
MT=ddi-control-metrics-token
ddi_setup ddi-control "[metrics]
enabled = true
token = $MT"
# requests VALUE_PREFIX: the sum of otter_http_requests_total lines starting so.
requests() {
  metrics_settle "$MT"
  curl -s -m 20 -H "Authorization: Bearer $MT" "$URL/metrics" |
    awk -v k="otter_http_requests_total{route=\"$1\"" 'index($1, k) == 1 { s += $2 } END { print s + 0 }'
}
for v in 2.0 3.0 4.0 5.0 5.5 6.0 7.0 8.0 9.0; do ddi_pkg "$v" "${v%.*}" 1500000; release "$v" >/dev/null; done
d="$work/dev"
ddi_device "$d" gw-0001

# 1. Progress, downloaded, then closed/success only after the reboot.
act=$(deploy 2.0 gw-0001)
expect "install cycle exits 0" "$(cycle "$d")" 0
expect "no closed feedback before the reboot" "$(closed_count "$act")" 0
n=$(action "$act" '[.feedback[] | select(.execution == "proceeding" and .progress.of == 100)] | length')
[ "$n" -ge 2 ] && [ "$n" -le 25 ] && ok "progress feedback sent, throttled ($n messages for one image)" \
  || bad "progress feedback: $n messages"
expect "downloaded feedback once the package verified" \
  "$(action "$act" '[.feedback[] | select(.execution == "downloaded")] | length')" 1
expect "configData sent (version, slot, the delta capability otter.delta)" \
  "$(req GET /api/v1/tenants/acme/devices/gw-0001 "$A" >/dev/null; body '.attributes.version + "/" + .attributes.slot + "/" + .attributes["otter.delta"]')" "1.0/A/1"
"$agent" bootsim --root "$d" >/dev/null
expect "report cycle exits 0" "$(cycle "$d")" 0
expect "finished/success after the reboot" "$(action "$act" '.status + "/" + .result')" finished/success
act_ok=$act
expect "configData follows the new slot" \
  "$(req GET /api/v1/tenants/acme/devices/gw-0001 "$A" >/dev/null; body '.attributes.version + "/" + .attributes.slot + "/" + .attributes.security_counter')" "2.0/B/2"

# 2. Server down while the device finishes: the result is kept and sent once later.
act=$(deploy 3.0 gw-0001)
echo "max_rate_kib = 128" >> "$d/agent.conf"   # and a bandwidth cap for this download
t0=$(date +%s.%N)
expect "install 3.0" "$(cycle "$d")" 0
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
size=$(stat -c %s "$keys/3.0.zip")
# libcurl averages the rate and the loopback socket buffers a burst first:
# ask for half the nominal time (uncapped, this download takes ~0.1 s).
awk -v t="$t" -v s="$size" 'BEGIN { exit !(t >= s / 131072 / 2) }' && ok "[server] max_rate_kib = 128 caps the download ($size bytes in $t s)" \
  || bad "rate cap: $size bytes in $t s"
sed -i '/^max_rate_kib/d' "$d/agent.conf"
kill -TERM "$server_pid"; wait "$server_pid" || true
"$agent" bootsim --root "$d" >/dev/null
expect "report fails while the server is down" "$(cycle "$d")" 2
expect "result kept in ddi.json" "$(jq -r .action "$d/state/ddi.json")" "$act"
restart_server; ddi_url "$d" "$URL"
expect "report after the restart" "$(cycle "$d")" 0
expect "one more cycle" "$(cycle "$d")" 0
expect "exactly one closed feedback" "$(closed_count "$act")" 1
expect "finished/success" "$(action "$act" '.status + "/" + .result')" finished/success

# 2b. An install refused while the server is unreachable: the proxy holds
# the body halfway, its listener goes away, and the connection it already
# has finishes the body with a flipped byte. The refusal is kept in
# ddi.json, sent once the server is reachable, exactly once, and the
# action is not downloaded again meanwhile.
size=$(stat -c %s "$keys/9.0.zip")
dl0=$(requests ddi_download)
start_proxy --stall "$((size / 2))" --stall-ms 2000 --stall-any --flip "$((size * 3 / 4))"
ddi_url "$d" "$proxy_url"
act=$(deploy 9.0 gw-0001)
before=$(device_print "$d")
"$agentd" -c "$d/agent.conf" run --once > "$work/refuse.log" 2>&1 & dpid=$!
proxy_stalled
# Mid-download: the token is in no process's arguments (every local user can read those).
awk -F' *= *' '$1 == "target_token" { print $2 }' "$d/agent.conf" > "$work/token.pat"
if pgrep -f 'otter-fetch' >/dev/null; then
  leak=$(grep -l -a -F -f "$work/token.pat" /proc/[0-9]*/cmdline 2>/dev/null | head -n 1 || true)
  [ -z "$leak" ] && ok "mid-download, the token is in no process's arguments" \
    || bad "token in the arguments of: $(tr '\0' ' ' < "$leak" 2>/dev/null)"
else bad "no otter-fetch running mid-download"; fi
stop_proxy # nothing listens now; the stalled connection lives on in the proxy's child
rc=0; wait "$dpid" || rc=$?
[ "$rc" = 2 ] && grep -q "install refused" "$work/refuse.log" && grep -q flip "$work/proxy.log" \
  && ok "install refused (flipped byte) while the server is unreachable" \
  || bad "refusal: rc=$rc $(cat "$work/refuse.log")"
expect "refusal kept in ddi.json" "$(jq -r .refused "$d/state/ddi.json")" "$act"
expect "the server has no closed feedback yet" "$(closed_count "$act")" 0
expect "nothing switched by the refused install" "$(device_print "$d")" "$before"
ddi_url "$d" "$URL"
out=$("$agent" -c "$d/agent.conf" check 2>&1) || true
[[ $out == *"daemon: refused; the failure waits to be sent"* ]] && ok "otter-agent check shows the waiting refusal" \
  || bad "check with a refusal waiting: $out"
expect "refusal sent once the server is reachable" "$(cycle "$d")" 0
cp "$work/cycle.log" "$work/refuse2.log"
expect "one more cycle" "$(cycle "$d")" 0
expect "exactly one closed feedback for the refused action" "$(closed_count "$act")" 1
expect "refused action error/failure" "$(action "$act" '.status + "/" + .result')" error/failure
detail=$(action "$act" '[.feedback[] | select(.execution == "closed")][0].details[0]')
[[ $detail == *sha256* || $detail == *checksum* || $detail == *CRC* || $detail == *signature* ]] \
  && ok "the kept failure names the refusal: $detail" || bad "kept failure detail: $detail"
expect "refusal gone from ddi.json" "$(jq -r '.refused // "gone"' "$d/state/ddi.json" 2>/dev/null || echo gone)" gone
expect "the refused action was downloaded once, not again" "$(( $(requests ddi_download) - dl0 ))" 1
! grep -q "action $act: installing" "$work/refuse2.log" "$work/cycle.log" \
  && ok "no install of the refused action after the outage" || bad "reinstalled: $(cat "$work/refuse2.log")"
expect "nothing switched after the outage" "$(device_print "$d")" "$before"

# 2c. The server has the closed feedback but the device missed the answer
# (ddi.json still holds the refusal, as a device cut off right then would
# have it): sent again; the server takes the same message again (200, a
# replay) or, when the action was closed otherwise, answers 410; either
# way the device forgets it and the server keeps exactly one closed feedback.
pending() { # pending ACTION: ddi.json with a refusal for ACTION waiting, as the device writes it
  { [ -s "$d/state/ddi.json" ] && cat "$d/state/ddi.json" || echo '{}'; } |
    jq -c --arg a "$1" '. + {refused: $a, refusal: "image rootfs: sha256 mismatch"}' > "$d/state/ddi.json.new"
  mv "$d/state/ddi.json.new" "$d/state/ddi.json"
}
pending "$act"
ok0=$(requests 'ddi_feedback",code="2xx'); gone0=$(requests 'ddi_feedback",code="4xx')
expect "cycle with a refusal the server already took" "$(cycle "$d")" 0
expect "... answered as a replay (200)" "$(( $(requests 'ddi_feedback",code="2xx') - ok0 ))/$(( $(requests 'ddi_feedback",code="4xx') - gone0 ))" 1/0
expect "... refusal forgotten" "$(jq -r '.refused // "gone"' "$d/state/ddi.json" 2>/dev/null || echo gone)" gone
expect "... still exactly one closed feedback" "$(closed_count "$act")" 1
pending "$act_ok"
gone0=$(requests 'ddi_feedback",code="4xx')
expect "cycle with a refusal for an action closed otherwise" "$(cycle "$d")" 0
expect "... answered 410 (closed already)" "$(( $(requests 'ddi_feedback",code="4xx') - gone0 ))" 1
expect "... refusal forgotten after the 410" "$(jq -r '.refused // "gone"' "$d/state/ddi.json" 2>/dev/null || echo gone)" gone
expect "... that action still finished/success with one closed feedback" \
  "$(action "$act_ok" '.status + "/" + .result')/$(closed_count "$act_ok")" finished/success/1
# An action the server does not know (404, e.g. deleted with its device): dropped, and the
# device polls on instead of resending it forever.
pending 987654321
gone0=$(requests 'ddi_feedback",code="4xx')
expect "cycle with a refusal for an action the server does not know" "$(cycle "$d")" 0
expect "... answered 404" "$(( $(requests 'ddi_feedback",code="4xx') - gone0 ))" 1
expect "... refusal forgotten after the 404" "$(jq -r '.refused // "gone"' "$d/state/ddi.json" 2>/dev/null || echo gone)" gone

# 3. Maintenance window unavailable: download now, install when it opens.
act=$(deploy 4.0 gw-0001 '"maintenance_window":"unavailable"')
before=$(device_print "$d")
out=$("$agent" -c "$d/agent.conf" check 2>&1) || true
[[ $out == *"maintenance window closed"* ]] && [[ $out == *"daemon: downloading now, installing when allowed"* ]] \
  && ok "otter-agent check shows the closed window" || bad "check: $out"
expect "download cycle" "$(cycle "$d")" 0
[ -s "$d/spool/update.zip" ] && cmp -s "$d/spool/update.zip" "$keys/4.0.zip" && ok "package verified into the spool" \
  || bad "spool: $(ls -la "$d/spool" 2>&1)"
expect "nothing switched while the window is closed" "$(device_print "$d")" "$before"
expect "downloaded feedback" "$(action "$act" '[.feedback[] | select(.execution == "downloaded")] | length')" 1
expect "still waiting on the next poll" "$(cycle "$d")" 0
expect "still nothing switched" "$(device_print "$d")" "$before"
rc=0; out=$("$agent" -c "$d/agent.conf" install --from-server 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ $out == *"maintenance window is closed"* ]] && ok "a person cannot install while the window is closed" \
  || bad "install --from-server while closed: rc=$rc $out"
expect "operator opens the window (management API)" "$(jreq PUT "/api/v1/tenants/acme/actions/$act/maintenance-window" "$A" '{"maintenance_window":"available"}')" 200
expect "install cycle once the window opens" "$(cycle "$d")" 0
grep -q "installing the spooled package" "$work/cycle.log" && ok "installed from the spool (no second download)" \
  || bad "spool install: $(cat "$work/cycle.log")"
[ ! -e "$d/spool/update.zip" ] && ok "spool emptied after the install" || bad "spool left behind"
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "maintenance deployment finished/success" "$(action "$act" '.status + "/" + .result')" finished/success
expect "one downloaded feedback in all" "$(action "$act" '[.feedback[] | select(.execution == "downloaded")] | length')" 1

# 3b. Canceled while it waits in the spool: confirmed, the spooled package deleted.
act=$(deploy 7.0 gw-0001 '"maintenance_window":"unavailable"')
before=$(device_print "$d")
cycle "$d" >/dev/null
[ -s "$d/spool/update.zip" ] && ok "7.0 waits in the spool" || bad "7.0 not spooled"
expect "operator cancels the waiting action" "$(req POST "/api/v1/tenants/acme/actions/$act/cancel" "$A")" 200
expect "cancel cycle" "$(cycle "$d")" 0
expect "waiting action canceled" "$(action "$act" .status)" canceled
[ ! -e "$d/spool/update.zip" ] && [ "$(device_print "$d")" = "$before" ] \
  && ok "spooled package deleted, nothing switched" || bad "after cancel: $(ls "$d/spool")"

# 4. Download skip: nothing fetched; a person at the device may still take it.
act=$(deploy 5.0 gw-0001 '"download":"skip","update":"skip"')
before=$(device_print "$d")
expect "skip cycle" "$(cycle "$d")" 0
[ ! -e "$d/spool/update.zip" ] && [ "$(device_print "$d")" = "$before" ] && ok "download skip: nothing downloaded or switched" \
  || bad "download skip touched the device"
out=$("$agent" -c "$d/agent.conf" download 2>&1) && [[ $out == *"downloading rootfs"* ]] \
  && cmp -s "$d/spool/update.zip" "$keys/5.0.zip" && ok "otter-agent download: into the spool, with progress" \
  || bad "person download: $out"
expect "the daemon leaves the spooled package waiting (update skip)" "$(cycle "$d")" 0
expect "... nothing switched" "$(device_print "$d")" "$before"
rc=0; out=$("$agent" -c "$d/agent.conf" install --from-server 2>&1) || rc=$?
[ "$rc" = 0 ] && [[ $out == *"installing rootfs"* ]] && [ -e "$d/reboot-requested" ] \
  && ok "otter-agent install --from-server: from the spool, then reboot" || bad "person install: rc=$rc $out"
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "skip deployment installed by hand: finished/success" "$(action "$act" '.status + "/" + .result')" finished/success

# 4b. "attempt" follows [server] attempt: skip waits, forced goes ahead.
act=$(deploy 5.5 gw-0001 '"download":"attempt","update":"attempt"')
echo "attempt = skip" >> "$d/agent.conf"
before=$(device_print "$d")
expect "attempt with attempt = skip: cycle" "$(cycle "$d")" 0
[ ! -e "$d/spool/update.zip" ] && [ "$(device_print "$d")" = "$before" ] \
  && ok "attempt = skip: nothing downloaded or switched" || bad "attempt = skip touched the device"
sed -i 's/^attempt = skip$/attempt = forced/' "$d/agent.conf"
expect "attempt = forced: install" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "attempt deployment finished/success" "$(action "$act" '.status + "/" + .result')" finished/success

# 5. cancelAction during the download: the proxy holds the body for 6 s.
size=$(stat -c %s "$keys/6.0.zip")
start_proxy --stall "$((size / 2))" --stall-ms 6000 --stall-any
ddi_url "$d" "$proxy_url"
act=$(deploy 6.0 gw-0001)
before=$(device_print "$d")
"$agentd" -c "$d/agent.conf" run --once > "$work/cancel.log" 2>&1 & dpid=$!
proxy_stalled
expect "operator cancels during the download" \
  "$(req POST "/api/v1/tenants/acme/actions/$act/cancel" "$A")" 200
rc=0; wait "$dpid" || rc=$?
grep -q "canceled before the slot switch" "$work/cancel.log" && ok "daemon stopped the install (rc=$rc)" \
  || bad "cancel: $(cat "$work/cancel.log")"
expect "action canceled on the server" "$(action "$act" .status)" canceled
expect "nothing switched, state untouched" "$(device_print "$d")" "$before"
expect "no update pending" "$("$agent" -c "$d/agent.conf" status --json | jq -r '.pending')" null
stop_proxy

# 5b. A cancel that arrives in the last second of the download is caught
# before the switch, by the periodic check or by the last check after
# verification (which of the two depends on timing and is not asserted: both
# must cancel, and nothing may switch).
start_proxy --stall "$((size / 2))" --stall-ms 1000 --stall-any
ddi_url "$d" "$proxy_url"
act=$(deploy 8.0 gw-0001)
"$agentd" -c "$d/agent.conf" run --once > "$work/cancel.log" 2>&1 & dpid=$!
proxy_stalled
req POST "/api/v1/tenants/acme/actions/$act/cancel" "$A" >/dev/null
wait "$dpid" || true
grep -q "canceled before the slot switch" "$work/cancel.log" && ok "late cancel caught before the switch" \
  || bad "late cancel: $(cat "$work/cancel.log")"
expect "late cancel: action canceled" "$(action "$act" .status)" canceled
expect "late cancel: nothing switched" "$(device_print "$d")" "$before"
stop_proxy; ddi_url "$d" "$URL"

# 6. cancelAction after the switch: rejected, the update completes.
act=$(deploy 6.0 gw-0001)
expect "install 6.0" "$(cycle "$d")" 0
expect "operator cancels after the switch" "$(req POST "/api/v1/tenants/acme/actions/$act/cancel" "$A")" 200
expect "cancel cycle" "$(cycle "$d")" 0
expect "cancel rejected: action running again" "$(action "$act" .status)" running
expect "rejected on the cancel channel" \
  "$(action "$act" '[.feedback[] | select(.kind == "cancel" and .execution == "rejected")] | length')" 1
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "the switched update completes" "$(action "$act" '.status + "/" + .result')" finished/success

# 7. The daemon dies (SIGKILL: power cut, OOM) the moment its installer has
# switched, before its own record of the result: the switch is recorded ahead
# (before the installer's go), so after the reboot the result is reported,
# once, as success, and nothing is downloaded again. (A daemon that recorded
# only after the installer's exit lost the action there: installed again,
# refused as "already running", reported as a failure.) The kill lands there
# every time: the test hook daemon-installed (OTTER_CRASH_AT, test builds)
# makes the daemon SIGKILL itself once its installer exited 0, before it
# writes anything.
act=$(deploy 7.0 gw-0001)
dl0=$(requests ddi_download)
rc=0
OTTER_CRASH_AT=daemon-installed:1 "$agentd" -c "$d/agent.conf" run --once > "$work/cycle7.log" 2>&1 || rc=$?
expect "the daemon was killed at the hook, after its installer switched (SIGKILL: 137)" "$rc" 137
expect "killed right after the switch: 7.0 pending" "$(jq -r '.pending.version' "$d/state/state.json")" 7.0
expect "... and recorded in ddi.json" "$(jq -r '.action + "/" + .version' "$d/state/ddi.json")" "$act/7.0"
"$agent" bootsim --root "$d" >/dev/null
expect "report cycle after the reboot" "$(cycle "$d")" 0
expect "killed daemon: finished/success, one closed feedback" \
  "$(action "$act" '.status + "/" + .result')/$(closed_count "$act")" finished/success/1
expect "killed daemon: downloaded once" "$(( $(requests ddi_download) - dl0 ))" 1

# 7b. A switch recorded ahead that never happened (the daemon died between
# its record and the installer's switch): the record is dropped and the
# action, still offered, is installed normally.
act=$(deploy 8.0 gw-0001)
jq -c --arg a "$act" '. + {action: $a, version: "8.0"}' "$d/state/ddi.json" > "$d/state/ddi.json.new"
mv "$d/state/ddi.json.new" "$d/state/ddi.json"
expect "a switch recorded that never happened: the cycle installs" "$(cycle "$d")" 0
expect "... 8.0 pending now" "$(jq -r '.pending.version' "$d/state/state.json")" 8.0
"$agent" bootsim --root "$d" >/dev/null
expect "... and reported after the reboot" "$(cycle "$d")/$(action "$act" '.status + "/" + .result')" 0/finished/success

stop_server
finish
