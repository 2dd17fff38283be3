#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Devices, releases, deployments and the hawkBit DDI device API against a
# real otter-server on 127.0.0.1 with a real SQLite file (or PostgreSQL
# database, see lib.sh): status codes,
# JSON field names and types, refusals that store nothing, downloads with
# Range/If-Range/ETag/HEAD, device authentication and hostile input.
source "$(dirname "$0")/lib.sh"
need_packages jq curl openssl sqlite3

keys="${OTTER_TEST_TMP:-/tmp}/fleet-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

# ---- packages: signed, unsigned, tampered, truncated ----
"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" keygen --type ed25519 --out "$keys/other" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 300000 /dev/urandom > "$keys/rootfs.img"
pack() { # pack VERSION OUT [--key K]
  local v=$1 out=$2; shift 2
  "$otter" pack --product gw --compatible gw-a,gw-b --version "$v" --security-version 3 \
    --image rootfs="$keys/rootfs.img" "$@" -o "$out" >/dev/null
}
pack 1.0 "$keys/signed.zip" --key "$keys/rel.key"
pack 1.1 "$keys/unsigned.zip"
pack 1.2 "$keys/foreign-key.zip" --key "$keys/other.key"
# flip_byte FILE OFFSET: XOR, not a fixed value (writing 0xff over a 0xff changes nothing).
flip_byte() {
  python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)
f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}
cp "$keys/signed.zip" "$keys/tampered.zip"
# Flip one byte inside the payload (well past manifest and signatures).
size=$(stat -c %s "$keys/tampered.zip")
flip_byte "$keys/tampered.zip" $((size / 2))
head -c $((size / 2)) "$keys/signed.zip" > "$keys/truncated.zip"
# A stored (uncompressed) image with one byte changed: only the signed SHA-256 can tell.
"$otter" pack --product gw --compatible gw-a --version 1.3 --security-version 3 \
  --image rootfs="$keys/rootfs.img":compression=none --key "$keys/rel.key" -o "$keys/stored.zip" >/dev/null
cp "$keys/stored.zip" "$keys/tampered-stored.zip"
flip_byte "$keys/tampered-stored.zip" $(($(stat -c %s "$keys/stored.zip") / 2))
printf 'not a zip at all' > "$keys/garbage.zip"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$keys/tls.key" -out "$keys/tls.crt" >/dev/null 2>&1
start_server fleet "[http]
listen_tls = 127.0.0.1:0
tls_cert = $keys/tls.crt
tls_key = $keys/tls.key
[trust]
root = $keys/root.json
[ddi]
polling = 90s
[limits]
max_body = 4K
max_upload = 1M"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants "$A" '{"name":"other"}' >/dev/null
add_user() { # add_user TENANT NAME ROLE
  jreq POST "/api/v1/tenants/$1/users" "$A" "{\"username\":\"$2\",\"password\":\"user-pass-12\",\"role\":\"$3\"}" >/dev/null
}
add_user acme op operator
add_user acme pub publisher
add_user acme view viewer
OP=$(login op user-pass-12)
PUB=$(login pub user-pass-12)
VIEW=$(login view user-pass-12)

# ---- devices ----
expect "viewer may not provision (403)" "$(jreq POST /api/v1/tenants/acme/devices "$VIEW" \
  '{"controller_id":"d1","model":"gw-a"}')" 403
expect "operator provisions a device (201)" "$(jreq POST /api/v1/tenants/acme/devices "$OP" \
  '{"controller_id":"d1","model":"gw-a","group":"lab","name":"Lab gateway"}')" 201
T1=$(body .token)
expect "token returned once, TargetToken" "$(body .token_type)" TargetToken
expect "token stored only hashed" "$(db "SELECT count(*) FROM devices WHERE token_sha256 = '$(printf %s "$T1" | sha256sum | cut -d' ' -f1)'")" 1
db_dump > "$work/db.text" # outside $(...): set -e stops the test when the dump fails
expect "no plain token in the database" "$(grep -c "$T1" "$work/db.text" || true)" 0
expect "duplicate controller id (409)" "$(jreq POST /api/v1/tenants/acme/devices "$OP" \
  '{"controller_id":"d1","model":"gw-a"}')" 409
expect "bad controller id (400)" "$(jreq POST /api/v1/tenants/acme/devices "$OP" \
  '{"controller_id":"../x","model":"gw-a"}')" 400
