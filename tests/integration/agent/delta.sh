#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agent installs a delta package (otter delta) on simulated devices:
#   1. on the release it was made from (raw and file slots): installed, the
#      boot simulator commits it, and the new slot is byte for byte the slot a
#      full install of the same release writes;
#   2. on a running slot that is not the delta's base (one byte changed):
#      refused with exit status 3 before anything is written — the running
#      slot, the inactive slot, the state file, the boot variables and the
#      counter are byte for byte as they were — and the message names the
#      image, the slot's path and the release the delta is from; the full
#      package then installs and commits as usual;
#   3. a package whose first image (an archive, stored in full) comes before
#      its delta image: the delta's source is judged before the first image
#      is extracted, so a mismatch still changes nothing;
#   4. a factory install refuses a delta (there is no running slot to read);
#   5. `otter-agent download` (the spool, otter-agentd's download-now-install-
#      later) checks the source too: exit 3 and an empty spool on a changed
#      slot; on the right one the spooled delta installs later;
#   6. a delta that uses a method this agent does not know (made for newer
#      agents): exit 3 with nothing written, so otter-agentd falls back.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-delta.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys

# v2: v1 with a few bytes changed in two places and 100 kB appended.
make_content "$work/v1.img" 1500000 1
cp "$work/v1.img" "$work/v2.img"
printf 'OTTER-2.0' | dd of="$work/v2.img" bs=1 seek=70000 conv=notrunc status=none
printf 'patched' | dd of="$work/v2.img" bs=1 seek=900000 conv=notrunc status=none
head -c 100000 /dev/urandom >> "$work/v2.img"
size2=$(stat -c %s "$work/v2.img")
for handler in raw file; do
  for v in 1 2; do
    "$otter" pack --product gw --compatible gw-a --version "$v.0" --security-version "$v" \
      --chunk-size 64KiB --image "rootfs=$work/v$v.img:handler=$handler" \
      --key "$work/keys/r1.key" --key "$work/keys/r2.key" -o "$work/$handler-v$v.zip" >/dev/null
  done
  "$otter" delta --from "$work/$handler-v1.zip" --to "$work/$handler-v2.zip" --root "$work/keys/root.json" \
    --key "$work/keys/r1.key" --key "$work/keys/r2.key" --level 3 -o "$work/$handler-delta.zip" >/dev/null
done
full=$(stat -c %s "$work/raw-v2.zip"); delta=$(stat -c %s "$work/raw-delta.zip")
[ "$delta" -lt $((full / 4)) ] && ok "the delta is smaller ($delta bytes, full package $full)" \
  || bad "delta $delta bytes, full $full"

# device DIR HANDLER: a device on 1.0 (factory into A, booted and committed)
device() {
  rm -rf "$1"; make_device "$1" "$2"
  "$agent" -c "$1/agent.conf" factory "$work/$2-v1.zip" >/dev/null
  "$agent" bootsim --root "$1" >/dev/null
}
# everything: the whole device, both slots included
everything() { (cd "$1" && find . -type f ! -name reboot-requested -exec sha256sum {} + | sort | sha256sum); }

