#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd against a real otter-server on 127.0.0.1: a device polls with
# its TargetToken and sees nothing, then the deployment an operator assigned
# (action, modes, artifact with size and SHA-256 of the uploaded package); a
# wrong token is refused. Then the whole cycle over the air: the daemon
# downloads and installs, the device reboots (boot simulator), boot-check
# commits, and the daemon reports success once; the server records it.
# `otter-agent run` is the same daemon (otter-agent hands it to otter-agentd).
# A second device authenticates with the tenant's GatewayToken instead of a
# TargetToken and runs the same cycle; agent.conf with both tokens is refused.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/lib/agent_conf.sh"
need_packages jq curl
agentd="$OTTER_BUILD_DIR/bin/otter-agentd"

keys="${OTTER_TEST_TMP:-/tmp}/ddi-check-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'stop_server >/dev/null 2>&1 || true; rm -rf "$keys" "${work:-}"' EXIT
"$otter" keygen --out "$keys/r1" >/dev/null
"$otter" root new --pubkey "$keys/r1.pub" -o "$keys/root.json" >/dev/null
agent="$OTTER_BUILD_DIR/bin/otter-agent"
head -c 300000 "$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')" > "$keys/rootfs.img"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
  --image rootfs="$keys/rootfs.img" --key "$keys/r1.key" -o "$keys/update.zip" >/dev/null
head -c 100000 /etc/services > "$keys/v1.img" 2>/dev/null || head -c 100000 "$keys/rootfs.img" > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 \
  --image rootfs="$keys/v1.img" --key "$keys/r1.key" -o "$keys/v1.zip" >/dev/null

start_server ddi-check "[trust]
root = $keys/root.json"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
expect "device provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"gw-0001","model":"gw-a"}')" 201
TOKEN=$(body .token)

conf() { # conf TOKEN [KEY] [DIR] [CONTROLLER] -> DIR/agent.conf (default: $work/dev, gw-0001, target_token)
  local dev=${3:-$work/dev}
  mkdir -p "$dev"; : > "$dev/a"; : > "$dev/b"
  agent_conf "$dev" "$keys/root.json" "$dev/a" "$dev/b"
  agent_conf_server "$dev" "$URL" "${4:-gw-0001}" "${2:-target_token}" "$1"
}
conf "$TOKEN"
out=$("$agentd" -c "$work/dev/agent.conf" check 2>&1) || true
[[ $out == *"no update offered"* ]] && [[ $out == *"poll every"* ]] && ok "nothing offered before a deployment" \
  || bad "before deployment: $out"

R=$(upload acme "$A" "$keys/update.zip")
expect "deployment created" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$R,\"devices\":[\"gw-0001\"]}")" 201
sha=$(sha256sum "$keys/update.zip" | cut -d' ' -f1)
size=$(stat -c %s "$keys/update.zip")
out=$("$agentd" -c "$work/dev/agent.conf" check 2>&1) || true
[[ $out == *"action "*": download forced, update forced"* ]] && [[ $out == *"$size bytes, sha256 $sha"* ]] \
  && [[ $out == *"from http://"* ]] && ok "deployment offered with the package's size and SHA-256" \
  || bad "deployment: $out"

ACTION=$(sed -n 's/^action \([0-9]*\):.*/\1/p' <<< "$out")

# Over the air: factory 1.0, the daemon installs 2.0, reboot, commit, report.
agent="$OTTER_BUILD_DIR/bin/otter-agent"
"$agent" -c "$work/dev/agent.conf" factory "$keys/v1.zip" >/dev/null 2>&1
"$agent" bootsim --root "$work/dev" >/dev/null
# The reboot command learns where the reboot goes (OTTER_SLOT) from the daemon as from `install`.
sed -i "s|^command = touch .*/reboot-requested|command = echo \"slot=\$OTTER_SLOT version=\$OTTER_VERSION\" > $work/dev/reboot-requested|" \
  "$work/dev/agent.conf"
rc=0; out=$("$agentd" -c "$work/dev/agent.conf" run --once 2>&1) || rc=$?
[ "$rc" = 0 ] && [ -e "$work/dev/reboot-requested" ] && ok "daemon installed the deployment and asked for a reboot" \
  || bad "daemon install: rc=$rc $out"
expect "the daemon's reboot command gets the slot it installed (OTTER_SLOT) and the version" \
  "$(cat "$work/dev/reboot-requested")" "slot=B version=2.0"