expect "where names the field" "$(body .error.where)" body.controller_id
expect "SQL metacharacters refused as names (400)" "$(jreq POST /api/v1/tenants/acme/devices "$OP" \
  "{\"controller_id\":\"x'; DROP TABLE devices;--\",\"model\":\"gw-a\"}")" 400
expect "devices table intact" "$(db 'SELECT count(*) FROM devices')" 1

before=$(db 'SELECT count(*) FROM devices')
printf 'controller_id,model,group\nb1,gw-a,lab\nb2,gw-b\nb 3,gw-a\nb4\nb1,gw-a\n' > "$work/bad.csv"
expect "CSV with bad lines refused (400)" "$(req POST /api/v1/tenants/acme/devices/bulk "$OP" \
  -H 'Content-Type: text/csv' --data-binary @"$work/bad.csv")" 400
expect "bad lines are numbered" "$(body '[.lines[].line] | join(",")')" 4,5,6
expect "nothing created by a refused CSV" "$(db 'SELECT count(*) FROM devices')" "$before"
printf 'controller_id,model,group\nb1,gw-a,lab\nd1,gw-a\n' > "$work/dup.csv"
expect "CSV clashing with an existing device (409)" "$(req POST /api/v1/tenants/acme/devices/bulk "$OP" \
  -H 'Content-Type: text/csv' --data-binary @"$work/dup.csv")" 409
expect "the clash names its line" "$(body '.lines[0].line')" 3
expect "all or nothing" "$(db 'SELECT count(*) FROM devices')" "$before"
printf 'b1,gw-a,lab\r\nb2,gw-b\r\nb3,gw-b,field\r\n' > "$work/good.csv"
expect "CSV JSON body refused (415)" "$(req POST /api/v1/tenants/acme/devices/bulk "$OP" \
  -H 'Content-Type: application/json' --data-binary @"$work/good.csv")" 415
expect "CSV provisioned (201)" "$(req POST /api/v1/tenants/acme/devices/bulk "$OP" \
  -H 'Content-Type: text/csv' --data-binary @"$work/good.csv")" 201
expect "three tokens returned" "$(body '[.devices[].token | startswith("otd_")] | length')" 3
TB2=$(body '.devices[1].token')

expect "list (viewer may read)" "$(req GET /api/v1/tenants/acme/devices "$VIEW")" 200
expect "four devices" "$(body '.devices | length')" 4
req GET '/api/v1/tenants/acme/devices?model=gw-b' "$VIEW" >/dev/null
expect "filter by model" "$(body '[.devices[].controller_id] | join(",")')" b2,b3
req GET '/api/v1/tenants/acme/devices?group=lab' "$VIEW" >/dev/null
expect "filter by group" "$(body '[.devices[].controller_id] | join(",")')" d1,b1
req GET '/api/v1/tenants/acme/devices?limit=2' "$VIEW" >/dev/null
expect "page 1" "$(body '[.devices[].controller_id] | join(",")')" d1,b1
next=$(body .next_after)
req GET "/api/v1/tenants/acme/devices?limit=2&after=$next" "$VIEW" >/dev/null
expect "page 2" "$(body '[.devices[].controller_id] | join(",")')" b2,b3
req GET "/api/v1/tenants/acme/devices?group=x'%20OR%201=1--" "$VIEW" >/dev/null
expect "SQL metacharacters in a filter match nothing" "$(body '.devices | length')" 0
expect "bad limit (400)" "$(req GET '/api/v1/tenants/acme/devices?limit=0' "$VIEW")" 400
req GET "/api/v1/tenants/acme/devices?last_seen_before=$(($(date +%s) + 10))" "$VIEW" >/dev/null
expect "never-seen devices count as seen before" "$(body '.devices | length')" 4

