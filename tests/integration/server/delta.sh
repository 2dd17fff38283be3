#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Delta packages of a release (issue #12) against a real otter-server on
# 127.0.0.1 with a real SQLite file (or PostgreSQL database, see lib.sh):
# upload verified against the base release (refusals leave no row and no
# file), RBAC, listing, download and delete through the management API, and
# the DDI offer of docs/ddi.md "Delta artifacts": a device that runs the
# delta's base and sent otter.delta=1 gets the delta as the chunk's second
# artifact and can download it (bytes, ranges, ETag, MD5SUM); a device with
# another version, or without the attribute (a foreign DDI client), gets
# exactly the document it got before the delta existed.
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3 python3

keys="${OTTER_TEST_TMP:-/tmp}/delta-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

# ---- packages: 1.0 and 1.1 (a few bytes changed), and deltas between them ----
"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" keygen --type ed25519 --out "$keys/other" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
"$otter" root new --pubkey "$keys/other.pub" --threshold 1 -o "$keys/other-root.json" >/dev/null
head -c 400000 /dev/urandom > "$keys/v1.img"
cp "$keys/v1.img" "$keys/v2.img"
printf 'patched' | dd of="$keys/v2.img" bs=1 seek=200000 conv=notrunc status=none
head -c 400000 /dev/urandom > "$keys/x.img"
pack() { # pack VERSION IMAGE KEY OUT
  "$otter" pack --product gw --compatible gw-a --version "$1" --security-version 3 \
    --chunk-size 64KiB --image rootfs="$2" --key "$3" -o "$4" >/dev/null
}
pack 1.0 "$keys/v1.img" "$keys/rel.key" "$keys/1.0.zip"
pack 1.1 "$keys/v2.img" "$keys/rel.key" "$keys/1.1.zip"
pack 1.2 "$keys/v2.img" "$keys/rel.key" "$keys/1.2.zip"
# Another "1.0" (other bytes): its delta's base is not the server's release 1.0.
pack 1.0 "$keys/x.img" "$keys/rel.key" "$keys/x-1.0.zip"
pack 0.9 "$keys/x.img" "$keys/rel.key" "$keys/0.9.zip"
mk_delta() { # mk_delta FROM TO KEY ROOT OUT
  "$otter" delta --from "$1" --to "$2" --key "$3" --root "$4" -o "$5" >/dev/null
}
mk_delta "$keys/1.0.zip" "$keys/1.1.zip" "$keys/rel.key" "$keys/root.json" "$keys/d.zip"
mk_delta "$keys/x-1.0.zip" "$keys/1.1.zip" "$keys/rel.key" "$keys/root.json" "$keys/bad-base.zip"
mk_delta "$keys/0.9.zip" "$keys/1.1.zip" "$keys/rel.key" "$keys/root.json" "$keys/no-from.zip"
mk_delta "$keys/1.0.zip" "$keys/1.2.zip" "$keys/rel.key" "$keys/root.json" "$keys/for-1.2.zip"
# The same delta signed by a key the server does not trust.
pack 1.0 "$keys/v1.img" "$keys/other.key" "$keys/o-1.0.zip"
pack 1.1 "$keys/v2.img" "$keys/other.key" "$keys/o-1.1.zip"
mk_delta "$keys/o-1.0.zip" "$keys/o-1.1.zip" "$keys/other.key" "$keys/other-root.json" "$keys/untrusted.zip"

start_server delta "[trust]
root = $keys/root.json
[ddi]
polling = 90s"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
add_user() { # add_user NAME ROLE
  jreq POST /api/v1/tenants/acme/users "$A" "{\"username\":\"$1\",\"password\":\"user-pass-12\",\"role\":\"$2\"}" >/dev/null
}
add_user op operator
add_user pub publisher
add_user view viewer
OP=$(login op user-pass-12)
PUB=$(login pub user-pass-12)
VIEW=$(login view user-pass-12)
upload() { req POST "/api/v1/tenants/acme/releases$1" "$PUB" --data-binary @"$2"; }
expect "release 1.0 (201)" "$(upload "" "$keys/1.0.zip")" 201
R10=$(body .id)
expect "release 1.1 (201)" "$(upload "" "$keys/1.1.zip")" 201
R11=$(body .id)
expect "no deltas yet" "$(body '.deltas | length')" 0
expect "a delta is not a release (422)" "$(upload "" "$keys/d.zip")" 422

# ---- devices: each tells its version by configData ----
T=()
for dev in old unknown plain; do
  jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$dev\",\"model\":\"gw-a\"}" >/dev/null
  T+=("TargetToken $(body .token)")
