#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a dashboard browser test: a fresh SQLite database, a real
# `otter-server serve` on 127.0.0.1 (port picked by the server) with a trust
# root and two signed packages made with the `otter` tool, Debian's chromium
# driven by npm playwright-core.
#   dashboard.sh [TEST]   TEST: dashboard (accounts, default) or fleet (devices, releases, rollouts)
#   (also windows, caps; campaign through campaign.sh, which adds [push] with OTTER_WEB_SERVER_CONF)
# runs tests/integration/web/TEST.test.mjs.
# Screenshots: $OTTER_BUILD_DIR/test-output/dashboard/*.png (fleet ones start with fleet-… and the page).
set -euo pipefail
TEST=${1:-dashboard}

: "${OTTER_BUILD_DIR:?}" "${OTTER_SOURCE_DIR:?}"
TMP_BASE=${OTTER_TEST_TMP:-/tmp}
SERVER="$OTTER_BUILD_DIR/src/server/otter-server"
WEB="$OTTER_SOURCE_DIR/web"
OUT="$OTTER_BUILD_DIR/test-output/dashboard"

# Debian's chromium (the Makefile's DEB_PACKAGES should list it; installed here when missing).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "dashboard: /usr/bin/chromium missing; install the Debian package chromium (as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
command -v node >/dev/null || { echo "dashboard: node is missing" >&2; exit 1; }
# playwright-core as pinned in web/package-lock.json (node_modules is not committed).
if [ ! -f "$WEB/node_modules/playwright-core/package.json" ]; then
  (cd "$WEB" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
fi

DIR="$TMP_BASE/web_$TEST.$$"
rm -rf "$DIR"
mkdir -p "$DIR" "$OUT"
# Each test replaces its own screenshots only (the other test's stay).
if [ "$TEST" = dashboard ]; then
  find "$OUT" -maxdepth 1 -name '*.png' ! -name 'fleet-*' -delete
else
  find "$OUT" -maxdepth 1 -name "$TEST-*.png" -delete
fi
SERVER_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# Release keys, the server's trust root and signed packages (as tests/integration/server/fleet.sh).
OTTER="$OTTER_BUILD_DIR/bin/otter"
"$OTTER" keygen --type ed25519 --out "$DIR/release" >/dev/null
"$OTTER" root new --pubkey "$DIR/release.pub" --threshold 1 -o "$DIR/root.json" >/dev/null
head -c 200000 /dev/urandom >"$DIR/rootfs-1.img"
head -c 3000000 /dev/urandom >"$DIR/rootfs-2.img"
"$OTTER" pack --product gw --compatible gw-a,gw-b --version 1.0.0 --security-version 3 \
  --image rootfs="$DIR/rootfs-1.img" --key "$DIR/release.key" -o "$DIR/gw-1.0.0.zip" >/dev/null
# Stored (not compressed): big enough for the upload progress bar to move.
"$OTTER" pack --product gw --compatible gw-a,gw-b --version 2.0.0 --security-version 4 \
  --image rootfs="$DIR/rootfs-2.img":compression=none --key "$DIR/release.key" -o "$DIR/gw-2.0.0.zip" >/dev/null
# A delta package from 1.0.0 to 2.0.0 (the release page lists it).
"$OTTER" delta --from "$DIR/gw-1.0.0.zip" --to "$DIR/gw-2.0.0.zip" --key "$DIR/release.key" \
  --root "$DIR/root.json" -o "$DIR/gw-2.0.0.from-1.0.0.delta.zip" >/dev/null
"$OTTER" pack --product gw --compatible gw-a --version 2.0.1 --security-version 4 \
  --image rootfs="$DIR/rootfs-1.img" -o "$DIR/unsigned.zip" >/dev/null

cat >"$DIR/server.conf" <<CONF
[http]
listen = 127.0.0.1:0
[database]
url = sqlite:$DIR/otter.db
[storage]
artifacts = $DIR/artifacts
[trust]
root = $DIR/root.json
[auth]
; the pagination step makes 26 failed logins from 127.0.0.1
login_max_failures_addr = 1000
[ddi]
polling = 1s
CONF
# A caller's own sections (campaign.sh: [push] broker of its mosquitto).
[ -z "${OTTER_WEB_SERVER_CONF:-}" ] || printf '%s\n' "$OTTER_WEB_SERVER_CONF" >>"$DIR/server.conf"

ADMIN_PASSWORD="admin-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
OTTER_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$SERVER" init --config "$DIR/server.conf" >/dev/null
"$SERVER" serve --config "$DIR/server.conf" --ready-file "$DIR/ready" 2>"$DIR/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  [ -s "$DIR/ready" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$DIR/ready" ] || { echo "dashboard: server did not start" >&2; cat "$DIR/server.log" >&2; exit 1; }
BASE_URL=$(head -n1 "$DIR/ready")

status=0
BASE_URL="$BASE_URL" OUT_DIR="$OUT" ADMIN_PASSWORD="$ADMIN_PASSWORD" PKG_DIR="$DIR" DB="$DIR/otter.db" \
  node "$OTTER_SOURCE_DIR/tests/integration/web/$TEST.test.mjs" || status=$?
# A clean stop is part of the test: under ASan a leak or UB report makes it fail.
kill -TERM "$SERVER_PID"
server_status=0
wait "$SERVER_PID" || server_status=$?
SERVER_PID=
if [ "$server_status" != 0 ]; then
  echo "dashboard: otter-server exited with $server_status after SIGTERM" >&2
  status=1
fi
if [ "$status" != 0 ]; then
  echo "--- server log ---" >&2
  tail -n 50 "$DIR/server.log" >&2
fi
exit "$status"