expect "group list" "$(req GET /api/v1/tenants/acme/groups "$VIEW")" 200
expect "groups with counts" "$(body '[.groups[] | "\(.name)=\(.members)"] | join(",")')" field=1,lab=2
expect "create group" "$(jreq POST /api/v1/tenants/acme/groups "$OP" '{"name":"canary"}')" 201
expect "add member" "$(req PUT /api/v1/tenants/acme/groups/canary/devices/b2 "$OP")" 204
expect "add member again (idempotent)" "$(req PUT /api/v1/tenants/acme/groups/canary/devices/b2 "$OP")" 204
expect "add unknown device (404)" "$(req PUT /api/v1/tenants/acme/groups/canary/devices/nope "$OP")" 404
expect "remove member" "$(req DELETE /api/v1/tenants/acme/groups/canary/devices/b2 "$OP")" 204
expect "remove non-member (404)" "$(req DELETE /api/v1/tenants/acme/groups/canary/devices/b2 "$OP")" 404
expect "delete group" "$(req DELETE /api/v1/tenants/acme/groups/canary "$OP")" 204
expect "other tenant's device invisible (404)" "$(req GET /api/v1/tenants/other/devices/d1 "$A")" 404
expect "get device" "$(req GET /api/v1/tenants/acme/devices/d1 "$VIEW")" 200
expect "device fields and types" "$(body '[(.id|type), (.controller_id|type), (.model|type), (.attributes|type), (.last_seen|type), (.created_at|type)] | join(",")')" number,string,string,object,null,string

expect "operator may not rotate the gateway token (403)" "$(req POST /api/v1/tenants/acme/gateway-token "$OP")" 403
expect "admin rotates the gateway token (201)" "$(req POST /api/v1/tenants/acme/gateway-token "$A")" 201
GW=$(body .token)

# ---- releases ----
arts() { find "$work/artifacts" -type f | wc -l; }
rels() { db 'SELECT count(*) FROM releases'; }
expect "operator may not upload (403)" "$(req POST /api/v1/tenants/acme/releases "$OP" --data-binary @"$keys/signed.zip")" 403
expect "nothing kept of a refused upload" "$(arts)" 0
# A small body is sent whole before curl reads the answer: the server must read and
# drop it before answering, or the unread bytes make the kernel reset the connection
# and the client sees no status at all ('000').
codes=""
for _ in $(seq 1 25); do
  codes+="$(req POST /api/v1/tenants/acme/releases "$OP" --data-binary @"$keys/signed.zip") "
  codes+="$(req POST /api/v1/tenants/acme/releases "" --data-binary @"$keys/signed.zip") "
done
expect "50 refused small uploads all answered, none reset" \
  "$(echo "$codes" | tr ' ' '\n' | grep . | sort | uniq -c | awk 'NF { printf "%s×%s ", $2, $1 }')" "401×25 403×25 "
# Refused as soon as the headers are in: a large body from a stranger is never read.
head -c 50000000 /dev/zero > "$keys/huge.bin"
start=$(date +%s)
expect "no token, 50 MB body: 401 at once" "$(req POST /api/v1/tenants/acme/releases "" \
  --limit-rate 1M --data-binary @"$keys/huge.bin")" 401
expect "answered without reading the body (< 10 s at 1 MB/s)" "$(( $(date +%s) - start < 10 ))" 1
rm -f "$keys/huge.bin"
for pair in "unsigned:not signed" "foreign-key:not in the trust root" "tampered:image rootfs" \
            "tampered-stored:sha256 mismatch" "truncated:Truncated ZIP" "garbage:not a zip package"; do
  bad=${pair%%:*}
  code=$(req POST /api/v1/tenants/acme/releases "$PUB" --data-binary @"$keys/$bad.zip")
  expect "$bad package refused (422)" "$code" 422
  expect "$bad: the reader's reason, naming update.zip" \
    "$(body '.error.message | startswith("update.zip: ")'),$(body ".error.message | contains(\"${pair#*:}\")")" true,true
done
expect "no release stored" "$(rels)" 0
expect "no file stored (not even a temporary one)" "$(arts)" 0
head -c 1100000 /dev/zero > "$keys/big.bin"
expect "upload over max_upload (413)" "$(req POST '/api/v1/tenants/acme/releases?type=foreign&filename=big.swu&version=1' "$PUB" --data-binary @"$keys/big.bin")" 413
expect "chunked upload over max_upload (413)" "$(req POST '/api/v1/tenants/acme/releases?type=foreign&filename=big.swu&version=1' "$PUB" -H 'Transfer-Encoding: chunked' --data-binary @"$keys/big.bin")" 413
expect "nothing stored after 413" "$(arts)/$(rels)" 0/0
# A client that goes away mid-upload leaves nothing behind either.
head -c 900000 /dev/urandom > "$keys/slow.bin"
req POST '/api/v1/tenants/acme/releases?type=foreign&filename=slow.swu&version=1' "$PUB" \
  --limit-rate 100K -m 1 --data-binary @"$keys/slow.bin" >/dev/null || true
