#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The ubi handler on a real kernel (tests/vm/README.md, "UBI on NAND"): Debian's kernel
# boots in QEMU straight into an initramfs (tests/vm/guest/ubi-init) that loads nandsim
# (64 MiB of simulated NAND), attaches UBI (ubiattach from mtd-utils), makes the volumes
# rootfs_a (8 MiB) and rootfs_b (1 MiB), and runs otter-agent with [slot.rootfs] a =
# ubi0:rootfs_a, b = ubi0:rootfs_b, handler = ubi:
#   factory 1.0 into A;
#   a package with a byte changed in its first chunk: refused, B untouched;
#   2.0 while a filler volume holds every free eraseblock (B too small to grow): refused
#     before the volume update, B untouched;
#   2.0 while B is held open (its ubiblock device, as a mount holds it): refused, untouched;
#   a byte changed in the third chunk: B grown, the update started, then refused: B's
#     update marker stays set: B cannot be read and does not mount (damaged);
#   the package cut in its fifth chunk: the same;
#   2.0: B grown to the image (2 MiB > 1 MiB), its bytes are the image's, and the image is
#     a squashfs the kernel mounts through ubiblock; A holds 1.0 throughout.
# The guest prints what it sees ("OTTER-UBI key=value"); this script checks it. One boot,
# no disk: nandsim keeps the NAND in RAM, so nothing here survives a reboot (the README says
# what was found about persistence).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
source "$OTTER_SOURCE_DIR/tests/vm/image.sh"
source "$OTTER_SOURCE_DIR/tests/vm/machine.sh"
otter="$OTTER_BUILD_DIR/bin/otter"
VM_WAIT=${VM_WAIT:-600}
CHUNK=$((256 * 1024))

missing=()
for t in qemu-system-x86_64 cpio mksquashfs ubiattach ubimkvol ubirmvol ubiupdatevol ubiblock \
  modprobe busybox python3 sha256sum; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || missing+=("$t")
done
[ -r "$vm_kernel" ] || missing+=("a kernel in /boot (linux-image-amd64)")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and missing: ${missing[*]} (make deps)"; exit 1; fi
  echo "SKIPPED: missing ${missing[*]} (make deps)"; exit 77
fi
export PATH="$PATH:/usr/sbin"

