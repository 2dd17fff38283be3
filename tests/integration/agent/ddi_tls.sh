#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd over HTTPS to a real otter-server (listen_tls) on 127.0.0.1:
# with the test CA and the server key's pin the whole cycle works (poll,
# download, feedback); a wrong pin, a wrong CA and an expired certificate
# are refused (exit 1) by the daemon and by the installer's download before
# any payload byte: the inactive slot file, state and boot variables stay
# byte for byte as they were.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
ddi_setup ddi-tls
ddi_pkg 2.0 2 1000000; release 2.0 >/dev/null
ddi_pkg 3.0 3 1000000; release 3.0 >/dev/null
# The same server, now also on HTTPS.
ddi_https

d="$work/dev"
ddi_device "$d" gw-0001 "$TLS_URL" "ca = $work/tls/ca.crt
pin = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;$pin"

# 1. The right CA and (one of several) pins: a full cycle over HTTPS.
act=$(deploy 2.0 gw-0001)
expect "install over HTTPS" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "HTTPS cycle: finished/success" "$(action "$act" '.status + "/" + .result') closed=$(closed_count "$act")" \
  "finished/success closed=1"

# The next deployment is offered; each bad TLS setup must leave it alone.
act=$(deploy 3.0 gw-0001)
token=$(sed -n 's/^target_token = //p' "$d/agent.conf")
artifact=$(curl -s -m 20 --cacert "$work/tls/ca.crt" -H "Authorization: TargetToken $token" \
  "$TLS_URL/acme/controller/v1/gw-0001/deploymentBase/$act" | jq -r '.deployment.chunks[0].artifacts[0]._links.download.href')
[[ $artifact == https://* ]] && ok "artifact link is HTTPS" || bad "artifact link: $artifact"
inactive=$( [ "$(booted "$d")" = A ] && echo b || echo a )
slot_print() { { sha256sum < "$d/$inactive"; stat -c %Y.%s "$d/$inactive"; device_print "$d"; } | sha256sum; }
cp "$d/agent.conf" "$work/agent.conf.good"

# refused NAME CA PIN [URL]: the daemon (poll) and the installer (download) both refuse.
refused() {
  local name=$1 ca=$2 pin=$3 url=${4:-$TLS_URL} art=${5:-$artifact}
  local before; before=$(slot_print)
  cp "$work/agent.conf.good" "$d/agent.conf"
  sed -i "s|^ca = .*|ca = $ca|; s|^pin = .*|pin = $pin|" "$d/agent.conf"
  ddi_url "$d" "$url"
  local rc; rc=$(cycle "$d")
  [ "$rc" = 1 ] && grep -q "TLS verification failed" "$work/cycle.log" && ok "$name: daemon refused (exit 1)" \
    || bad "$name: daemon rc=$rc $(cat "$work/cycle.log")"
  local args=(--ca "$ca"); [ -n "$pin" ] && args+=(--pin "$pin")
  rc=0; out=$("$agent" -c "$d/agent.conf" install --no-reboot "${args[@]}" \
    --header "Authorization: TargetToken $token" "$art" 2>&1) || rc=$?
  [ "$rc" = 1 ] && [[ $out == *"TLS verification failed"* ]] && ok "$name: installer's download refused (exit 1)" \
    || bad "$name: install rc=$rc $out"
  expect "$name: inactive slot, state and boot variables untouched" "$(slot_print)" "$before"
}
refused "wrong pin" "$work/tls/ca.crt" "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
refused "wrong CA" "$work/tls/other-ca.crt" ""

# A second server with an expired certificate from the right CA.
mkdir -p "$work/expired"
cat > "$work/expired/server.conf" <<CONF
[http]
listen_tls = 127.0.0.1:0
tls_cert = $work/tls/expired.crt
tls_key = $work/tls/srv.key
[database]
url = sqlite:$work/expired/otter.db
[storage]
artifacts = $work/expired/artifacts
CONF
OTTER_ADMIN_PASSWORD="$ADMIN_PW" "$server_bin" init --config "$work/expired/server.conf" >/dev/null
"$server_bin" serve --config "$work/expired/server.conf" --ready-file "$work/expired/ready" 2>"$work/expired/log" &
expired_pid=$!
for _ in $(seq 100); do [ -s "$work/expired/ready" ] && break; sleep 0.1; done
EXP_URL=$(head -1 "$work/expired/ready")
refused "expired certificate" "$work/tls/ca.crt" "" "$EXP_URL" "$EXP_URL/acme/controller/v1/gw-0001/softwaremodules/1/artifacts/x.zip"
kill -TERM "$expired_pid"; wait "$expired_pid" || true

# Back to the right settings: the waiting deployment installs.
cp "$work/agent.conf.good" "$d/agent.conf"
expect "right settings again: install" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "deployment after the refusals: finished/success" "$(action "$act" '.status + "/" + .result')" finished/success

stop_server
finish
