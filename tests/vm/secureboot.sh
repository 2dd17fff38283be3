#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2154,SC2034 # img, run...: set by the sourced files; mark: read by marker
# The Secure Boot variant of the reference device (tests/vm/README.md, "Secure Boot"):
# OVMF's Secure Boot build, the device maker's PK/KEK/db enrolled from setup mode, each
# kernel slot a FAT partition holding one signed unified kernel image whose command line
# carries the dm-verity root hash of its release's rootfs. Updates come from an SD card
# (a second virtio disk) holding a chain of packages the device installs one a boot:
#   a. 2.0, correctly signed: boots from slot B with SecureBoot=1 and commits;
#   b. 3.0, kernel signed by another key (and, VM_SB_FULL=1, 3.1, signed and then one byte of
#      its command line changed): the firmware refuses it (Access Denied), the device falls
#      back to B (2.0) and boot-check records that slot A did not boot;
#   c. 5.0, good, but a block of its rootfs changed on the disk after the install (the VM
#      powered off in between): dm-verity refuses it at read time, the device falls back.
# Negative controls (a refusal must come from the mechanism named): the changed block reads
# back changed without dm-verity (debugfs on the host, every run); VM_SB_FULL=1 (make
# vm-secureboot): with Secure Boot off (setup mode) the firmware starts 3.0's and 3.1's
# kernels, and refuses the same images once the keys are enrolled.
# Two QEMU processes in the CI sample (six firmware boots); the test waits for console
# markers, each bounded by VM_WAIT.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
source "$OTTER_SOURCE_DIR/tests/vm/image.sh"
source "$OTTER_SOURCE_DIR/tests/vm/machine.sh"
source "$OTTER_SOURCE_DIR/tests/vm/sb-image.sh"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
VM_WAIT=${VM_WAIT:-600}
VM_SB_FULL=${VM_SB_FULL:-0}
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd

missing=()
for t in qemu-system-x86_64 mke2fs sfdisk cpio busybox modprobe openssl sbsign unzip jq \
  cert-to-efi-sig-list sign-efi-sig-list veritysetup mkfs.vfat mcopy objcopy objdump debugfs; do
  command -v "$t" >/dev/null || missing+=("$t")
