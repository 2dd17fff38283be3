#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bounded growth of what clients can make the server keep:
#   - feedback rows per action ([ddi] max_feedback): past the cap a message
#     that leaves the action open gets 403 and stores nothing, the rows kept
#     stay, and the closing result is still taken;
#   - event streams per user ([limits] max_streams_per_user): one more gets
#     429 with Retry-After; a stream ends when its token is revoked (logout,
#     API token deleted), when the token that made its ticket is revoked, and
#     when the user's membership in the tenant is removed.
# With OTTER_TEST_STORE=postgres the same runs on PostgreSQL.
source "$(dirname "$0")/lib.sh"
need_packages jq curl

streams=()
trap 'for p in ${server_pid:-} "${streams[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; drop_pg_db; rm -rf "${work:-/nonexistent}"' EXIT
start_server bounded "[ddi]
max_feedback = 10
[limits]
max_streams_per_user = 2"
ADM=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$ADM" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$ADM" '{"username":"view","password":"user-pass-12","role":"viewer"}' >/dev/null
jreq POST /api/v1/tenants/acme/devices "$ADM" '{"controller_id":"d1","model":"gw-a"}' >/dev/null
T1=$(body .token)
head -c 4096 /dev/urandom > "$work/a.bin"
rel=$(upload acme "$ADM" "$work/a.bin" "type=foreign&filename=a.bin&version=2.0")

# ---- feedback rows per action ----
jreq POST /api/v1/tenants/acme/deployments "$ADM" "{\"release\":$rel,\"devices\":[\"d1\"]}" >/dev/null
aid=$(body '.actions[0].id')
fb() { jreq POST "/acme/controller/v1/d1/deploymentBase/$aid/feedback" "TargetToken $T1" "$1"; }
progress='{"status":{"execution":"proceeding","result":{"finished":"none"}}}'
codes=$(for _ in $(seq 10); do fb "$progress"; echo; done | sort | uniq -c | tr -s ' ')
expect "10 progress messages taken" "$codes" " 10 200"
expect "the 11th is refused (403)" "$(fb "$progress")" 403
expect "it says why" "$(grep -c max_feedback "$work/body")" 1
expect "nothing stored by it, the 10 rows kept" "$(db "SELECT count(*) FROM action_feedback WHERE action_id = $aid")" 10
expect "a device retrying it is refused again (403)" "$(fb "$progress")" 403
expect "the closing result is still taken (200)" \
  "$(fb '{"status":{"execution":"closed","result":{"finished":"success"}}}')" 200
expect "one row more, the result" "$(db "SELECT count(*) FROM action_feedback WHERE action_id = $aid")" 11
req GET "/api/v1/tenants/acme/actions/$aid" "$ADM" >/dev/null
expect "the action finished" "$(body .status)" finished

# ---- event streams per user ----
jreq POST /api/v1/tenants/acme/rollouts "$ADM" \
  "{\"name\":\"r1\",\"release\":$rel,\"filter\":{\"models\":[\"gw-a\"]},\"stages\":[{\"percent\":100}]}" >/dev/null
ro=$(body .id)
events="/api/v1/tenants/acme/rollouts/$ro/events"
# open_stream NAME AUTH [QUERY]: a stream in the background ($work/NAME.out); sets stream_pid.
open_stream() {
  local a=()
  [ -n "$2" ] && a=(-H "Authorization: $2")
  curl -s -N -m 30 "${a[@]}" -o "$work/$1.out" "$URL$events${3:-}" &
  stream_pid=$!
  streams+=("$stream_pid")
  for _ in $(seq 100); do grep -q '^event: stats' "$work/$1.out" 2>/dev/null && return 0; sleep 0.1; done
  bad "stream $1 did not start"
}
# ended PID: curl's exit code in $rc (not in $(...): wait needs this shell); 0 = the server
# ended the stream, 28 = still open after 30 s.
ended() { rc=0; wait "$1" || rc=$?; }

V=$(login view user-pass-12)
open_stream s1 "$V"; p1=$stream_pid
open_stream s2 "$V"; p2=$stream_pid
expect "a third stream of the same user (429)" "$(req GET "$events" "$V")" 429
expect "with Retry-After" "$([ -n "$(header Retry-After)" ] && echo yes)" yes
expect "logout (204)" "$(req POST /api/v1/logout "$V")" 204
ended "$p1"; expect "the logged-out session's first stream ended" "$rc" 0
ended "$p2"; expect "and its second" "$rc" 0

V=$(login view user-pass-12)
open_stream s3 "$V"; p3=$stream_pid
open_stream s4 "$V"; p4=$stream_pid
expect "ended streams no longer count (429 at the third again)" "$(req GET "$events" "$V")" 429
req DELETE /api/v1/tenants/acme/users/view "$ADM" >/dev/null
ended "$p3"; r3=$rc; ended "$p4"
expect "membership removed: its streams end" "$r3,$rc" 0,0

# A ticket's stream ends with the session that made the ticket.
jreq PUT /api/v1/tenants/acme/users/view "$ADM" '{"role":"viewer"}' >/dev/null
V=$(login view user-pass-12)
jreq POST /api/v1/tickets "$V" '{}' >/dev/null
ticket=$(body .ticket)
open_stream s5 "" "?ticket=$ticket"; p5=$stream_pid
req POST /api/v1/logout "$V" >/dev/null
ended "$p5"; expect "session revoked: the stream of its ticket ends" "$rc" 0
expect "and the ticket opens no new one (401)" "$(req GET "$events?ticket=$ticket" "")" 401

# An API token deleted: its stream ends.
V=$(login view user-pass-12)
jreq POST /api/v1/tokens "$V" '{"name":"ci","password":"user-pass-12"}' >/dev/null
tid=$(body .id)
api_tok="Bearer $(body .token)"
open_stream s6 "$api_tok"; p6=$stream_pid
expect "API token deleted (204)" "$(req DELETE "/api/v1/tokens/$tid" "$V")" 204
ended "$p6"; expect "its stream ended" "$rc" 0
streams=()

stop_server
finish
