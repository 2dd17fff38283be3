#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The reference local update page (web/device/, `otter-agentd ui`) in Debian's chromium
# (npm playwright-core, tests/integration/web/device_page.test.mjs) against a simulated
# device (file slots) whose daemon polls a real otter-server on 127.0.0.1: login, the running
# version, the offer (download and update "attempt"), Download with its progress, Start
# disabled on a low, discharging battery with the reason shown, the charger in, Start with its
# confirmation, the reboot prompt; then the slot and the server agree.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
command -v node > /dev/null || die "node is missing (make deps)"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing (make deps)"
[ -f "$OTTER_SOURCE_DIR/web/node_modules/playwright-core/package.json" ] ||
  (cd "$OTTER_SOURCE_DIR/web" && npm ci --no-audit --no-fund --ignore-scripts > /dev/null)
ddi_setup device-page
ddi_pkg 2.0 2 2000000
release 2.0 > /dev/null
d="$work/dev"
ddi_device "$d" gw-0001
sock=$work/control.sock
mkdir -p "$work/bat"
echo 15 > "$work/bat/capacity"; echo Discharging > "$work/bat/status"
hash=$(printf 'page-pass-1\n' | "$agentd" ui --hash-password)
cat >> "$d/agent.conf" <<CONF
[control]
socket = $sock
[preconditions]
power_supply = $work/bat
min_battery = 30
need_charging = yes
[ui]
listen = 127.0.0.1:0
password_hash = $hash
web_dir = $OTTER_SOURCE_DIR/web/device
upload_dir = $d/upload
CONF
before=$(device_print "$d")
act=$(deploy 2.0 gw-0001 '"download":"attempt","update":"attempt"')
front_pid=
trap '[ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null; ddi_cleanup' EXIT
setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || die "the control socket did not appear: $(tail -3 "$work/daemon.log")"
"$agentd" -c "$d/agent.conf" ui > "$work/front.out" 2> "$work/front.err" & front_pid=$!
for _ in $(seq 200); do grep -q '^listening on ' "$work/front.out" && break; sleep 0.05; done
F=$(sed -n 's/^listening on //p' "$work/front.out")
[ -n "$F" ] || die "the front did not listen: $(cat "$work/front.err")"
mkdir -p "$OTTER_BUILD_DIR/test-output/device-page"
rc=0
BASE_URL=$F PAGE_PW=page-pass-1 BAT_DIR=$work/bat OUT_DIR=$OTTER_BUILD_DIR/test-output/device-page \
  node "$OTTER_SOURCE_DIR/tests/integration/web/device_page.test.mjs" || rc=$?
expect "the browser test passed" "$rc" 0
[ "$rc" = 0 ] || tail -20 "$work/daemon.log"
expect "slot B holds 2.0" "$(head -c 11 "$d/b")" "version 2.0"
[ "$(device_print "$d")" != "$before" ] && ok "the device changed" || bad "nothing installed"
expect "the reboot was asked for" "$([ -e "$d/reboot-requested" ] && echo yes)" yes
expect "the server heard otter.user=started" \
  "$(action "$act" '[.feedback[] | select(.details[0] == "otter.user=started")] | length')" 1
finish