for handler in raw file; do
  # 1. The right source: installed, committed, byte for byte what a full install writes.
  d="$work/$handler-delta"; device "$d" "$handler"
  out=$("$agent" -c "$d/agent.conf" install "$work/$handler-delta.zip" 2>&1) \
    && ok "$handler: the delta installs on 1.0" || bad "$handler: delta install: $out"
  out=$("$agent" bootsim --root "$d" 2>&1)
  [[ $out == "booted slot B: update committed" ]] && ok "$handler: the boot simulator commits it" \
    || bad "$handler: boot: $out"
  f="$work/$handler-full"; device "$f" "$handler"
  "$agent" -c "$f/agent.conf" install "$work/$handler-v2.zip" >/dev/null 2>&1
  cmp -s "$d/slots/rootfs-b" "$f/slots/rootfs-b" && cmp -s -n "$size2" "$work/v2.img" "$d/slots/rootfs-b" \
    && ok "$handler: slot B is byte for byte the full install's (and 2.0's image)" \
    || bad "$handler: slot B differs from the full install"

  # 2. A modified running slot: refused with exit 3 before anything is written.
  d="$work/$handler-modified"; device "$d" "$handler"
  printf '\x01' | dd of="$d/slots/rootfs-a" bs=1 seek=1000 conv=notrunc status=none
  before=$(everything "$d")
  rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/$handler-delta.zip" 2>&1) || rc=$?
  [ "$rc" = 3 ] && ok "$handler: a modified running slot: exit 3" || bad "$handler: exit $rc: $out"
  [ "$(everything "$d")" = "$before" ] \
    && ok "$handler: refused with nothing changed (both slots, state, boot variables, counter)" \
    || bad "$handler: the refusal changed the device"
  [[ $out == *"image rootfs"* && $out == *"$d/slots/rootfs-a"* && $out == *"delta from release 1.0"* \
     && $out == *"source mismatch"* ]] && ok "$handler: the message names image, slot and release" \
    || bad "$handler: message: $out"
  out=$("$agent" -c "$d/agent.conf" install "$work/$handler-v2.zip" 2>&1) && \
    [[ $("$agent" bootsim --root "$d" 2>&1) == "booted slot B: update committed" ]] \
    && ok "$handler: the full package installs and commits there" || bad "$handler: full after refusal: $out"
done

# 3. Two images, the delta second: a changed source is refused before the first is written.
mkdir -p "$work/tree1/etc" "$work/tree2/etc"
echo "app 1" > "$work/tree1/etc/app"; echo "app 2" > "$work/tree2/etc/app"
tar -C "$work/tree1" -cf "$work/app1.tar" .; tar -C "$work/tree2" -cf "$work/app2.tar" .
for v in 1 2; do
  "$otter" pack --product gw --compatible gw-a --version "$v.0" --security-version "$v" --chunk-size 64KiB \
    --image "app=$work/app$v.tar:handler=archive" --image "rootfs=$work/v$v.img:handler=raw" \
    --key "$work/keys/r1.key" --key "$work/keys/r2.key" -o "$work/two-v$v.zip" >/dev/null
done
"$otter" delta --from "$work/two-v1.zip" --to "$work/two-v2.zip" --root "$work/keys/root.json" \
  --key "$work/keys/r1.key" --key "$work/keys/r2.key" --level 3 -o "$work/two-delta.zip" >/dev/null
two_device() {
  rm -rf "$1"; make_device "$1" raw
  mkdir -p "$1/slots/app-a" "$1/slots/app-b"
  printf '[slot.app]\na = %s\nb = %s\nhandler = archive\n' "$1/slots/app-a" "$1/slots/app-b" >> "$1/agent.conf"
  "$agent" -c "$1/agent.conf" factory "$work/two-v1.zip" >/dev/null
  "$agent" bootsim --root "$1" >/dev/null
  # What a refusal must not touch in slot B: something an extraction would replace.
  echo "left by an earlier release" > "$1/slots/app-b/old"
}
d="$work/two"; two_device "$d"
out=$("$agent" -c "$d/agent.conf" install "$work/two-delta.zip" 2>&1) \
  && [[ $("$agent" bootsim --root "$d" 2>&1) == "booted slot B: update committed" ]] \
  && cmp -s -n "$size2" "$work/v2.img" "$d/slots/rootfs-b" && [ "$(cat "$d/slots/app-b/etc/app")" = "app 2" ] \
  && ok "two images: the delta after a full archive image installs and commits" || bad "two images: $out"
