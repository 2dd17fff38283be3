#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agent on simulated devices: a full A/B cycle for each handler, the
# fallback when the new slot fails its health check or was tampered with
# after install (verified boot refuses it), and every refusal leaving the
# active slot, state file, boot variables and counter byte-for-byte as they were.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-cycle.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys

# image_for HANDLER NAME SEED -> path of an image of that kind
image_for() {
  local handler=$1 name=$2 seed=$3
  case $handler in
    archive)
      mkdir -p "$work/tree-$name/etc" "$work/tree-$name/usr/bin"
      echo "release $name" > "$work/tree-$name/etc/os-release"
      make_content "$work/tree-$name/usr/bin/app" 300000 "$seed"
      ln -sf app "$work/tree-$name/usr/bin/app-link"
      tar -C "$work/tree-$name" -cf "$work/$name.tar" .
      echo "$work/$name.tar" ;;
    *) make_content "$work/$name.img" $((400000 + seed * 1000)) "$seed"; echo "$work/$name.img" ;;
  esac
}

slot_matches() { # slot_matches DEV HANDLER SIDE IMAGE
  local d=$1 handler=$2 side=$3 img=$4
  case $handler in
    archive) local t="$work/check"; rm -rf "$t"; mkdir -p "$t"; tar -C "$t" -xf "$img"
             diff -r "$t" "$d/slots/rootfs-$side" >/dev/null ;;
    file) cmp -s "$img" "$d/slots/rootfs-$side" ;;
    raw) cmp -s -n "$(stat -c %s "$img")" "$img" "$d/slots/rootfs-$side" ;;
  esac
}

status_field() { "$agent" -c "$1/agent.conf" status --json | sed -n "s/^  \"$2\": \"\{0,1\}\([^\",]*\).*/\1/p" | head -1; }

for handler in raw file archive; do
  d="$work/dev-$handler"
  make_device "$d" "$handler" "test ! -e $d/unhealthy"
  for v in 1 2 3; do make_pkg "$work/$handler-v$v.zip" "$v.0" "$v" "$(image_for "$handler" "$handler-v$v" "$v")" "$handler"; done

  "$agent" -c "$d/agent.conf" factory "$work/$handler-v1.zip" >/dev/null
  "$agent" bootsim --root "$d" >/dev/null
  [ "$(status_field "$d" booted)" = A ] && slot_matches "$d" "$handler" a "$work/$handler-v1"* \
    && ok "$handler: factory image boots from slot A" || bad "$handler: factory boot"

  # The A/B cycle: install into B, reboot, health check, commit.
  rm -f "$d/reboot-requested"
  "$agent" -c "$d/agent.conf" install "$work/$handler-v2.zip" >/dev/null 2>&1
  [ -e "$d/reboot-requested" ] && ok "$handler: install asked for a reboot" || bad "$handler: no reboot"
  out=$("$agent" bootsim --root "$d")
  [[ $out == "booted slot B: update committed" ]] && [ "$(status_field "$d" counter)" = 2 ] \
    && slot_matches "$d" "$handler" b "$work/$handler-v2"* \
    && ok "$handler: v2 in slot B committed, counter 2" || bad "$handler: cycle: $out"

  # Health check fails: the slot is marked bad, the failure recorded, back to B.
  touch "$d/unhealthy"
  "$agent" -c "$d/agent.conf" install "$work/$handler-v3.zip" >/dev/null 2>&1
  out=$("$agent" bootsim --root "$d" || true)
  [[ $out == *"update failed"* ]] || bad "$handler: health failure not seen: $out"
  out=$("$agent" bootsim --root "$d")
  last=$("$agent" -c "$d/agent.conf" status)
  [[ $out == "booted slot B:"* ]] && [[ $last == *"failure 3.0: health check failed (exit status 1) on slot A"* ]] \
    && [ "$(status_field "$d" counter)" = 2 ] && ok "$handler: failed health check falls back to B, counter stays 2" \
    || bad "$handler: health fallback: $out / $last"
  rm -f "$d/unhealthy"

  # Tampered after install: verified boot refuses the slot and falls back.
  if [ "$handler" != archive ]; then
    "$agent" -c "$d/agent.conf" install "$work/$handler-v3.zip" >/dev/null 2>&1
    printf '\x42' | dd of="$d/slots/rootfs-a" bs=1 seek=1000 conv=notrunc status=none
    out=$("$agent" bootsim --root "$d")
    last=$("$agent" -c "$d/agent.conf" status)
    [[ $out == *"verified boot refused slot A: image rootfs: digest"* ]] && [[ $out == *"booted slot B"* ]] \
      && [[ $last == *"failure 3.0: slot A did not boot"* ]] \
      && ok "$handler: tampered slot refused by verified boot, fell back to B" \
      || bad "$handler: tamper: $out / $last"
  fi
  # And a good install after all that works.
  "$agent" -c "$d/agent.conf" install "$work/$handler-v3.zip" >/dev/null 2>&1
  out=$("$agent" bootsim --root "$d")
  [[ $out == "booted slot A: update committed" ]] && ok "$handler: retried v3 committed in slot A" \
    || bad "$handler: retry: $out"
