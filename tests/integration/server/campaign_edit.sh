#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A rollout's campaign controls changed after its creation (issue #15,
# docs/rollouts.md "Changing the campaign controls") against a real
# otter-server on 127.0.0.1 with a real SQLite file (or PostgreSQL, see
# lib.sh), driven by curl as operator and as DDI client:
# - PUT …/rollouts/{id}/campaign refuses hostile input with what and where
#   (missing and unknown keys, not an object, broken and deep JSON, an
#   oversized body, a bad day, urgent with deferrals) and stores nothing;
#   a viewer may read, not write; another tenant's rollout is not found;
#   a finished or canceled rollout's controls are not changed (409);
# - devices already in the rollout follow the new values at once: the
#   maintenanceWindow of their next deploymentBase comes from the new
#   schedule, the postponements they used count against a lowered limit,
#   an urgent rollout refuses every further postponement, and removing the
#   controls gives the old behaviour back;
# - every change is audited (rollout.campaign with the new controls);
# - GET …/push and …/rollouts/{id}/push say push is off on this server.
# The server's clock for schedules is OTTER_TEST_NOW_FILE (OTTER_TEST_HOOKS).
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3 tzdata

keys="${OTTER_TEST_TMP:-/tmp}/campaign-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 50000 /dev/urandom > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 3 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null

export OTTER_TEST_NOW_FILE="$keys/now"
at() { echo "$1" > "$OTTER_TEST_NOW_FILE"; }
at 1797044400 # Sat 2026-12-12 03:00Z

start_server campaign "[trust]
root = $keys/root.json"
A=$(login admin "$ADMIN_PW")
for t in acme beta; do jreq POST /api/v1/tenants "$A" "{\"name\":\"$t\"}" >/dev/null; done
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"op","password":"user-pass-12","role":"operator"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"vi","password":"user-pass-12","role":"viewer"}' >/dev/null
jreq POST /api/v1/tenants/beta/users "$A" '{"username":"bop","password":"user-pass-12","role":"operator"}' >/dev/null
OP=$(login op user-pass-12)
VI=$(login vi user-pass-12)
BOP=$(login bop user-pass-12)
R1=$(upload acme "$A" "$keys/1.0.zip")
declare -A TOK
for dev in d1 d2; do
  jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$dev\",\"model\":\"gw-a\"}" >/dev/null
  TOK[$dev]="TargetToken $(body .token)"
done
ddi() { # ddi METHOD DEVICE TAIL [JSON]
  local d=$2 t=$3
  if [ $# -ge 4 ]; then jreq "$1" "/acme/controller/v1/$d$t" "${TOK[$d]}" "$4"
  else req "$1" "/acme/controller/v1/$d$t" "${TOK[$d]}"; fi
}
expect "rollout with 3 postponements, no schedule (201)" "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" \
  "{\"name\":\"fleet\",\"release\":$R1,\"stages\":[{\"percent\":100}],\"deferrals\":{\"max\":3}}")" 201
RO=$(body .id)
expect "started (200)" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/start" "$OP" '{}')" 200
declare -A ACT
for d in d1 d2; do ddi GET "$d" "" >/dev/null; ACT[$d]=$(body '._links.deploymentBase.href' | sed 's#.*/##'); done
offer() { # offer DEVICE: "window download/update" of its deploymentBase
  ddi GET "$1" "/deploymentBase/${ACT[$1]}" >/dev/null
  body '"\(.deployment.maintenanceWindow // "none") \(.deployment.download)/\(.deployment.update)"'
}
meta() { body "[.deployment.chunks[0].metadata[] | select(.key == \"$1\") | .value] | first // \"-\""; }
later() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
postpone() { # postpone DEVICE: an hour; prints the status
  ddi POST "$1" "/deploymentBase/${ACT[$1]}/feedback" \
    "{\"id\":\"${ACT[$1]}\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\"},\"details\":[\"otter.user=postponed;until=$(later 3600)\"]}}"
}
expect "d1 postpones (200)" "$(postpone d1)" 200
expect "d1 postpones again (200)" "$(postpone d1)" 200
offer d1 >/dev/null
expect "d1: 1 of 3 left, no maintenanceWindow" "$(meta otter.deferrals_left) $(offer d1)" "1 none forced/forced"

