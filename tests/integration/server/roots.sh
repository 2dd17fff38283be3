#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Per-tenant trust roots (issue #13) against a real otter-server on 127.0.0.1 with a real
# SQLite file (or PostgreSQL database, see lib.sh). The server's [trust] root holds two
# carriers' keys (ka, kb; threshold 1), as one root served every tenant before: then
# carrier A's key could publish to carrier B's fleet. With each tenant's own root set:
#   - A's package is refused by tenant globex (B), B's by acme (A); each their own is taken;
#   - deltas are verified against the tenant's root too;
#   - only a tenant admin sets roots (a publisher gets 403); the chain reads back, and the
#     DDI resource otter/roots?from=N serves it to the tenant's devices only;
#   - a tenant without a root of its own still uses [trust] root (unchanged behaviour).
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3

keys="${OTTER_TEST_TMP:-/tmp}/roots-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

for k in ka kb; do "$otter" keygen --type ed25519 --out "$keys/$k" >/dev/null; done
"$otter" root new --pubkey "$keys/ka.pub" --pubkey "$keys/kb.pub" --threshold 1 -o "$keys/shared.json" >/dev/null
for k in ka kb; do
  mkdir -p "$keys/$k-root"
  "$otter" root new --pubkey "$keys/$k.pub" -o "$keys/$k-root/root.json" >/dev/null
  "$otter" root sign "$keys/$k-root/root.json" --key "$keys/$k.key" >/dev/null
  "$otter" root chain "$keys/$k-root/root.json" -o "$keys/$k-chain.json" >/dev/null
done
head -c 100000 /dev/urandom > "$keys/img"
pack() { # pack VERSION KEY OUT
  "$otter" pack --product gw --compatible gw-a --version "$1" --security-version 1 \
    --image rootfs="$keys/img" --key "$keys/$2.key" -o "$keys/$3" >/dev/null
}
pack 1.0 ka a-1.0.zip
pack 1.0 kb b-1.0.zip
pack 1.1 ka a-1.1.zip

start_server roots "[trust]
root = $keys/shared.json"
A=$(login admin "$ADMIN_PW")
for t in acme globex other; do
  expect "tenant $t created" "$(jreq POST /api/v1/tenants "$A" "{\"name\":\"$t\"}")" 201
done
expect "publisher pub in globex" "$(jreq POST /api/v1/tenants/globex/users "$A" \
  '{"username":"pub","password":"publisher-pw-1","role":"publisher"}')" 201
P=$(login pub publisher-pw-1)
post_roots() { req POST "/api/v1/tenants/$1/roots" "$2" -H 'Content-Type: application/json' --data-binary @"$3"; }
upload_code() { req POST "/api/v1/tenants/$1/releases" "$A" --data-binary @"$keys/$2"; }

expect "a publisher cannot set globex's root" "$(post_roots globex "$P" "$keys/kb-chain.json")" 403
expect "acme's admin sets acme's root (carrier A's key)" "$(post_roots acme "$A" "$keys/ka-chain.json")" 201
expect "globex's root (carrier B's key)" "$(post_roots globex "$A" "$keys/kb-chain.json")" 201
expect "the same version again is refused" "$(post_roots globex "$A" "$keys/kb-chain.json")" 400
expect "a body that is no chain is refused" "$(req POST /api/v1/tenants/globex/roots "$A" \
  -H 'Content-Type: application/json' --data-binary '{"type":"otter-root","roots":[]}')" 400

expect "carrier A's key cannot publish to carrier B's fleet" "$(upload_code globex a-1.0.zip)" 422
grep -q "not in the trust root" "$work/body" && ok "... the key is not in globex's root" || bad "$(cat "$work/body")"
expect "carrier B's key cannot publish to carrier A's fleet" "$(upload_code acme b-1.0.zip)" 422
expect "carrier B publishes to its own fleet" "$(upload_code globex b-1.0.zip)" 201
expect "carrier A publishes to its own fleet" "$(upload_code acme a-1.0.zip)" 201
expect "a tenant without its own root still uses [trust] root" "$(upload_code other a-1.1.zip)" 201

# Deltas: verified against the tenant's root as well.
"$otter" delta --from "$keys/a-1.0.zip" --to "$keys/a-1.1.zip" --key "$keys/ka.key" \
  --root "$keys/ka-root/root.json" -o "$keys/a-delta.zip" >/dev/null
R=$(upload acme "$A" "$keys/a-1.1.zip")
expect "acme's delta signed by carrier A is accepted" \
  "$(req POST "/api/v1/tenants/acme/releases/$R/deltas" "$A" --data-binary @"$keys/a-delta.zip")" 201
expect "globex has no delta signed by carrier A either" "$(upload_code globex a-1.1.zip)" 422

req GET /api/v1/tenants/globex/roots "$P" >/dev/null
expect "globex's chain reads back" "$(body '.type + " " + ([.roots[].version] | map(tostring) | join(","))')" "otter-root-chain 1"
cmp -s <(body '.roots[0].root') <(cat "$keys/kb-root/root.json"; echo) && ok "... with the exact root.json bytes" \
  || bad "root bytes differ"

# The devices' resource: their tenant's chain only, from a version on.
expect "device g1 in globex" "$(jreq POST /api/v1/tenants/globex/devices "$A" '{"controller_id":"g1","model":"gw-a"}')" 201
tok=$(body .token)
ddi() { curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: TargetToken $tok" "$URL/$1"; }
expect "DDI otter/roots answers" "$(ddi globex/controller/v1/g1/otter/roots)" 200
expect "... globex's key" "$(body '.roots[0].root | fromjson | .keys[0].keyid')" "$(jq -r '.keys[0].keyid' "$keys/kb-root/root.json")"
expect "DDI otter/roots?from=2 is empty" "$(ddi 'globex/controller/v1/g1/otter/roots?from=2'; body '.roots | length')" 2000
expect "DDI from=0 is refused" "$(ddi 'globex/controller/v1/g1/otter/roots?from=0')" 400
expect "another tenant's device token gets nothing" "$(ddi acme/controller/v1/g1/otter/roots)" 401
finish
