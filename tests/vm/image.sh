#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the parts of the reference device (tests/vm/README.md) from Debian
# packages and the build's otter programs, with no loop mount and no root:
#   vm_initramfs OUT            busybox + the modules the root file system needs (cpio.gz)
#   vm_rootfs OUT VERSION KIND  an ext4 slot image (mke2fs -d); KIND good, panic or unhealthy
#                               (boots, but its /sbin/otter-health fails)
#   vm_grub OUT_DIR             core.img for the MBR gap (grub-mkimage, i386-pc)
#   vm_disk OUT BOOT_DIR SLOT_A DATA_DIR   the MBR disk: GRUB, boot, A, B (empty), data
#   vm_cached_image             sets img: keys, GRUB, initramfs and the releases 1.0, 2.0,
#                               3.0 (panic) and 4.0, built once into the build's vm-cache
#                               (VM_CACHE_DIR to use another) for a given set of inputs
#                               (programs, kernel, guest files)
# Sourced by tests/vm/vm.sh; needs OTTER_BUILD_DIR and OTTER_SOURCE_DIR.
vm_guest="$OTTER_SOURCE_DIR/tests/vm/guest"
vm_kver=$(basename "$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)" | sed 's/^vmlinuz-//')
vm_kernel="/boot/vmlinuz-$vm_kver"
# Partition sizes in MiB (the slot images are made to fit their partition).
VM_BOOT_MB=8
VM_SLOT_MB=96
VM_DATA_MB=16

