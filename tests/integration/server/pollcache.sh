#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The base poll cache (otter_pollcache.h) never answers from the past on
# one server: each write that changes a poll's answer shows on the very
# next poll (device deleted -> 401; rollout started, paused, resumed;
# action canceled; configData sent; gateway token rotated). Cached and
# uncached answers are the same bytes. A device's write sends only that
# device's next poll to the store (counted by /metrics); GatewayToken polls
# are cached per device. With OTTER_TEST_STORE=postgres a
# second server on the same database sees a write made through the first
# within the documented bound (OTTER_STORE_CHANGES_BOUND_MS, 1 s).
source "$(dirname "$0")/lib.sh"
need_packages jq curl

pid_b=
trap 'for p in ${server_pid:-} $pid_b; do kill -TERM "$p" 2>/dev/null || true; done; drop_pg_db; rm -rf "${work:-/nonexistent}"' EXIT
start_server pollcache "[metrics]
enabled = true"
ADM=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$ADM" '{"name":"acme"}' >/dev/null
new_device() { # new_device CID -> prints its TargetToken
  jreq POST /api/v1/tenants/acme/devices "$ADM" "{\"controller_id\":\"$1\",\"model\":\"gw-a\"}" >/dev/null
  body .token
}
# poll CID TOKEN [URL]: the answer in $work/body; prints the status.
poll() {
  curl -s -m 20 -o "$work/body" -w '%{http_code}' -H "Authorization: TargetToken $2" \
    "${3:-$URL}/acme/controller/v1/$1"
}
links() { jq -r '._links | keys | join(",")' "$work/body"; }

t1=$(new_device d1)
expect "first poll (from the store)" "$(poll d1 "$t1")" 200
cp "$work/body" "$work/first"
expect "second poll (from the cache)" "$(poll d1 "$t1")" 200
expect "cached answer is the same bytes" "$(cmp -s "$work/first" "$work/body" && echo same)" same
expect "a wrong token is refused" "$(poll d1 "x$t1")" 401
expect "d1's token on another path is refused" "$(poll d0 "$t1")" 401

# configData sent through DDI: the link goes at once.
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: TargetToken $t1" \
  -H 'Content-Type: application/json' -d '{"data":{"version":"1.0"},"mode":"merge"}' \
  "$URL/acme/controller/v1/d1/configData")
expect "configData accepted" "$code" 200
poll d1 "$t1" >/dev/null
expect "configData link gone on the next poll" "$(links)" ""

# A rollout: started -> offered; paused -> not offered; resumed -> offered again.
head -c 4096 /dev/urandom > "$work/a.bin"
rel=$(upload acme "$ADM" "$work/a.bin" "type=foreign&filename=a.bin&version=2.0")
jreq POST /api/v1/tenants/acme/rollouts "$ADM" \
  "{\"name\":\"r1\",\"release\":$rel,\"filter\":{\"models\":[\"gw-a\"]},\"stages\":[{\"percent\":100,\"success_threshold\":0,\"failure_threshold\":100}]}" >/dev/null
ro=$(body .id)
poll d1 "$t1" >/dev/null
expect "draft rollout: nothing offered" "$(links)" ""
expect "rollout started" "$(jreq POST "/api/v1/tenants/acme/rollouts/$ro/start" "$ADM" '{}')" 200
poll d1 "$t1" >/dev/null
expect "started: deploymentBase on the next poll" "$(links)" deploymentBase
expect "rollout paused" "$(jreq POST "/api/v1/tenants/acme/rollouts/$ro/pause" "$ADM" '{}')" 200
poll d1 "$t1" >/dev/null
expect "paused: not offered on the next poll" "$(links)" ""
expect "rollout resumed" "$(jreq POST "/api/v1/tenants/acme/rollouts/$ro/resume" "$ADM" '{}')" 200
poll d1 "$t1" >/dev/null
expect "resumed: offered again on the next poll" "$(links)" deploymentBase

