#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd against a real otter-server on 127.0.0.1: a device polls with
# its TargetToken and sees nothing, then the deployment an operator assigned
# (action, modes, artifact with size and SHA-256 of the uploaded package); a
# wrong token is refused.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
need_packages jq curl
agentd="$OTTER_BUILD_DIR/bin/otter-agentd"

keys="${OTTER_TEST_TMP:-/tmp}/ddi-check-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'stop_server >/dev/null 2>&1 || true; rm -rf "$keys" "${work:-}"' EXIT
"$otter" keygen --out "$keys/r1" >/dev/null
"$otter" root new --pubkey "$keys/r1.pub" -o "$keys/root.json" >/dev/null
head -c 300000 "$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')" > "$keys/rootfs.img"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
  --image rootfs="$keys/rootfs.img" --key "$keys/r1.key" -o "$keys/update.zip" >/dev/null

start_server ddi-check "[trust]
root = $keys/root.json"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
expect "device provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"gw-0001","model":"gw-a"}')" 201
TOKEN=$(body .token)

conf() { # conf TOKEN -> agent.conf for the device
  mkdir -p "$work/dev/state"; : > "$work/dev/a"; : > "$work/dev/b"
  cat > "$work/dev/agent.conf" <<CONF
[device]
product = gw
model = gw-a
[trust]
root = $keys/root.json
[state]
dir = $work/dev/state
[boot]
backend = file
path = $work/dev/bootenv
cmdline = $work/dev/cmdline
[slot.rootfs]
a = $work/dev/a
b = $work/dev/b
[server]
url = $URL
tenant = acme
controller_id = gw-0001
target_token = $1
CONF
}
conf "$TOKEN"
out=$("$agentd" -c "$work/dev/agent.conf" check 2>&1) || true
[[ $out == *"no update offered"* ]] && [[ $out == *"poll every"* ]] && ok "nothing offered before a deployment" \
  || bad "before deployment: $out"

expect "release uploaded" "$(req POST /api/v1/tenants/acme/releases "$A" --data-binary @"$keys/update.zip")" 201
R=$(body .id)
expect "deployment created" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$R,\"devices\":[\"gw-0001\"]}")" 201
sha=$(sha256sum "$keys/update.zip" | cut -d' ' -f1)
size=$(stat -c %s "$keys/update.zip")
out=$("$agentd" -c "$work/dev/agent.conf" check 2>&1) || true
[[ $out == *"action "*": download forced, update forced"* ]] && [[ $out == *"$size bytes, sha256 $sha"* ]] \
  && [[ $out == *"from http://"* ]] && ok "deployment offered with the package's size and SHA-256" \
  || bad "deployment: $out"

conf "otd_0000000000000000000000000000000000000000000000000000000000000000"
rc=0; out=$("$agentd" -c "$work/dev/agent.conf" check 2>&1) || rc=$?
[ "$rc" = 2 ] && [[ $out == *"HTTP 401"* ]] && ok "wrong TargetToken refused (401)" || bad "wrong token: rc=$rc $out"

stop_server
finish
