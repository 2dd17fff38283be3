#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A power cut between the pending record and the boot switch (issue 14,
# scenario 3; seen in `make vm-long`, session 10). The install records the
# pending update in the state file, then switches the boot variables; cut in
# between, the old slot boots again with a pending record. Before the fix,
# boot-check reported "slot B did not boot" (a failure over DDI) although the
# new slot was never tried.
#  1. Cut at install-recorded (file boot back-end, boot simulator): boot-check
#     says the switch never happened, records no failure, forgets the record
#     and slot B's entry (the device runs 1.0, as before the install); the
#     install again commits 2.0.
#  2. Cut at install-activated (the switch durable, its mark in the state
#     not): the pending record still says "not switched", but the boot
#     variables say B was activated: B boots and commits.
#  3. The same cut, then B never comes up (its tries run out, the bootloader
#     falls back to A): that is a real failure, and boot-check reports it.
#  4. A pending record without "switched" (written by an older agent, which
#     switched right after): boot-check assumes it switched, as before; a
#     failure is never hidden.
#  5. A complete install leaves no "switched" key: an older agent (a
#     downgrade boots one) reads the record as before.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/switch-cut.$$"
rm -rf "$work"; mkdir -p "$work"; trap '[ "$fails" = 0 ] && rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
command -v jq >/dev/null || die "jq is needed"
make_keys
make_content "$work/v1.img" 200000 1
make_content "$work/v2.img" 300000 2
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
make_pkg "$work/v2.zip" 2.0 2 "$work/v2.img" raw

# new_device DIR: factory 1.0 in A, booted.
new_device() {
  make_device "$1" raw
  "$agent" -c "$1/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1
  "$agent" bootsim --root "$1" >/dev/null
}
# cut DIR POINT: install 2.0, killed (SIGKILL, as a power cut) at crash point POINT.
cut() {
  local rc=0
  (OTTER_CRASH_AT="$2:1" exec "$agent" -c "$1/agent.conf" install "$work/v2.zip" --no-reboot \
    >/dev/null 2>&1) || rc=$?
  [ "$rc" = 137 ] || die "install was not killed at $2 (exit $rc)"
}
state() { jq -c "$2" "$1/state/state.json"; }
boot() { "$agent" bootsim --root "$1" 2>&1 || true; }

# 1. Cut before the switch.
d="$work/d1"; new_device "$d"
cut "$d" install-recorded
expect "cut before the switch: pending, not switched" "$(state "$d" '.pending | [.version, .switched]')" '["2.0",false]'
expect "boot variables: B released, A first" "$(tr '\n' ' ' < "$d/bootenv")" "BOOT_ORDER=A B BOOT_A_LEFT=3 BOOT_B_LEFT=0 "
expect "power on: A boots, the switch never happened" "$(boot "$d")" \
  "booted slot A: the switch to the update never happened, install it again"
expect "no failure recorded, nothing pending" "$(state "$d" '[.pending, .last_result.status]')" '[null,"success"]'
expect "the last result is still the factory's" "$(state "$d" '.last_result.version')" '"1.0"'
expect "slot B forgotten, A runs 1.0" "$(state "$d" '[.booted, .slots.A.version, .slots.B]')" '["A","1.0",null]'
expect "A got its try back" "$(tr '\n' ' ' < "$d/bootenv")" "BOOT_ORDER=A B BOOT_A_LEFT=3 BOOT_B_LEFT=0 "
rc=0; out=$("$agent" -c "$d/agent.conf" boot-check 2>&1) || rc=$?
expect "boot-check again: nothing pending, exit 0" "$rc:$out" "0:no update pending"
"$agent" -c "$d/agent.conf" install "$work/v2.zip" --no-reboot >/dev/null
expect "installed again: B boots and commits" "$(boot "$d")" "booted slot B: update committed"
expect "2.0 committed, counter 2" "$(state "$d" '[.last_result.status, .last_result.version]'):$(cat "$d/state/counter")" \
  '["success","2.0"]:2'

# boot-check's own words for it (otter-agent boot-check, as the init runs it).
d="$work/d1b"; new_device "$d"
cut "$d" install-recorded
printf 'otter.slot=A\n' > "$d/cmdline"
rc=0; out=$("$agent" -c "$d/agent.conf" boot-check 2>&1) || rc=$?
expect "boot-check: exit 0 and says why" "$rc:$out" \
  "0:the switch to slot B never happened (power cut before it was durable): the update was not tried; install it again"

# 2. Cut right after the switch, before its mark in the state file.
d="$work/d2"; new_device "$d"
cut "$d" install-activated
expect "cut after the switch: pending, not marked switched" "$(state "$d" '.pending.switched')" false
expect "B boots and commits" "$(boot "$d")" "booted slot B: update committed"

# 3. The same cut, then B never comes up: its tries run out, the bootloader runs A.
d="$work/d3"; new_device "$d"
cut "$d" install-activated
sed -i 's/^BOOT_B_LEFT=.*/BOOT_B_LEFT=0/' "$d/bootenv"
expect "B out of tries: A boots, the failure is reported" "$(boot "$d")" \
  "booted slot A: update failed, kept the previous system"
expect "failure recorded for 2.0" "$(state "$d" '[.last_result.status, .last_result.version, .pending]')" \
  '["failure","2.0",null]'

# 4. A record without the key (an older agent's): it switched.
d="$work/d4"; new_device "$d"
cut "$d" install-recorded
jq 'del(.pending.switched)' "$d/state/state.json" > "$d/state/s.new" && mv "$d/state/s.new" "$d/state/state.json"
expect "older agent's record: boot-check reports as before" "$(boot "$d")" \
  "booted slot A: update failed, kept the previous system"

# 5. A complete install: the record has no "switched" key.
d="$work/d5"; new_device "$d"
"$agent" -c "$d/agent.conf" install "$work/v2.zip" --no-reboot >/dev/null
expect "complete install: record without switched" "$(state "$d" '.pending | has("switched")')" false
expect "... and it commits" "$(boot "$d")" "booted slot B: update committed"
finish