P="/api/v1/tenants/acme/rollouts/$RO/campaign"
put() { jreq PUT "$P" "$OP" "$1"; }
win='{"time_zone":"UTC","windows":[{"days":["fri"],"start":"22:00","end":"04:00"}]}'
stored() { req GET "$P" "$VI" >/dev/null; body '"\(.maintenance_schedule.time_zone // "none") \(.deferrals.max) \(.deferrals.max_seconds) \(.urgent)"'; }
expect "GET campaign: as created" "$(stored)" "none 3 null false"

# ---- hostile input: refused with what and where, nothing stored ----
expect "missing urgent (400)" "$(put "{\"maintenance_schedule\":null,\"deferrals\":null}")" 400
expect "... where" "$(body .error.where)" body.urgent
expect "unknown key (400)" "$(put '{"maintenance_schedule":null,"deferrals":null,"urgent":false,"x":1}')" 400
expect "... says which" "$(body .error.message)" 'body: unknown key "x"'
expect "not an object (400)" "$(put '[1,2]')" 400
expect "broken JSON (400)" "$(put '{"maintenance_schedule":')" 400
deep=$(printf '[%.0s' $(seq 1 200))
expect "deep JSON (400)" "$(put "{\"maintenance_schedule\":null,\"deferrals\":null,\"urgent\":false,\"y\":$deep}")" 400
big=$(head -c 40000 /dev/zero | tr '\0' ' ')
expect "oversized body refused" "$(put "{\"maintenance_schedule\":null,\"deferrals\":null,\"urgent\":false}$big" | grep -cE '^(400|413)$')" 1
expect "bad day (400)" "$(put '{"maintenance_schedule":{"time_zone":"UTC","windows":[{"days":["friday"],"start":"22:00","end":"04:00"}]},"deferrals":null,"urgent":false}')" 400
expect "... where" "$(body .error.where)" "body.maintenance_schedule.windows[0].days[0]"
expect "urgent with deferrals (400)" "$(put '{"maintenance_schedule":null,"deferrals":{"max":1},"urgent":true}')" 400
expect "... where" "$(body .error.where)" body.urgent
expect "101 postponements (400)" "$(put '{"maintenance_schedule":null,"deferrals":{"max":101},"urgent":false}')" 400
expect "... where" "$(body .error.where)" body.deferrals.max
expect "deferrals a number (400)" "$(put '{"maintenance_schedule":null,"deferrals":2,"urgent":false}')" 400
expect "urgent a string (400)" "$(put '{"maintenance_schedule":null,"deferrals":null,"urgent":"yes"}')" 400
expect "a viewer may not change it (403)" "$(jreq PUT "$P" "$VI" "{\"maintenance_schedule\":null,\"deferrals\":null,\"urgent\":true}")" 403
expect "another tenant's operator: not found (404)" \
  "$(jreq PUT "/api/v1/tenants/beta/rollouts/$RO/campaign" "$BOP" "{\"maintenance_schedule\":null,\"deferrals\":null,\"urgent\":true}")" 404
expect "no such rollout (404)" "$(jreq PUT /api/v1/tenants/acme/rollouts/999999/campaign "$OP" '{"maintenance_schedule":null,"deferrals":null,"urgent":true}')" 404
expect "refusals stored nothing" "$(stored)" "none 3 null false"

# ---- a schedule and a lowered limit: the devices already in the rollout follow ----
expect "Fri 22:00-04:00 UTC, 1 postponement of at most 2 h (200)" \
  "$(put "{\"maintenance_schedule\":$win,\"deferrals\":{\"max\":1,\"max_seconds\":7200},\"urgent\":false}")" 200
