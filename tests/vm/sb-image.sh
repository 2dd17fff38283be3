#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2034,SC2154 # sb_* variables: used by tests/vm/secureboot.sh, which sources
# this; vm_guest, vm_kver, vm_kernel: from tests/vm/image.sh
# The parts of the Secure Boot variant of the reference device (tests/vm/README.md, "Secure
# Boot"), from Debian packages only (ovmf, sbsigntool, efitools, systemd-boot-efi,
# cryptsetup-bin, dosfstools, mtools) and no root-only kernel feature:
#   sb_keys DIR               PK, KEK, db (the device maker's) and rogue (another key) made with
#                             OpenSSL; PK/KEK/db as .var files for efivarfs (attributes + .auth)
#   sb_loadopts DIR           Boot0100 (slot A's kernel), Boot0101 (B), BootOrder and BootNext
#                             values for efivarfs, made here with printf
#   sb_initramfs OUT KEYS EFI busybox, the modules, veritysetup, the enrollment files
#   sb_verity IMG             appends IMG's dm-verity hash tree at SB_DATA_MB; prints the root hash
#   sb_uki OUT INITRD CMDLINE a unified kernel image: systemd-boot-efi's stub with Debian's kernel
#   sb_kernel_slot OUT UKI    the FAT image a kernel slot holds: UKI at \EFI\BOOT\BOOTX64.EFI
#   sb_disk OUT KSLOT_A ROOTFS_A DATA_DIR   the GPT disk: kernel A/B, rootfs A/B, data
# Sourced after tests/vm/image.sh (vm_kver, vm_kernel, vm_copy_prog, vm_guest).
SB_KERNEL_MB=32 # a kernel slot partition (a FAT file system holding one signed UKI)
SB_FAT_MB=24    # the FAT image in it
SB_SLOT_MB=96   # a rootfs slot partition: the ext4 file system, then its hash tree
SB_DATA_MB=88   # the ext4 file system in it; the hash tree starts there
SB_VARDATA_MB=16
SB_EFI_GUID=8be4df61-93ca-11d2-aa0d-00e098032b8c # EFI_GLOBAL_VARIABLE
SB_DB_GUID=d719b2cb-3d3a-4596-a3bc-dad00e67656f  # EFI_IMAGE_SECURITY_DATABASE
SB_OWNER_GUID=5e3f6a1d-0a0e-4c47-9e1b-6f7474657231
# GPT partition GUIDs of the kernel slots: the boot options name them (HD() nodes).
SB_PART_A=6f747465-722d-4b41-8000-000000000001
SB_PART_B=6f747465-722d-4b42-8000-000000000002

sb_keys() {
  local d=$1 k
  mkdir -p "$d"
  for k in PK KEK db rogue; do
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=Otter VM $k/" \
      -keyout "$d/$k.key" -out "$d/$k.crt" 2>/dev/null
  done
  for k in PK KEK db; do cert-to-efi-sig-list -g "$SB_OWNER_GUID" "$d/$k.crt" "$d/$k.esl"; done
  # PK signs itself and KEK, KEK signs db (what the firmware checks once out of setup mode).
  sign-efi-sig-list -g "$SB_OWNER_GUID" -k "$d/PK.key" -c "$d/PK.crt" PK "$d/PK.esl" "$d/PK.auth" >/dev/null
  sign-efi-sig-list -g "$SB_OWNER_GUID" -k "$d/PK.key" -c "$d/PK.crt" KEK "$d/KEK.esl" "$d/KEK.auth" >/dev/null
  sign-efi-sig-list -g "$SB_OWNER_GUID" -k "$d/KEK.key" -c "$d/KEK.crt" db "$d/db.esl" "$d/db.auth" >/dev/null
  # efivarfs takes one write of the 4 attribute bytes and the value: NV|BS|RT|time-based
  # authenticated write (0x27), the .auth file as it is.
  for k in PK KEK db; do { printf '\x27\x00\x00\x00'; cat "$d/$k.auth"; } > "$d/$k.var"; done
}

