#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Campaign controls (issue #15, docs/rollouts.md "Maintenance schedules" and
# "Deferrals") against a real otter-server on 127.0.0.1 with a real SQLite
# file (or PostgreSQL, see lib.sh), driven by curl as a DDI client:
# - weekly maintenance schedules in a time zone, per device group and per
#   rollout: deploymentBase says maintenanceWindow available/unavailable and,
#   outside the window, update "skip" with the download mode kept (download
#   ahead, install inside); two zones at one instant, a window past midnight,
#   one DST change (America/New_York 2026-03-08); the operator's own
#   maintenance window of an action still wins; a device in no scheduled
#   group and no scheduled rollout gets no maintenanceWindow (as before);
# - strict input: bad day names, 25:00, an unknown zone refused (400) naming
#   the field;
# - deferral limits: count and length per postponement from the rollout, the
#   offer says how many are left, the server refuses (409) what the rollout
#   does not allow, an urgent rollout allows none; the stats count them.
# The server's clock for schedules is OTTER_TEST_NOW_FILE (OTTER_TEST_HOOKS
# builds only): the test rewrites the file to stand at chosen instants.
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3 tzdata

keys="${OTTER_TEST_TMP:-/tmp}/windows-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 50000 /dev/urandom > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 3 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null

export OTTER_TEST_NOW_FILE="$keys/now"
at() { echo "$1" > "$OTTER_TEST_NOW_FILE"; }
at 1796578200 # Mon 2026-12-07 01:30 in Shanghai, Sun 12:30 in New York

start_server windows "[trust]
root = $keys/root.json"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"op","password":"user-pass-12","role":"operator"}' >/dev/null
OP=$(login op user-pass-12)
R1=$(upload acme "$A" "$keys/1.0.zip")
declare -A TOK
for dev in sh1 ny1 lab1 free1; do
  jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$dev\",\"model\":\"gw-a\"}" >/dev/null
  TOK[$dev]="TargetToken $(body .token)"