two_device "$d"
printf '\x01' | dd of="$d/slots/rootfs-a" bs=1 seek=1000 conv=notrunc status=none
before=$(everything "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/two-delta.zip" 2>&1) || rc=$?
[ "$rc" = 3 ] && [ "$(everything "$d")" = "$before" ] \
  && ok "two images: a changed source of the second is refused before the first is extracted" \
  || bad "two images: exit $rc, changed: $( [ "$(everything "$d")" = "$before" ] && echo no || echo yes): $out"

# 4. No running slot, no delta.
d="$work/factory"; rm -rf "$d"; make_device "$d" raw
rc=0; out=$("$agent" -c "$d/agent.conf" factory "$work/raw-delta.zip" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ $out == *"needs a running slot"* ]] && ok "factory: a delta is refused" \
  || bad "factory delta: exit $rc: $out"

# 5. The spool: verified downloads of a delta check the source as an install does.
d="$work/spool"; device "$d" raw
printf '[server]\nspool = %s\n' "$d/spool" >> "$d/agent.conf"
cp "$d/slots/rootfs-a" "$work/slot-a"
printf '\x01' | dd of="$d/slots/rootfs-a" bs=1 seek=1000 conv=notrunc status=none
rc=0; out=$("$agent" -c "$d/agent.conf" download "$work/raw-delta.zip" 2>&1) || rc=$?
[ "$rc" = 3 ] && [ ! -e "$d/spool/update.zip" ] && ok "download: a changed source is refused (exit 3), nothing spooled" \
  || bad "download on a changed source: exit $rc: $out"
cp "$work/slot-a" "$d/slots/rootfs-a"
out=$("$agent" -c "$d/agent.conf" download "$work/raw-delta.zip" 2>&1) && cmp -s "$work/raw-delta.zip" "$d/spool/update.zip" \
  && out=$("$agent" -c "$d/agent.conf" install "$d/spool/update.zip" 2>&1) \
  && [[ $("$agent" bootsim --root "$d" 2>&1) == "booted slot B: update committed" ]] \
  && ok "download: the delta is spooled and installs from the spool" || bad "spooled delta: $out"

# 6. A delta from a newer release that uses a method this agent does not know
#    (the manifest re-signed by the release keys: `otter sign` refuses such a
#    manifest itself): exit 3 with nothing written, like a source mismatch,
#    so that otter-agentd takes the full package.
python3 - "$work/raw-delta.zip" "$work/newer-delta.zip" "$work/keys" <<'PY'
import base64, json, re, subprocess, sys, zipfile
src, dst, keys = sys.argv[1:4]
z = zipfile.ZipFile(src)
manifest = re.sub(rb'"method": "[a-z-]+"', b'"method": "otdiff9"', z.read("manifest.json"), count=1)
open(f"{dst}.manifest", "wb").write(manifest)  # Ed25519 signs a file, not a stream
sigs = []
for k in ("r1", "r2"):
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", f"{keys}/{k}.pub", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    keyid = subprocess.run(["sha256sum"], input=der, check=True, capture_output=True).stdout.split()[0]
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", f"{keys}/{k}.key",
                          "-in", f"{dst}.manifest"], check=True, capture_output=True).stdout
    sigs.append({"keyid": keyid.decode(), "alg": "ed25519", "sig": base64.b64encode(sig).decode()})
with zipfile.ZipFile(dst, "w") as out:
    for info in z.infolist():
        data = {"manifest.json": manifest, "manifest.sig": json.dumps(sigs).encode()}.get(info.filename)
        out.writestr(info, data if data is not None else z.read(info.filename))
PY
d="$work/newer"; device "$d" raw
before=$(everything "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/newer-delta.zip" 2>&1) || rc=$?
[ "$rc" = 3 ] && [ "$(everything "$d")" = "$before" ] && [[ $out == *'"otdiff9" is not zstd, copy'* ]] \
  && ok "an unknown method (a newer delta): exit 3, nothing changed" \
  || bad "unknown method: exit $rc, changed: $( [ "$(everything "$d")" = "$before" ] && echo no || echo yes): $out"

echo "$fails failures"
[ "$fails" = 0 ]