expect "the answer: the controls as stored, open now (Sat 03:00Z, the Friday night window)" \
  "$(body '"\(.maintenance_schedule.windows[0].days | join(",")) \(.deferrals.max) \(.deferrals.max_seconds) \(.window_open_now)"')" "fri 1 7200 true"
expect "GET campaign: the new controls" "$(stored)" "UTC 1 7200 false"
expect "the rollout document too" \
  "$(req GET "/api/v1/tenants/acme/rollouts/$RO" "$VI" >/dev/null; body '"\(.maintenance_schedule.time_zone) \(.deferrals.max)"')" "UTC 1"
expect "d1 inside the new window (Sat 03:00Z): available" "$(offer d1)" "available forced/forced"
at 1797051600 # Sat 05:00Z
expect "d1 outside it (Sat 05:00Z): unavailable, download ahead" "$(offer d1)" "unavailable forced/skip"
expect "d1 used 2 of the new 1: none left" "$(meta otter.deferrals_left)" 0
expect "d1 may not postpone any more (409)" "$(postpone d1)" 409
expect "... says why" "$(body .error | grep -c 'all 1 postponements')" 1
offer d2 >/dev/null
expect "d2 used none: 1 left, 2 h at most" "$(meta otter.deferrals_left) $(meta otter.deferral_max_seconds)" "1 7200"
expect "d2 postpones (200)" "$(postpone d2)" 200

# ---- urgent: no further postponement ----
expect "made urgent (200)" "$(put "{\"maintenance_schedule\":$win,\"deferrals\":null,\"urgent\":true}")" 200
offer d2 >/dev/null
expect "d2's offer: urgent, none left" "$(meta otter.urgent) $(meta otter.deferrals_left)" "1 0"
expect "d2 may not postpone (409)" "$(postpone d2)" 409
expect "... says why" "$(body .error | grep -c urgent)" 1
expect "stats: urgent" "$(req GET "/api/v1/tenants/acme/rollouts/$RO/stats" "$VI" >/dev/null; body .deferrals.urgent)" true

# ---- every control removed: as before ----
expect "controls removed (200)" "$(put '{"maintenance_schedule":null,"deferrals":null,"urgent":false}')" 200
expect "d1: no maintenanceWindow, no limit" "$(offer d1) $(meta otter.deferrals_left) $(meta otter.urgent)" "none forced/forced - -"
expect "d1 postpones again (200)" "$(postpone d1)" 200

# ---- audited ----
req GET /api/v1/tenants/acme/audit "$A" >/dev/null
expect "three rollout.campaign entries" "$(body '[.entries[] | select(.action == "rollout.campaign")] | length')" 3
expect "... with the controls as stored" \
  "$(body '[.entries[] | select(.action == "rollout.campaign") | .detail | tostring | select(contains("\"max_seconds\":7200"))] | length')" 1

# ---- push state: off on this server ----
expect "GET push (200)" "$(req GET /api/v1/tenants/acme/push "$VI")" 200
expect "... off" "$(body '"\(.enabled) \(.connected) \(.published) \(.dropped) \(.queued)"')" "false false 0 0 0"
expect "GET rollout push (200)" "$(req GET "/api/v1/tenants/acme/rollouts/$RO/push" "$VI")" 200
expect "... off, no wake-up" "$(body '"\(.rollout) \(.enabled) \(.wakeups | length)"')" "$RO false 0"
expect "another tenant's rollout push: not found (404)" "$(req GET "/api/v1/tenants/beta/rollouts/$RO/push" "$BOP")" 404

# ---- a canceled rollout's controls stay ----
expect "canceled (200)" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/cancel" "$OP" '{}')" 200
expect "its controls are not changed (409)" "$(put '{"maintenance_schedule":null,"deferrals":null,"urgent":true}')" 409
stop_server
finish