done
[ -r "$vm_kernel" ] || missing+=("a kernel in /boot (linux-image-amd64)")
[ -r "$ovmf_code" ] && [ -r "$ovmf_vars" ] || missing+=("ovmf")
[ -r /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || missing+=("systemd-boot-efi")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and missing: ${missing[*]} (make deps)"; exit 1; fi
  echo "SKIPPED: missing ${missing[*]} (make deps)"; exit 77
fi

work="${OTTER_TEST_TMP:-/tmp}/vm_secureboot.$$"
rm -rf "$work"; mkdir -p "$work"
sb_cleanup() {
  local rc=$?
  [ "$rc" = 0 ] || fails=$((fails + 1))
  [ -n "${qemu_pid:-}" ] && kill -KILL "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  if [ "$fails" = 0 ]; then rm -rf "$work"; else echo "kept: $work (console.log)"; fi
  return 0
}
trap sb_cleanup EXIT

sb_cached_image # $img: keys, initramfs, releases (tests/vm/sb-image.sh)
# The root hash each signed kernel may mount is the one the signed manifest names.
for v in 1.0 2.0 5.0; do
  objcopy -O binary --only-section=.cmdline "$img/uki-$v.signed" "$work/cmdline-$v"
  expect "$v: the UKI's otter.verity= is the manifest's verity_root_hash of the rootfs" \
    "$(tr ' ' '\n' < "$work/cmdline-$v" | sed -n 's/^otter\.verity=//p')" \
    "$(unzip -p "$img/$v.zip" manifest.json | jq -r '.images[] | select(.name == "rootfs") | .verity_root_hash')"
done

# ---- the device: factory install of 1.0 on the host into file slots, then the disk ----
t0=$(date +%s)
dev="$work/dev" data="$work/dev/data"
mkdir -p "$data/otter"
: > "$dev/kernel-a"; : > "$dev/kernel-b"; : > "$dev/rootfs-a"; : > "$dev/rootfs-b"
echo "otter.slot=A" > "$dev/cmdline"
sb_conf() { # sb_conf STATE_DIR ROOT BOOTENV CMDLINE KERNEL_A KERNEL_B ROOTFS_A ROOTFS_B
  cat <<CONF
[device]
product = otter-vm
model = qemu-x86
[trust]
root = $2
[state]
dir = $1
[rollback]
path = $1/rollback
[boot]
backend = file
path = $3
cmdline = $4
tries = 3
[reboot]
command = /sbin/otter-reboot
[slot.kernel]
a = $5
b = $6
handler = raw
[slot.rootfs]
a = $7
b = $8
handler = raw
CONF
}
sb_conf "$data/otter" "$img/keys/root.json" "$data/boot.env" "$dev/cmdline" \
  "$dev/kernel-a" "$dev/kernel-b" "$dev/rootfs-a" "$dev/rootfs-b" > "$dev/factory.conf"
"$agent" -c "$dev/factory.conf" factory "$img/1.0.zip" > "$dev/factory.log" 2>&1 ||
  die "factory install of 1.0 failed: $(cat "$dev/factory.log")"
# The slots by GPT partition name (sb_disk): resolved by the agent in the guest, without udev,
# from /sys/block/vda/vdaN/uevent (docs/agent.md "Slots on block devices").
sb_conf /data/otter /etc/otter/root.json /data/boot.env /run/otter.cmdline \
  partlabel:kernel-a partlabel:kernel-b partlabel:rootfs-a partlabel:rootfs-b > "$data/agent.conf"
sb_disk "$dev/disk.img" "$dev/kernel-a" "$dev/rootfs-a" "$data"
cp "$ovmf_vars" "$dev/vars.fd" # empty: setup mode
echo "disk assembled in $(($(date +%s) - t0)) s"

# card OUT ENTRY...: an ext2 image holding the chain, ENTRY VERSION or VERSION:poweroff, as
# N-VERSION.zip (and N-VERSION.poweroff), installed in that order by tests/vm/guest/sb-init.
card() {
  local out=$1 c="$work/card" n=0 e size=8; shift
  rm -rf "$c"; mkdir -p "$c"
  for e in "$@"; do
    n=$((n + 1))
    cp "$img/${e%:*}.zip" "$c/$n-${e%:*}.zip"
    [ "${e#*:}" = poweroff ] && : > "$c/$n-${e%:*}.poweroff"
    size=$((size + $(stat -c %s "$img/${e%:*}.zip") / 1048576 + 1))
  done
  mke2fs -q -F -t ext2 -L sdcard -d "$c" "$out" "$((size + size / 8))M" >/dev/null # + metadata
  rm -rf "$c"
}

console="$work/console.log"
: > "$console"
boot_t0=$(date +%s)
# sb_start CARD [DISK VARS]: OVMF (Secure Boot build, SMM) with the device's own variable store
# (or VARS), the disk (or DISK), and the card; no network.
sb_start() {
  run=$((run + 1))
  run_off=$(stat -c %s "$console")
  mark=$run_off
  qemu-system-x86_64 -nodefaults -machine q35,smm=on -accel tcg -m 512 -display none -monitor none \
    -global driver=cfi.pflash01,property=secure,value=on -global ICH9-LPC.disable_s3=1 \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code" \
    -drive "if=pflash,format=raw,unit=1,file=${3:-$dev/vars.fd}" \
    -chardev "file,id=con,path=$console,append=on" -serial chardev:con \
    -drive "file=${2:-$dev/disk.img},format=raw,if=virtio" -drive "file=$1,format=raw,if=virtio" \
    -net none 2>>"$work/qemu.log" &
  qemu_pid=$!
}
# sb_off: power off once the guest is idle (everything it wrote was synced).
sb_off() {
  marker 'OTTER-VM idle'
  sb_kill
}
sb_kill() {
  kill -KILL "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=
}
# nth N LINE_PATTERN: the N-th console line since this power-on matching it, markers only.
nth() { tail -c "+$((run_off + 1))" "$console" | tr -d '\r' | grep -aE -- "$2" | sed -n "$1p" | sed 's/.*\(OTTER-[A-Z]*\)/\1/'; }
count() { count_since "$run_off" "$1"; }

# Negative control (VM_SB_FULL=1) for b: VERSION's kernel image in slot A of a fresh disk, the
# firmware in setup mode (no PK: Secure Boot off). Its initramfs starts (and enrolls the
# maker's keys, as at the factory); after that reset the firmware refuses the same image.
control_sb_off() {
  local v=$1 ctl="$work/ctl"
  echo "== control: $v's kernel with Secure Boot off (setup mode) boots; with the keys enrolled it is refused"
  rm -rf "$ctl"; mkdir -p "$ctl/data"
  sb_disk "$ctl/disk.img" "$img/kernel-$v.img" "$img/rootfs-2.0.img" "$ctl/data"
  cp "$ovmf_vars" "$ctl/vars.fd"
  mke2fs -q -F -t ext2 -L sdcard "$ctl/card.img" 1M >/dev/null
  sb_start "$ctl/card.img" "$ctl/disk.img" "$ctl/vars.fd"
  marker 'OTTER-SB setup mode: enrolling'
  ok "control: $v's kernel (refused in b) is started by the firmware with Secure Boot off"
  marker 'OTTER-SB enrolled: SetupMode=00'
  marker 'Access Denied'
  ok "control: once the keys are enrolled the firmware refuses the same image (Access Denied)"
  expect "control: $v's initramfs ran once (setup mode) and not after the enrollment" \
    "$(count 'OTTER-SB setup mode|OTTER-SB kernel slot=')" 1
  sb_kill
  rm -rf "$ctl"
}

# refused N VERSION WHAT: the N-th fallback of this power-on: VERSION's kernel went to slot A,
# the firmware refused it, B (2.0) runs on.
refused() {
  echo "== b: $2 ($3) into slot A: refused by the firmware, the device falls back to B"
  marker "OTTER-VM reboot into slot A version $2"
  marker 'Access Denied' "$1"
  marker 'OTTER-SB the firmware refused the kernel of slot A' "$1"
  marker 'OTTER-VM booted slot=B version=2.0' $(($1 + 1))
  marker 'OTTER-VM boot-check rc=' $(($1 + 2)) # 1.0's, 2.0's, then one a fallback
  case "$(nth $(($1 + 2)) 'OTTER-VM boot-check rc=')" in *"slot A did not boot"*)
    ok "b: $2 ($3): the firmware refused it (BdsDxe: Access Denied); boot-check records that slot A did not boot; 2.0 runs in B" ;;
    *) bad "b: $2: boot-check after the fallback: $(nth $(($1 + 2)) 'OTTER-VM boot-check rc=')" ;; esac
}