for _ in $(seq 50); do [ "$(arts)" = 0 ] && break; sleep 0.1; done
expect "aborted upload: temporary file removed" "$(arts)/$(rels)" 0/0
expect "signed package accepted (201)" "$(req POST /api/v1/tenants/acme/releases "$PUB" --data-binary @"$keys/signed.zip")" 201
R1=$(body .id)
expect "manifest fields" "$(body '[.product, .version, (.security_version|tostring), (.compatible|join("+")), .images[0].name, (.signers|length|tostring), .type] | join(",")')" "gw,1.0,3,gw-a+gw-b,rootfs,1,otter"
expect "sha256 recorded" "$(body .artifact.hashes.sha256)" "$(sha256sum "$keys/signed.zip" | cut -d' ' -f1)"
expect "md5 recorded" "$(body .artifact.hashes.md5)" "$(md5sum "$keys/signed.zip" | cut -d' ' -f1)"
expect "sha1 recorded" "$(body .artifact.hashes.sha1)" "$(sha1sum "$keys/signed.zip" | cut -d' ' -f1)"
SHA=$(body .artifact.hashes.sha256)
expect "stored content-addressed" "$(test -f "$work/artifacts/$SHA" && echo yes)" yes
expect "same release again (409)" "$(req POST /api/v1/tenants/acme/releases "$PUB" --data-binary @"$keys/signed.zip")" 409
expect "foreign without filename (400)" "$(req POST '/api/v1/tenants/acme/releases?type=foreign&version=2' "$PUB" --data-binary @"$keys/garbage.zip")" 400
expect "foreign with a path in the name (400)" "$(req POST '/api/v1/tenants/acme/releases?type=foreign&version=2&filename=../../etc/passwd' "$PUB" --data-binary @"$keys/garbage.zip")" 400
expect "foreign artifact stored unverified (201)" "$(req POST '/api/v1/tenants/acme/releases?type=foreign&filename=fw.swu&version=2.0' "$PUB" --data-binary @"$keys/garbage.zip")" 201
R2=$(body .id)
expect "foreign format from the name" "$(body '.type + "/" + .format + "/" + .product')" foreign/swupdate/fw
expect "list releases" "$(req GET /api/v1/tenants/acme/releases "$VIEW"; body '.releases | length')" 2002
expect "download via the management API" "$(req GET "/api/v1/tenants/acme/releases/$R1/artifact" "$VIEW"; sha256sum "$work/body" | cut -d' ' -f1)" "200$SHA"

# ---- deployments ----
expect "not approved: no deployment (409)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"d1\"]}")" 409
approve acme "$R1" "$A" >/dev/null
expect "viewer may not deploy (403)" "$(jreq POST /api/v1/tenants/acme/deployments "$VIEW" "{\"release\":$R1,\"devices\":[\"d1\"]}")" 403
expect "devices and group together (400)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"d1\"],\"group\":\"lab\"}")" 400
expect "unknown release (404)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" '{"release":999,"devices":["d1"]}')" 404
expect "unknown device (400, nothing created)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"d1\",\"nope\"]}"; db 'SELECT count(*) FROM actions')" 4000
expect "deploy to a group (201)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"group\":\"lab\",\"maintenance_window\":\"available\"}")" 201
expect "one action per member" "$(body '.actions | length')" 2
AID=$(body '.actions[] | select(.controller_id == "d1") | .id')
expect "again: skipped" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"group\":\"lab\"}"; body '.skipped | length')" 2012
expect "release in use cannot be deleted (409)" "$(req DELETE "/api/v1/tenants/acme/releases/$R1" "$PUB")" 409
expect "unused release deleted (204)" "$(req DELETE "/api/v1/tenants/acme/releases/$R2" "$PUB")" 204

# ---- DDI: authentication ----
D="/acme/controller/v1/d1"
expect "no token (401)" "$(req GET "$D" "")" 401
expect "wrong token (401)" "$(req GET "$D" "TargetToken otd_0000")" 401
expect "another device's token (401)" "$(req GET "$D" "TargetToken $TB2")" 401
expect "the right token for another tenant (401)" "$(req GET /other/controller/v1/d1 "TargetToken $T1")" 401
expect "bearer scheme refused (401)" "$(req GET "$D" "Bearer $T1")" 401
expect "unknown tenant (401)" "$(req GET /nope/controller/v1/d1 "TargetToken $T1")" 401
expect "gateway token of the tenant" "$(req GET "$D" "GatewayToken $GW")" 200
expect "gateway token is per tenant (401)" "$(req GET /other/controller/v1/d1 "GatewayToken $GW")" 401
expect "gateway poll registers an unknown device" "$(req GET /acme/controller/v1/new-dev "GatewayToken $GW"; db "SELECT count(*) FROM devices WHERE controller_id = 'new-dev'")" 2001

