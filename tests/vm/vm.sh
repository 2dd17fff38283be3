#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The reference device in QEMU (tests/vm/README.md): a real kernel booted by
# real GRUB (SeaBIOS, i386-pc) from an MBR disk with boot, rootfs A/B and data
# partitions, updated over DDI by a real otter-server on the host's loopback.
#   1. a rollout of 2.0 writes slot B (/dev/vda3) through the raw handler,
#      switches GRUB's environment block, reboots; GRUB boots B, boot-check
#      commits, the server records closed/success and version 2.0;
#      Power cuts during that update (scenario 3): QEMU and the disk's write cache
#      (nbdkit) killed during the slot write, twice, and during boot-check's commit,
#      once (VM_CUTS, default 3); each time the VM boots again into one of the two
#      versions and the update still ends in success;
#   2. a rollout of 3.0 whose init dies (kernel panic, panic=1 reboots) is
#      written to slot A; GRUB counts A's tries down across real reboots and
#      falls back to B (2.0); boot-check records the failure, the server gets
#      closed/failure;
#   5. an SD card (a second virtual disk, ext2, holding update.zip) with 4.0:
#      the guest's init installs it, reboots into A, commits; the card booted
#      again is refused (already running); the server sees the device on 4.0;
#   3. (make vm-long: VM_CUTS=50) more updates, each cut VM_CUTS_PER_ROLLOUT
#      times, until VM_CUTS cuts in all; the figures are printed at the end.
# One QEMU process runs between cuts (no -no-reboot: a guest reboot is a reset).
# The test waits for markers on the serial console, each with a bound
# (VM_WAIT seconds for each, default 600: TCG on a loaded 2-core runner is slow).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/vm/image.sh"
source "$OTTER_SOURCE_DIR/tests/vm/machine.sh"
source "$OTTER_SOURCE_DIR/tests/vm/cuts.sh"
source "$OTTER_SOURCE_DIR/tests/vm/ddi.sh"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
VM_WAIT=${VM_WAIT:-600}
VM_CUTS=${VM_CUTS:-3}                          # power cuts in all (3: the sample in scenario 1)
VM_CUTS_PER_ROLLOUT=${VM_CUTS_PER_ROLLOUT:-5}  # beyond the sample: cuts per update (the last in commit)
RANDOM=${VM_SEED:-$$}
echo "power cuts: VM_CUTS=$VM_CUTS, VM_SEED=${VM_SEED:-$$}"

missing=()
for t in qemu-system-x86_64 nbdkit grub-mkimage grub-editenv mke2fs sfdisk cpio busybox modprobe jq curl sqlite3; do
  command -v "$t" >/dev/null || missing+=("$t")
done
[ -r "$vm_kernel" ] || missing+=("a kernel in /boot (linux-image-amd64)")
[ -r /usr/lib/grub/i386-pc/boot.img ] || missing+=("grub-pc-bin")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and missing: ${missing[*]} (make deps)"; exit 1; fi
  echo "SKIPPED: missing ${missing[*]} (make deps)"; exit 77
fi

vm_cleanup() {
  local rc=$?
  [ "$rc" = 0 ] || fails=$((fails + 1))
  vm_stop
  stop_server >/dev/null 2>&1 || true
  if [ "$fails" = 0 ]; then rm -rf "${work:-}"; else echo "kept: $work (console.log, server.log)"; fi
  return 0
}
trap vm_cleanup EXIT