# le N BYTES: N as BYTES little-endian bytes, as printf escapes.
le() {
  local n=$1 i s=
  for ((i = 0; i < $2; i++)); do s+=$(printf '\\x%02x' $(((n >> (8 * i)) & 255))); done
  printf '%s' "$s"
}
# guid_bytes GUID: the 16 bytes of an EFI_GUID (first three fields little-endian).
guid_bytes() {
  local g=${1//-/}
  le $((16#${g:0:8})) 4; le $((16#${g:8:4})) 2; le $((16#${g:12:4})) 2
  local i; for ((i = 16; i < 32; i += 2)); do printf '\\x%s' "${g:i:2}"; done
}
# ucs2 TEXT: TEXT (ASCII) as NUL-terminated UCS-2 escapes.
ucs2() {
  local s=$1 i
  for ((i = 0; i < ${#s}; i++)); do printf '\\x%02x\\x00' "'${s:i:1}"; done
  printf '\\x00\\x00'
}

# sb_loadopt OUT DESCRIPTION PARTNUM START_LBA SIZE_LBA PART_GUID: an EFI_LOAD_OPTION (active)
# whose device path is HD(PARTNUM,GPT,PART_GUID,START,SIZE)/\EFI\BOOT\BOOTX64.EFI, the short
# form the firmware expands on the disk that has the partition; efivarfs attributes first.
sb_loadopt() {
  local file='\EFI\BOOT\BOOTX64.EFI' hd fp
  hd="\\x04\\x01\\x2a\\x00$(le "$3" 4)$(le "$4" 8)$(le "$5" 8)$(guid_bytes "$6")\\x02\\x02"
  fp="\\x04\\x04$(le $((4 + 2 * (${#file} + 1))) 2)$(ucs2 "$file")"
  printf '%b' "\\x07\\x00\\x00\\x00\\x01\\x00\\x00\\x00$(le $((42 + 4 + 2 * (${#file} + 1) + 4)) 2)$(ucs2 "$2")$hd$fp\\x7f\\xff\\x04\\x00" > "$1"
}

sb_loadopts() {
  local d=$1 ksec=$((SB_KERNEL_MB * 2048))
  mkdir -p "$d"
  sb_loadopt "$d/Boot0100.var" "Otter slot A" 1 2048 "$ksec" "$SB_PART_A"
  sb_loadopt "$d/Boot0101.var" "Otter slot B" 2 $((2048 + ksec)) "$ksec" "$SB_PART_B"
  printf '\x07\x00\x00\x00\x00\x01\x01\x01' > "$d/order-A.var" # BootOrder 0100,0101
  printf '\x07\x00\x00\x00\x01\x01\x00\x01' > "$d/order-B.var" # BootOrder 0101,0100
  printf '\x07\x00\x00\x00\x00\x01' > "$d/next-A.var"          # BootNext 0100
  printf '\x07\x00\x00\x00\x01\x01' > "$d/next-B.var"          # BootNext 0101
}

sb_initramfs() {
  local out=$1 keys=$2 efi=$3 st m
  st=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/sb-initramfs.XXXXXX")
  mkdir -p "$st/bin" "$st/lib/modules" "$st/keys" "$st/efi"
  cp /bin/busybox "$st/bin/busybox"
  cp "$vm_guest/sb-initramfs-init" "$st/init"
  chmod 0755 "$st/init"
  for m in virtio_pci virtio_blk ext4 dm_verity efivarfs; do
    modprobe --show-depends -S "$vm_kver" "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r m; do
    cp "$m" "$st/lib/modules/"
    basename "$m" >> "$st/lib/modules/order"
  done
  vm_copy_prog "$st" "$(command -v veritysetup)"
  cp "$keys"/{PK,KEK,db}.var "$st/keys/"
  cp "$efi"/*.var "$st/efi/"
  (cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
  rm -rf "$st"
}

# sb_verity IMG: IMG is an ext4 image of SB_DATA_MB; its hash tree goes right behind it
# (veritysetup format, superblock included) and the root hash is printed. Data blocks of
# 1 KiB: the verity device's logical block size is its data block size, and ext4 cannot mount
# a file system of smaller blocks (mke2fs makes 1 KiB blocks at this size) on it.
sb_verity() {
  veritysetup format --data-block-size=1024 --hash-offset=$((SB_DATA_MB * 1048576)) "$1" "$1" |
    awk -F: '/^Root hash/ { gsub(/[ \t]/, "", $2); print $2 }'
}

# sb_uki OUT INITRD CMDLINE: sections added with objcopy (Debian 12 has no ukify), at the
# addresses the stub expects (tests/vm/README.md); unsigned: sbsign it.
sb_uki() {
  local out=$1 t; t=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/sb-uki.XXXXXX")
  printf 'ID=otter-vm\nNAME="Otter VM"\n' > "$t/osrel"
  printf '%s' "$3" > "$t/cmdline"
  objcopy --add-section .osrel="$t/osrel" --change-section-vma .osrel=0x20000 \
    --add-section .cmdline="$t/cmdline" --change-section-vma .cmdline=0x30000 \
    --add-section .linux="$vm_kernel" --change-section-vma .linux=0x2000000 \
    --add-section .initrd="$2" --change-section-vma .initrd=0x3000000 \
    /usr/lib/systemd/boot/efi/linuxx64.efi.stub "$out"
  rm -rf "$t"
}

sb_kernel_slot() {
  rm -f "$1"
  mkfs.vfat -C -n OTTERKERN "$1" $((SB_FAT_MB * 1024)) >/dev/null
  mmd -i "$1" ::/EFI ::/EFI/BOOT
  mcopy -i "$1" "$2" ::/EFI/BOOT/BOOTX64.EFI
}

# sb_disk OUT KSLOT_A ROOTFS_A DATA_DIR
sb_disk() {
  local out=$1 tmp; tmp=$(dirname "$out")
  rm -f "$out"
  truncate -s $((2 + 2 * SB_KERNEL_MB + 2 * SB_SLOT_MB + SB_VARDATA_MB))M "$out"
  sfdisk -q "$out" <<TABLE
label: gpt
start=1MiB, size=${SB_KERNEL_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$SB_PART_A, name=kernel-a
size=${SB_KERNEL_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$SB_PART_B, name=kernel-b
size=${SB_SLOT_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs-a
size=${SB_SLOT_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs-b
size=${SB_VARDATA_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
TABLE
  mke2fs -q -F -t ext4 -L data -E root_owner=0:0 -d "$4" "$tmp/data.part" "${SB_VARDATA_MB}M" >/dev/null
  dd if="$2" of="$out" bs=1M seek=1 conv=notrunc status=none
  dd if="$3" of="$out" bs=1M seek=$((1 + 2 * SB_KERNEL_MB)) conv=notrunc status=none
  dd if="$tmp/data.part" of="$out" bs=1M seek=$((1 + 2 * SB_KERNEL_MB + 2 * SB_SLOT_MB)) conv=notrunc status=none
  rm -f "$tmp/data.part"
}

# sb_part_offset N: byte offset of partition N (3 rootfs A, 4 rootfs B) in the disk.
sb_part_offset() {
  case $1 in
    3) echo $(((1 + 2 * SB_KERNEL_MB) * 1048576)) ;;
    4) echo $(((1 + 2 * SB_KERNEL_MB + SB_SLOT_MB) * 1048576)) ;;
  esac
}

# sb_release DIR VERSION SECVER KIND [BASE]: the kernel slot image (UKI in FAT) and the signed
# package DIR/VERSION.zip. KIND good: a rootfs of its own (with its hash tree) whose root hash
# goes into the UKI's command line and, as the rootfs image's verity_root_hash, into the signed
# manifest; UKI signed with db. KIND rogue or flipped: a kernel-only package (otter pack
# --partial: the device copies rootfs from its running set, BASE's), its command line BASE's
# root hash; rogue is signed with another key the firmware does not know, flipped is signed
# with db and then one byte of its signed command line changed (the first digit of the root
# hash: an attacker pointing a signed kernel at another rootfs). Without Secure Boot both boot
# (the controls in tests/vm/secureboot.sh); with it the firmware refuses them.
sb_release() {
  local d=$1 v=$2 sv=$3 kind=$4 base=${5:-} hash off key=db opts=()
  if [ "$kind" = good ]; then
    VM_SLOT_MB=$SB_DATA_MB VM_ROOTFS_EXTRA="$d/extra" VM_TRUST_ROOT="$d/keys/root.json" \
      vm_rootfs "$d/rootfs-$v.img" "$v" good /dev/null
    hash=$(sb_verity "$d/rootfs-$v.img")
    [ ${#hash} = 64 ] || { echo "veritysetup format gave no root hash for $v"; return 1; }
    echo "$hash" > "$d/rootfs-$v.roothash"
    opts=(--image "rootfs=$d/rootfs-$v.img:verity=$hash")
  else
    hash=$(cat "$d/rootfs-$base.roothash")
    opts=(--partial)
  fi
  local pre="console=ttyS0 panic=1 no_timer_check quiet loglevel=4 otter.verity="
  sb_uki "$d/uki-$v.efi" "$d/initrd.img" "$pre$hash otter.verity.offset=$((SB_DATA_MB * 1048576))"
  [ "$kind" = rogue ] && key=rogue
  sbsign --key "$d/keys/$key.key" --cert "$d/keys/$key.crt" --output "$d/uki-$v.signed" "$d/uki-$v.efi" 2>/dev/null
  if [ "$kind" = flipped ]; then
    # .cmdline's file offset (objdump -h) plus where the hash starts in it.
    off=$(objdump -h "$d/uki-$v.signed" | awk '$2 == ".cmdline" { print $6 }')
    [ -n "$off" ] || { echo "no .cmdline section in uki-$v"; return 1; }
    off=$((16#$off + ${#pre}))
    [ "$(dd if="$d/uki-$v.signed" bs=1 skip="$off" count=1 status=none)" = "${hash:0:1}" ] ||
      { echo "uki-$v: the root hash is not at .cmdline + the expected offset"; return 1; }
    if [ "${hash:0:1}" = 0 ]; then printf 1; else printf 0; fi |
      dd of="$d/uki-$v.signed" bs=1 seek="$off" conv=notrunc status=none
  fi
  rm -f "$d/uki-$v.efi"
  sb_kernel_slot "$d/kernel-$v.img" "$d/uki-$v.signed"
  "$OTTER_BUILD_DIR/bin/otter" pack --product otter-vm --compatible qemu-x86 --version "$v" \
    --security-version "$sv" --image kernel="$d/kernel-$v.img" "${opts[@]}" \
    --key "$d/keys/r1.key" -o "$d/$v.zip" >/dev/null
}

# sb_cached_image: sets img to build/vm-sb-cache/KEY (KEY a digest of every input), built
# there once: keys, the initramfs, the releases 1.0 (factory), 2.0 (good), 3.0 (kernel only,
# signed by another key), 3.1 (kernel only, a byte of its signed command line changed) and 5.0
# (good).
sb_cached_image() {
  local cache="$OTTER_BUILD_DIR/vm-sb-cache" key tmp t0 rel v sv kind base
  key=$(cat "$OTTER_SOURCE_DIR/tests/vm/image.sh" "$OTTER_SOURCE_DIR/tests/vm/sb-image.sh" \
    "$vm_guest"/sb-* "$OTTER_BUILD_DIR"/bin/otter-agent "$OTTER_BUILD_DIR/bin/otter" \
    "$vm_kernel" /bin/busybox "$(command -v veritysetup)" /usr/lib/systemd/boot/efi/linuxx64.efi.stub |
    sha256sum | cut -c1-16)
  img="$cache/$key"
  # SB_IMG=DIR: a built image as it is (working on the test script alone).
  [ -z "${SB_IMG:-}" ] || { img=$SB_IMG; echo "image from SB_IMG: $img"; return 0; }
  if [ -e "$img/done" ]; then echo "image from the cache: $img"; return 0; fi
  t0=$(date +%s)
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  sb_keys "$tmp/keys"
  "$OTTER_BUILD_DIR/bin/otter" keygen --out "$tmp/keys/r1" >/dev/null
  "$OTTER_BUILD_DIR/bin/otter" root new --pubkey "$tmp/keys/r1.pub" -o "$tmp/keys/root.json" >/dev/null
  sb_loadopts "$tmp/efi"
  mkdir -p "$tmp/extra/sbin" "$tmp/extra/etc/otter/efi"
  cp "$vm_guest/sb-init" "$tmp/extra/sbin/init"
  cp "$vm_guest/sb-reboot" "$tmp/extra/sbin/otter-reboot"
  cp "$tmp"/efi/next-?.var "$tmp/extra/etc/otter/efi/"
  sb_initramfs "$tmp/initrd.img" "$tmp/keys" "$tmp/efi"
  for rel in 1.0:1:good 2.0:2:good 3.0:3:rogue:2.0 3.1:3:flipped:2.0 5.0:5:good; do
    IFS=: read -r v sv kind base <<<"$rel"
    sb_release "$tmp" "$v" "$sv" "$kind" "$base"
  done
  touch "$tmp/done"
  if mv -T "$tmp" "$img" 2>/dev/null; then
    find "$cache" -mindepth 1 -maxdepth 1 -not -name "$key" -not -name 'build.*' -exec rm -rf {} +
  else
    rm -rf "$tmp"
  fi
  echo "image built in $(($(date +%s) - t0)) s into $img"
}