done

# Refusals on a raw device running v2 (counter 2): nothing changes.
d="$work/dev-refuse"
make_device "$d" raw
"$agent" -c "$d/agent.conf" factory "$work/raw-v1.zip" >/dev/null
"$agent" bootsim --root "$d" >/dev/null
"$agent" -c "$d/agent.conf" install "$work/raw-v2.zip" >/dev/null 2>&1
"$agent" bootsim --root "$d" >/dev/null
img="$work/raw-v3.img"
make_pkg "$work/stranger.zip" 3.0 3 "$img" raw gw-a stranger r1
make_pkg "$work/one-key.zip" 3.0 3 "$img" raw gw-a r1
make_pkg "$work/other-model.zip" 3.0 3 "$img" raw gw-x
make_pkg "$work/downgrade.zip" 3.0 1 "$img" raw
size=$(stat -c %s "$work/raw-v3.zip")
cp "$work/raw-v3.zip" "$work/tampered.zip"
printf '\x55' | dd of="$work/tampered.zip" bs=1 seek=$((size / 2)) conv=notrunc status=none
head -c $((size * 2 / 3)) "$work/raw-v3.zip" > "$work/truncated.zip"
cp "$work/raw-v3.zip" "$work/extra.zip"; echo extra > "$work/extra.txt"
(cd "$work" && zip -q -0 extra.zip extra.txt)
# The same image entry twice (zip -0 appends a second rootfs.img.zst).
mkdir -p "$work/dup"; unzip -q -o "$work/raw-v3.zip" -d "$work/dup"
cp "$work/raw-v3.zip" "$work/duplicate.zip"
(cd "$work/dup" && mv rootfs.img.zst x && zip -q -0 "$work/duplicate.zip" x && \
  printf '@ x\n@=rootfs.img.zst\n' | zipnote -w "$work/duplicate.zip")
