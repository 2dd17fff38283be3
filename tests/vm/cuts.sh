#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2154,SC2034 # work, dev, console, mark...: shared with tests/vm/vm.sh, which sources this
# Power cuts of the reference device (tests/vm/README.md "Power cuts"), sourced by vm.sh:
#   cut_rollout ACTION SLOT FROM TO PLAN...   cuts the power during one update, as PLAN says
#                                             (each word `write` or `commit`), then lets it end
# A `write` cut waits until the server has the device's progress at a random percentage of the
# slot write (its feedback "installing rootfs: N%"), then a random 0-0.9 s more; a `commit` cut
# waits for the new slot's boot ("OTTER-VM booted slot=SLOT", printed just before boot-check),
# then a random 0-2.9 s. After each cut the VM starts again and must boot one of the two
# versions, without a panic, up to its boot-check: never a brick. Figures in cut_figures.
# Needs the helpers of machine.sh and vm.sh (db, action_done).
cuts=0
cuts_lossy=0
fsck_fixed=0
cut_bytes=0
declare -A cut_phases=()
cut_t0=$(date +%s)

# last_marker: the last step the console shows since the VM started.
last_marker() {
  tail -c "+$((run_off + 1))" "$console" | tr -d '\r' |
    grep -aoE 'OTTER-GRUB slot=[AB]|OTTER-VM booted slot=[AB]|OTTER-VM boot-check rc=[0-9]+|OTTER-VM reboot into slot [AB?]' |
    tail -1
}

# progress ACTION AFTER_ID: the highest install percentage the server got after feedback AFTER_ID.
progress() {
  db "SELECT coalesce(max(progress_cnt), -1) FROM action_feedback WHERE action_id = $1 AND id > $2 AND details LIKE '%installing%'"
}
last_feedback() { db "SELECT coalesce(max(id), 0) FROM action_feedback WHERE action_id = $1"; }
closed() { db "SELECT status FROM actions WHERE id = $1" | grep -qE '^(finished|error|canceled)$'; }

# cut_wait_write ACTION FB0: returns 0 at the cut point, 1 when the update ended first.
cut_wait_write() {
  local want=$((RANDOM % 95 + 1)) start p off; start=$(date +%s); off=$(stat -c %s "$console")
  while :; do
    p=$(progress "$1" "$2")
    [ "$p" -ge "$want" ] && { cut_note="write at ${p}% (target ${want}%)"; return 0; }
    [ "$(count_since "$off" 'OTTER-VM reboot into slot')" -gt 0 ] && { cut_note="after the write"; return 0; }
    closed "$1" && return 1
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || die "no install progress of ${want}% in $VM_WAIT s (had $p%)"
    kill -0 "$qemu_pid" 2>/dev/null || die "QEMU ended while waiting for the write"
    sleep 0.2
  done
}

# cut_wait_commit ACTION SLOT: waits for the next boot of SLOT (counted from commit_off when
# after_cut set it: the boot that follows a cut); 1 when the update ended first.
commit_off=
cut_wait_commit() {
  local start off; start=$(date +%s); off=${commit_off:-$(stat -c %s "$console")}
  commit_off=
  while :; do
    [ "$(count_since "$off" "OTTER-VM booted slot=$2")" -gt 0 ] && { cut_note="boot-check of $2"; return 0; }
    closed "$1" && return 1
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || die "no boot of slot $2 in $VM_WAIT s"
    kill -0 "$qemu_pid" 2>/dev/null || die "QEMU ended while waiting for the boot of $2"
    sleep 0.2
  done
}

# after_cut FROM TO NEXT: the VM starts again; it must boot one of the two versions up to its
# boot-check (NEXT = commit: up to the line before boot-check, so that the commit cut can fall
# into this boot's boot-check).
after_cut() {
  vm_start
  mark=$run_off
  if [ "${3:-}" = commit ]; then
    marker 'OTTER-VM booted slot=' 1
    commit_off=$run_off
  else
    marker 'OTTER-VM boot-check rc=' 1
  fi
  local booted; booted=$(tail -c "+$((run_off + 1))" "$console" | tr -d '\r' |
    grep -aoE 'OTTER-VM booted slot=[AB] version=[^ ]+' | tail -1)
  case "$booted" in
    *"version=$1"|*"version=$2") ok "cut $cuts ($cut_phase): booted again, $booted" ;;
    *) bad "cut $cuts ($cut_phase): booted '$booted', neither $1 nor $2" ;;
  esac
  local fsck; fsck=$(tail -c "+$((run_off + 1))" "$console" | grep -aoE 'boot partition rc=[0-9]+' | head -1)
  case "${fsck##*=}" in
    0) ;;
    1 | 2 | 3) fsck_fixed=$((fsck_fixed + 1)) ;;
    *) bad "cut $cuts: e2fsck of the boot partition: '$fsck'" ;;
  esac
  if tail -c "+$((run_off + 1))" "$console" | grep -aqE 'Kernel panic|OTTER-INITRAMFS|broken init'; then
    bad "cut $cuts: a boot after the cut failed: $(tail -c "+$((run_off + 1))" "$console" |
      grep -aE 'Kernel panic|OTTER-INITRAMFS|broken init' | head -2 | tr '\r\n' '  ')"
  fi
}

cut_rollout() {
  local action=$1 slot=$2 from=$3 to=$4 fb0 kind delay
  shift 4
  fb0=$(last_feedback "$action")
  local plan=("$@") i
  for ((i = 0; i < ${#plan[@]}; i++)); do
    kind=${plan[$i]}
    if [ "$kind" = write ]; then
      cut_wait_write "$action" "$fb0" || { echo "  (the update ended before a $kind cut)"; break; }
      delay=0.$((RANDOM % 10))
    else
      cut_wait_commit "$action" "$slot" || { echo "  (the update ended before a $kind cut)"; break; }
      delay=$((RANDOM % 3)).$((RANDOM % 10))
    fi
    sleep "$delay" # the random part of the cut point (not a synchronisation)
    local key
    case "$(last_marker)" in
      OTTER-GRUB*) key="boot (GRUB, kernel, init)" ;;
      *booted\ slot=*) key="boot-check (commit)" ;;
      *boot-check\ rc=*) key="agentd (poll, download, slot write)" ;;
      *reboot\ into*) key="reboot after the switch" ;;
      *) key="firmware" ;;
    esac
    cut_phase="$key; $cut_note"
    power_cut
    fb0=$(last_feedback "$action")
    cuts=$((cuts + 1))
    cut_phases[$key]=$((${cut_phases[$key]:-0} + 1))
    cut_bytes=$((cut_bytes + cut_lost))
    [ "$cut_lost" -gt 0 ] && cuts_lossy=$((cuts_lossy + 1))
    echo "  [$(($(date +%s) - boot_t0)) s] power cut $cuts ($kind, +${delay} s) in $cut_phase: $cut_lost unflushed bytes lost"
    after_cut "$from" "$to" "${plan[$((i + 1))]:-}"
  done
}

cut_figures() {
  local k line="power cuts: $cuts in $(($(date +%s) - cut_t0)) s; $cuts_lossy lost unflushed writes ($cut_bytes bytes in all); e2fsck repaired the boot partition after $fsck_fixed; by phase:"
  for k in "${!cut_phases[@]}"; do line+=" [$k] ${cut_phases[$k]}"; done
  echo "$line"
}