# A direct deployment, then its cancelation: cancelAction on the next poll.
t2=$(new_device d2)
poll d2 "$t2" >/dev/null
jreq POST /api/v1/tenants/acme/deployments "$ADM" "{\"release\":$rel,\"devices\":[\"d2\"]}" >/dev/null
aid=$(body '.actions[0].id')
poll d2 "$t2" >/dev/null
expect "deployment offered on the next poll" "$(links)" "configData,deploymentBase"
# Read by the device (running), so canceling asks it to stop rather than dropping it.
curl -s -m 20 -o /dev/null -H "Authorization: TargetToken $t2" "$URL/acme/controller/v1/d2/deploymentBase/$aid"
poll d2 "$t2" >/dev/null
expect "running: still offered" "$(links)" "configData,deploymentBase"
jreq POST "/api/v1/tenants/acme/actions/$aid/cancel" "$ADM" '{}' >/dev/null
poll d2 "$t2" >/dev/null
expect "canceled: cancelAction on the next poll" "$(links)" "cancelAction,configData"

# Device deleted: its token is refused on the very next poll.
expect "d2 polls" "$(poll d2 "$t2")" 200
req DELETE /api/v1/tenants/acme/devices/d2 "$ADM" >/dev/null
expect "deleted device refused on the next poll" "$(poll d2 "$t2")" 401

