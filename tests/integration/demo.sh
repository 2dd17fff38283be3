#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command must keep working: run the demo (small fleet,
# any free port, exit at the end) once to the end and once with failing
# devices, and check what it reports against the server's own records.
set -euo pipefail
fails=0
run() { # NAME DEVICES FAIL -> runs the demo in its own build-dir copy of the demo area
  local name=$1
  rm -rf "$OTTER_BUILD_DIR/demo"
  DEMO_EXIT=1 DEMO_PORT=0 DEMO_POLL=1 DEMO_DEVICES=$2 DEMO_FAIL=$3 DEMO_TIMEOUT=600 \
    bash "$OTTER_SOURCE_DIR/demo/demo.sh" "$OTTER_BUILD_DIR" > "$OTTER_TEST_TMP/demo-$name.log" 2>&1 || {
    echo "FAIL demo $name exited $?"; tail -30 "$OTTER_TEST_TMP/demo-$name.log"; fails=$((fails + 1)); return; }
  tail -12 "$OTTER_TEST_TMP/demo-$name.log"
}
mkdir -p "$OTTER_TEST_TMP"
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; fails=$((fails + 1)); fi; }

run all 10 0
check "every device on 2.0" "$(cat "$OTTER_BUILD_DIR/demo/result" 2>/dev/null)" 10
check "rollout finished" "$(sqlite3 "$OTTER_BUILD_DIR/demo/otter.db" "SELECT state FROM rollouts")" finished

run fail 10 2
db="$OTTER_BUILD_DIR/demo/otter.db"
check "rollout paused at its threshold" "$(sqlite3 "$db" "SELECT state FROM rollouts")" paused
check "both failing devices reported failure" \
  "$(sqlite3 "$db" "SELECT count(*) FROM actions WHERE result = 'failure'")" 2
for cid in $(awk '{print $2}' "$OTTER_BUILD_DIR/demo/failing"); do
  check "$cid fell back to slot A" \
    "$("$OTTER_BUILD_DIR/bin/otter-agent" -c "$OTTER_BUILD_DIR/demo/devices/$cid/agent.conf" status | sed -n 's/^booted: *//p')" "slot A"
done
check "the last stage never opened" \
  "$(sqlite3 "$db" "SELECT count(*) FROM actions a JOIN rollouts r ON r.id = a.rollout_id WHERE a.stage = 2 AND a.status != 'scheduled'")" 0
[ "$fails" = 0 ]