done
config() { # config DEVICE TOKEN DATA
  jreq PUT "/acme/controller/v1/$1/configData" "$2" "{\"mode\":\"merge\",\"data\":$3}"
}
expect "old: version 1.0, can take deltas" "$(config old "${T[0]}" '{"version":"1.0","otter.delta":"1"}')" 200
expect "unknown: version 0.5, can take deltas" "$(config unknown "${T[1]}" '{"version":"0.5","otter.delta":"1"}')" 200
expect "plain: version 1.0, no otter.delta" "$(config plain "${T[2]}" '{"version":"1.0"}')" 200
expect "approved" "$(approve acme "$R11" "$A")" 200
expect "deployed (201)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R11,\"devices\":[\"old\",\"unknown\",\"plain\"]}")" 201
# base DEVICE TOKEN OUT: the deploymentBase of the device's action, saved to OUT.
base() {
  req GET "/acme/controller/v1/$1" "$2" >/dev/null
  local href
  href=$(body ._links.deploymentBase.href)
  req GET "${href#"$URL"}" "$2" >/dev/null
  cp "$work/body" "$3"
}
for i in 0 1 2; do base "$(sed -n "$((i + 1))p" <<<$'old\nunknown\nplain')" "${T[$i]}" "$work/before.$i"; done
expect "before any delta: one artifact" "$(jq '.deployment.chunks[0].artifacts | length' "$work/before.0")" 1

# ---- upload: RBAC, refusals that leave nothing ----
D=/api/v1/tenants/acme/releases/$R11/deltas
state() { echo "$(db 'SELECT count(*) FROM release_deltas')/$(find "$work/artifacts" -type f | wc -l)"; }
before=$(state)
expect "operator may not upload a delta (403)" "$(req POST "$D" "$OP" --data-binary @"$keys/d.zip")" 403
expect "viewer may not upload a delta (403)" "$(req POST "$D" "$VIEW" --data-binary @"$keys/d.zip")" 403
expect "delta signed by an untrusted key (422)" "$(req POST "$D" "$PUB" --data-binary @"$keys/untrusted.zip")" 422
expect "  says why" "$(body .error.message | grep -ci 'signature\|trust\|key' | head -1)" 1
expect "delta whose base is not release 1.0 (422)" "$(req POST "$D" "$PUB" --data-binary @"$keys/bad-base.zip")" 422
expect "  says which base" "$(body .error.message | grep -c 'base')" 1
expect "delta from a release the tenant lacks (422)" "$(req POST "$D" "$PUB" --data-binary @"$keys/no-from.zip")" 422
expect "delta of another release (422)" "$(req POST "$D" "$PUB" --data-binary @"$keys/for-1.2.zip")" 422
expect "a full package is not a delta (422)" "$(req POST "$D" "$PUB" --data-binary @"$keys/1.1.zip")" 422
expect "delta of an unknown release (404)" "$(req POST /api/v1/tenants/acme/releases/999/deltas "$PUB" --data-binary @"$keys/d.zip")" 404
cp "$keys/d.zip" "$keys/tampered.zip"
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(-200, 2); b = f.read(1)
f.seek(-200, 2); f.write(bytes([b[0] ^ 0xff]))' "$keys/tampered.zip"
expect "tampered delta (422)" "$(req POST "$D" "$PUB" --data-binary @"$keys/tampered.zip")" 422
expect "refusals left no row and no file" "$(state)" "$before"
expect "no temporary file left" "$(find "$work/artifacts" -name '.*' | wc -l)" 0

expect "publisher uploads the delta (201)" "$(req POST "$D" "$PUB" --data-binary @"$keys/d.zip")" 201
DID=$(body .id)
DSHA=$(sha256sum "$keys/d.zip" | cut -d' ' -f1)
expect "delta document" "$(body '[.from_release, .from_version, .filename, .size, .hashes.sha256, .hashes.md5] | map(tostring) | join(",")')" \
  "$R10,1.0,gw-1.1.from-1.0.delta.zip,$(stat -c %s "$keys/d.zip"),$DSHA,$(md5sum "$keys/d.zip" | cut -d' ' -f1)"
expect "stored content-addressed" "$(test -f "$work/artifacts/$DSHA" && echo yes)" yes
expect "audited" "$(db "SELECT count(*) FROM audit_log WHERE action = 'delta.create'")" 1
expect "the same delta again (409)" "$(req POST "$D" "$PUB" --data-binary @"$keys/d.zip")" 409
expect "list (viewer)" "$(req GET "$D" "$VIEW"; body '[.deltas[].id] | map(tostring) | join(",")')" "200$DID"
expect "shown in the release" "$(req GET "/api/v1/tenants/acme/releases/$R11" "$VIEW"; body '.deltas[0].from_version')" 2001.0
expect "download via the management API" "$(req GET "$D/$DID" "$VIEW"; sha256sum "$work/body" | cut -d' ' -f1)" "200$DSHA"
expect "unknown delta (404)" "$(req GET "$D/999" "$VIEW")" 404
expect "a delta of another release is not found under this one (404)" "$(req GET "/api/v1/tenants/acme/releases/$R10/deltas/$DID" "$VIEW")" 404