work="${OTTER_TEST_TMP:-/tmp}/vm_ubi.$$"
rm -rf "$work"; mkdir -p "$work"
console="$work/console.log"; : > "$console"
ubi_cleanup() {
  local rc=$?
  [ "$rc" = 0 ] || fails=$((fails + 1))
  [ -z "$qemu_pid" ] || { kill -KILL "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; }
  if [ "$fails" = 0 ]; then rm -rf "$work"; else echo "kept: $work (console.log)"; fi
  return 0
}
trap ubi_cleanup EXIT

# ---- keys, the slot images (squashfs) and the packages ----
t0=$(date +%s)
mkdir -p "$work/keys"
"$otter" keygen --out "$work/keys/r1" >/dev/null
"$otter" root new --pubkey "$work/keys/r1.pub" -o "$work/keys/root.json" >/dev/null
# ubi_image OUT VERSION KIB: a squashfs with /etc/otter-release and KIB of random bytes.
ubi_image() {
  local d="$work/tree-$2"
  mkdir -p "$d/etc"
  echo "$2" > "$d/etc/otter-release"
  head -c "$(($3 * 1024))" /dev/urandom > "$d/blob"
  mksquashfs "$d" "$1" -noappend -all-root -quiet >/dev/null
}
ubi_image "$work/1.0.img" 1.0 1024
ubi_image "$work/2.0.img" 2.0 2048
head -c $((512 * 1024)) /dev/urandom > "$work/old-b.img"
for rel in 1.0:1 2.0:2; do
  IFS=: read -r v sv <<<"$rel"
  "$otter" pack --product otter-vm --compatible qemu-x86 --version "$v" --security-version "$sv" \
    --image "rootfs=$work/$v.img:handler=ubi:compression=none" --chunk-size 256KiB \
    --key "$work/keys/r1.key" -o "$work/$v.zip" >/dev/null
done
# Where rootfs's bytes start in 2.0.zip (stored, uncompressed: byte N of the image is there + N).
data_off=$(python3 - "$work/2.0.zip" <<'PY'
import struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
e = [i for i in z.infolist() if i.filename not in ("manifest.json", "manifest.sig")][0]
with open(sys.argv[1], "rb") as f:
    f.seek(e.header_offset)
    h = f.read(30)
n, m = struct.unpack("<HH", h[26:30])
print(e.header_offset + 30 + n + m)
PY
)
# flip SRC OUT OFFSET: a copy with the byte at OFFSET inverted.
flip() {
  cp "$1" "$2"
  local b; b=$(od -An -tu1 -j "$3" -N1 "$1" | tr -d ' ')
  printf '%b' "\\0$(printf '%03o' $((255 - b)))" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}
flip "$work/2.0.zip" "$work/bad-first.zip" $((data_off + 100))
flip "$work/2.0.zip" "$work/bad-later.zip" $((data_off + 2 * CHUNK + 100))
head -c $((data_off + 4 * CHUNK + 50)) "$work/2.0.zip" > "$work/trunc.zip"
cmp -s "$work/2.0.zip" "$work/bad-first.zip" && die "bad-first.zip is not changed"

# ---- the initramfs: busybox, the modules, mtd-utils, otter-agent, the packages ----
st="$work/initramfs"
mkdir -p "$st/bin" "$st/lib/modules" "$st/etc/otter" "$st/pkg"
cp /bin/busybox "$st/bin/busybox"
cp "$OTTER_SOURCE_DIR/tests/vm/guest/ubi-init" "$st/init"
chmod 0755 "$st/init"
for m in nandsim ubi squashfs; do
  modprobe --show-depends -S "$vm_kver" "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r m; do
  cp "$m" "$st/lib/modules/"
  basename "$m" >> "$st/lib/modules/order"
done
for p in ubiattach ubimkvol ubirmvol ubiupdatevol ubiblock; do vm_copy_prog "$st" "$(command -v "$p")"; done
vm_copy_prog "$st" "$OTTER_BUILD_DIR/bin/otter-agent"
cp "$work/keys/root.json" "$st/etc/otter/root.json"
cp "$work/1.0.zip" "$work/2.0.zip" "$work/bad-first.zip" "$work/bad-later.zip" "$work/trunc.zip" "$st/pkg/"
cp "$work/old-b.img" "$st/old-b.img"
cat > "$st/etc/ubi-test.env" <<ENV
A_SIZE=$(stat -c %s "$work/1.0.img")
B_SIZE=$(stat -c %s "$work/2.0.img")
OLD_SIZE=$(stat -c %s "$work/old-b.img")
ENV
cat > "$st/etc/otter/agent.conf" <<CONF
[device]
product = otter-vm
model = qemu-x86
[trust]
root = /etc/otter/root.json
[state]
dir = /run/otter/state
[rollback]
path = /run/otter/state/rollback
[boot]
backend = file
path = /run/otter/bootenv
cmdline = /run/otter/cmdline
[reboot]
command = /bin/true
[slot.rootfs]
a = ubi0:rootfs_a
b = ubi0:rootfs_b
handler = ubi
CONF
(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.img"
echo "initramfs built in $(($(date +%s) - t0)) s: $(du -h "$work/initrd.img" | cut -f1)"

# ---- one boot ----
boot_t0=$(date +%s)
qemu-system-x86_64 -accel tcg -m 512 -display none -monitor none -no-reboot -net none \
  -kernel "$vm_kernel" -initrd "$work/initrd.img" \
  -append "console=ttyS0 panic=-1 no_timer_check loglevel=4" \
  -chardev "file,id=con,path=$console" -serial chardev:con 2>"$work/qemu.log" &
qemu_pid=$!
mark=0
marker '^OTTER-UBI done'
echo "guest done in $(($(date +%s) - boot_t0)) s"

# got KEY: the guest's last value for KEY.
got() { tr -d '\r' < "$console" | grep -a "^OTTER-UBI $1=" | tail -1 | cut -d= -f2-; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
errors=$(tr -d '\r' < "$console" | grep -a '^OTTER-UBI error=' || true)
expect "no setup step failed in the guest" "$errors" ""
echo "  $(tr -d '\r' < "$console" | grep -a '^OTTER-UBI mtd=')"
leb=$(got leb)
need=$(( ($(stat -c %s "$work/2.0.img") + leb - 1) / leb ))
a_sha=$(sha "$work/1.0.img")
old_sha=$(sha "$work/old-b.img")
expect "B starts smaller than 2.0 (1 MiB)" "$(( $(got b_lebs_start) < need ))" 1

expect "factory 1.0 into ubi0:rootfs_a" "$(got factory_rc)" 0
expect "A holds the 1.0 image" "$(got factory_a_sha)" "$a_sha"

expect "first chunk changed: refused" "$(got badfirst_rc)" 1
expect "first chunk changed: B's update marker not set" "$(got badfirst_marker)" 0
expect "first chunk changed: B untouched" "$(got badfirst_old_sha)" "$old_sha"
echo "  badfirst: $(got badfirst_msg)"

# Exit status 2, as the raw handler's "does not fit the device": the device's layout, not the
# package, is what is wrong.
expect "no free eraseblocks to grow B: refused" "$(got full_rc)" 2
case "$(got full_msg)" in
*"needs $need eraseblocks of $leb bytes; the volume has $(got b_lebs_start) and ubi0 only 0 free"*)
  ok "no free eraseblocks: the message says what is missing" ;;
*) bad "no free eraseblocks: message: $(got full_msg)" ;;
esac
expect "no free eraseblocks: B untouched" "$(got full_old_sha)" "$old_sha"
expect "no free eraseblocks: B not grown" "$(got full_b_lebs)" "$(got b_lebs_start)"

expect "B in use (held open): refused" "$(got busy_rc)" 2
case "$(got busy_msg)" in
*"cannot grow volume"*"(it is in use)"*) ok "B in use: the message says so" ;;
*) bad "B in use: message: $(got busy_msg)" ;;
esac
expect "B in use: B untouched" "$(got busy_old_sha)" "$old_sha"
expect "B in use: B not grown" "$(got busy_b_lebs)" "$(got b_lebs_start)"

