#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The model filter (issue #15, docs/rollouts.md "Compatible models") against a
# real otter-server on 127.0.0.1 with a real SQLite file (or PostgreSQL, see
# lib.sh): a rollout over a group holding two models offers the release only
# to the models in its manifest's compatible list, preview counts the others as incompatible, and a direct deployment to
# a device of another model is refused with 409 (a group deployment skips it).
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3 python3

keys="${OTTER_TEST_TMP:-/tmp}/models-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 50000 /dev/urandom > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --compatible gw-c --version 1.0 --security-version 1 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null

start_server models "[trust]
root = $keys/root.json"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"op","password":"user-pass-12","role":"operator"}' >/dev/null
OP=$(login op user-pass-12)
R1=$(upload acme "$A" "$keys/1.0.zip")
expect "release lists its compatible models" \
  "$(req GET "/api/v1/tenants/acme/releases/$R1" "$OP" >/dev/null; body '.compatible | join(",")')" gw-a,gw-c
declare -A TOK
jreq POST /api/v1/tenants/acme/groups "$OP" '{"name":"mixed"}' >/dev/null
for dev in a1:gw-a a2:gw-a a3:gw-c b1:gw-b b2:gw-b; do
  id=${dev%%:*} model=${dev#*:}
  expect "device $id registered (201)" \
    "$(jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$id\",\"model\":\"$model\"}")" 201
  TOK[$id]="TargetToken $(body .token)"
  req PUT "/api/v1/tenants/acme/groups/mixed/devices/$id" "$OP" >/dev/null
done
# c1 is registered as gw-a but its agent reports gw-x (what it checks the manifest against).
expect "device c1 registered (201)" \
  "$(jreq POST /api/v1/tenants/acme/devices "$OP" '{"controller_id":"c1","model":"gw-a"}')" 201
TOK[c1]="TargetToken $(body .token)"
req PUT /api/v1/tenants/acme/groups/mixed/devices/c1 "$OP" >/dev/null
expect "c1 reports model gw-x in configData (200)" \
  "$(jreq PUT /acme/controller/v1/c1/configData "${TOK[c1]}" '{"mode":"merge","data":{"model":"gw-x"}}')" 200
links() { req GET "/acme/controller/v1/$1" "${TOK[$1]}" >/dev/null; body '._links | keys | join(",")'; }

# ---- a rollout over the mixed group ----
ro_body="{\"name\":\"mixed\",\"release\":$R1,\"filter\":{\"groups\":[\"mixed\"]},\"stages\":[{\"percent\":100}]}"
expect "preview (200)" "$(jreq POST /api/v1/tenants/acme/rollouts/preview "$OP" "$ro_body")" 200
expect "preview: 3 targeted, 3 incompatible" "$(body '"\(.devices) \(.left_out.incompatible)"')" "3 3"
expect "rollout created (201)" "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "$ro_body")" 201
RO=$(body .id)
expect "rollout start (200)" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/start" "$OP" '{}')" 200
expect "stats: 3 devices" \
  "$(req GET "/api/v1/tenants/acme/rollouts/$RO/stats" "$OP" >/dev/null; body .total.devices)" 3
expect "stats: 3 left out as incompatible after the start (issue #15)" "$(body .skipped.incompatible)" 3
for d in a1 a2 a3; do expect "$d ($d's model is compatible) is offered the release" "$(links "$d")" configData,deploymentBase; done
for d in b1 b2; do expect "$d (model not compatible) is offered nothing" "$(links "$d")" configData; done
expect "c1 (reported model not compatible) is offered nothing" "$(links c1)" ""

# ---- direct deployments ----
expect "deploy to a gw-b device refused (409)" \
  "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"b1\"]}")" 409
expect "... saying why" "$(body .error.message | grep -c "device 'b1': its model .* is not in the release's compatible list")" 1
expect "deploy naming a fitting and a foreign device refused as a whole (409)" \
  "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"a1\",\"b2\"]}")" 409
expect "nothing offered to b1 or b2" "$(links b1) $(links b2)" "configData configData"

# ---- a group deployment skips the foreign models ----
expect "group deployment (201)" \
  "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"group\":\"mixed\"}")" 201
expect "... skips b1, b2 and c1 for their model" \
  "$(body '[.skipped[] | select(.reason == "model not compatible") | .controller_id] | sort | join(",")')" b1,b2,c1
expect "... and still nothing for them" "$(links b1) $(links b2)" "configData configData"
stop_server
finish