chain=(2.0 3.0)
[ "$VM_SB_FULL" = 1 ] && chain+=(3.1)
chain+=(5.0:poweroff)
card "$work/card.img" "${chain[@]}"
echo "== factory: setup mode, the device maker's keys and the boot options enrolled, 1.0 in A"
echo "== a: 2.0 (correctly signed) from the card into kernel B + rootfs B, boots with Secure Boot"
sb_start "$work/card.img"
marker 'OTTER-SB setup mode: enrolling'
marker 'OTTER-SB enrolled: SetupMode=00'
marker 'OTTER-SB kernel slot=A secureboot=01'
marker 'OTTER-VM booted slot=A version=1.0 secureboot=01'
marker 'OTTER-VM boot-check rc=0'
marker 'OTTER-VM reboot into slot B version 2.0'
marker 'OTTER-SB kernel slot=B secureboot=01'
marker 'OTTER-VM booted slot=B version=2.0'
marker 'OTTER-VM status' 2 # after the commit (boot-check) of 2.0
expect "a: 2.0 runs in B, Secure Boot enabled (efivarfs SecureBoot=1), kernel lockdown on" \
  "$(nth 1 'OTTER-VM booted slot=B' | sed 's/ lockdown=.*\[\(.*\)\].*/ lockdown=\1/')" \
  "OTTER-VM booted slot=B version=2.0 secureboot=01 lockdown=integrity"
expect "a: boot-check of 2.0 succeeded" "$(nth 2 'OTTER-VM boot-check rc=' | cut -c1-24)" "OTTER-VM boot-check rc=0"
case "$(nth 2 'OTTER-VM status')" in *"booted:   slot B "*"slot B:   2.0 "*"pending:  none"*)
  ok "a: the agent committed 2.0 in slot B (status)" ;;
  *) bad "a: status after the commit: $(nth 2 'OTTER-VM status')" ;; esac