vm_cached_image # $img: keys, GRUB, initramfs, releases (tests/vm/image.sh)
keys="$img/keys"
start_server vm "[trust]
root = $keys/root.json
[ddi]
polling = 2s"
port=${HOSTPORT##*:}
A=$(login admin "$ADMIN_PW")
expect "tenant acme" "$(jreq POST /api/v1/tenants "$A" '{"name":"acme"}')" 201
expect "device vm1 provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"vm1","model":"qemu-x86"}')" 201
token=$(body .token)

# ---- the device's own parts: boot partition, factory state, data partition, disk ----
t0=$(date +%s)
dev="$work/dev"; mkdir -p "$dev"
# Factory: otter-agent installs 1.0 on the host into file slots, with the
# state and GRUB environment that then go onto the data and boot partitions.
boot="$dev/boot"; data="$dev/data"; mkdir -p "$boot/grub" "$data/otter" "$data/spool"
cp "$OTTER_SOURCE_DIR/tests/vm/guest/grub.cfg" "$boot/grub/grub.cfg"
grub-editenv "$boot/grub/grubenv" create
: > "$dev/slot-a"; : > "$dev/slot-b"; echo "otter.slot=A" > "$dev/cmdline"
vm_conf() { # vm_conf STATE_DIR GRUBENV CMDLINE SLOT_A SLOT_B
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
backend = grub
path = $3
cmdline = $4
tries = 3
[reboot]
command = /sbin/otter-reboot
[slot.rootfs]
a = $5
b = $6
handler = raw
CONF
}
vm_conf "$data/otter" "$keys/root.json" "$boot/grub/grubenv" "$dev/cmdline" "$dev/slot-a" "$dev/slot-b" > "$dev/factory.conf"
"$agent" -c "$dev/factory.conf" factory "$img/1.0.zip" > "$dev/factory.log" 2>&1 ||
  die "factory install of 1.0 failed: $(cat "$dev/factory.log")"
{
  # The slots by the MBR's PARTUUID (disk id 0x0743a0a1, tests/vm/image.sh): resolved by the
  # agent without udev, through sysfs and libblkid (docs/agent.md "Slots on block devices").
  vm_conf /data/otter /etc/otter/root.json /bootpart/grub/grubenv /proc/cmdline partuuid:0743a0a1-02 \
    partuuid:0743a0a1-03
  cat <<CONF
[server]
url = http://10.0.2.2:$port
tenant = acme
controller_id = vm1
target_token = $token
spool = /data/spool
CONF
} > "$data/agent.conf"
vm_disk "$dev/disk.img" "$img/grub" "$boot" "$dev/slot-a" "$data"
echo "disk assembled in $(($(date +%s) - t0)) s: $(du -h --apparent-size "$dev/disk.img" | cut -f1), rootfs $(du -h "$img/rootfs-1.0.img" | cut -f1) used"

# ---- the VM ----
console="$work/console.log"
: > "$console"
boot_t0=$(date +%s)
vm_start

echo "== factory boot: slot A, 1.0"
marker 'OTTER-GRUB slot=A' 1
marker 'OTTER-VM booted slot=A version=1.0' 1
marker 'OTTER-VM boot-check rc=0' 1
marker 'OTTER-VM agentd running' 1

echo "== scenario 1: a rollout of 2.0 over DDI, reboot into B through GRUB, commit"
echo "   with scenario 3's sample: power cuts in the slot write (2) and in the commit (1)"
plan=(write write commit)
plan=("${plan[@]:0:$VM_CUTS}")
ro1=$(rollout "$img/2.0.zip" vm-2.0)
a1=$(action_of "$ro1")
mark_here
[ ${#plan[@]} -gt 0 ] && cut_rollout "$a1" B 1.0 2.0 "${plan[@]}"
expect "2.0: the server closed the action with success" "$(action_done "$a1")" "finished success"
expect "2.0: the server sees the device on 2.0" "$(version_is 2.0)" 2.0
mark=$run_off
marker 'OTTER-VM booted slot=B version=2.0' 1
expect "2.0 runs in B (GRUB booted it, boot-check committed)" "$(booted_now)" "slot=B version=2.0"
[ "$cuts" -gt 0 ] && cut_figures

echo "== scenario 2: 3.0 panics at boot; GRUB's counter falls back to B (2.0) across real reboots"
mark_here
ro2=$(rollout "$img/3.0.zip" vm-3.0)
marker 'OTTER-VM reboot into slot A version 3.0' 1
marker 'OTTER-VM broken init of version 3.0 exits' 3
marker 'OTTER-GRUB slot=A order=A B A_LEFT=0' 1
marker 'OTTER-VM booted slot=B version=2.0' 1
marker 'OTTER-VM boot-check' 1
expect "GRUB booted A three times (tries = 3), then B" \
  "$(tr -d '\r' < "$console" | grep -aoE 'OTTER-GRUB slot=[AB]' | tail -4 | tr '\n' ' ')" \
  "OTTER-GRUB slot=A OTTER-GRUB slot=A OTTER-GRUB slot=A OTTER-GRUB slot=B "
a2=$(action_of "$ro2")
expect "3.0: the server closed the action with failure" "$(action_done "$a2")" "error failure"
req GET "/api/v1/tenants/acme/actions/$a2" "$A" >/dev/null
detail=$(body '[.feedback[] | select(.execution == "closed")] | last | .details | tostring')
echo "  3.0 as the server has it: $detail"
case "$detail" in *"did not boot"*) ok "3.0: the failure names the slot that did not boot" ;;
  *) bad "3.0: closed feedback without the reason: $detail" ;; esac
expect "the server still sees the device on 2.0" "$(device_version)" 2.0

echo "== scenario 5: an SD card with 4.0 (a second disk, ext2, update.zip), installed by the guest's init"
card="$work/card"; mkdir -p "$card"
cp "$img/4.0.zip" "$card/update.zip"
mke2fs -q -F -t ext2 -L sdcard -d "$card" "$work/card.img" \
  "$(( $(stat -c %s "$img/4.0.zip") / 1048576 + 8 ))M" >/dev/null
rm -rf "$card"
vm_stop # the card goes in with the power off
vm_start "$work/card.img"
mark=$run_off
marker 'OTTER-VM booted slot=B version=2.0' 1
marker 'OTTER-VM sdcard: installing update.zip' 1
marker 'OTTER-VM reboot into slot A version 4.0' 1
marker 'OTTER-GRUB slot=A order=A B' 1
marker 'OTTER-VM booted slot=A version=4.0' 1
marker 'OTTER-VM boot-check rc=0' 2
marker 'OTTER-VM sdcard install rc=' 1
sd=$(tail -c "+$((run_off + 1))" "$console" | tr -d '\r' | grep -aE 'sdcard install rc=' | head -1)
case "$sd" in *"rc=0:"*|"") bad "the card a second time: $sd" ;;
  *"already running"*) ok "the card a second time: refused, 4.0 already runs (${sd#*OTTER-VM })" ;;
  *) bad "the card a second time, another refusal: $sd" ;; esac
