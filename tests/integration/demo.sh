#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with real processes on 127.0.0.1, through the README's first
# command (make demo, small and exiting at the end):
#  1. 50 simulated devices, staged rollout with automatic advance: every
#     device reports success after its reboot, and the server's view of each
#     device matches the device's own state; every fourth device (group home)
#     gets 2.0 through a second rollout in "download then ask" mode: each of
#     them downloaded, waited for its user (the live summary showed users
#     waiting to press Start), was started through its daemon's control
#     socket and installed; the operator's devices were never asked;
#  2. three second-stage devices fail their health check on 2.0: they fall
#     back to 1.0 and report failure, the rollout pauses at its threshold,
#     the last stage never opens; the fixed 2.1 then rolls out to everyone,
#     the home devices again after their users' Start;
#  3. the same failure, then the operator fixes the cause and RESUMES the
#     paused rollout: right after the pause every device that failed its
#     health check runs 1.0 again (its own state and the server's view); the
#     health check is repaired and the rollout resumed through the management
#     API with retry_failed: the failed devices get a new action in their
#     stage, install 2.0 again, the stage passes its success rule, the
#     rollout advances and finishes by itself: all on 2.0 through the rollout;
#     then SIGTERM to the demo's shell alone stops everything (its cleanup);
#     Issue #12: in 1 the canary takes the full package and the later stages
#     the delta published after it, in 2 the devices on 2.0 take the delta to
#     2.1 and those back on 1.0 the full package; each time the demo prints
#     the bytes saved that the server counted;
#  4. Ctrl-C while a rollout is running: the demo exits and leaves no
#     server, device loop or otter-agentd behind.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
mkdir -p "$OTTER_TEST_TMP"
demo_dir="$OTTER_BUILD_DIR/demo"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
run() { # NAME DEVICES FAIL FIX
  DEMO_ASK_DELAY=3 DEMO_EXIT=1 DEMO_PORT=0 DEMO_POLL=1 DEMO_DEVICES=$2 DEMO_FAIL=$3 DEMO_FIX=$4 DEMO_TIMEOUT=600 \
    bash "$OTTER_SOURCE_DIR/demo/demo.sh" "$OTTER_BUILD_DIR" > "$OTTER_TEST_TMP/demo-$1.log" 2>&1 || {
    bad "demo $1 exited with an error"; tail -30 "$OTTER_TEST_TMP/demo-$1.log"; }
  grep -v '^rootfs:' "$OTTER_TEST_TMP/demo-$1.log" | tail -14
}
sql() { sqlite3 -cmd '.timeout 5000' "$demo_dir/otter.db" "$1"; } # also while the demo's server writes
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
# own_version DIR: the version in the slot the device booted, from its state files.
own_version() { "$agent" -c "$1/agent.conf" status --json | jq -r '.slots[.booted].version'; }
# server_version CID: the version the server believes the device runs (1.0: factory, no report).
server_version() {
  sql "SELECT coalesce(r.version, '1.0') FROM devices d LEFT JOIN releases r ON r.id = d.installed_release_id WHERE d.controller_id = '$1'"
}
# wait_until SECONDS COMMAND...: polls COMMAND every 0.5 s; fails after SECONDS.
wait_until() {
  local t=$1; shift
  for _ in $(seq $((t * 2))); do "$@" && return 0; sleep 0.5; done
  return 1
}
# start_demo NAME DEVICES FAIL: the demo in the background in its own process
# group (as a terminal runs a foreground job, so Ctrl-C reaches all of it); sets demo_pid.
start_demo() {
  rm -rf "$demo_dir"
  set -m
  DEMO_ASK_DELAY=3 DEMO_PORT=0 DEMO_POLL=1 DEMO_DEVICES=$2 DEMO_FAIL=$3 DEMO_TIMEOUT=600 \
    bash "$OTTER_SOURCE_DIR/demo/demo.sh" "$OTTER_BUILD_DIR" > "$OTTER_TEST_TMP/demo-$1.log" 2>&1 &
  demo_pid=$!
  set +m
}
# stop_demo NAME SIGNAL: Ctrl-C (INT) goes to the demo's whole process group, as
# a terminal sends it; TERM only to the demo's own shell, as a supervisor or
# timeout(1) would, so that only the demo's cleanup can stop the server and the
# device loops. It must exit within 20 s (status 130) and leave nothing of its
# group, no otter-server and no otter-agentd of its own behind.
group_gone() { ! pgrep -g "$demo_pid" >/dev/null; }
demo_procs_gone() { ! pgrep -f "$demo_dir/(server.conf|devices/)" >/dev/null; }
stop_demo() {
  if [ "$2" = INT ]; then kill -INT -- "-$demo_pid"; else kill -"$2" "$demo_pid"; fi
  local rc=0
  # shellcheck disable=SC2016 # expanded by eval at each try
  if wait_until 20 eval '! kill -0 "$demo_pid" 2>/dev/null'; then
    wait "$demo_pid" || rc=$?
    expect "$1: SIG$2 stops the demo (exit 130)" "$rc" 130
  else
    expect "$1: SIG$2 stops the demo" running exited
    kill -KILL -- "-$demo_pid" 2>/dev/null || true
  fi
  # A device loop's last sleep (DEMO_POLL=1 s) may outlive it briefly; a loop never ends.
  wait_until 5 group_gone && wait_until 5 demo_procs_gone || {
    echo "  left behind:"; pgrep -a -g "$demo_pid" || true; pgrep -af "$demo_dir/(server.conf|devices/)" || true; }
  expect "$1: nothing of the demo's process group is left" "$(pgrep -g "$demo_pid" | wc -l)" 0
  expect "$1: no otter-server or otter-agentd of the demo is left" "$(pgrep -f "$demo_dir/(server.conf|devices/)" | wc -l)" 0
}

