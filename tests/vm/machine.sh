#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2154,SC2034 # work, dev, console, mark...: shared with tests/vm/vm.sh, which sources this
# The virtual machine of the reference device (tests/vm/README.md), sourced by tests/vm/vm.sh:
#   vm_start [CARD_IMG]   nbdkit serves the disk through a write-back cache, QEMU boots on it
#                         (a second virtio disk, /dev/vdb, when CARD_IMG is given; the
#                         firmware VM_BIOS instead of SeaBIOS when set: U-Boot, tests/vm/uboot.sh;
#                         more QEMU options from VM_QEMU_ARGS)
#   power_cut             SIGKILL to QEMU and nbdkit: the guest's page cache and every write
#                         the guest did not flush are lost; sets cut_lost (unflushed bytes)
#   vm_stop               the same, at the end of the test
#   marker PATTERN [N]    waits for the N-th console line matching PATTERN since the last mark
#   mark_here             later markers count from here
#   since_start PATTERN   whether PATTERN was printed since the last vm_start
# Needs work, dev (disk.img in it), console, VM_WAIT, boot_t0; die from check.sh.
#
# Why nbdkit: QEMU's own cache=writeback keeps what the guest wrote in the HOST's page cache,
# which a kill of QEMU does not lose; only the guest's page cache would be lost. A disk with
# a volatile write cache also loses what the guest wrote but did not flush. nbdkit's cache
# filter in writeback mode holds every write in a temporary file (unlinked, in $work) and
# writes it to disk.img only when the guest sends a flush (virtio-blk advertises a write
# cache: QEMU's default cache.writeback=on, and it passes the guest's flushes on as NBD
# flushes). Killing nbdkit loses that cache. The log filter records every request, so each
# cut says how many bytes were written since the last flush (lost).
run=0
run_off=0
qemu_pid=
nbd_pid=

vm_start() {
  run=$((run + 1))
  local sock="$work/nbd.sock" card=${1:-} n=0
  rm -f "$sock"
  TMPDIR="$work" nbdkit --exit-with-parent -f -U "$sock" --filter=log --filter=cache \
    file "file=$dev/disk.img" cache=writeback "logfile=$work/nbd.$run.log" \
    2>"$work/nbdkit.$run.log" &
  nbd_pid=$!
  while [ ! -S "$sock" ]; do
    kill -0 "$nbd_pid" 2>/dev/null || die "nbdkit ended: $(cat "$work/nbdkit.$run.log")"
    [ $n -lt 600 ] || die "nbdkit: no socket after 60 s"
    n=$((n + 1)); sleep 0.1
  done
  run_off=$(stat -c %s "$console")
  local extra=()
  [ -n "$card" ] && extra=(-drive "file=$card,format=raw,if=virtio")
  [ -n "${VM_BIOS:-}" ] && extra+=(-bios "$VM_BIOS")
  # shellcheck disable=SC2206 # split into words on purpose: a variant's options (uboot.sh: -vga none)
  [ -n "${VM_QEMU_ARGS:-}" ] && extra+=($VM_QEMU_ARGS)
  qemu-system-x86_64 -accel tcg -m 512 -display none -monitor none \
    -chardev "file,id=con,path=$console,append=on" -serial chardev:con \
    -drive "file=nbd+unix:///?socket=$sock,format=raw,if=virtio,cache=writeback" "${extra[@]}" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 2>>"$work/qemu.log" &
  qemu_pid=$!
}

# unflushed LOG: bytes of the Write requests after the last Flush (fua=1 writes are durable).
unflushed() {
  local n=0 act c
  while read -r act c; do
    if [ "$act" = Flush ]; then n=0; else n=$((n + c)); fi
  done < <(awk '$4 == "Flush" { print "Flush 0" }
    $4 == "Write" && $0 !~ /fua=1/ { for (i = 5; i <= NF; i++) if ($i ~ /^count=/) print "Write", substr($i, 7) }' "$1")
  echo "$n"
}

power_cut() {
  kill -KILL "$nbd_pid" "$qemu_pid" 2>/dev/null || true
  wait "$nbd_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=
  nbd_pid=
  cut_lost=$(unflushed "$work/nbd.$run.log")
}

vm_stop() {
  [ -n "$qemu_pid$nbd_pid" ] || return 0
  power_cut
}

mark=0
mark_here() { mark=$(stat -c %s "$console"); }

# count_since OFFSET PATTERN: lines matching PATTERN in the console after byte OFFSET.
count_since() { tail -c "+$(($1 + 1))" "$console" | grep -aEc -- "$2" || true; }
since_start() { [ "$(count_since "$run_off" "$1")" -gt 0 ]; }

# marker PATTERN [COUNT]: waits until PATTERN (grep -E) was printed COUNT times (default 1)
# since the last mark_here; dies when QEMU ends, or when VM_WAIT s pass without a new one
# (the bound is per occurrence: COUNT boots may take COUNT times as long).
marker() {
  local want=${2:-1} n seen=-1 start
  while :; do
    n=$(count_since "$mark" "$1")
    [ "$n" -ge "$want" ] && { echo "  [$(($(date +%s) - boot_t0)) s] $1 (x$n)"; return 0; }
    [ "$n" != "$seen" ] && { seen=$n; start=$(date +%s); }
    kill -0 "$qemu_pid" 2>/dev/null || die "QEMU ended before '$1' x$want: $(tail -5 "$work/qemu.log")"
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || {
      echo "--- console (last 40 lines)"; tr -d '\r' < "$console" | grep -av '^\s*$' | tail -40
      die "no '$1' x$want on the console ($n so far, none for $VM_WAIT s)"
    }
    sleep 0.5
  done
}
