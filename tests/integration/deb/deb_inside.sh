#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run by deb_chroot.sh inside the clean bookworm chroot where the built packages are
# installed: only the packaged programs (/usr/bin), the packaged server.conf and the
# system user otter. The server runs as otter on 127.0.0.1 (the chroot shares the host's
# network: port 0, a free one); a release made with the packaged `otter` goes over the air
# to a directory device run by the packaged otter-agentd, otter-fetch and otter-agent.
set -euo pipefail
# lib.sh reads these; the programs under test are the packaged ones in /usr/bin.
export OTTER_SOURCE_DIR=/otter-test OTTER_BUILD_DIR=/nonexistent
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/lib/agent_conf.sh"
server_bin=/usr/bin/otter-server
otter=/usr/bin/otter
agent=/usr/bin/otter-agent
agentd=/usr/bin/otter-agentd
work=/tmp/deb-test
mkdir -p "$work"
trap 'kill -TERM "${server_pid:-}" 2>/dev/null || true' EXIT

# Release keys, the trust root the server and the device share, two releases.
keys=$work/keys
mkdir -p "$keys"
"$otter" keygen --out "$keys/r1" >/dev/null
"$otter" root new --pubkey "$keys/r1.pub" -o /etc/otter/root.json >/dev/null
head -c 200000 /usr/bin/otter-server > "$keys/v2.img"
head -c 100000 /usr/bin/otter > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
  --image rootfs="$keys/v2.img" --key "$keys/r1.key" -o "$keys/update.zip" >/dev/null
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 \
  --image rootfs="$keys/v1.img" --key "$keys/r1.key" -o "$keys/v1.zip" >/dev/null
expect "packaged otter verifies its own package" \
  "$("$otter" verify "$keys/update.zip" --trust /etc/otter/root.json --model gw-a >/dev/null 2>&1 && echo ok)" ok

# The packaged server.conf as shipped, but on a free loopback port and with the trust root.
sed -i 's/^listen = .*/listen = 127.0.0.1:0/' /etc/otter/server.conf
printf '[trust]\nroot = /etc/otter/root.json\n' >> /etc/otter/server.conf
OTTER_ADMIN_PASSWORD="$ADMIN_PW" runuser -u otter -- "$server_bin" init --config /etc/otter/server.conf >/dev/null
expect "database created by init as otter" "$(stat -c %U /var/lib/otter-server/otter.db)" otter
# setpriv execs the server itself (runuser would stay its parent and die of the SIGTERM).
setpriv --reuid=otter --regid=otter --init-groups -- "$server_bin" serve --config /etc/otter/server.conf \
  --ready-file /var/lib/otter-server/ready 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s /var/lib/otter-server/ready ] && break; sleep 0.1; done
URL=$(head -1 /var/lib/otter-server/ready 2>/dev/null || true)
[ -n "$URL" ] || { cat "$work/server.log"; die "packaged otter-server did not start"; }
ok "packaged otter-server serves on $URL as otter"

A=$(login admin "$ADMIN_PW")
expect "tenant created" "$(jreq POST /api/v1/tenants "$A" '{"name":"acme"}')" 201
expect "device provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"gw-0001","model":"gw-a"}')" 201
TOKEN=$(body .token)
R=$(upload acme "$A" "$keys/update.zip")
expect "deployment created" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$R,\"devices\":[\"gw-0001\"]}")" 201
ACTION=$(body '.actions[0].id')

dev=$work/dev
mkdir -p "$dev"; : > "$dev/a"; : > "$dev/b"
agent_conf "$dev" /etc/otter/root.json "$dev/a" "$dev/b"
agent_conf_server "$dev" "$URL" gw-0001 target_token "$TOKEN"
"$agent" -c "$dev/agent.conf" factory "$keys/v1.zip" >/dev/null 2>&1 || die "factory install of 1.0"
"$agent" bootsim --root "$dev" >/dev/null
rc=0; out=$("$agentd" -c "$dev/agent.conf" run --once 2>&1) || rc=$?
[ "$rc" = 0 ] && [ -e "$dev/reboot-requested" ] && ok "otter-agentd (with otter-fetch) installed the deployment" \
  || bad "otter-agentd run --once: rc=$rc $out"
expect "new slot boots and commits" "$("$agent" bootsim --root "$dev")" "booted slot B: update committed"
rc=0; "$agent" -c "$dev/agent.conf" run --once >/dev/null 2>&1 || rc=$?
expect "result reported" "$rc" 0
status=$("$agent" -c "$dev/agent.conf" status --json)
expect "otter-agent status: 2.0 runs" "$(jq -r '.slots[.booted].version' <<<"$status")" 2.0
req GET "/api/v1/tenants/acme/actions/$ACTION" "$A" >/dev/null
expect "server records finished/success" "$(body '.status + "/" + .result')" finished/success
kill -TERM "$server_pid"; rc=0; wait "$server_pid" || rc=$?; server_pid=
expect "server exits 0 on SIGTERM" "$rc" 0
finish