# ---- DDI: base poll ----
expect "poll (200)" "$(req GET "$D" "TargetToken $T1")" 200
expect "polling.sleep HH:MM:SS" "$(body .config.polling.sleep)" 00:01:30
expect "links offered" "$(body '._links | keys | join(",")')" configData,deploymentBase
expect "absolute deploymentBase href" "$(body ._links.deploymentBase.href)" "$URL$D/deploymentBase/$AID"
ETAG=$(header ETag)
expect "ETag on the poll" "$([ -n "$ETAG" ] && echo yes)" yes
expect "If-None-Match -> 304" "$(req GET "$D" "TargetToken $T1" -H "If-None-Match: $ETAG")" 304
# last_seen is written in batches, once a second: wait for the next one (bounded).
for _ in $(seq 50); do
  [ "$(req GET /api/v1/tenants/acme/devices/d1 "$VIEW" >/dev/null; body '.last_seen | type')" = string ] && break
  sleep 0.1
done
expect "last_seen set" "$(body '.last_seen | type')" string
expect "POST on the poll (405)" "$(req POST "$D" "TargetToken $T1" -d x)" 405

# The server was started with listen_tls: its ready file must list the https URL (required, not
# checked only when present).
TLS_URL=$(grep '^https:' "$work/ready" || true)
expect "the ready file lists an https URL" "${TLS_URL:+yes}" yes
: > "$work/body"
curl -s -m 20 --cacert "$keys/tls.crt" -H "Authorization: TargetToken $T1" -o "$work/body" "$TLS_URL$D" || true
expect "over HTTPS the links are https" "$(body ._links.deploymentBase.href)" "$TLS_URL$D/deploymentBase/$AID"

# ---- DDI: deploymentBase ----
expect "deploymentBase (200)" "$(req GET "$D/deploymentBase/$AID" "TargetToken $T1")" 200
expect "id is a string" "$(body '.id | type')" string
expect "deployment fields" "$(body '[.deployment.download, .deployment.update, .deployment.maintenanceWindow] | join(",")')" forced,forced,available
expect "chunk fields" "$(body '.deployment.chunks[0] | [.part, .version, .name] | join(",")')" os,1.0,gw
expect "artifact fields and types" "$(body '.deployment.chunks[0].artifacts[0] | [(.filename|type), (.size|type), (.hashes.sha1|length), (.hashes.md5|length), (.hashes.sha256|length)] | map(tostring) | join(",")')" string,number,40,32,64
DL=$(body '.deployment.chunks[0].artifacts[0]._links.download.href')
expect "download-http equals download" "$(body '.deployment.chunks[0].artifacts[0]._links["download-http"].href')" "$DL"
expect "md5sum links (as hawkBit)" "$(body '.deployment.chunks[0].artifacts[0]._links | [.md5sum.href, .["md5sum-http"].href] | join(" ")')" "$DL.MD5SUM $DL.MD5SUM"
expect "action running once read" "$(db "SELECT status FROM actions WHERE id = $AID")" running
expect "another device's action (404)" "$(req GET "/acme/controller/v1/b1/deploymentBase/$AID" "GatewayToken $GW")" 404
expect "non-numeric action (404)" "$(req GET "$D/deploymentBase/1x" "TargetToken $T1")" 404

