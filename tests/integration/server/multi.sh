#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two otter-server instances on one PostgreSQL database, as behind a load
# balancer: requests racing on both must give the answers one server gives.
# The same tenant created on both at once exists once (one 201, one 409);
# two global admins deleting each other through different servers leave
# exactly one (the last-admin check is a read-then-write); devices
# provisioned in parallel through both into a group that does not exist
# yet all land in one group; an event stream on one server tells a pause
# made through the other. Needs OTTER_TEST_PG_URL (see lib.sh).
export OTTER_TEST_STORE=postgres
source "$(dirname "$0")/lib.sh"
need_packages jq curl

pid_b=
trap 'for p in ${server_pid:-} $pid_b; do kill -TERM "$p" 2>/dev/null || true; done; drop_pg_db; rm -rf "${work:-/nonexistent}" "${keys:-/nonexistent}"' EXIT

# A release to roll out (for the event stream at the end): keys, trust root, package.
keys="${OTTER_TEST_TMP:-/tmp}/multi-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
"$otter" keygen --out "$keys/r" >/dev/null
"$otter" root new --pubkey "$keys/r.pub" -o "$keys/root.json" >/dev/null
head -c 100000 /dev/urandom > "$keys/rootfs.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 \
  --image rootfs="$keys/rootfs.img" --key "$keys/r.key" -o "$keys/p.zip" >/dev/null
start_server multi "[trust]
root = $keys/root.json"
URL_A=$URL
start_server_b
[ "$URL_A" != "$URL_B" ] || { echo "both servers on $URL_A?"; exit 1; }

