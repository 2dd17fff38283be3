#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The reference device in QEMU (tests/vm/README.md): a real kernel booted by
# real GRUB (SeaBIOS, i386-pc) from an MBR disk with boot, rootfs A/B and data
# partitions, updated over DDI by a real otter-server on the host's loopback.
#   1. a rollout of 2.0 writes slot B (/dev/vda3) through the raw handler,
#      switches GRUB's environment block, reboots; GRUB boots B, boot-check
#      commits, the server records closed/success and version 2.0;
#   2. a rollout of 3.0 whose init dies (kernel panic, panic=1 reboots) is
#      written to slot A; GRUB counts A's tries down across real reboots and
#      falls back to B (2.0); boot-check records the failure, the server gets
#      closed/failure.
# One QEMU process runs throughout (no -no-reboot: a guest reboot is a reset).
# The test waits for markers on the serial console, each with a bound
# (VM_WAIT seconds for each, default 600: TCG on a loaded 2-core runner is slow).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/vm/image.sh"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
VM_WAIT=${VM_WAIT:-600}

missing=()
for t in qemu-system-x86_64 grub-mkimage grub-editenv mke2fs sfdisk cpio busybox modprobe jq curl sqlite3; do
  command -v "$t" >/dev/null || missing+=("$t")
done
[ -r "$vm_kernel" ] || missing+=("a kernel in /boot (linux-image-amd64)")
[ -r /usr/lib/grub/i386-pc/boot.img ] || missing+=("grub-pc-bin")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and missing: ${missing[*]} (make deps)"; exit 1; fi
  echo "SKIPPED: missing ${missing[*]} (make deps)"; exit 77
fi

qemu_pid=
vm_cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
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
  vm_conf /data/otter /etc/otter/root.json /bootpart/grub/grubenv /proc/cmdline /dev/vda2 /dev/vda3
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
qemu-system-x86_64 -accel tcg -m 512 -display none -monitor none -serial "file:$console" \
  -drive "file=$dev/disk.img,format=raw,if=virtio" \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0 2>"$work/qemu.log" &
qemu_pid=$!
boot_t0=$(date +%s)

# marker PATTERN COUNT: waits until PATTERN (grep -E) was printed COUNT times on the serial
# console; dies when QEMU ends, or when VM_WAIT s pass without a new one (the bound is per
# occurrence: COUNT boots may take COUNT times as long).
marker() {
  local n seen=-1 start
  while :; do
    n=$(grep -aEc -- "$1" "$console" || true)
    [ "$n" -ge "$2" ] && { echo "  [$(($(date +%s) - boot_t0)) s] $1 (x$n)"; return 0; }
    [ "$n" != "$seen" ] && { seen=$n; start=$(date +%s); }
    kill -0 "$qemu_pid" 2>/dev/null || die "QEMU ended before '$1' x$2: $(tail -5 "$work/qemu.log")"
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || {
      echo "--- console (last 40 lines)"; tr -d '\r' < "$console" | grep -av '^\s*$' | tail -40
      die "no '$1' x$2 on the console ($n so far, none for $VM_WAIT s)"
    }
    sleep 0.5
  done
}
# action_of ROLLOUT: the action id of vm1 in that rollout.
action_of() { db "SELECT a.id FROM actions a JOIN devices d ON d.id = a.device_id WHERE a.rollout_id = $1 AND d.controller_id = 'vm1'"; }
# action_done ID: waits (VM_WAIT s) until the server closed action ID; prints "status result".
action_done() {
  local start s; start=$(date +%s)
  while :; do
    s=$(db "SELECT status || ' ' || result FROM actions WHERE id = $1")
    case "$s" in finished*|error*|canceled*) echo "$s"; return 0 ;; esac
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || { echo "$s (not closed in $VM_WAIT s)"; return 0; }
    sleep 0.5
  done
}
# rollout VERSION NAME: uploads and approves VERSION, starts a one-stage rollout; prints its id.
rollout() {
  local rel ro; rel=$(upload acme "$A" "$img/$1.zip")
  [ "$(jreq POST /api/v1/tenants/acme/rollouts "$A" \
    "{\"name\":\"$2\",\"release\":$rel,\"stages\":[{\"percent\":100}]}")" = 201 ] ||
    die "rollout $2: $(head -c 300 "$work/body")"
  ro=$(body .id)
  [ "$(jreq POST "/api/v1/tenants/acme/rollouts/$ro/start" "$A" '{}')" = 200 ] ||
    die "rollout $2 start: $(head -c 300 "$work/body")"
  echo "$ro"
}
device_version() { req GET /api/v1/tenants/acme/devices/vm1 "$A" >/dev/null; body .version; }

echo "== factory boot: slot A, 1.0"
marker 'OTTER-GRUB slot=A' 1
marker 'OTTER-VM booted slot=A version=1.0' 1
marker 'OTTER-VM boot-check rc=0' 1
marker 'OTTER-VM agentd running' 1

echo "== scenario 1: a rollout of 2.0 over DDI, reboot into B through GRUB, commit"
ro1=$(rollout 2.0 vm-2.0)
marker 'OTTER-VM reboot into slot . version 2.0' 1
marker 'OTTER-GRUB slot=B order=B A' 1
marker 'OTTER-VM booted slot=B version=2.0' 1
marker 'OTTER-VM boot-check rc=0' 2
a1=$(action_of "$ro1")
expect "2.0: the server closed the action with success" "$(action_done "$a1")" "finished success"
expect "2.0: the server sees the device on 2.0" "$(device_version)" 2.0

echo "== scenario 2: 3.0 panics at boot; GRUB's counter falls back to B (2.0) across real reboots"
ro2=$(rollout 3.0 vm-3.0)
marker 'OTTER-VM reboot into slot . version 3.0' 1
marker 'OTTER-VM broken init of version 3.0 exits' 3
marker 'OTTER-GRUB slot=A order=A B A_LEFT=0' 1
marker 'OTTER-VM booted slot=B version=2.0' 2
marker 'OTTER-VM boot-check' 3
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
echo "VM campaign: $(grep -ac 'OTTER-GRUB slot=' "$console") boots in $(($(date +%s) - boot_t0)) s"
finish