expect "4.0 from the card runs in A" "$(booted_now)" "slot=A version=4.0"
expect "the server has 4.0 in the device's attributes (the daemon reports the card's install)" \
  "$(version_is 4.0 device_attr_version)" 4.0

if [ "$cuts" -lt "$VM_CUTS" ]; then
  echo "== scenario 3, the long campaign: updates with power cuts until $VM_CUTS cuts"
  slot=A content=4.0 k=0
  while [ "$cuts" -lt "$VM_CUTS" ]; do
    k=$((k + 1))
    # Each update writes the other slot with the other content (2.0's or 4.0's tree) under a
    # fresh version 5.k (a fresh manifest: the agent refuses an older one).
    to=2.0; [ "$content" = 2.0 ] && to=4.0
    next=B; [ "$slot" = B ] && next=A
    "$otter" pack --product otter-vm --compatible qemu-x86 --version "5.$k" --security-version 4 \
      --image rootfs="$img/rootfs-$to.img" --key "$keys/r1.key" -o "$work/5.$k.zip" >/dev/null
    ro=$(rollout "$work/5.$k.zip" "vm-5.$k")
    rm -f "$work/5.$k.zip"
    a=$(action_of "$ro")
    n=$((VM_CUTS - cuts)); [ "$n" -gt "$VM_CUTS_PER_ROLLOUT" ] && n=$VM_CUTS_PER_ROLLOUT
    plan=(); for ((i = 1; i < n; i++)); do plan+=(write); done; plan+=(commit)
    echo "  update $k: 5.$k ($to's tree) into $next, cuts: ${plan[*]}"
    cut_rollout "$a" "$next" "$content" "$to" "${plan[@]}"
    expect "5.$k: the server closed the action with success" "$(action_done "$a")" "finished success"
    expect "5.$k: the server sees the device on 5.$k" "$(version_is "5.$k")" "5.$k"
    slot=$next content=$to
  done
fi
[ "$cuts" -gt 0 ] && cut_figures
echo "VM campaign: $(grep -ac 'OTTER-GRUB slot=' "$console") boots, $run VM starts in $(($(date +%s) - boot_t0)) s"
finish
