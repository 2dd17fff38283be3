#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The local update page (web/device/, `otter-agentd ui`) in Debian's chromium (npm
# playwright-core, device_upload.test.mjs), two simulated devices polling a real otter-server:
#   device 1 ("dl", through otter_faultproxy, download throttled to 128 KiB/s): Download of
#     an offered 2.0; the progress bar moves (read at several points); the proxy cuts the
#     download's connection at 60 % and the download resumes (a Range request from where it
#     was) to "ready to install";
#   device 2 ("up", [ui] max_upload_mb = 1): "Upload update.zip" of a file over the limit
#     (refused with the limit named), of a package signed by a key the device does not trust
#     (refused with the installer's reason; slot, state and boot variables untouched), and
#     of a good package (installed into slot B, the reboot prompt). The upload directory is
#     empty after each one: the temporary file is removed in every case.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
command -v node > /dev/null || die "node is missing (make deps)"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing (make deps)"
[ -f "$OTTER_SOURCE_DIR/web/node_modules/playwright-core/package.json" ] ||
  (cd "$OTTER_SOURCE_DIR/web" && npm ci --no-audit --no-fund --ignore-scripts > /dev/null)
ddi_setup device-upload
# 2.0: 2 MB that do not compress, in 64 KiB chunks (progress comes per verified chunk),
# downloaded at 128 KiB/s (about 16 s): the page sees it move.
{ echo "version 2.0"; head -c 2000000 /dev/urandom; } | head -c 2000000 > "$keys/2.0.img"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
  --chunk-size 64KiB --image rootfs="$keys/2.0.img" --key "$keys/r1.key" -o "$keys/2.0.zip" > /dev/null
release 2.0 > /dev/null
ddi_pkg 3.0 3 200000
# The same package signed by a key outside the device's trust root.
"$otter" keygen --out "$keys/stranger" > /dev/null
"$otter" pack --product gw --compatible gw-a --version 3.0 --security-version 3 \
  --image rootfs="$keys/3.0.img" --key "$keys/stranger.key" -o "$keys/3.0-stranger.zip" > /dev/null
head -c 2000000 /dev/urandom > "$keys/too-big.zip"
hash=$(printf 'page-pass-2\n' | "$agentd" ui --hash-password)

# ui_conf DIR SOCK: [control] and [ui] for a device whose front listens on a free port.
ui_conf() {
  cat >> "$1/agent.conf" <<CONF
[control]
socket = $2
[ui]
listen = 127.0.0.1:0
password_hash = $hash
web_dir = $OTTER_SOURCE_DIR/web/device
upload_dir = $1/upload
${3:-}
CONF
}

size=$(stat -c %s "$keys/2.0.zip")
cut=$((size * 6 / 10))
# Every connection that carries more than 60 % of the package is cut there (the polls are far
# smaller): the download's first connection; its resumption carries only the last 40 %.
cuts=$(printf "$cut%.0s," $(seq 1000)); cuts=${cuts%,}
start_proxy --cut "$cuts"
d1="$work/dl"; d2="$work/up"
ddi_device "$d1" gw-0001 "$proxy_url" $'max_rate_kib = 128\nstall_timeout = 5'
ddi_device "$d2" gw-0002
ui_conf "$d1" "$work/c1.sock"
ui_conf "$d2" "$work/c2.sock" "max_upload_mb = 1"
act=$(deploy 2.0 gw-0001 '"download":"attempt","update":"attempt"')
fronts=()
trap 'for p in "${fronts[@]}"; do kill "$p" 2>/dev/null; done; kill -KILL -- "-${pg1:-0}" 2>/dev/null; ddi_cleanup' EXIT
setsid "$agentd" -c "$d1/agent.conf" run > "$work/daemon1.log" 2>&1 & pg1=$!
setsid "$agentd" -c "$d2/agent.conf" run > "$work/daemon2.log" 2>&1 & daemon_pgid=$!
# front DIR N: starts the page's front of device DIR (in this shell: the trap stops it);
# its URL in $F<N>.
front() {
  for _ in $(seq 200); do [ -S "$work/c$2.sock" ] && break; sleep 0.05; done
  [ -S "$work/c$2.sock" ] || die "control socket $2 did not appear: $(tail -3 "$work/daemon$2.log")"
  "$agentd" -c "$1/agent.conf" ui > "$work/front$2.out" 2> "$work/front$2.err" & fronts+=($!)
  for _ in $(seq 200); do grep -q '^listening on ' "$work/front$2.out" && break; sleep 0.05; done
  printf -v "F$2" '%s' "$(sed -n 's/^listening on //p' "$work/front$2.out")"
}
F1='' F2=''
front "$d1" 1; front "$d2" 2
[ -n "$F1" ] && [ -n "$F2" ] || die "a front did not listen: $(cat "$work"/front*.err)"
before=$(device_print "$d2")
mkdir -p "$OTTER_BUILD_DIR/test-output/device-upload"
rc=0
DL_URL=$F1 UP_URL=$F2 PAGE_PW=page-pass-2 KEYS=$keys DEV2=$d2 \
  OUT_DIR=$OTTER_BUILD_DIR/test-output/device-upload \
  node "$OTTER_SOURCE_DIR/tests/integration/web/device_upload.test.mjs" || rc=$?
expect "the browser test passed" "$rc" 0
[ "$rc" = 0 ] || { tail -20 "$work/daemon1.log"; tail -20 "$work/daemon2.log"; cat "$work"/front*.err; }
# Device 1: the download was cut and resumed from where it was, never from zero.
expect "the proxy cut the download once" "$(grep -c '^cut' "$work/proxy.log" || true)" 1
ranged=$(awk -v c="$cut" '$1 == "request" && $3 == "GET" && /artifacts/ && $5 ~ /^range=bytes=[1-9]/ {n++} END {print n + 0}' "$work/proxy.log")
[ "$ranged" -ge 1 ] && ok "the download resumed with a Range request" ||
  bad "no resumed request: $(grep -E '^(request|response|cut)' "$work/proxy.log" | grep -v controller | head)"
n=$(action "$act" '[.feedback[] | select(.execution == "downloaded")] | length')
[ "$n" -ge 1 ] && ok "device 1: the server heard the download finished" || bad "no downloaded feedback ($n)"
expect "device 1: the package waits in the spool, nothing installed" \
  "$(head -c 11 "$d1/b" | tr -d '\0')" ""
# Device 2: the good upload was installed; the refused ones changed nothing before it.
expect "device 2: slot B holds 3.0" "$(head -c 11 "$d2/b")" "version 3.0"
[ "$(device_print "$d2")" != "$before" ] && ok "device 2 switched to the upload" || bad "nothing installed"
expect "device 2: the reboot was asked for" "$([ -e "$d2/reboot-requested" ] && echo yes)" yes
expect "device 2: no upload left behind" "$([ -d "$d2/upload" ] && find "$d2/upload" -mindepth 1 | wc -l)" 0
finish
