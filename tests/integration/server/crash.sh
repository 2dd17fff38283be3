#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SIGKILL otter-server while devices send feedback as fast as they can:
# after a restart on the same database, every feedback message the server
# acknowledged (200) is there, exactly once, and the database is intact.
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"

DEVICES=16
WRITERS=8
start_server server_crash ""
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
csv=$(for i in $(seq -w 1 $DEVICES); do echo "cr$i,gw-a"; done)
expect "devices provisioned" "$(req POST /api/v1/tenants/acme/devices/bulk "$A" \
  -H 'Content-Type: text/csv' --data-binary "$csv")" 201
jq -r '.devices[] | "\(.controller_id) \(.token)"' "$work/body" > "$work/tokens"
head -c 4096 /dev/urandom > "$work/fw.bin"
R=$(upload acme "$A" "$work/fw.bin" "type=foreign&filename=fw.bin&version=9")
devs=$(cut -d' ' -f1 "$work/tokens" | jq -R . | jq -cs .)
expect "deployed" "$(jreq POST /api/v1/tenants/acme/deployments "$A" "{\"release\":$R,\"devices\":$devs}")" 201
jq -r '.actions[] | "\(.controller_id) \(.id)"' "$work/body" > "$work/actions"
join <(sort "$work/tokens") <(sort "$work/actions") > "$work/devices"

# A writer: one device, numbered feedback messages, each logged once acknowledged.
writer() {
  local w=$1 cid tok aid n=0 code
  read -r cid tok aid < <(sed -n "$((w % DEVICES + 1))p" "$work/devices")
  while :; do
    n=$((n + 1))
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST \
      -H "Authorization: TargetToken $tok" -H 'Content-Type: application/json' \
      --data-binary "{\"id\":\"$aid\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\",\"progress\":{\"cnt\":$n,\"of\":1000000}},\"details\":[\"w$w-$n\"]}}" \
      "$URL/acme/controller/v1/$cid/deploymentBase/$aid/feedback") || code=000
    [ "$code" = 200 ] && echo "w$w-$n" >> "$work/acked.$w"
    [ "$code" = 000 ] && break # the server is gone
  done
}
pids=()
for w in $(seq 1 $WRITERS); do writer "$w" & pids+=($!); done
# The kill lands under load: once 200 messages were acknowledged (polled, 60 s at most), not
# after a fixed time.
for _ in $(seq 600); do
  [ "$(cat "$work"/acked.* 2>/dev/null | wc -l)" -ge 200 ] && break
  sleep 0.1
done
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
for p in "${pids[@]}"; do wait "$p" || true; done
cat "$work"/acked.* | sort > "$work/acked"
n_acked=$(wc -l < "$work/acked")
[ "$n_acked" -ge 200 ] && ok "$n_acked feedback messages acknowledged before SIGKILL" \
  || bad "only $n_acked acknowledged in 60 s: load too light to mean anything"

# Restart on the same database.
rm -f "$work/ready"
"$server_bin" serve --config "$work/server.conf" --ready-file "$work/ready" 2>>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || die "no restart on the database in 10 s: $(tail -5 "$work/server.log")"
URL=$(head -1 "$work/ready")
ok "server restarts on the database"
if [ -n "$pg_db" ]; then # PostgreSQL (server_crash_pg_sh): the database server did not crash
  db "SELECT details::json ->> 0 FROM action_feedback WHERE kind = 'deployment'" | sort > "$work/stored"
else
  expect "integrity check" "$(sqlite3 "$work/otter.db" 'PRAGMA integrity_check')" ok
  sqlite3 "$work/otter.db" "SELECT json_extract(details, '\$[0]') FROM action_feedback WHERE kind = 'deployment'" \
    | sort > "$work/stored"
fi
expect "no acknowledged feedback lost" "$(comm -23 "$work/acked" "$work/stored" | wc -l)" 0
expect "none stored twice" "$(uniq -d "$work/stored" | wc -l)" 0
# Whatever was stored but not acknowledged was cut between commit and reply: allowed, and rare.
echo "stored $(wc -l < "$work/stored"), acknowledged $n_acked"
# The API still answers from the same data after the crash.
A=$(login admin "$ADMIN_PW")
aid=$(sed -n 2p "$work/devices" | cut -d' ' -f3) # writer 1's device
expect "action readable after restart" "$(req GET "/api/v1/tenants/acme/actions/$aid" "$A")" 200
expect "its feedback is all there" "$(body '.feedback | length')" "$(grep -c '^w1-' "$work/stored")"
stop_server
finish
