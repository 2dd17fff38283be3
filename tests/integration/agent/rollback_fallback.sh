#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Anti-rollback on fallback (issue 11 §3): once a commit raised the counter,
# no slot below it runs again, a bootloader fallback included.
#  1. The commit of 2.0 (security version 2) over 1.0 (1) takes slot A out of
#     BOOT_ORDER: when slot B then fails verified boot, the boot simulator
#     finds no slot to fall back to (before: it booted 1.0 with counter 2).
#  2. A boot order reset to "A B" (a boot script that resets its counters,
#     someone with the environment): boot-check refuses 1.0 (exit 1), retires
#     A and reboots into B (before: "no update pending", 1.0 kept running).
#  3. Power cut right after the counter was raised, then B runs out of tries:
#     the fallback into A is refused, the pending update stays and B is
#     committed on the next boot (before: "update failed" with 1.0 running
#     under counter 2).
#  4. The equal case: 2.1 with security version 2 over 2.0 keeps 2.0 as a
#     fallback, and boot-check lets it run.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/rollback-fallback.$$"
rm -rf "$work"; mkdir -p "$work"; trap '[ "$fails" = 0 ] && rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys
make_content "$work/v1.img" 200000 1
make_content "$work/v2.img" 300000 2
make_content "$work/v21.img" 300000 3
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
make_pkg "$work/v2.zip" 2.0 2 "$work/v2.img" raw
make_pkg "$work/v21.zip" 2.1 2 "$work/v21.img" raw

# new_device DIR BASE.zip: factory BASE in A, booted.
new_device() {
  make_device "$1" raw
  "$agent" -c "$1/agent.conf" factory "$2" >/dev/null 2>&1
  "$agent" bootsim --root "$1" >/dev/null
}
bootvars() { tr '\n' ' ' < "$1/bootenv" | sed 's/ $//'; }
boot() { "$agent" bootsim --root "$1" 2>&1 || true; }

# 1. Commit raises the counter and retires the older slot.
d="$work/d1"; new_device "$d" "$work/v1.zip"
"$agent" -c "$d/agent.conf" install "$work/v2.zip" --no-reboot >/dev/null
expect "2.0 boots and is committed" "$(boot "$d")" "booted slot B: update committed"
expect "counter raised" "$(cat "$d/state/counter")" 2
expect "slot A (1.0) is out of the boot order" "$(bootvars "$d")" "BOOT_ORDER=B BOOT_A_LEFT=0 BOOT_B_LEFT=3"
cp "$d/slots/rootfs-b" "$work/b.good"
printf 'X' | dd of="$d/slots/rootfs-b" bs=1 seek=1000 conv=notrunc 2>/dev/null
out=$(boot "$d")
[[ $out == *"verified boot refused slot B"* ]] && [[ $out == *"no bootable slot"* ]] \
  && ok "slot B broken: no fallback into 1.0" || bad "fallback after commit: $out"
expect "1.0 did not run" "$(sed -n 's/.*otter.slot=\([AB]\).*/\1/p' "$d/cmdline")" B

# 2. Boot order reset: boot-check refuses the slot below the counter.
cp "$work/b.good" "$d/slots/rootfs-b"
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' > "$d/bootenv"
rm -f "$d/reboot-requested"
expect "boot order reset: 1.0 refused by boot-check" "$(boot "$d")" \
  "booted slot A: below the anti-rollback counter: refused, the other slot boots next"
[ -e "$d/reboot-requested" ] && ok "reboot into slot B requested" || bad "no reboot requested"
expect "slot A retired again, B first" "$(bootvars "$d")" "BOOT_ORDER=B BOOT_A_LEFT=0 BOOT_B_LEFT=3"
expect "next boot runs 2.0" "$(boot "$d")" "booted slot B: no update pending"
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' > "$d/bootenv"
printf 'otter.slot=A\n' > "$d/cmdline"
rc=0; out=$("$agent" -c "$d/agent.conf" boot-check 2>&1) || rc=$?
expect "boot-check on 1.0 exits 1" "$rc $out" \
  "1 slot A is below the anti-rollback counter: not kept, slot B boots next"

# 3. Power cut between the counter and the boot variables, then B runs out of tries.
d="$work/d3"; new_device "$d" "$work/v1.zip"
"$agent" -c "$d/agent.conf" install "$work/v2.zip" --no-reboot >/dev/null
rc=0; (OTTER_CRASH_AT=commit-counter:1 exec "$agent" bootsim --root "$d" >/dev/null 2>&1) || rc=$?
expect "killed right after the counter was raised" "$rc $(cat "$d/state/counter")" "137 2"
sed -i 's/^BOOT_B_LEFT=.*/BOOT_B_LEFT=0/' "$d/bootenv"
expect "fallback into 1.0 refused" "$(boot "$d")" \
  "booted slot A: below the anti-rollback counter: refused, the other slot boots next"
expect "2.0 still pending, then committed" \
  "$("$agent" -c "$d/agent.conf" status --json | jq -r '.pending.version') $(boot "$d")" \
  "2.0 booted slot B: update committed"
expect "slot A out of the boot order" "$(bootvars "$d")" "BOOT_ORDER=B BOOT_A_LEFT=0 BOOT_B_LEFT=3"

# 4. Equal security versions: the fallback stays.
d="$work/d4"; new_device "$d" "$work/v2.zip"
"$agent" -c "$d/agent.conf" install "$work/v21.zip" --no-reboot >/dev/null
expect "2.1 committed" "$(boot "$d")" "booted slot B: update committed"
expect "2.0 (same security version) stays a fallback" "$(bootvars "$d")" \
  "BOOT_ORDER=B A BOOT_A_LEFT=3 BOOT_B_LEFT=3"
printf 'X' | dd of="$d/slots/rootfs-b" bs=1 seek=1000 conv=notrunc 2>/dev/null
out=$(boot "$d")
[[ $out == *"booted slot A: no update pending"* ]] && ok "fallback into 2.0 runs" || bad "equal fallback: $out"

finish