# at SERVER METHOD PATH AUTH [JSON]: prints the status code only.
at() {
  local a=(-H "Authorization: $4")
  [ $# -ge 5 ] && a+=(-H 'Content-Type: application/json' --data-binary "$5")
  curl -s -m 20 -o /dev/null -w '%{http_code}' -X "$2" "${a[@]}" "$1$3"
}
login_at() { # login_at SERVER USER PASSWORD -> "Bearer TOKEN"
  curl -s -m 20 -H 'Content-Type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$3\"}" "$1/api/v1/login" | jq -r '"Bearer " + .token'
}
ADM=$(login_at "$URL_A" admin "$ADMIN_PW")
expect "a token from server A works on server B" "$(at "$URL_B" GET /api/v1/me "$ADM")" 200

# ---- the same tenant created on both servers at once ----
: > "$work/body" # expect shows it on failure
: > "$work/codes"
for i in $(seq 1 8); do
  at "$URL_A" POST /api/v1/tenants "$ADM" "{\"name\":\"race$i\"}" > "$work/a.$i" & p1=$!
  at "$URL_B" POST /api/v1/tenants "$ADM" "{\"name\":\"race$i\"}" > "$work/b.$i" & p2=$!
  wait "$p1" "$p2" # not a bare wait: the servers are children too
  printf '%s\n' "$(cat "$work/a.$i" "$work/b.$i" | fold -w3 | sort | tr '\n' ' ')" >> "$work/codes"
done
expect "8 races: one 201 and one 409 each" "$(sort "$work/codes" | uniq -c | tr -s ' ')" " 8 201 409 "
expect "each tenant once" "$(db "SELECT count(*) FROM tenants WHERE name LIKE 'race%'")" 8

# ---- two admins deleting each other through different servers ----
survivor="admin"
stok="$ADM"
for round in 1 2 3 4 5; do
  other="adm$round"
  at "$URL_A" POST /api/v1/users "$stok" "{\"username\":\"$other\",\"password\":\"pass-$other\",\"is_admin\":true}" >/dev/null
  otok=$(login_at "$URL_B" "$other" "pass-$other")
  if [ "$survivor" = admin ]; then # admin cannot delete itself: leave exactly two admins
    at "$URL_A" POST /api/v1/users "$stok" '{"username":"spare","password":"pass-spare","is_admin":true}' >/dev/null
    at "$URL_A" DELETE /api/v1/users/spare "$stok" >/dev/null
  fi
  at "$URL_A" DELETE "/api/v1/users/$other" "$stok" > "$work/da" & p1=$!
  at "$URL_B" DELETE "/api/v1/users/$survivor" "$otok" > "$work/db" & p2=$!
  wait "$p1" "$p2"
  n=$(db "SELECT count(*) FROM users WHERE is_admin = 1")
  expect "round $round: exactly one global admin left ($(cat "$work/da")/$(cat "$work/db"))" "$n" 1
  if [ "$(db "SELECT count(*) FROM users WHERE name = '$other'")" = 1 ]; then
    survivor=$other
    stok=$otok
  fi
done

# ---- parallel provisioning through both servers into a new group ----
OPT=$stok
export URL_A URL_B OPT
# shellcheck disable=SC2016 # expanded by the inner bash
seq 1 24 | xargs -P 8 -I{} bash -c '
  u=$URL_A; [ $(({} % 2)) = 0 ] && u=$URL_B
  curl -s -m 20 -o /dev/null -w "%{http_code}\n" -H "Authorization: $OPT" -H "Content-Type: application/json" \
    -d "{\"controller_id\":\"m{}\",\"model\":\"gw-a\",\"group\":\"fresh\"}" "$u/api/v1/tenants/race1/devices"' \
  | sort | uniq -c | tr -s ' ' > "$work/prov"
expect "24 devices provisioned through both servers" "$(cat "$work/prov")" " 24 201"
expect "one group 'fresh' with all of them" \
  "$(db "SELECT count(*) || '/' || sum((SELECT count(*) FROM group_members m WHERE m.group_id = g.id)) FROM device_groups g WHERE g.name = 'fresh'")" "1/24"
expect "device listed on the other server" "$(at "$URL_B" GET /api/v1/tenants/race1/devices/m1 "$OPT")" 200

# ---- an event stream on B tells a pause made through A ----
# B's own writes move its generation at once; A's reach B's streams through
# the look every stream takes at least each 5 s.
rel=$(curl -s -m 20 -H "Authorization: $OPT" --data-binary @"$keys/p.zip" "$URL_A/api/v1/tenants/race1/releases" | jq -r .id)
expect "release approved through A" "$(at "$URL_A" POST "/api/v1/tenants/race1/releases/$rel/approve" "$OPT" '{"comment":"ok"}')" 200
ro=$(curl -s -m 20 -H "Authorization: $OPT" -H 'Content-Type: application/json' \
  -d "{\"name\":\"sse\",\"release\":$rel,\"stages\":[{\"percent\":100}]}" "$URL_A/api/v1/tenants/race1/rollouts" | jq -r .id)
expect "rollout started through A" "$(at "$URL_A" POST "/api/v1/tenants/race1/rollouts/$ro/start" "$OPT" '{}')" 200
ticket=$(curl -s -m 20 -X POST -H "Authorization: $OPT" "$URL_A/api/v1/tickets" | jq -r .ticket)
curl -s -N -m 25 "$URL_B/api/v1/tenants/race1/rollouts/$ro/events?ticket=$ticket" > "$work/sse" &
sse_pid=$!
for _ in $(seq 100); do grep -q '"state":"running"' "$work/sse" && break; sleep 0.05; done
expect "stream on B: running" "$(grep -c '"state":"running"' "$work/sse")" 1
t0=$(date +%s%N)
expect "paused through A" "$(at "$URL_A" POST "/api/v1/tenants/race1/rollouts/$ro/pause" "$OPT" '{}')" 200
for _ in $(seq 300); do grep -q '"state":"paused"' "$work/sse" && break; sleep 0.05; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if grep -q '"state":"paused"' "$work/sse" && [ "$ms" -le 12000 ]; then ok "stream on B told the pause made through A after $ms ms (bound 5 s, slack for a loaded machine)"
else bad "stream on B: no pause within $ms ms: $(tail -c 300 "$work/sse")"; fi
kill "$sse_pid" 2>/dev/null || true
wait "$sse_pid" 2>/dev/null || true

stop_server_b
stop_server
finish