vm_initramfs() {
  local out=$1 st; st=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/vm-initramfs.XXXXXX")
  mkdir -p "$st/bin" "$st/lib/modules"
  cp /bin/busybox "$st/bin/busybox"
  cp "$vm_guest/initramfs-init" "$st/init"
  local m
  # virtio (PCI, block, net) and ext4, in dependency order.
  for m in virtio_pci virtio_blk ext4 virtio_net; do
    modprobe --show-depends -S "$vm_kver" "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r m; do
    cp "$m" "$st/lib/modules/"
    basename "$m" >> "$st/lib/modules/order"
  done
  (cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
  rm -rf "$st"
}

# vm_copy_prog ROOT PROG: PROG and the shared libraries it needs (ldd) into ROOT.
vm_copy_prog() {
  local root=$1 prog=$2 lib
  install -D -m 0755 "$prog" "$root/usr/bin/$(basename "$prog")"
  for lib in $(ldd "$prog" | awk '/=>/ {print $3} /^[ \t]*\/lib/ {print $1}'); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

vm_rootfs() {
  local out=$1 version=$2 kind=$3 initramfs=$4 st
  st=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/vm-rootfs.XXXXXX")
  mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,etc/otter,proc,sys,dev,tmp,run,data,bootpart,boot,lib64}
  cp /bin/busybox "$st/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$st/bin/$a"; done
  local p
  for p in otter-agent otter-agentd otter-fetch; do vm_copy_prog "$st" "$OTTER_BUILD_DIR/bin/$p"; done
  vm_copy_prog "$st" "$(command -v grub-editenv)"
  vm_copy_prog "$st" "$(command -v e2fsck)"
  vm_copy_prog "$st" "$(command -v fw_printenv)" # the U-Boot variant's init prints its environment
  # libubootenv (the agent's uboot back-end) locks /var/lock/fw_printenv.lock: /run is a tmpfs.
  mkdir -p "$st/var" && ln -s /run/lock "$st/var/lock"
  cp "$vm_kernel" "$st/boot/vmlinuz"
  cp "$initramfs" "$st/boot/initrd.img"
  cp "$vm_guest/otter-reboot" "$st/sbin/otter-reboot"
  cp "$vm_guest/otter-health" "$st/sbin/otter-health"
  # A system that boots but whose health check fails: boot-check refuses to commit it.
  [ "$kind" = unhealthy ] && sed -i 's/^otter_health_fail=.*/otter_health_fail=1/' "$st/sbin/otter-health"
  echo "$version" > "$st/etc/otter-release"
  echo "root:x:0:0:root:/:/bin/sh" > "$st/etc/passwd"
  echo "root:x:0:" > "$st/etc/group"
  cp "$VM_TRUST_ROOT" "$st/etc/otter/root.json"
  if [ "$kind" = panic ]; then
    # A broken system: its init dies before boot-check, the kernel panics
    # (panic=1 reboots) and GRUB's counter is the only thing that helps.
    printf '#!/bin/sh\necho "OTTER-VM broken init of version %s exits"\nexit 1\n' "$version" > "$st/sbin/init"
  else
    cp "$vm_guest/init" "$st/sbin/init"
  fi
  # Another device variant's own files over the tree (tests/vm/secureboot.sh: its init).
  [ -n "${VM_ROOTFS_EXTRA:-}" ] && cp -a "$VM_ROOTFS_EXTRA/." "$st/"
  chmod 0755 "$st/sbin/init" "$st/sbin/otter-reboot" "$st/sbin/otter-health"
  rm -f "$out"
  mke2fs -q -F -t ext4 -L "rootfs-$version" -E root_owner=0:0 -d "$st" "$out" "${VM_SLOT_MB}M" >/dev/null
  rm -rf "$st"
}

vm_grub() {
  local out=$1
  mkdir -p "$out"
  # Everything GRUB needs is inside core.img (nothing loaded from /grub/i386-pc).
  grub-mkimage -O i386-pc -p '(hd0,msdos1)/grub' -o "$out/core.img" \
    biosdisk part_msdos ext2 normal configfile loadenv test echo linux serial terminal halt
  cp /usr/lib/grub/i386-pc/boot.img "$out/boot.img"
}

# vm_disk OUT GRUB_DIR BOOT_DIR SLOT_A_IMG DATA_DIR
vm_disk() {
  local out=$1 grub=$2 bootdir=$3 slota=$4 datadir=$5 tmp; tmp=$(dirname "$out")
  local total=$((1 + VM_BOOT_MB + 2 * VM_SLOT_MB + VM_DATA_MB))
  rm -f "$out"
  truncate -s "${total}M" "$out"
  # MBR: GRUB's boot.img looks for core.img at sector 1 (its default), the
  # gap before the first partition (1 MiB) holds it.
  sfdisk -q "$out" <<TABLE
label: dos
label-id: 0x0743a0a1
start=1MiB, size=${VM_BOOT_MB}MiB, type=83, bootable
size=${VM_SLOT_MB}MiB, type=83
size=${VM_SLOT_MB}MiB, type=83
size=${VM_DATA_MB}MiB, type=83
TABLE
  local core_sectors=$(( ($(stat -c %s "$grub/core.img") + 511) / 512 ))
  [ "$core_sectors" -lt 2048 ] || { echo "core.img too large for the MBR gap: $core_sectors sectors"; return 1; }
  dd if="$grub/boot.img" of="$out" bs=440 count=1 conv=notrunc status=none
  dd if="$grub/core.img" of="$out" bs=512 seek=1 conv=notrunc status=none
  # ext2, checked by e2fsck at every boot (tests/vm/guest/init): GRUB reads and writes it in
  # place. A journal (ext3) is worse here: GRUB ignores it and read a grubenv the kernel had
  # replaced but not yet checkpointed (tests/vm/README.md "Power cuts").
  mke2fs -q -F -t ext2 -L boot -E root_owner=0:0 -d "$bootdir" "$tmp/boot.part" "${VM_BOOT_MB}M" >/dev/null
  mke2fs -q -F -t ext4 -L data -E root_owner=0:0 -d "$datadir" "$tmp/data.part" "${VM_DATA_MB}M" >/dev/null
  dd if="$tmp/boot.part" of="$out" bs=1M seek=1 conv=notrunc status=none
  dd if="$slota" of="$out" bs=1M seek=$((1 + VM_BOOT_MB)) conv=notrunc status=none
  dd if="$tmp/data.part" of="$out" bs=1M seek=$((1 + VM_BOOT_MB + 2 * VM_SLOT_MB)) conv=notrunc status=none
  rm -f "$tmp/boot.part" "$tmp/data.part"
}

# vm_cached_image: sets img to build/vm-cache/KEY, KEY a digest of every input, built there
# once (keys, core.img, initramfs, three rootfs images and their signed packages). A change
# of the programs, the kernel, busybox or the guest files makes another KEY; older entries
# are removed. Two runs building the same KEY at once each build their own, the first rename
# wins.
vm_cached_image() {
  local cache="${VM_CACHE_DIR:-$OTTER_BUILD_DIR/vm-cache}" key tmp t0 rel v sv kind
  key=$(cat "$OTTER_SOURCE_DIR/tests/vm/image.sh" "$vm_guest/init" "$vm_guest/initramfs-init" \
    "$vm_guest/otter-reboot" "$vm_guest/otter-health" "$(command -v fw_printenv)" \
    "$OTTER_BUILD_DIR"/bin/otter-agent* "$OTTER_BUILD_DIR/bin/otter-fetch" \
    "$OTTER_BUILD_DIR/bin/otter" "$vm_kernel" /bin/busybox "$(command -v grub-editenv)" \
    "$(command -v e2fsck)" \
    /usr/lib/grub/i386-pc/kernel.img | sha256sum | cut -c1-16)
  img="$cache/$key"
  if [ -e "$img/done" ]; then echo "image from the cache: $img"; return 0; fi
  t0=$(date +%s)
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  mkdir -p "$tmp/keys"
  "$OTTER_BUILD_DIR/bin/otter" keygen --out "$tmp/keys/r1" >/dev/null
  "$OTTER_BUILD_DIR/bin/otter" root new --pubkey "$tmp/keys/r1.pub" -o "$tmp/keys/root.json" >/dev/null
  VM_TRUST_ROOT="$tmp/keys/root.json"
  vm_grub "$tmp/grub"
  vm_initramfs "$tmp/initrd.img"
  for rel in 1.0:1:good 2.0:2:good 3.0:3:panic 4.0:4:good; do
    IFS=: read -r v sv kind <<<"$rel"
    vm_rootfs "$tmp/rootfs-$v.img" "$v" "$kind" "$tmp/initrd.img"
    "$OTTER_BUILD_DIR/bin/otter" pack --product otter-vm --compatible qemu-x86 --version "$v" \
      --security-version "$sv" --image rootfs="$tmp/rootfs-$v.img" --key "$tmp/keys/r1.key" \
      -o "$tmp/$v.zip" >/dev/null
  done
  touch "$tmp/done"
  if mv -T "$tmp" "$img" 2>/dev/null; then
    find "$cache" -mindepth 1 -maxdepth 1 -not -name "$key" -not -name 'build.*' -exec rm -rf {} +
  else
    rm -rf "$tmp"
  fi
  echo "image built in $(($(date +%s) - t0)) s into $img"
}