# ---- DDI: download ----
P=${DL#"$URL"}
expect "GET artifact (200)" "$(req GET "$P" "TargetToken $T1"; sha256sum "$work/body" | cut -d' ' -f1)" "200$SHA"
expect "Accept-Ranges" "$(header Accept-Ranges)" bytes
AETAG=$(header ETag)
expect "ETag is the sha256" "$AETAG" "\"$SHA\""
expect "HEAD (200, no body)" "$(req HEAD "$P" "TargetToken $T1" -I; header Content-Length)" "200$(stat -c %s "$keys/signed.zip")"
expect "Range 10-19 (206)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=10-19'; stat -c %s "$work/body")" 20610
expect "Content-Range" "$(header Content-Range)" "bytes 10-19/$(stat -c %s "$keys/signed.zip")"
expect "range bytes right" "$(cmp <(tail -c +11 "$keys/signed.zip" | head -c 10) "$work/body" && echo same)" same
expect "suffix range (206)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=-5'; cmp <(tail -c 5 "$keys/signed.zip") "$work/body" && echo same)" 206same
expect "open range resumes (206)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=1000-'; cmp <(tail -c +1001 "$keys/signed.zip") "$work/body" && echo same)" 206same
expect "unsatisfiable range (416)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=99999999-')" 416
expect "416 tells the size" "$(header Content-Range)" "bytes */$(stat -c %s "$keys/signed.zip")"
expect "several ranges get the whole file (200)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=0-1,5-6')" 200
expect "If-Range with the ETag honours Range (206)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=0-0' -H "If-Range: $AETAG")" 206
expect "If-Range with a stale ETag sends it all (200)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=0-0' -H 'If-Range: "old"')" 200
expect "If-None-Match (304)" "$(req GET "$P" "TargetToken $T1" -H "If-None-Match: $AETAG")" 304
expect "wrong file name (404)" "$(req GET "${P%/*}/other.zip" "TargetToken $T1")" 404
expect "traversal in the name (404)" "$(req GET "${P%/*}/..%2F..%2F..%2Fotter.db" "TargetToken $T1" --path-as-is)" 404
expect "traversal as segments (404)" "$(req GET "${P%/*}/../../../../otter.db" "TargetToken $T1" --path-as-is)" 404
expect "release not assigned to this device (404)" "$(req GET "/acme/controller/v1/b2/softwaremodules/$R1/artifacts/gw-1.0.zip" "TargetToken $TB2")" 404
expect "no token (401)" "$(req GET "$P" "")" 401
expect "FILE.MD5SUM: md5sum -c input (200)" "$(req GET "$P.MD5SUM" "TargetToken $T1"; cat "$work/body")" "200$(md5sum "$keys/signed.zip" | cut -d' ' -f1)  ${P##*/}"
expect "MD5SUM of another device's release (404)" "$(req GET "/acme/controller/v1/b2/softwaremodules/$R1/artifacts/gw-1.0.zip.MD5SUM" "TargetToken $TB2")" 404

# ---- DDI: feedback ----
FB="$D/deploymentBase/$AID/feedback"
fb() { jreq POST "$FB" "TargetToken $T1" "$1"; }
expect "proceeding with progress (200)" "$(fb "{\"id\":\"$AID\",\"time\":\"20261125T100000\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\",\"progress\":{\"cnt\":1,\"of\":3}},\"details\":[\"downloading\"]}}")" 200
expect "downloaded (200)" "$(fb '{"status":{"execution":"downloaded","result":{"finished":"none"}}}')" 200
expect "unknown execution (400)" "$(fb '{"status":{"execution":"exploded","result":{"finished":"none"}}}')" 400
expect "unknown key (400)" "$(fb '{"status":{"execution":"closed","result":{"finished":"success"}},"evil":1}')" 400
expect "malformed JSON (400)" "$(fb '{"status":')" 400
expect "id of another action (400)" "$(fb '{"id":"99999","status":{"execution":"closed","result":{"finished":"success"}}}')" 400
expect "deep nesting (400)" "$(fb "$(printf '%.0s[' $(seq 50))")" 400
expect "still running" "$(db "SELECT status FROM actions WHERE id = $AID")" running
expect "closed/success (200)" "$(fb '{"status":{"execution":"closed","result":{"finished":"success"},"details":["done"]}}')" 200
expect "finished/success recorded" "$(db "SELECT status || '/' || result FROM actions WHERE id = $AID")" finished/success
expect "the same closing feedback again (200, idempotent)" "$(fb '{"status":{"execution":"closed","result":{"finished":"success"}}}')" 200
expect "other feedback on a closed action (410)" "$(fb '{"status":{"execution":"proceeding","result":{"finished":"none"}}}')" 410
expect "history has the feedback" "$(req GET /api/v1/tenants/acme/devices/d1/history "$VIEW" >/dev/null; body '.actions[0].feedback | map(.execution) | join(",")')" proceeding,downloaded,closed
expect "progress kept" "$(body '.actions[0].feedback[0].progress.of')" 3
expect "installed version" "$(req GET /api/v1/tenants/acme/devices/d1 "$VIEW" >/dev/null; body .version)" 1.0
expect "installedBase link" "$(req GET "$D" "TargetToken $T1" >/dev/null; body '._links | keys | join(",")')" configData,installedBase
expect "installedBase (200)" "$(req GET "$D/installedBase/$AID" "TargetToken $T1"; body .id)" "200$AID"

# ---- DDI: configData ----
CD="$D/configData"
expect "configData merge (200)" "$(jreq PUT "$CD" "TargetToken $T1" '{"mode":"merge","data":{"hw":"rev2","serial":"42"}}')" 200
expect "configData link gone once sent" "$(req GET "$D" "TargetToken $T1" >/dev/null; body '._links | has("configData")')" false
jreq PUT "$CD" "TargetToken $T1" '{"mode":"remove","data":{"serial":""}}' >/dev/null
jreq PUT "$CD" "TargetToken $T1" '{"data":{"fw":"1.0"}}' >/dev/null
expect "attributes after merge/remove/merge" "$(req GET /api/v1/tenants/acme/devices/d1 "$VIEW" >/dev/null; body '.attributes | to_entries | map("\(.key)=\(.value)") | join(",")')" fw=1.0,hw=rev2
jreq PUT "$CD" "TargetToken $T1" '{"mode":"replace","data":{"only":"this"}}' >/dev/null
expect "replace" "$(req GET /api/v1/tenants/acme/devices/d1 "$VIEW" >/dev/null; body '.attributes | keys | join(",")')" only
expect "filter by attribute" "$(req GET '/api/v1/tenants/acme/devices?attribute=only=this' "$VIEW" >/dev/null; body '[.devices[].controller_id] | join(",")')" d1
expect "non-string value (400)" "$(jreq PUT "$CD" "TargetToken $T1" '{"data":{"n":1}}')" 400
expect "bad mode (400)" "$(jreq PUT "$CD" "TargetToken $T1" '{"mode":"wipe","data":{}}')" 400
expect "POST configData (405)" "$(jreq POST "$CD" "TargetToken $T1" '{"data":{}}')" 405

# ---- cancel ----
AB1=$(db "SELECT id FROM actions WHERE device_id = (SELECT id FROM devices WHERE controller_id = 'b1')")
expect "cancel a scheduled action: canceled at once" "$(req POST "/api/v1/tenants/acme/actions/$AB1/cancel" "$OP"; body .status)" 200canceled
expect "cancel it again (409)" "$(req POST "/api/v1/tenants/acme/actions/$AB1/cancel" "$OP")" 409
expect "viewer may not cancel (403)" "$(req POST "/api/v1/tenants/acme/actions/$AB1/cancel" "$VIEW")" 403
jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"b2\"]}" >/dev/null
AB2=$(body '.actions[0].id')
B2="/acme/controller/v1/b2"
req GET "$B2/deploymentBase/$AB2" "TargetToken $TB2" >/dev/null
expect "cancel a running action: canceling" "$(req POST "/api/v1/tenants/acme/actions/$AB2/cancel" "$OP"; body .status)" 200canceling
expect "poll offers cancelAction" "$(req GET "$B2" "TargetToken $TB2" >/dev/null; body '._links | has("cancelAction") and (has("deploymentBase") | not)')" true
expect "cancelAction (200)" "$(req GET "$B2/cancelAction/$AB2" "TargetToken $TB2"; body '.id + "/" + .cancelAction.stopId')" "200$AB2/$AB2"
expect "deploymentBase of a canceling action (404)" "$(req GET "$B2/deploymentBase/$AB2" "TargetToken $TB2")" 404
expect "installedBase of an open action (404)" "$(req GET "$B2/installedBase/$AB2" "TargetToken $TB2")" 404
expect "cancelAction of an action not being canceled (404)" "$(req GET "$D/cancelAction/$AID" "TargetToken $T1")" 404
expect "cancel feedback closed (200)" "$(jreq POST "$B2/cancelAction/$AB2/feedback" "TargetToken $TB2" '{"status":{"execution":"closed","result":{"finished":"success"}}}')" 200
expect "action canceled" "$(db "SELECT status FROM actions WHERE id = $AB2")" canceled
expect "deployment feedback after cancel (410)" "$(jreq POST "$B2/deploymentBase/$AB2/feedback" "TargetToken $TB2" '{"status":{"execution":"proceeding","result":{"finished":"none"}}}')" 410
expect "no action offered after cancel" "$(req GET "$B2" "TargetToken $TB2" >/dev/null; body '._links | has("deploymentBase") or has("cancelAction")')" false

# ---- cancel refused, then cancel failed ----
jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"b2\"]}" >/dev/null
AB4=$(body '.actions[0].id')
req GET "$B2/deploymentBase/$AB4" "TargetToken $TB2" >/dev/null
req POST "/api/v1/tenants/acme/actions/$AB4/cancel" "$OP" >/dev/null
expect "cancel rejected by the device (200)" "$(jreq POST "$B2/cancelAction/$AB4/feedback" "TargetToken $TB2" '{"status":{"execution":"rejected","result":{"finished":"none"}}}')" 200
expect "action runs on" "$(db "SELECT status FROM actions WHERE id = $AB4")" running
req POST "/api/v1/tenants/acme/actions/$AB4/cancel" "$OP" >/dev/null
expect "cancel failed on the device (200)" "$(jreq POST "$B2/cancelAction/$AB4/feedback" "TargetToken $TB2" '{"status":{"execution":"closed","result":{"finished":"failure"}}}')" 200
expect "action ends in error" "$(db "SELECT status || '/' || result FROM actions WHERE id = $AB4")" error/failure

# ---- failure path ----
jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"b2\"]}" >/dev/null
AB3=$(body '.actions[0].id')
expect "closed/failure (200)" "$(jreq POST "$B2/deploymentBase/$AB3/feedback" "TargetToken $TB2" '{"status":{"execution":"closed","result":{"finished":"failure"},"details":["hash mismatch"]}}')" 200
expect "error/failure recorded" "$(db "SELECT status || '/' || result FROM actions WHERE id = $AB3")" error/failure

# ---- many devices at once: polls and feedback in parallel, no error, no lost row ----
for i in $(seq 1 40); do printf 'p%02d,gw-a,load\n' "$i"; done > "$work/load.csv"
req POST /api/v1/tenants/acme/devices/bulk "$OP" -H 'Content-Type: text/csv' --data-binary @"$work/load.csv" >/dev/null
jq -r '.devices[] | "\(.controller_id) \(.token)"' "$work/body" > "$work/load.tokens"
jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"group\":\"load\"}" >/dev/null
poll_and_close() { # poll_and_close CID TOKEN: poll, read the deployment, report success
  local base="$URL/acme/controller/v1/$1" h="Authorization: TargetToken $2" id
  id=$(curl -s -m 20 -H "$h" "$base" | jq -r '._links.deploymentBase.href' | sed 's|.*/||')
  curl -s -m 20 -o /dev/null -H "$h" "$base/deploymentBase/$id"
  curl -s -m 20 -o /dev/null -w '%{http_code}\n' -H "$h" -H 'Content-Type: application/json' \
    -d '{"status":{"execution":"closed","result":{"finished":"success"}}}' "$base/deploymentBase/$id/feedback"
}
export -f poll_and_close
export URL
# shellcheck disable=SC2016 # \$0 \$1: the inner bash's arguments
codes=$(xargs -P 16 -L 1 bash -c 'poll_and_close "$0" "$1"' < "$work/load.tokens" | sort | uniq -c | tr -s ' ')
expect "40 devices in parallel: every feedback 200" "$codes" " 40 200"
expect "40 actions finished/success" "$(db "SELECT count(*) FROM actions a JOIN devices d ON d.id = a.device_id WHERE d.controller_id LIKE 'p%' AND a.status = 'finished' AND a.result = 'success'")" 40

# ---- other paths ----
expect "unknown path (404)" "$(req GET /nothing/here "")" 404
expect "device delete (204)" "$(req DELETE /api/v1/tenants/acme/devices/b3 "$OP")" 204
expect "deleted device cannot poll (401)" "$(req GET /acme/controller/v1/b3 "TargetToken $(db 'SELECT 1' >/dev/null; echo x)")" 401
expect "audit has the fleet actions" "$(db "SELECT count(DISTINCT action) FROM audit_log WHERE action IN ('device.create','device.bulk','release.create','deployment.create','action.cancel','gateway.rotate','release.delete','device.delete')")" 8

stop_server
finish