# Cut right after the image's last byte: every image arrived, the central directory did not.
cut_at=$(python3 -c "
import zipfile,sys
z=zipfile.ZipFile(sys.argv[1]); i=z.getinfo('rootfs.img.zst')
f=open(sys.argv[1],'rb'); f.seek(i.header_offset); h=f.read(30)
print(i.header_offset+30+int.from_bytes(h[26:28],'little')+int.from_bytes(h[28:30],'little')+i.compress_size)
" "$work/raw-v3.zip")
head -c "$cut_at" "$work/raw-v3.zip" > "$work/no-directory.zip"
check_refusal() { # NAME PACKAGE MESSAGE
  local before after rc=0 out
  before=$(fingerprint "$d")
  out=$("$agent" -c "$d/agent.conf" install "$2" 2>&1) || rc=$?
  after=$(fingerprint "$d")
  if [ "$rc" = 1 ] && [ "$before" = "$after" ] && [[ $out == *"$3"* ]] &&
     ! compgen -G "$d/state/*tmp*" >/dev/null; then
    ok "refused, nothing changed: $1 (${out##*otter-agent: })"
  else
    bad "refusal $1: rc=$rc changed=$([ "$before" = "$after" ] && echo no || echo YES) $out"
  fi
}
check_refusal "unknown signer" "$work/stranger.zip" "is not in the trust root"
check_refusal "below threshold" "$work/one-key.zip" "1 of 2 required signatures valid"
check_refusal "wrong model" "$work/other-model.zip" 'model "gw-a" is not in compatible'
check_refusal "downgrade below the counter" "$work/downgrade.zip" "security version 1 is below the device's counter 2"
check_refusal "tampered payload" "$work/tampered.zip" "image rootfs"
check_refusal "truncated file" "$work/truncated.zip" "truncated"
check_refusal "running version again" "$work/raw-v2.zip" "version 2.0 is already running"

# Refused after the last image streamed: the inactive slot (A) must not keep
# the refused image, nor be reported, booted or rolled back to; the running
# slot, the booted slot and the counter stay as they were.
check_refusal_after_write() { # NAME PACKAGE MESSAGE
  local before after rc=0 out st order
  before=$(active_fingerprint "$d")
  out=$("$agent" -c "$d/agent.conf" install "$2" 2>&1) || rc=$?
  after=$(active_fingerprint "$d")
  st=$("$agent" -c "$d/agent.conf" status --json | tr -d ' \n')
  order=$(sed -n 's/^BOOT_ORDER=//p; s/^BOOT_A_LEFT=/A_LEFT=/p' "$d/bootenv" | tr '\n' ' ')
  if [ "$rc" = 1 ] && [[ $out == *"$3"* ]] && [ "$before" = "$after" ] &&
     [ "$(head -c 4096 "$d/slots/rootfs-a" | tr -d '\0' | wc -c)" = 0 ] &&
     [[ $st == *'"A":null'* ]] && [[ $order == *"A_LEFT=0"* ]]; then
    ok "refused after the last image, slot A invalidated: $1 (${out##*otter-agent: })"
  else
    bad "refusal after write $1: rc=$rc active changed=$([ "$before" = "$after" ] && echo no || echo YES) A head=$(head -c 4096 "$d/slots/rootfs-a" | tr -d '\0' | wc -c) bootenv=$order status=$st $out"
  fi
  rc=0; out=$("$agent" -c "$d/agent.conf" rollback 2>&1) || rc=$?
  [ "$rc" = 1 ] && ok "$1: rollback refused into the invalidated slot (${out##*otter-agent: })" \
    || bad "$1: rollback after the refusal: rc=$rc $out"
}
check_refusal_after_write "extra entry" "$work/extra.zip" 'unexpected entry "extra.txt"'
check_refusal_after_write "duplicate entry" "$work/duplicate.zip" 'duplicate entry "rootfs.img.zst"'
check_refusal_after_write "cut before the central directory" "$work/no-directory.zip" "truncated"
out=$("$agent" -c "$d/agent.conf" install "$work/raw-v3.zip" 2>&1) && ok "the good package still installs" \
  || bad "good package after refusals: $out"

# Rollback: refused onto a system below the counter, done onto an allowed one.
"$agent" bootsim --root "$d" >/dev/null   # v3 (security 3) runs in A, v2 (security 2) in B
rc=0; out=$("$agent" -c "$d/agent.conf" rollback 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ $out == *"slot B has security version 2, below the counter 3"* ]] \
  && ok "rollback below the counter refused" || bad "rollback below counter: rc=$rc $out"
make_pkg "$work/v3.1.zip" 3.1 3 "$img" raw
"$agent" -c "$d/agent.conf" install "$work/v3.1.zip" >/dev/null 2>&1
"$agent" bootsim --root "$d" >/dev/null   # 3.1 in B, 3.0 in A, counter 3
"$agent" -c "$d/agent.conf" rollback >/dev/null
out=$("$agent" bootsim --root "$d")
[[ $out == "booted slot A: no update pending" ]] && ok "rollback boots the other slot (3.1 -> 3.0)" \
  || bad "rollback: $out"

finish