# asked_then_started ROLLOUT: its actions that went download -> waiting for the user ->
# started by the user -> closed with success, in that order (their feedback's ids).
asked_then_started() {
  sql "SELECT count(*) FROM actions a JOIN rollouts r ON r.id = a.rollout_id WHERE r.name = '$1'
    AND a.consent = 'download_then_ask' AND a.user_choice = 'started' AND a.result = 'success'
    AND (SELECT min(id) FROM action_feedback WHERE action_id = a.id AND details LIKE '%\"otter.user=waiting\"%')
      < (SELECT min(id) FROM action_feedback WHERE action_id = a.id AND details LIKE '%\"otter.user=started\"%')
    AND (SELECT min(id) FROM action_feedback WHERE action_id = a.id AND details LIKE '%\"otter.user=started\"%')
      < (SELECT min(id) FROM action_feedback WHERE action_id = a.id AND execution = 'closed')"
}
# users_asked ROLLOUT: feedback of its actions that carries a user's choice.
users_asked() {
  sql "SELECT count(*) FROM action_feedback f JOIN actions a ON a.id = f.action_id JOIN rollouts r ON r.id = a.rollout_id
    WHERE r.name = '$1' AND f.details LIKE '%otter.user=%'"
}

run staged 50 0 0
expect "every device on 2.0" "$(cat "$demo_dir/result" 2>/dev/null)" 50
expect "both rollouts finished" "$(sql "SELECT group_concat(name || '=' || state || '/' || consent, ' ') FROM (SELECT * FROM rollouts ORDER BY name)")" \
  "demo-wave=finished/auto demo-wave-home=finished/download_then_ask"
expect "home: every fourth device waited for its user, was started, then installed" "$(asked_then_started demo-wave-home)" 12
expect "home: the summary showed users waiting to press Start" \
  "$(grep -c 'waiting for their users to press Start [1-9]' "$OTTER_TEST_TMP/demo-staged.log" | sed 's/^[1-9][0-9]*$/yes/')" yes
expect "home: the users pressed Start through the daemon's socket" \
  "$(grep -l 'the user presses Start' "$demo_dir"/devices/*/user.log 2>/dev/null | wc -l)" 12
expect "the operator's devices were never asked" "$(users_asked demo-wave)" 0
expect "50 actions closed with success" "$(sql "SELECT count(*) FROM actions WHERE status = 'finished' AND result = 'success'")" 50
expect "exactly one closed feedback per action" \
  "$(sql "SELECT count(*) FROM action_feedback WHERE execution = 'closed'")" 50
