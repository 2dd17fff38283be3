#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Power loss: the agent is killed with SIGKILL at 200+ points — random byte
# offsets while it writes the slot, and between every step of the install and
# of the commit, including inside the state-file and boot-env writes. After
# each kill the boot simulator powers the device on: it must boot a valid
# (digest-verified) slot with a consistent state, and a retried install must
# succeed. The same for a delta package (otter delta 1.0 -> 2.0): killed
# while it is applied from the running slot, the retry checks that source
# again and applies it (slot A was never written). No kill point may make
# this good update fail: a cut between the pending record and the boot
# switch boots the old slot, and boot-check must not report "slot B did not
# boot" for it (it did before; seen in make vm-long, session 10). Prints the
# number of kill points survived.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/power-loss.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys
make_content "$work/v1.img" 300000 1
make_content "$work/v2.img" 900000 2
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
make_pkg "$work/v2.zip" 2.0 2 "$work/v2.img" raw
size=$(stat -c %s "$work/v2.img")
"$otter" delta --from "$work/v1.zip" --to "$work/v2.zip" --root "$work/keys/root.json" \
  --key "$work/keys/r1.key" --key "$work/keys/r2.key" --level 3 -o "$work/v2-delta.zip" >/dev/null
pkg="$work/v2.zip" # what the trials install (and a retry installs again)

# Pristine device: factory 1.0 booted from A.
make_device "$work/pristine" raw
"$agent" -c "$work/pristine/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1
"$agent" bootsim --root "$work/pristine" >/dev/null
# The same device after a complete install of 2.0, before its reboot.
cp -a "$work/pristine" "$work/installed"
sed -i "s#$work/pristine#$work/installed#g" "$work/installed/agent.conf"
"$agent" -c "$work/installed/agent.conf" install "$work/v2.zip" --no-reboot >/dev/null 2>&1
# The same device cut between the pending record and the boot switch, before its power-on.
cp -a "$work/pristine" "$work/unswitched"
sed -i "s#$work/pristine#$work/unswitched#g" "$work/unswitched/agent.conf"
rc=0
(OTTER_CRASH_AT=install-recorded:1 exec "$agent" -c "$work/unswitched/agent.conf" install \
  "$work/v2.zip" --no-reboot >/dev/null 2>&1) || rc=$?
[ "$rc" = 137 ] || { echo "unswitched snapshot: install not killed (exit $rc)"; exit 1; }

fresh() { # fresh SNAPSHOT -> $d, a copy with paths rewritten
  d="$work/dev"; rm -rf "$d"; cp -a "$work/$1" "$d"
  sed -i "s#$work/$1#$d#g" "$d/agent.conf"
}

# status --json, read once per look: get KEY takes the first "KEY": value.
look() { status=$("$agent" -c "$d/agent.conf" status --json); }
get() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\).*/\1/p" <<< "$status" | head -1; }
running_version() {
  tr -d '\n ' <<< "$status" | sed -n "s/.*\"$(get booted)\":{\"version\":\"\([^\"]*\)\".*/\1/p"
}

# After a kill: power on, check, retry until 2.0 runs committed. Slot A holds
# 1.0 and slot B receives 2.0, so the booted slot says which one runs.
survive() { # survive SPEC -> 0 when the device recovered
  local out
  out=$("$agent" bootsim --root "$d" 2>&1) || { echo "  $1: no boot: $out"; return 1; }
  look
  [ "$(get result)" != failure ] || { echo "  $1: a good update reported failed: $out"; return 1; }
  case $out in
    "booted slot A:"*)
      out=$("$agent" -c "$d/agent.conf" install "$pkg" 2>&1) || { echo "  $1: retry: $out"; return 1; }
      out=$("$agent" bootsim --root "$d" 2>&1)
      [[ $out == "booted slot B: update committed" ]] || { echo "  $1: retry boot: $out"; return 1; } ;;
    "booted slot B:"*) ;;
    *) echo "  $1: $out"; return 1 ;;
  esac
  look
  [ "$(running_version)" = 2.0 ] && [ "$(get counter)" = 2 ] && [ "$(get result)" = success ] &&
    [ "$(get pending)" = null ] || { echo "  $1: final state: $(tr -d '\n' <<< "$status")"; return 1; }
}

survived=0; points=0; failed=0
trial() { # trial SNAPSHOT PHASE SPEC
  fresh "$1"
  local rc=0
  if [ "$2" = install ]; then
    (OTTER_CRASH_AT="$3" exec "$agent" -c "$d/agent.conf" install "$pkg" >/dev/null 2>&1) || rc=$?
  else
    (OTTER_CRASH_AT="$3" exec "$agent" bootsim --root "$d" >/dev/null 2>&1) || rc=$?
  fi
  if [ "$rc" != 137 ]; then echo "  $3 ($2): not reached (exit $rc)"; return; fi
  points=$((points + 1))
  if survive "$3 ($2)"; then survived=$((survived + 1)); else failed=$((failed + 1)); fi
}

# While the slot is written: random byte offsets.
for _ in $(seq 180); do
  trial pristine install "install-write@$(( (RANDOM * 32768 + RANDOM) % (size - 1) + 1 ))"
done
# Between the steps of the install, and inside every atomic write it makes.
for p in install-released:1 install-image-done:1 install-recorded:1 install-activated:1 \
         install-switched:1 \
         atomic-written:1 atomic-synced:1 atomic-renamed:1 \
         atomic-written:2 atomic-synced:2 atomic-renamed:2 \
         atomic-written:3 atomic-synced:3 atomic-renamed:3 \
         atomic-written:4 atomic-synced:4 atomic-renamed:4 \
         atomic-written:5 atomic-synced:5 atomic-renamed:5; do
  trial pristine install "$p"
done
# The delta, applied from slot A into slot B: the same cuts, fewer of them.
pkg="$work/v2-delta.zip"
delta_points=$points
for _ in $(seq 30); do
  trial pristine install "install-write@$(( (RANDOM * 32768 + RANDOM) % (size - 1) + 1 ))"
done
for p in install-released:1 install-image-done:1 install-recorded:1 install-activated:1 \
         atomic-written:1 atomic-renamed:1 atomic-written:2 atomic-renamed:2; do
  trial pristine install "$p"
done
delta_points=$((points - delta_points))
pkg="$work/v2.zip"
# Between the steps of the first boot and its commit (boot env, cmdline,
# counter, state: every atomic write the boot simulator and boot-check make).
for p in commit-counter:1 commit-marked-good:1; do trial installed boot "$p"; done
for k in 1 2 3 4 5; do
  for p in atomic-written atomic-synced atomic-renamed; do trial installed boot "$p:$k"; done
done
# The power-on after a cut before the switch: boot-check forgets the record (state, then the
# running slot's try given back); cut anywhere in it, the next power-on ends the same.
trial unswitched boot commit-unswitched:1
for k in 1 2 3 4; do
  for p in atomic-written atomic-synced atomic-renamed; do trial unswitched boot "$p:$k"; done
done

echo "kill points survived: $survived of $points ($delta_points of them applying a delta)"
[ "$failed" = 0 ] && [ "$points" -ge 200 ] && [ "$delta_points" -ge 38 ]