done
for g in shanghai newyork lab; do jreq POST /api/v1/tenants/acme/groups "$OP" "{\"name\":\"$g\"}" >/dev/null; done
req PUT /api/v1/tenants/acme/groups/shanghai/devices/sh1 "$OP" >/dev/null
req PUT /api/v1/tenants/acme/groups/newyork/devices/ny1 "$OP" >/dev/null
req PUT /api/v1/tenants/acme/groups/lab/devices/lab1 "$OP" >/dev/null
ddi() { # ddi METHOD DEVICE TAIL [JSON]
  local d=$2 t=$3
  if [ $# -ge 4 ]; then jreq "$1" "/acme/controller/v1/$d$t" "${TOK[$d]}" "$4"
  else req "$1" "/acme/controller/v1/$d$t" "${TOK[$d]}"; fi
}
sched() { # sched GROUP JSON: PUT the group's schedule, prints the status
  jreq PUT "/api/v1/tenants/acme/groups/$1/maintenance-schedule" "$OP" "{\"maintenance_schedule\":$2}"
}
win() { printf '{"time_zone":"%s","windows":[{"days":%s,"start":"%s","end":"%s"}]}' "$@"; }

# ---- strict input: refused with what and where, nothing stored ----
expect "bad day name (400)" "$(sched shanghai "$(win Asia/Shanghai '["monday"]' 01:00 05:00)")" 400
expect "... where" "$(body .error.where)" "body.maintenance_schedule.windows[0].days[0]"
expect "25:00 (400)" "$(sched shanghai "$(win Asia/Shanghai '["mon"]' 25:00 05:00)")" 400
expect "... where" "$(body .error.where)" "body.maintenance_schedule.windows[0].start"
expect "unknown zone (400)" "$(sched shanghai "$(win Mars/Olympus_Mons '["mon"]' 01:00 05:00)")" 400
expect "... where" "$(body .error.where)" "body.maintenance_schedule.time_zone"
expect "a path as zone (400)" "$(sched shanghai "$(win ../../../etc/passwd '["mon"]' 01:00 05:00)")" 400
expect "unknown key (400)" "$(jreq PUT /api/v1/tenants/acme/groups/shanghai/maintenance-schedule "$OP" '{"schedule":null}')" 400
expect "no group (404)" "$(sched nowhere null)" 404
expect "refusals stored nothing" "$(req GET /api/v1/tenants/acme/groups/shanghai/maintenance-schedule "$OP" >/dev/null; body .maintenance_schedule)" null

# ---- group schedules: Mon-Fri 01:00-05:00 Shanghai; Sun 03:00-04:00 New York ----
expect "Shanghai nights (200)" "$(sched shanghai "$(win Asia/Shanghai '["mon-fri"]' 01:00 05:00)")" 200
expect "stored in canonical form" "$(body '.maintenance_schedule.windows[0].days | join(",")')" mon,tue,wed,thu,fri
expect "open now (Mon 01:30 there)" "$(body .window_open_now)" true
expect "New York Sunday (200)" "$(sched newyork "$(win America/New_York '["sun"]' 03:00 04:00)")" 200
expect "group list shows the schedules" \
  "$(req GET /api/v1/tenants/acme/groups "$OP" >/dev/null; body '[.groups[] | select(.maintenance_schedule) | .name] | sort | join(",")')" newyork,shanghai

# ---- rollouts: bad campaign keys refused, then one with deferral limits, one urgent ----
ro() { jreq POST /api/v1/tenants/acme/rollouts "$OP" "$1"; }
base="\"release\":$R1,\"stages\":[{\"percent\":100}]"
expect "rollout: bad schedule (400)" "$(ro "{\"name\":\"x\",$base,\"maintenance_schedule\":$(win UTC '["fri"]' 22:00 24:01)}")" 400
expect "... where" "$(body .error.where)" "body.maintenance_schedule.windows[0].end"
expect "rollout: too many deferrals (400)" "$(ro "{\"name\":\"x\",$base,\"deferrals\":{\"max\":101}}")" 400
expect "... where" "$(body .error.where)" "body.deferrals.max"
expect "rollout: postponement under a minute (400)" "$(ro "{\"name\":\"x\",$base,\"deferrals\":{\"max\":1,\"max_seconds\":5}}")" 400
expect "rollout: urgent with deferrals (400)" "$(ro "{\"name\":\"x\",$base,\"urgent\":true,\"deferrals\":{\"max\":1}}")" 400
expect "... where" "$(body .error.where)" "body.urgent"
expect "rollout: schedule and fixed window (400)" \
  "$(ro "{\"name\":\"x\",$base,\"maintenance_window\":\"available\",\"maintenance_schedule\":$(win UTC '["fri"]' 22:00 04:00)}")" 400
expect "regions rollout (201)" \
  "$(ro "{\"name\":\"regions\",$base,\"filter\":{\"groups\":[\"shanghai\",\"newyork\"]},\"deferrals\":{\"max\":2,\"max_seconds\":86400}}")" 201
REG=$(body .id)
expect "it shows its deferral limits" "$(body '"\(.deferrals.max) \(.deferrals.max_seconds) \(.urgent) \(.maintenance_schedule)"')" "2 86400 false null"
expect "midnight rollout, urgent (201)" \
  "$(ro "{\"name\":\"midnight\",$base,\"filter\":{\"groups\":[\"lab\"]},\"urgent\":true,\"maintenance_schedule\":$(win UTC '["fri"]' 22:00 04:00)}")" 201
MID=$(body .id)
expect "it shows its schedule" "$(body '"\(.maintenance_schedule.time_zone) \(.maintenance_schedule.windows[0].start)-\(.maintenance_schedule.windows[0].end) \(.urgent) \(.deferrals.max)"')" "UTC 22:00-04:00 true null"
for r in "$REG" "$MID"; do jreq POST "/api/v1/tenants/acme/rollouts/$r/start" "$OP" '{}' >/dev/null; done
expect "direct deployment to free1 (201)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"free1\"]}")" 201

act() { ddi GET "$1" "" >/dev/null; body '._links.deploymentBase.href' | sed 's#.*/##'; }
declare -A ACT
for d in sh1 ny1 lab1 free1; do ACT[$d]=$(act "$d"); done
offer() { # offer DEVICE: "window download/update" of its deploymentBase
  ddi GET "$1" "/deploymentBase/${ACT[$1]}" >/dev/null
  body '"\(.deployment.maintenanceWindow // "none") \(.deployment.download)/\(.deployment.update)"'
}
meta() { body ".deployment.chunks[0].metadata[] | select(.key == \"$1\") | .value"; }