# ---- DDI: who gets the delta ----
base old "${T[0]}" "$work/after.0"
expect "old device: two artifacts" "$(jq -r '[.deployment.chunks[0].artifacts[].filename] | join(",")' "$work/after.0")" \
  "gw-1.1.zip,gw-1.1.from-1.0.delta.zip"
expect "delta hashes and size" "$(jq -r '.deployment.chunks[0].artifacts[1] | [.hashes.sha256, .hashes.sha1, (.size|tostring)] | join(",")' "$work/after.0")" \
  "$DSHA,$(sha1sum "$keys/d.zip" | cut -d' ' -f1),$(stat -c %s "$keys/d.zip")"
expect "the full artifact unchanged, first" "$(jq -c '.deployment.chunks[0].artifacts[0]' "$work/after.0")" \
  "$(jq -c '.deployment.chunks[0].artifacts[0]' "$work/before.0")"
DL=$(jq -r '.deployment.chunks[0].artifacts[1]._links.download.href' "$work/after.0")
expect "delta link under the release's softwaremodule" "$DL" "$URL/acme/controller/v1/old/softwaremodules/$R11/artifacts/gw-1.1.from-1.0.delta.zip"
P=${DL#"$URL"}
expect "delta download (200, byte-equal)" "$(req GET "$P" "${T[0]}"; cmp "$work/body" "$keys/d.zip" && echo same)" 200same
expect "ETag is its sha256" "$(header ETag)" "\"$DSHA\""
expect "range of the delta (206)" "$(req GET "$P" "${T[0]}" -H 'Range: bytes=100-199'; cmp "$work/body" <(tail -c +101 "$keys/d.zip" | head -c 100) && echo same)" 206same
expect "Content-Range" "$(header Content-Range)" "bytes 100-199/$(stat -c %s "$keys/d.zip")"
expect "open range resumes (206)" "$(req GET "$P" "${T[0]}" -H 'Range: bytes=1000-'; cmp "$work/body" <(tail -c +1001 "$keys/d.zip") && echo same)" 206same
expect "If-None-Match with its ETag (304)" "$(req GET "$P" "${T[0]}" -H "If-None-Match: \"$DSHA\"")" 304
expect "MD5SUM of the delta" "$(req GET "$P.MD5SUM" "${T[0]}"; cat "$work/body")" "200$(md5sum "$keys/d.zip" | cut -d' ' -f1)  gw-1.1.from-1.0.delta.zip"
expect "another device's token (401)" "$(req GET "/acme/controller/v1/old${P#/acme/controller/v1/old}" "${T[1]}")" 401
expect "a file name the release lacks (404)" "$(req GET "${P%/*}/gw-1.1.from-0.1.delta.zip" "${T[0]}")" 404
base unknown "${T[1]}" "$work/after.1"
expect "unknown version: exactly the document of before" "$(cmp "$work/after.1" "$work/before.1" && echo same)" same
base plain "${T[2]}" "$work/after.2"
expect "no otter.delta (foreign client): exactly the document of before" "$(cmp "$work/after.2" "$work/before.2" && echo same)" same
# The choice follows the device's configData, not a cached answer.
expect "old device stops taking deltas" "$(config old "${T[0]}" '{"otter.delta":"0"}')" 200
base old "${T[0]}" "$work/after.0b"
expect "  then gets one artifact" "$(jq '.deployment.chunks[0].artifacts | length' "$work/after.0b")" 1
expect "  and again" "$(config old "${T[0]}" '{"otter.delta":"1"}')" 200
base old "${T[0]}" "$work/after.0c"
expect "  two" "$(jq '.deployment.chunks[0].artifacts | length' "$work/after.0c")" 2

# ---- delete ----
expect "release with a delta cannot be deleted (409)" "$(req DELETE "/api/v1/tenants/acme/releases/$R10" "$PUB")" 409
expect "operator may not delete a delta (403)" "$(req DELETE "$D/$DID" "$OP")" 403
expect "publisher deletes it (204)" "$(req DELETE "$D/$DID" "$PUB")" 204
expect "row and file gone" "$(db 'SELECT count(*) FROM release_deltas')/$(test -f "$work/artifacts/$DSHA" && echo kept || echo gone)" 0/gone
expect "audited" "$(db "SELECT count(*) FROM audit_log WHERE action = 'delta.delete'")" 1
expect "gone (404)" "$(req DELETE "$D/$DID" "$PUB")" 404
base old "${T[0]}" "$work/after.0d"
expect "old device: the full artifact only again" "$(cmp "$work/after.0d" "$work/before.0" && echo same)" same
expect "delta download now 404" "$(req GET "$P" "${T[0]}")" 404

stop_server
finish