expect "third chunk changed: refused" "$(got badlater_rc)" 1
echo "  badlater: $(got badlater_msg)"
expect "third chunk changed: B grown to the image" "$(got badlater_b_lebs)" "$need"
expect "third chunk changed: B's update marker set" "$(got badlater_marker)" 1
expect "third chunk changed: B cannot be read" "$(got badlater_read)" fail
expect "third chunk changed: B does not mount" "$(got badlater_mount)" mount-failed
expect "third chunk changed: A untouched" "$(got badlater_a_sha)" "$a_sha"

expect "cut package: refused" "$([ "$(got trunc_rc)" != 0 ] && echo yes)" yes
echo "  trunc: rc $(got trunc_rc): $(got trunc_msg)"
expect "cut package: B's update marker set" "$(got trunc_marker)" 1
expect "cut package: B cannot be read" "$(got trunc_read)" fail

expect "2.0 into ubi0:rootfs_b" "$(got good_rc)" 0
expect "2.0: B's update marker clear" "$(got good_marker)" 0
expect "2.0: B has the eraseblocks the image needs" "$(got good_b_lebs)" "$need"
expect "2.0: B holds the 2.0 image" "$(got good_b_sha)" "$(sha "$work/2.0.img")"
expect "2.0: B mounts (squashfs on ubiblock) and is 2.0" "$(got good_release)" 2.0
expect "2.0: A still holds 1.0" "$(got good_a_sha)" "$a_sha"
case "$(got bootenv)" in
*"BOOT_ORDER=B A"*) ok "2.0: B boots next" ;;
*) bad "2.0: boot variables: $(got bootenv)" ;;
esac
finish