# ---- two zones at one instant: Mon 01:30 in Shanghai, Sun 12:30 in New York ----
expect "sh1: open, install now" "$(offer sh1)" "available forced/forced"
expect "ny1: closed, download ahead, no install" "$(offer ny1)" "unavailable forced/skip"
expect "free1: no schedule, no maintenanceWindow (as before)" "$(offer free1)" "none forced/forced"
at 1796592600 # Mon 05:30 in Shanghai: the end is not in the window
expect "sh1 at 05:30: closed" "$(offer sh1)" "unavailable forced/skip"
at 1796491800 # Sun 01:30 in Shanghai: not a weekday
expect "sh1 on Sunday: closed" "$(offer sh1)" "unavailable forced/skip"

# ---- DST: 2026-03-08 07:30Z is 03:30 EDT (a fixed EST offset would say 02:30) ----
at 1772955000
expect "ny1 on the DST morning: open" "$(offer ny1)" "available forced/forced"
at 1772350200 # a week before, 07:30Z is 02:30 EST
expect "ny1 a week before at 07:30Z: closed" "$(offer ny1)" "unavailable forced/skip"
expect "the operator opens ny1's action by hand (200)" \
  "$(jreq PUT "/api/v1/tenants/acme/actions/${ACT[ny1]}/maintenance-window" "$OP" '{"maintenance_window":"available"}')" 200
expect "ny1: the operator's window wins over the schedule" "$(offer ny1)" "available forced/forced"

# ---- past midnight: the midnight rollout's Fri 22:00-04:00 UTC ----
at 1797030000; expect "lab1 Fri 23:00Z: open" "$(offer lab1)" "available forced/forced"
at 1797044400; expect "lab1 Sat 03:00Z: open" "$(offer lab1)" "available forced/forced"
at 1797051600; expect "lab1 Sat 05:00Z: closed" "$(offer lab1)" "unavailable forced/skip"
at 1796958000; expect "lab1 Fri 03:00Z: closed" "$(offer lab1)" "unavailable forced/skip"

# ---- deferrals ----
fb() { # fb DEVICE DETAIL
  ddi POST "$1" "/deploymentBase/${ACT[$1]}/feedback" \
    "{\"id\":\"${ACT[$1]}\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\"},\"details\":[\"$2\"]}}"
}
later() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
offer sh1 >/dev/null
expect "sh1's offer: 2 deferrals left, a day each" "$(meta otter.deferrals_left) $(meta otter.deferral_max_seconds)" "2 86400"
expect "sh1 postpones an hour (200)" "$(fb sh1 "otter.user=postponed;until=$(later 3600)")" 200
expect "sh1 postpones three days: longer than allowed (409)" "$(fb sh1 "otter.user=postponed;until=$(later 259200)")" 409
expect "... says why" "$(body .error | grep -c 'longer than this update allows')" 1
offer sh1 >/dev/null
expect "sh1's offer: 1 left" "$(meta otter.deferrals_left)" 1
expect "sh1 postpones again (200)" "$(fb sh1 "otter.user=postponed;until=$(later 3600)")" 200
offer sh1 >/dev/null
expect "sh1's offer: none left, no length offered" "$(meta otter.deferrals_left)|$(meta otter.deferral_max_seconds)" "0|"
expect "a third postponement is refused (409)" "$(fb sh1 "otter.user=postponed;until=$(later 60)")" 409
expect "... says why" "$(body .error | grep -c 'all 2 postponements')" 1
expect "the user may still start it (200)" "$(fb sh1 otter.user=started)" 200
offer lab1 >/dev/null
expect "lab1's offer: urgent, no deferral" "$(meta otter.urgent) $(meta otter.deferrals_left)" "1 0"
expect "lab1 may not postpone (409)" "$(fb lab1 "otter.user=postponed;until=$(later 3600)")" 409
expect "... says why" "$(body .error | grep -c 'urgent')" 1
expect "free1 (no rollout) postpones as before (200)" "$(fb free1 "otter.user=postponed;until=$(later 3600)")" 200
stats() { req GET "/api/v1/tenants/acme/rollouts/$1/stats" "$OP" >/dev/null; body '.deferrals | "\(.total) \(.exhausted) \(.max) \(.urgent)"'; }
expect "regions stats: 2 deferrals, 1 device used them all" "$(stats "$REG")" "2 1 2 false"
expect "midnight stats: none, urgent" "$(stats "$MID")" "0 0 null true"

# ---- removing a group's schedule ----
expect "Shanghai schedule removed (200)" "$(sched shanghai null)" 200
expect "sh1: no maintenanceWindow any more" "$(offer sh1)" "none forced/forced"
stop_server
finish
