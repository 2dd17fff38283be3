#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Partial updates (issue #14, docs/agent.md "Partial updates"): a device with
# two slot classes, rootfs (raw) and app (file), on 1.0 in slot A.
#   1. `otter pack --partial` with only the app image: the manifest says
#      "replaces": ["app"]; the install writes app into slot B and copies
#      rootfs from slot A byte for byte; the state records both images for
#      B, and the boot simulator (which checks every image of a slot) boots
#      and commits it;
#   2. the same app image without --partial is still refused (a package
#      that lost an image is never taken for a partial one);
#   3. the running rootfs cannot be read (gone): refused before anything is
#      written; the running rootfs changed since it was installed: refused
#      while copying, slot B invalid, the running side unchanged.
# On the old code step 1 fails: `otter pack` has no --partial.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-partial.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys

make_content "$work/rootfs1.img" 700000 1
make_content "$work/app1.bin" 200000 11
make_content "$work/app2.bin" 250000 12
keys=(--key "$work/keys/r1.key" --key "$work/keys/r2.key")
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 --chunk-size 64KiB \
  --image "rootfs=$work/rootfs1.img:handler=raw" --image "app=$work/app1.bin:handler=file" \
  "${keys[@]}" -o "$work/v1.zip" >/dev/null
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
  --image "app=$work/app2.bin:handler=file" --partial "${keys[@]}" -o "$work/v2-app.zip" >/dev/null
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
  --image "app=$work/app2.bin:handler=file" "${keys[@]}" -o "$work/v2-app-whole.zip" >/dev/null

# device DIR: rootfs (raw) and app (file) on 1.0 in A, booted and committed
device() {
  rm -rf "$1"; make_device "$1" raw
  : > "$1/slots/app-a"; : > "$1/slots/app-b"
  printf '[slot.app]\na = %s\nb = %s\nhandler = file\n' "$1/slots/app-a" "$1/slots/app-b" >> "$1/agent.conf"
  "$agent" -c "$1/agent.conf" factory "$work/v1.zip" >/dev/null || die "factory"
  "$agent" bootsim --root "$1" >/dev/null
}
# rest DIR: digests of everything but slot B's two files and the reboot marker
rest() { (cd "$1" && find . -type f ! -name reboot-requested ! -name '*-b' -exec sha256sum {} + | sort | sha256sum); }

# 1. Only app: written into B, rootfs copied from A byte for byte, committed.
unzip -p "$work/v2-app.zip" manifest.json | tr -d ' \n' | grep -q '"replaces":\["app"\]' \
  && "$otter" inspect "$work/v2-app.zip" | grep -q '^partial, replaces: app$' \
  && ok "the manifest says which classes the package replaces" || bad "no replaces in the manifest"
d="$work/ok"; device "$d"
out=$("$agent" -c "$d/agent.conf" install "$work/v2-app.zip" 2>&1) && ok "a partial package installs" \
  || bad "install: $out"
cmp -s "$d/slots/app-b" "$work/app2.bin" && ok "app 2.0 is in slot B" || bad "slot B's app differs"
cmp -s "$d/slots/rootfs-b" "$d/slots/rootfs-a" && cmp -s "$d/slots/rootfs-b" "$work/rootfs1.img" \
  && ok "rootfs was copied from slot A byte for byte" || bad "slot B's rootfs differs from A's"
st=$("$agent" -c "$d/agent.conf" status --json | tr -d ' \n')
[[ $st == *'"B":{"version":"2.0"'*'"images":2'* ]] && ok "slot B records 2.0 with both images" || bad "status: $st"
out=$("$agent" bootsim --root "$d" 2>&1)
[[ $out == "booted slot B: update committed" ]] && ok "the boot simulator checks both and commits" || bad "boot: $out"

# 2. Without --partial, a package missing a class is refused as before.
d="$work/whole"; device "$d"; before=$(rest "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-app-whole.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"package has no image for slot class rootfs"* ]] && [ "$(rest "$d")" = "$before" ] \
  && ok "a package without replaces that lacks rootfs is refused (exit $rc)" || bad "whole: rc $rc: $out"

# 3a. The running rootfs cannot be read: refused before anything is written.
d="$work/gone"; device "$d"
mv "$d/slots/rootfs-a" "$work/rootfs-a.away"
before=$(rest "$d"); bsum=$(cat "$d/slots/app-b" "$d/slots/rootfs-b" | sha256sum)
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-app.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"slot class rootfs is kept from the running slot A, whose copy $d/slots/rootfs-a cannot be read"* ]] \
  && ok "refused when the running rootfs cannot be read (exit $rc)" || bad "gone: rc $rc: $out"
[ "$(rest "$d")" = "$before" ] && [ "$(cat "$d/slots/app-b" "$d/slots/rootfs-b" | sha256sum)" = "$bsum" ] \
  && ok "nothing was written (state, boot variables, counter, both B slots)" || bad "the refusal changed the device"

# 3b. The running rootfs changed since its install: refused while copying, B invalid.
d="$work/changed"; device "$d"
printf '\x01' | dd of="$d/slots/rootfs-a" bs=1 seek=5000 conv=notrunc status=none
before=$(active_fingerprint "$d"); asum=$(sha256sum < "$d/slots/app-a")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-app.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"kept slot class rootfs (from slot A): sha256"*"changed since it was installed"* ]] \
  && ok "a changed running rootfs is refused while copying (exit $rc)" || bad "changed: rc $rc: $out"
st=$("$agent" -c "$d/agent.conf" status --json | tr -d ' \n')
[ "$(active_fingerprint "$d")" = "$before" ] && [ "$(sha256sum < "$d/slots/app-a")" = "$asum" ] \
  && [[ $st == *'"B":null'* && $st == *'"pending":null'* && $st == *'"B_left":"0"'* ]] \
  && ok "running side unchanged, slot B invalid, nothing pending" || bad "after the refusal: $st"
[ ! -s "$d/slots/rootfs-b" ] && ok "the refused copy left no rootfs in slot B" || bad "slot B holds $(stat -c %s "$d/slots/rootfs-b") bytes"
finish
