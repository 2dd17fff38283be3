#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with real processes on 127.0.0.1, through the README's first
# command (make demo, small and exiting at the end):
#  1. 50 simulated devices, staged rollout with automatic advance: every
#     device reports success after its reboot, and the server's view of each
#     device matches the device's own state;
#  2. three second-stage devices fail their health check on 2.0: they fall
#     back to 1.0 and report failure, the rollout pauses at its threshold,
#     the last stage never opens; the fixed 2.1 then rolls out to everyone.
set -euo pipefail
fails=0
mkdir -p "$OTTER_TEST_TMP"
demo_dir="$OTTER_BUILD_DIR/demo"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; fails=$((fails + 1)); fi; }
run() { # NAME DEVICES FAIL FIX
  DEMO_EXIT=1 DEMO_PORT=0 DEMO_POLL=1 DEMO_DEVICES=$2 DEMO_FAIL=$3 DEMO_FIX=$4 DEMO_TIMEOUT=600 \
    bash "$OTTER_SOURCE_DIR/demo/demo.sh" "$OTTER_BUILD_DIR" > "$OTTER_TEST_TMP/demo-$1.log" 2>&1 || {
    echo "FAIL demo $1 exited with an error"; tail -30 "$OTTER_TEST_TMP/demo-$1.log"; fails=$((fails + 1)); }
  grep -v '^rootfs:' "$OTTER_TEST_TMP/demo-$1.log" | tail -14
}
sql() { sqlite3 "$demo_dir/otter.db" "$1"; }
# Each device's own view (booted slot's version, from otter-agent status) against the server's.
compare_devices() {
  local mismatched=0 cid own
  for d in "$demo_dir"/devices/*; do
    cid=${d##*/}
    own=$("$agent" -c "$d/agent.conf" status | awk -v b="$("$agent" -c "$d/agent.conf" status | sed -n 's/^booted: *slot //p')" \
      '$1 == "slot" && $2 == b ":" {print $3}')
    [ "$own" = "$(sql "SELECT coalesce(r.version, '1.0') FROM devices d LEFT JOIN releases r ON r.id = d.installed_release_id WHERE d.controller_id = '$cid'")" ] ||
      { echo "  $cid: device says $own"; mismatched=$((mismatched + 1)); }
  done
  echo "$mismatched"
}

run staged 50 0 0
check "every device on 2.0" "$(cat "$demo_dir/result" 2>/dev/null)" 50
check "rollout finished" "$(sql "SELECT state FROM rollouts")" finished
check "50 actions closed with success" "$(sql "SELECT count(*) FROM actions WHERE status = 'finished' AND result = 'success'")" 50
check "exactly one closed feedback per action" \
  "$(sql "SELECT count(*) FROM action_feedback WHERE execution = 'closed'")" 50
check "server's versions match the devices' state" "$(compare_devices)" 0

run fail-fix 12 3 1
check "first rollout paused, then canceled" "$(sql "SELECT state FROM rollouts WHERE name = 'demo-wave'")" canceled
check "the pause was the failure threshold" \
  "$(sql "SELECT pause_reason LIKE 'failure threshold of stage 2%' FROM rollouts WHERE name = 'demo-wave'")" 1
check "three failures reported on 2.0" \
  "$(sql "SELECT count(*) FROM actions a JOIN releases r ON r.id = a.release_id WHERE r.version = '2.0' AND a.result = 'failure'")" 3
check "the last stage of 2.0 never opened" \
  "$(sql "SELECT count(*) FROM actions a JOIN rollouts r ON r.id = a.rollout_id WHERE r.name = 'demo-wave' AND a.stage = 2 AND a.result != 'none'")" 0
check "the fix reached every device" "$(cat "$demo_dir/result" 2>/dev/null)" 12
check "fix rollout finished" "$(sql "SELECT state FROM rollouts WHERE name = 'demo-fix'")" finished
check "server's versions match the devices' state" "$(compare_devices)" 0
[ "$fails" = 0 ]