# Gateway token rotated: the old one is refused at once.
jreq POST /api/v1/tenants/acme/gateway-token "$ADM" '{}' >/dev/null
g1=$(body .token)
gpoll() { curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Authorization: GatewayToken $1" "$URL/acme/controller/v1/d1"; }
expect "gateway token polls" "$(gpoll "$g1")" 200
jreq POST /api/v1/tenants/acme/gateway-token "$ADM" '{}' >/dev/null
g2=$(body .token)
expect "rotated: old gateway token refused" "$(gpoll "$g1")" 401
expect "rotated: new gateway token polls" "$(gpoll "$g2")" 200

# Scoped: one device's write sends that device's next poll to the store, not the fleet's.
metric() { curl -s -m 20 "$URL/metrics" | awk -v k="otter_ddi_poll_cache_total{result=\"$1\"}" '$1 == k { print $2 }'; }
t3=$(new_device d3)
t4=$(new_device d4)
poll d3 "$t3" >/dev/null
poll d4 "$t4" >/dev/null
# cached POLL CID TOKEN: polls with POLL (poll or gw_poll) until the poll cache counts it (a
# poll while the cache is not current counts as neither, e.g. a stalled loader under load);
# prints "hit", or "miss" if the cache did not answer.
cached() {
  local h m
  for _ in 1 2 3 4 5; do
    h=$(metric hit) m=$(metric miss)
    "$1" "$2" "$3" >/dev/null
    [ "$(metric miss)" != "$m" ] && { echo miss; return; }
    [ "$(metric hit)" != "$h" ] && { echo hit; return; }
    sleep 0.3
  done
  echo "never current"
}
# The gateway rotation above touched every device: the loader reloads the cache, at most once
# a second. Wait for that first (d1 answered from the cache again, 10 s at most), so what
# follows is answered by the scoped stamps alone.
for _ in $(seq 10); do [ "$(cached poll d1 "$t1")" = hit ] && break; done
expect "the cache reloaded after the rotation: d1 from the cache" "$(cached poll d1 "$t1")" hit
expect "d3 answered from the cache" "$(cached poll d3 "$t3")" hit
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: TargetToken $t4" \
  -H 'Content-Type: application/json' -d '{"data":{"version":"1.0"},"mode":"merge"}' \
  "$URL/acme/controller/v1/d4/configData")
expect "d4 sends configData" "$code" 200
expect "d3 still answered from the cache after d4's write" "$(cached poll d3 "$t3")" hit
expect "d4's next poll goes to the store" "$(cached poll d4 "$t4")" miss
expect "d4's new answer (no configData link)" "$(links)" ""
expect "d4 cached again" "$(cached poll d4 "$t4")" hit

# GatewayToken polls: cached per (token, device); a rotation refuses the old token at once.
gw_poll() { # gw_poll CID TOKEN: like poll, with the tenant's GatewayToken
  curl -s -m 20 -o "$work/body" -w '%{http_code}' -H "Authorization: GatewayToken $2" "$URL/acme/controller/v1/$1"
}
expect "gateway poll for d3 (from the store)" "$(cached gw_poll d3 "$g2")" miss
expect "gateway poll for d3 again (from the cache)" "$(cached gw_poll d3 "$g2")" hit
expect "cached gateway answer for d3 is d3's" "$(jq -r '._links.configData.href' "$work/body")" "$URL/acme/controller/v1/d3/configData"
expect "the same gateway token for d4 is d4's own entry" "$(cached gw_poll d4 "$g2")" miss
expect "a wrong gateway token is refused" "$(gw_poll d3 "x$g2")" 401
jreq POST /api/v1/tenants/acme/gateway-token "$ADM" '{}' >/dev/null
g3=$(body .token)
expect "rotated: cached gateway token refused on the next poll" "$(gw_poll d3 "$g2")" 401
expect "a gateway token registers an unknown device on its first poll" "$(gw_poll d5 "$g3")" 200
expect "the new device's answer asks for configData" "$(links)" configData
# Its entry was stamped before its own registration: one more trip, then from the cache.
gw_poll d5 "$g3" >/dev/null
expect "then polls from the cache" "$(cached gw_poll d5 "$g3")" hit

# ---- PostgreSQL: a second server sees the first one's writes within the bound ----
if [ -n "$pg_db" ]; then
  start_server_b
  # within CHECK: poll on B until WANT links (every 50 ms, 3 s at most); prints the ms it took.
  within() {
    local start=$1 want=$2 now
    for _ in $(seq 60); do
      poll d1 "$t1" "$URL_B" >/dev/null
      now=$(date +%s%3N)
      [ "$(links)" = "$want" ] && { echo $((now - start)); return; }
      sleep 0.05
    done
    echo never
  }
  poll d1 "$t1" "$URL_B" >/dev/null
  poll d1 "$t1" "$URL_B" >/dev/null
  expect "server B: offered (cached now)" "$(links)" deploymentBase
  for round in 1 2 3; do
    jreq POST "/api/v1/tenants/acme/rollouts/$ro/pause" "$ADM" '{}' >/dev/null
    start=$(date +%s%3N) # committed before the answer: the time from here is an upper bound
    ms=$(within "$start" "")
    # The bound is 1 s from the commit; the slack is this loop's 50 ms step and a poll's time.
    if [ "$ms" != never ] && [ "$ms" -le 1300 ]; then ok "round $round: pause through A seen on B after $ms ms"
    else bad "round $round: pause through A seen on B after $ms ms (bound 1000 ms)"; fi
    jreq POST "/api/v1/tenants/acme/rollouts/$ro/resume" "$ADM" '{}' >/dev/null
    start=$(date +%s%3N) # committed before the answer: the time from here is an upper bound
    ms=$(within "$start" deploymentBase)
    if [ "$ms" != never ] && [ "$ms" -le 1300 ]; then ok "round $round: resume through A seen on B after $ms ms"
    else bad "round $round: resume through A seen on B after $ms ms (bound 1000 ms)"; fi
  done
  req DELETE /api/v1/tenants/acme/devices/d1 "$ADM" >/dev/null
  start=$(date +%s%3N)
  for _ in $(seq 60); do [ "$(poll d1 "$t1" "$URL_B")" = 401 ] && break; sleep 0.05; done
  ms=$(($(date +%s%3N) - start))
  if [ "$(poll d1 "$t1" "$URL_B")" = 401 ] && [ "$ms" -le 1300 ]; then ok "device deleted through A refused on B after $ms ms"
  else bad "device deleted through A still polls on B after $ms ms"; fi
  stop_server_b
fi

# ---- a restarted server fills its cache in bulk from the stored token hashes (warm_row) ----
kill -TERM "$server_pid"
wait "$server_pid" || true
rm -f "$work/ready"
"$server_bin" serve --config "$work/server.conf" --ready-file "$work/ready" 2>>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
URL=$(head -1 "$work/ready")
expect "restarted: d4's first poll is answered from the bulk-loaded cache" "$(cached poll d4 "$t4")" hit
stop_server
finish