req GET "/api/v1/tenants/acme/actions/$ACTION" "$A" >/dev/null
expect "action still running before the reboot" "$(body .status)" running
out=$("$agent" bootsim --root "$work/dev")
expect "new slot boots and commits" "$out" "booted slot B: update committed"
# The report cycle through otter-agent: the same daemon, the same outcome.
[[ $("$agent" -c "$work/dev/agent.conf" run --help) == "usage: otter-agent [--config agent.conf] run"* ]] \
  && ok "otter-agent run --help is otter-agent's own" || bad "otter-agent run --help"
rc=0; out=$("$agent" -c "$work/dev/agent.conf" run --once 2>&1) || rc=$?
expect "otter-agent run --once exits 0 like otter-agentd run --once" "$rc" 0
req GET "/api/v1/tenants/acme/actions/$ACTION" "$A" >/dev/null
expect "server records finished/success after the reboot (otter-agent run --once)" "$(body '.status + "/" + .result')" finished/success
expect "result sent once (nothing left to report)" "$(jq -r ".action // \"gone\"" "$work/dev/state/ddi.json" 2>/dev/null || echo gone)" gone
rc=0; out=$("$agentd" -c "$work/dev/agent.conf" run --once 2>&1) || rc=$?
req GET "/api/v1/tenants/acme/actions/$ACTION" "$A" >/dev/null
expect "no second closed feedback" "$(body '[.feedback[] | select(.execution == "closed")] | length')" 1

rc=0; out=$("$agent" -c "$work/dev/agent.conf" run --once --bogus 2>&1) || rc=$?
[ "$rc" = 2 ] && [[ $out == *'otter-agentd run: unknown option "--bogus"'* ]] \
  && ok "otter-agent run passes its options to otter-agentd run" || bad "run --bogus: rc=$rc $out"

# GatewayToken: one token for the tenant, every DDI request and the download carry it.
expect "gateway token created" "$(jreq POST /api/v1/tenants/acme/gateway-token "$A" '{}')" 201
GW=$(body .token)
expect "second device provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"gw-0002","model":"gw-a"}')" 201
gdev="$work/gwdev"
conf "$GW" gateway_token "$gdev" gw-0002
grep -q '^target_token' "$gdev/agent.conf" && bad "gateway device has a target_token" || true
"$agent" -c "$gdev/agent.conf" factory "$keys/v1.zip" >/dev/null 2>&1
"$agent" bootsim --root "$gdev" >/dev/null
expect "deployment to the gateway device" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$R,\"devices\":[\"gw-0002\"]}")" 201
GACT=$(body '.actions[0].id')
rc=0; out=$("$agentd" -c "$gdev/agent.conf" run --once 2>&1) || rc=$?
[ "$rc" = 0 ] && [ -e "$gdev/reboot-requested" ] && ok "GatewayToken: polled, downloaded and installed" \
  || bad "gateway install: rc=$rc $out"
expect "GatewayToken: new slot boots and commits" "$("$agent" bootsim --root "$gdev")" "booted slot B: update committed"
rc=0; out=$("$agentd" -c "$gdev/agent.conf" run --once 2>&1) || rc=$?
expect "GatewayToken: report cycle exits 0" "$rc" 0
rc=0; out=$("$agentd" -c "$gdev/agent.conf" run --once 2>&1) || rc=$?
req GET "/api/v1/tenants/acme/actions/$GACT" "$A" >/dev/null
expect "GatewayToken: server records finished/success" "$(body '.status + "/" + .result')" finished/success
expect "GatewayToken: exactly one closed feedback" \
  "$(body '[.feedback[] | select(.execution == "closed")] | length')" 1
expect "GatewayToken: configData arrived" \
  "$(req GET /api/v1/tenants/acme/devices/gw-0002 "$A" >/dev/null; body '.attributes.version + "/" + .attributes.slot')" "2.0/B"
echo "target_token = $TOKEN" >> "$gdev/agent.conf"
rc=0; out=$("$agentd" -c "$gdev/agent.conf" check 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"agent.conf:"*": [server] target_token: gateway_token is set too"* ]] \
  && ok "agent.conf with both tokens refused" || bad "both tokens: rc=$rc $out"
conf "otd_0000000000000000000000000000000000000000000000000000000000000000" gateway_token "$gdev" gw-0002
rc=0; out=$("$agentd" -c "$gdev/agent.conf" check 2>&1) || rc=$?
[ "$rc" = 2 ] && [[ $out == *"HTTP 401"* ]] && ok "wrong GatewayToken refused (401)" || bad "wrong gateway token: rc=$rc $out"

conf "otd_0000000000000000000000000000000000000000000000000000000000000000"
rc=0; out=$("$agentd" -c "$work/dev/agent.conf" check 2>&1) || rc=$?
[ "$rc" = 2 ] && [[ $out == *"HTTP 401"* ]] && ok "wrong TargetToken refused (401)" || bad "wrong token: rc=$rc $out"

stop_server
finish