expect "server's versions match the devices' state" "$(compare_devices)" 0
# Issue #12: the canary took the full package, the later stages the delta published after it.
traffic() { # ROLLOUT: whether it had downloads by delta and of the full package ("1 1")
  sql "SELECT (SELECT coalesce(sum(downloads), 0) FROM rollout_traffic t JOIN rollouts r ON r.id = t.rollout_id WHERE r.name = '$1' AND kind = 'delta') > 0,
              (SELECT coalesce(sum(downloads), 0) FROM rollout_traffic t JOIN rollouts r ON r.id = t.rollout_id WHERE r.name = '$1' AND kind = 'full') > 0" | tr '|' ' '
}
saved() { # ROLLOUT: the bytes saved by the server's count, as the demo prints them
  sql "SELECT sum(full_equivalent) - sum(bytes) FROM rollout_traffic t JOIN rollouts r ON r.id = t.rollout_id WHERE r.name = '$1'"
}
expect "part of the fleet by delta, the canary by the full package" "$(traffic demo-wave)" "1 1"
grep -q ": $(saved demo-wave) bytes saved (" "$OTTER_TEST_TMP/demo-staged.log" \
  && ok "the demo printed the bytes saved ($(saved demo-wave)), from the server's stats" \
  || bad "no 'bytes saved' line with $(saved demo-wave): $(grep 'Bytes sent' "$OTTER_TEST_TMP/demo-staged.log")"

run fail-fix 12 3 1
expect "first rollout paused, then canceled" "$(sql "SELECT state FROM rollouts WHERE name = 'demo-wave'")" canceled
expect "the pause was the failure threshold" \
  "$(sql "SELECT pause_reason LIKE 'failure threshold of stage 2%' FROM rollouts WHERE name = 'demo-wave'")" 1
expect "three failures reported on 2.0" \
  "$(sql "SELECT count(*) FROM actions a JOIN releases r ON r.id = a.release_id WHERE r.version = '2.0' AND a.result = 'failure'")" 3
expect "the last stage of 2.0 never opened" \
  "$(sql "SELECT count(*) FROM actions a JOIN rollouts r ON r.id = a.rollout_id WHERE r.name = 'demo-wave' AND a.stage = 2 AND a.result != 'none'")" 0
expect "the fix reached every device" "$(cat "$demo_dir/result" 2>/dev/null)" 12
expect "fix rollouts finished" "$(sql "SELECT group_concat(name || '=' || state, ' ') FROM (SELECT * FROM rollouts WHERE name LIKE 'demo-fix%' ORDER BY name)")" \
  "demo-fix=finished demo-fix-home=finished"
expect "home: 2.0, then the fix 2.1, each after its user's Start" \
  "$(asked_then_started demo-wave-home) $(asked_then_started demo-fix-home)" "3 3"
expect "every device's own state says 2.1" \
  "$(for d in "$demo_dir"/devices/*; do own_version "$d"; done | sort | uniq -c | awk '{print $1 " " $2}')" "12 2.1"
expect "2.1: the devices on 2.0 by delta, those back on 1.0 by the full package" "$(traffic demo-fix)" "1 1"
grep -q ": $(saved demo-fix) bytes saved (" "$OTTER_TEST_TMP/demo-fail-fix.log" \
  && ok "the demo printed the bytes the fix saved" || bad "no 'bytes saved' line for demo-fix"
expect "server's versions match the devices' state" "$(compare_devices)" 0

# 3. Failure, then the cause fixed and the paused rollout resumed.
start_demo resume 12 3
# The demo writes "result" once its rollout ended (here: paused) and then keeps serving.
# shellcheck disable=SC2016 # expanded by eval at each try
wait_until 400 eval '[ -s "$demo_dir/result" ] || ! kill -0 "$demo_pid" 2>/dev/null' || true
grep -v '^rootfs:' "$OTTER_TEST_TMP/demo-resume.log" | tail -12
expect "resume: the rollout paused at the failure threshold" \
  "$(sql "SELECT state || ' ' || (pause_reason LIKE 'failure threshold of stage 2%') FROM rollouts WHERE name = 'demo-wave'")" "paused 1"
URL=$(head -1 "$demo_dir/ready")
OP=$(curl -sS -m 30 --fail-with-body -H 'Content-Type: application/json' \
  --data-binary '{"username":"operator","password":"otter-demo-pass"}' "$URL/api/v1/login" | jq -r .token)
api() { curl -sS -m 30 --fail-with-body -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
  -X "$1" "$URL/api/v1/tenants/demo-carrier$2" ${3:+--data-binary "$3"}; }