refused 1 3.0 "kernel signed by another key"
[ "$VM_SB_FULL" = 1 ] && refused 2 3.1 "signed kernel, then one byte of its command line changed"
expect "b: no kernel of slot A started after 1.0's" "$(count 'OTTER-SB kernel slot=A')" 1

echo "== c: 5.0 into slot A, then a block of its rootfs changed on the disk: dm-verity refuses it"
marker 'OTTER-VM reboot into slot A version 5.0'
n=0
while kill -0 "$qemu_pid" 2>/dev/null; do # 5.0.poweroff on the card: the install powers off
  [ $n -lt $((VM_WAIT * 2)) ] || die "the VM did not power off after installing 5.0"
  n=$((n + 1)); sleep 0.5
done
qemu_pid=
# A block of /bin/busybox in rootfs A (partition 3), found in the release's own image.
bs=$(debugfs -R stats "$img/rootfs-5.0.img" 2>/dev/null | awk -F: '/^Block size/ { gsub(/ /, "", $2); print $2 }')
blk=$(debugfs -R "bmap /bin/busybox 100" "$img/rootfs-5.0.img" 2>/dev/null)
if [ -z "$bs" ] || [ -z "$blk" ]; then die "no block of /bin/busybox in rootfs-5.0.img"; fi
at=$(($(sb_part_offset 3) + blk * bs + 17))
cmp -s <(dd if="$dev/disk.img" bs=1 skip="$at" count=64 status=none) \
  <(dd if="$img/rootfs-5.0.img" bs=1 skip=$((blk * bs + 17)) count=64 status=none) ||
  die "slot A does not hold 5.0's rootfs at the block to change"
printf '\xa5' | dd of="$dev/disk.img" bs=1 seek="$at" conv=notrunc status=none
echo "  changed one byte of rootfs A (block $blk of /bin/busybox) with the power off"
# Negative control: without dm-verity (debugfs reads the file system itself) the changed block
# reads back changed, and only that byte: what dm-verity refuses below is this change.
dd if="$dev/disk.img" of="$work/rootfs-a.img" bs=1M skip=$(($(sb_part_offset 3) / 1048576)) \
  count="$SB_SLOT_MB" status=none
debugfs -R "dump /bin/busybox $work/busybox.changed" "$work/rootfs-a.img" 2>/dev/null
debugfs -R "dump /bin/busybox $work/busybox.5.0" "$img/rootfs-5.0.img" 2>/dev/null
expect "c control: without dm-verity /bin/busybox of rootfs A reads back with the one changed byte" \
  "$(cmp -l "$work/busybox.5.0" "$work/busybox.changed" | awk '{ print $1 - 1, $3 }')" \
  "$((100 * bs + 17)) 245"
rm -f "$work/rootfs-a.img" "$work/busybox.changed" "$work/busybox.5.0"
sb_start "$work/card.img"
marker 'OTTER-SB kernel slot=A secureboot=01'
marker 'OTTER-SB dm-verity refused slot A'
marker 'OTTER-VM booted slot=B version=2.0'
marker 'OTTER-VM boot-check rc='
case "$(nth 1 'OTTER-SB dm-verity refused')" in *"I/O error reading /bin/busybox"*)
  ok "c: dm-verity refused the changed block at read time (I/O error)" ;;
  *) bad "c: the refusal: $(nth 1 'OTTER-SB dm-verity refused')" ;; esac
expect "c: no system of slot A started" "$(count 'OTTER-VM booted slot=A')" 0
case "$(nth 1 'OTTER-VM boot-check rc=')" in *"slot A did not boot"*)
  ok "c: boot-check records that slot A did not boot; 2.0 runs in B" ;;
  *) bad "c: boot-check after the fallback: $(nth 1 'OTTER-VM boot-check rc=')" ;; esac
sb_off
if [ "$VM_SB_FULL" = 1 ]; then
  control_sb_off 3.0
  control_sb_off 3.1
fi
echo "Secure Boot campaign: $run power-ons in $(($(date +%s) - boot_t0)) s"
finish