RID=$(sql "SELECT id FROM rollouts WHERE name = 'demo-wave'")
# Devices that had started when the rollout paused finish what they do; wait for them.
no_running() { [ "$(api GET "/rollouts/$RID/stats" | jq '.total.running')" = 0 ]; }
wait_until 60 no_running || echo "  devices still running after the pause: $(api GET "/rollouts/$RID/stats" | jq -c .total)"
failed=$(sql "SELECT d.controller_id FROM actions a JOIN devices d ON d.id = a.device_id JOIN rollouts r ON r.id = a.rollout_id
  WHERE r.name = 'demo-wave' AND a.result = 'failure' ORDER BY 1")
set_to_fail=$(awk '{print $2}' "$demo_dir/failing" | sort)
nfailed=$(echo "$failed" | grep -c . || true)
expect "resume: some devices failed, all of them set to fail" \
  "$([ "$nfailed" -ge 1 ] && comm -23 <(echo "$failed") <(echo "$set_to_fail") | wc -l)" 0
back=0
for cid in $failed; do
  st=$("$agent" -c "$demo_dir/devices/$cid/agent.conf" status --json)
  v="$(jq -r '.slots[.booted].version + " pending=" + (.pending | tostring) + " last=" + .last.result + "/" + .last.version' <<< "$st") server=$(server_version "$cid")"
  if [ "$v" = "1.0 pending=null last=failure/2.0 server=1.0" ]; then back=$((back + 1)); else echo "  $cid after the pause: $v"; fi
done
expect "resume: right after the pause each failed device runs 1.0 again (own state, server)" "$back" "$nfailed"
expect "resume: no device runs 2.0 while failing" "$(sql "SELECT count(*) FROM devices d JOIN releases r ON r.id = d.installed_release_id
  WHERE r.version = '2.0' AND d.controller_id IN ($(awk '{printf "%s'\''%s'\''", (NR > 1 ? "," : ""), $2}' "$demo_dir/failing"))")" 0
# The cause fixed: the devices set to fail pass their health check again (as demo.sh writes it for the others).
for cid in $set_to_fail; do
  printf '#!/bin/sh\n# the demo health check: passes\nexit 0\n' > "$demo_dir/devices/$cid/health"
done
expect "resume: POST .../resume with retry_failed answers running, retrying each failed device" \
  "$(api POST "/rollouts/$RID/resume" '{"retry_failed":true}' | jq -r '"\(.state) \(.retried)"')" "running $nfailed"
rollout_finished() { [ "$(api GET "/rollouts/$RID" | jq -r .state)" = finished ]; }
wait_until 180 rollout_finished || true
expect "resume: the resumed rollout advanced and finished by itself" \
  "$(api GET "/rollouts/$RID" | jq -r '"\(.state) \(.current_stage)"')" "finished 2"
expect "resume: no failure left to accept" "$(sql "SELECT accepted_failures FROM rollouts WHERE id = $RID")" 0
expect "resume: every device reached 2.0 through the rollouts (the operator's 9, the users' 3)" \
  "$(sql "SELECT count(*) FROM actions WHERE rollout_id = $RID AND status = 'finished' AND result = 'success'") $(asked_then_started demo-wave-home)" "9 3"
expect "resume: each failed action stays, pointing at its successful retry" \
  "$(sql "SELECT count(*) FROM actions a JOIN actions n ON n.id = a.superseded_by WHERE a.rollout_id = $RID
    AND a.result = 'failure' AND n.result = 'success' AND n.device_id = a.device_id")" "$nfailed"
on_20() { [ "$(api GET "/devices?version=2.0&limit=1000" | jq '.devices | length')" = 12 ]; }
wait_until 60 on_20 || true
expect "resume: every device on 2.0 (server)" "$(api GET "/devices?version=2.0&limit=1000" | jq '.devices | length')" 12
expect "resume: server's versions match the devices' state" "$(compare_devices)" 0
expect "resume: each device's own state says 2.0" \
  "$(for d in "$demo_dir"/devices/*; do own_version "$d"; done | sort | uniq -c | awk '{print $1 " " $2}')" "12 2.0"
expect "resume: the resume is audited" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'rollout.resume'")" 1
stop_demo resume TERM

# 4. Ctrl-C while the rollout runs.
start_demo ctrl-c 6 0
running() { grep -q 'RUNNING stage' "$OTTER_TEST_TMP/demo-ctrl-c.log"; }
wait_until 120 running || true
expect "ctrl-c: the rollout was running" "$(grep -c 'RUNNING stage' "$OTTER_TEST_TMP/demo-ctrl-c.log" | sed 's/^[1-9][0-9]*$/yes/')" yes
expect "ctrl-c: the server and the 6 device loops were running" "$(( $(pgrep -g "$demo_pid" | wc -l) > 7 ))" 1
stop_demo ctrl-c INT
finish
