#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The Otter demo: a real otter-server on 127.0.0.1 with SQLite, a carrier
# tenant with an admin, a publisher, an approver and an operator, a signed
# release, and a fleet of simulated devices (each a shell loop running
# `otter-agentd run --once` every DEMO_POLL seconds, with file slots, rebooted
# by the boot simulator) that update through a staged
# rollout (10 % -> 50 % -> 100 %) while a live summary shows the counts.
# Every fourth device belongs to a user who decides (group "home"): each
# release reaches them through a second rollout in "download then ask" mode;
# their otter-agentd runs as a daemon with a control socket, downloads in the
# background and waits; a simulated user presses Start through the socket
# (otter-agent install --from-server) DEMO_ASK_DELAY seconds after the update
# is ready, so the dashboard shows devices waiting for their users.
#
# Once the canary stage is done the publisher adds a delta package from 1.0:
# the later stages download it instead of the full package, and the demo
# prints the bytes sent against what a full update would have cost.
#
#   make demo                     # or: bash demo/demo.sh BUILD_DIR
#   DEMO_DEVICES=40 make demo     # fleet size (default 24)
#   DEMO_FAIL=3 make demo         # three devices fail their health check:
#                                 # they roll back, the rollout pauses
#   DEMO_FIX=1                    # with DEMO_FAIL: then publish 2.1, which fixes the
#                                 # failure, cancel the paused rollout, roll 2.1 out to all
#   DEMO_PORT=8080                # where the server listens (default 8080; 0 = any free port)
#   DEMO_ASK_DELAY=8              # seconds a home user takes to press Start
#   DEMO_EXIT=1                   # exit when the rollout ends instead of
#                                 # keeping the server up for the dashboard
#
# Everything lives in BUILD_DIR/demo and only talks to 127.0.0.1. Ctrl-C
# stops everything the demo started.
set -euo pipefail

build=${1:-build}
build=$(cd "$build" && pwd)
N=${DEMO_DEVICES:-24}
FAIL=${DEMO_FAIL:-0}
PORT=${DEMO_PORT:-8080}
POLL=${DEMO_POLL:-2} # seconds between a device's polls
TENANT=demo-carrier
ADMIN_PW=${DEMO_ADMIN_PASSWORD:-otter-demo-admin}
PW=${DEMO_PASSWORD:-otter-demo-pass}
work="$build/demo"
otter="$build/bin/otter"
agent="$build/bin/otter-agent"
agentd="$build/bin/otter-agentd"
server="$build/src/server/otter-server"

if ! [[ $N =~ ^[0-9]+$ ]] || [ "$N" -lt 4 ] || [ "$N" -gt 500 ]; then
  echo "DEMO_DEVICES: 4..500" >&2; exit 2
fi
if ! [[ $FAIL =~ ^[0-9]+$ ]] || [ "$FAIL" -ge "$N" ]; then
  echo "DEMO_FAIL: 0..DEMO_DEVICES-1" >&2; exit 2
fi
for b in "$otter" "$agent" "$agentd" "$server"; do
  [ -x "$b" ] || { echo "demo: $b missing: run 'make build' first (make demo does)" >&2; exit 2; }
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  home_stop_daemons
  if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  echo
  echo "demo stopped (files kept in $work)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

rm -rf "$work"
mkdir -p "$work/keys" "$work/devices"

# ---- keys, trust root, packages ----
say "release keys (3 Ed25519 keys, 2 must sign) and the trust root"
for k in k1 k2 k3; do "$otter" keygen --type ed25519 --out "$work/keys/$k" >/dev/null; done
"$otter" root new --pubkey "$work/keys/k1.pub" --pubkey "$work/keys/k2.pub" \
  --pubkey "$work/keys/k3.pub" --threshold 2 -o "$work/keys/root.json" >/dev/null
make_image() { # FILE VERSION: about 1 MiB: 250 KB of version-dependent text, then 768 KiB
  # of program code that every version shares (what a delta does not ship again)
  for i in $(seq 1 580); do echo "otter demo rootfs $2 block $i $(printf '%0400d' 0)"; done > "$1"
  head -c 786432 "$server" >> "$1"
}
make_image "$work/rootfs-1.0" 1.0
make_image "$work/rootfs-2.0" 2.0
make_image "$work/rootfs-2.1" 2.1
for v in 1.0 2.0 2.1; do
  "$otter" pack --product demo-gw --compatible demo-gw-a --version "$v" --security-version 1 \
    --image "rootfs=$work/rootfs-$v:handler=raw" --key "$work/keys/k1.key" --key "$work/keys/k2.key" \
    -o "$work/update-$v.zip" >/dev/null
done
say "signed packages: update-1.0.zip (factory image), update-2.0.zip (the release), update-2.1.zip (its fix)"

# ---- server ----
cat > "$work/server.conf" <<CONF
[http]
listen = 127.0.0.1:$PORT
[database]
url = sqlite:$work/otter.db
[storage]
artifacts = $work/artifacts
[trust]
root = $work/keys/root.json
[ddi]
polling = ${POLL}s
CONF
OTTER_ADMIN_PASSWORD="$ADMIN_PW" "$server" init --config "$work/server.conf" >/dev/null
"$server" serve --config "$work/server.conf" --ready-file "$work/ready" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
URL=$(head -1 "$work/ready" 2>/dev/null || true)
if [ -z "$URL" ]; then
  echo "otter-server did not start:"; cat "$work/server.log"
  [ "$PORT" != 0 ] && echo "(port $PORT busy? try DEMO_PORT=0)"
  exit 1
fi
say "otter-server on $URL (SQLite $work/otter.db)"

# api METHOD PATH AUTH [JSON]: prints the body, fails on an HTTP error.
api() {
  local auth=() body=()
  if [ -n "$3" ]; then auth=(-H "Authorization: Bearer $3"); fi
  if [ $# -ge 4 ]; then body=(-H 'Content-Type: application/json' --data-binary "$4"); fi
  curl -sS -m 30 --fail-with-body "${auth[@]}" "${body[@]}" -X "$1" "$URL$2"
}
token() { api POST /api/v1/login "" "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -r .token; }

ADMIN=$(token admin "$ADMIN_PW")
api POST /api/v1/tenants "$ADMIN" "{\"name\":\"$TENANT\"}" >/dev/null
for u in publisher approver operator viewer; do
  api POST "/api/v1/tenants/$TENANT/users" "$ADMIN" \
    "{\"username\":\"$u\",\"password\":\"$PW\",\"role\":\"$u\"}" >/dev/null
done
PUB=$(token publisher "$PW")
APP=$(token approver "$PW")
OP=$(token operator "$PW")
say "tenant '$TENANT': users publisher, approver, operator, viewer"

# ---- devices ----
csv=$(for i in $(seq -f '%03g' 1 "$N"); do echo "dev-$i,demo-gw-a"; done)
curl -sS -m 30 --fail-with-body -H "Authorization: Bearer $OP" -H 'Content-Type: text/csv' \
  --data-binary "$csv" "$URL/api/v1/tenants/$TENANT/devices/bulk" |
  jq -r '.devices[] | "\(.controller_id) \(.token)"' > "$work/tokens"
failing=()
while read -r cid tok; do
  d="$work/devices/$cid"
  mkdir -p "$d/state" "$d/slots"
  : > "$d/slots/rootfs-a"; : > "$d/slots/rootfs-b"
  printf '#!/bin/sh\n# the demo health check: passes\nexit 0\n' > "$d/health"
  chmod +x "$d/health"
  cat > "$d/agent.conf" <<CONF
[device]
product = demo-gw
model = demo-gw-a
[trust]
root = $work/keys/root.json
[state]
dir = $d/state
[rollback]
path = $d/state/counter
[boot]
backend = file
path = $d/bootenv
cmdline = $d/cmdline
tries = 2
[health]
command = $d/health
timeout = 10
[reboot]
command = touch $d/reboot-requested
[slot.rootfs]
a = $d/slots/rootfs-a
b = $d/slots/rootfs-b
handler = raw
[server]
url = $URL
tenant = $TENANT
controller_id = $cid
target_token = $tok
spool = $d/spool
CONF
  "$agent" -c "$d/agent.conf" factory "$work/update-1.0.zip" >"$d/factory.log" 2>&1 || { cat "$d/factory.log"; exit 1; }
  "$agent" bootsim --root "$d" >/dev/null
done < "$work/tokens"
say "$N simulated devices on 1.0 (file slots A/B, boot simulator)"

# One device: poll, install what is offered, "reboot" when asked, report.
device_loop() {
  local d=$1
  sleep "$(awk -v s="$RANDOM" -v p="$POLL" 'BEGIN { srand(s); printf "%.2f", rand() * p }')"
  while :; do
    "$agentd" -c "$d/agent.conf" run --once >>"$d/agentd.log" 2>&1 || true
    for _ in 1 2 3 4; do # an update, and a fallback after a failed health check
      [ -e "$d/reboot-requested" ] || break
      rm -f "$d/reboot-requested"
      "$agent" bootsim --root "$d" >>"$d/boot.log" 2>&1 || true
    done
    sleep "$POLL"
  done
}

# ---- the home users' devices: download then ask ----
# Every fourth device belongs to a user who decides (group "home"), the others to the
# operator (group "managed"). Sets home=(controller ids).
home=()
home_groups() {
  local cid g
  api POST "/api/v1/tenants/$TENANT/groups" "$OP" '{"name":"managed"}' >/dev/null
  api POST "/api/v1/tenants/$TENANT/groups" "$OP" '{"name":"home"}' >/dev/null
  while read -r cid _; do
    g=managed
    if [ $(( 10#${cid#dev-} % 4 )) = 0 ]; then g=home; home+=("$cid"); fi
    api PUT "/api/v1/tenants/$TENANT/groups/$g/devices/$cid" "$OP" >/dev/null
  done < "$work/tokens"
  say "${#home[@]} devices in group 'home' (their users press Start), the others in 'managed'"
}
is_home() { [[ " ${home[*]} " == *" $1 "* ]]; }
# Stops the home devices' daemons (cleanup: killing a home loop leaves its daemon running).
home_stop_daemons() {
  local f
  for f in "$work"/devices/*/agentd.pid; do
    if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
}
# A home device: otter-agentd runs as a daemon with a control socket ([control] in
# agent.conf). A rollout in "download then ask" mode downloads in the background and
# waits ("ready"; the server hears otter.user=waiting). The simulated user notices it,
# waits DEMO_ASK_DELAY seconds and presses Start through the socket (otter-agent
# install --from-server, a client of the daemon); the daemon installs and asks for the
# reboot, which stops it, runs the boot simulator and starts it again, as a real
# reboot would. Automatic updates (no consent asked) need no user at all.
home_loop() {
  local d=$1 dp="" st seen=""
  printf '[control]\nsocket = %s\n' "$d/control.sock" >> "$d/agent.conf"
  sleep "$(awk -v s="$RANDOM" -v p="$POLL" 'BEGIN { srand(s); printf "%.2f", rand() * p }')"
  while :; do
    if [ -z "$dp" ]; then
      "$agentd" -c "$d/agent.conf" run >>"$d/agentd.log" 2>&1 & dp=$!
      echo "$dp" > "$d/agentd.pid"
    fi
    if [ -e "$d/reboot-requested" ]; then
      kill "$dp" 2>/dev/null || true
      wait "$dp" 2>/dev/null || true
      dp=""; seen=""
      rm -f "$d/reboot-requested" "$d/agentd.pid"
      "$agent" bootsim --root "$d" >>"$d/boot.log" 2>&1 || true
      continue
    fi
    # The daemon's state, as its UI would show it ("update: ready"): one process a poll.
    st=$("$agent" -c "$d/agent.conf" progress 2>/dev/null || true)
    if [[ $st == "update: ready"* ]]; then
      [ -n "$seen" ] || { seen=$SECONDS; echo "$(date -u +%T) update ready, the user looks at it" >>"$d/user.log"; }
      if [ $((SECONDS - seen)) -ge "${DEMO_ASK_DELAY:-8}" ]; then
        echo "$(date -u +%T) the user presses Start" >>"$d/user.log"
        "$agent" -c "$d/agent.conf" install --from-server >>"$d/user.log" 2>&1 || true
        seen=""
      fi
    fi
    sleep "$POLL"
  done
}

# ---- releases and rollouts ----
# publish VERSION: upload (publisher) and approve (approver); prints the release id.
publish() {
  local id
  id=$(curl -sS -m 60 --fail-with-body -H "Authorization: Bearer $PUB" --data-binary @"$work/update-$1.zip" \
    "$URL/api/v1/tenants/$TENANT/releases" | jq -r .id)
  say "publisher uploaded release $1 (id $id): signatures verified by the server" >&2
  api POST "/api/v1/tenants/$TENANT/releases/$id/approve" "$APP" "{\"comment\":\"carrier lab sign-off of $1 (demo)\"}" >/dev/null
  say "approver approved $1 for $TENANT" >&2
  echo "$id"
}
STAGES='{"percent":10,"success_threshold":90,"failure_threshold":20},
  {"percent":50,"success_threshold":90,"failure_threshold":20},
  {"percent":100,"success_threshold":90,"failure_threshold":10}'
# roll_out NAME RELEASE FILTER [CONSENT [STAGES]]: create and start a rollout (operator), by
# default in three stages; prints its id.
roll_out() {
  local id
  id=$(api POST "/api/v1/tenants/$TENANT/rollouts" "$OP" "{\"name\":\"$1\",\"release\":$2,
    \"filter\":$3,\"consent\":\"${4:-auto}\",\"stages\":[${5:-$STAGES}]}" | jq -r .id)
  api POST "/api/v1/tenants/$TENANT/rollouts/$id/start" "$OP" >/dev/null
  if [ -z "${5:-}" ]; then
    say "operator started rollout '$1': 10 % -> 50 % -> 100 %, pausing at 20 %/20 %/10 % failures" >&2
  fi
  echo "$id"
}
# roll_out_both NAME RELEASE: NAME to the operator's devices (automatic, staged) and NAME-home
# to the users' devices (download then ask, one stage: each user picks the moment anyway);
# sets ROLLOUT and HOME_ROLLOUT.
roll_out_both() {
  ROLLOUT=$(roll_out "$1" "$2" '{"groups":["managed"]}')
  HOME_ROLLOUT=$(roll_out "$1-home" "$2" '{"groups":["home"]}' download_then_ask \
    '{"percent":100,"success_threshold":90,"failure_threshold":10}')
  say "operator started rollout '$1-home' for the users' devices: download in the background, then wait for each user's Start"
}
# home_line: the users' rollout's counts for the live summary (stats JSON on stdin).
home_line() {
  jq -r '"\n         home, download then ask: \(.state | ascii_upcase) updated \(.total.success)/\(.total.devices)  "
    + "waiting for their users to press Start \(.users.waiting)  started \(.users.started)"'
}
# watch ROLLOUT [HOME]: a line whenever the counts change, until it (and HOME, the users'
# rollout) finishes, pauses or is canceled.
watch() {
  local last="" line s h state hstate=finished t0
  t0=$(date +%s)
  while :; do
    s=$(api GET "/api/v1/tenants/$TENANT/rollouts/$1/stats" "$OP" || true)
    h=""
    if [ -n "${2:-}" ]; then h=$(api GET "/api/v1/tenants/$TENANT/rollouts/$2/stats" "$OP" || true); fi
    if [ -n "$s" ] && { [ -z "${2:-}" ] || [ -n "$h" ]; }; then
      line=$(jq -r '"\(.state | ascii_upcase) stage \(.current_stage + 1)/\(.stages | length) | "
        + "updated \(.total.success)  failed \(.total.failure)  in progress \(.total.running + .total.scheduled)  "
        + "waiting \(.total.waiting)  of \(.total.devices) | per stage: "
        + ([.stages[] | "\(.percent)%: \(.success)/\(.devices)"] | join("  "))' <<< "$s")
      if [ -n "$h" ]; then line+=$(home_line <<< "$h"); hstate=$(jq -r .state <<< "$h"); fi
      [ "$line" != "$last" ] && printf '[%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$line"
      last=$line
      state=$(jq -r .state <<< "$s")
      # Both ended: the operator's rollout may pause while the users' goes on.
      case $state$hstate in *running* | *draft*) ;; *) break ;; esac
    fi
    [ $(( $(date +%s) - t0 )) -gt "${DEMO_TIMEOUT:-900}" ] && { echo "demo: the rollout did not end in time"; exit 1; }
    sleep 1
  done
  echo
}
on_version() { api GET "/api/v1/tenants/$TENANT/devices?version=$1&limit=1000" "$OP" | jq '.devices | length'; }

# ---- deltas (issue #12): part of the fleet updates by delta; the bytes saved ----
# delta_make FROM TO: the delta package FROM -> TO (`otter delta`, signed by the release
# keys like any package); its base FROM uploaded as a release when the tenant lacks it (the
# server checks a delta against its base; the devices run FROM, nobody rolls it out).
delta_make() {
  "$otter" delta --from "$work/update-$1.zip" --to "$work/update-$2.zip" --root "$work/keys/root.json" \
    --key "$work/keys/k1.key" --key "$work/keys/k2.key" --level 19 -o "$work/update-$1-to-$2.zip" >/dev/null
  if ! api GET "/api/v1/tenants/$TENANT/releases" "$PUB" | jq -e --arg v "$1" '.releases[] | select(.version == $v)' >/dev/null; then
    curl -sS -m 60 --fail-with-body -H "Authorization: Bearer $PUB" --data-binary @"$work/update-$1.zip" \
      "$URL/api/v1/tenants/$TENANT/releases" >/dev/null
    say "publisher uploaded release $1 (what the devices run: the base of the delta)" >&2
  fi
}
# delta_upload FROM TO RELEASE_ID: the delta uploaded to release TO (publisher); devices
# running FROM are offered it beside the full package, everyone else gets the full package.
delta_upload() {
  local out="$work/update-$1-to-$2.zip"
  curl -sS -m 60 --fail-with-body -H "Authorization: Bearer $PUB" --data-binary @"$out" \
    "$URL/api/v1/tenants/$TENANT/releases/$3/deltas" >/dev/null
  say "publisher uploaded the delta $1 -> $2: $(stat -c %s "$out") bytes instead of $(stat -c %s "$work/update-$2.zip")" >&2
}
delta_publish() { delta_make "$1" "$2" && delta_upload "$@"; }
# delta_after_canary ROLLOUT RELEASE_ID: once the canary stage is done (its devices took the
# full package), publish the delta 1.0 -> 2.0: the later stages download it instead.
delta_after_canary() {
  local s
  delta_make 1.0 2.0
  while :; do
    s=$(api GET "/api/v1/tenants/$TENANT/rollouts/$1/stats" "$OP" || echo '{}')
    case $(jq -r '.state' <<< "$s") in canceled | finished) return 0 ;; esac
    [ "$(jq -r '.stages[0] // {} | (.success // 0) + (.failure // 0) >= (.devices // 1e9)' <<< "$s")" = true ] && break
    sleep 0.5
  done
  delta_upload 1.0 2.0 "$2"
}
# delta_report ROLLOUT: the bytes its devices downloaded against a full update's (server's stats).
delta_report() {
  api GET "/api/v1/tenants/$TENANT/rollouts/$1/stats" "$OP" | jq -r '.traffic |
    "   Bytes sent: \(.bytes_sent) (\(.delta.downloads) downloads by delta, \(.full.downloads) of the "
    + "full package); a full update would be \(.bytes_full_equivalent): \(.bytes_saved) bytes saved"
    + (if .bytes_full_equivalent > 0 then " (\(100 * .bytes_saved / .bytes_full_equivalent | floor) %)" else "" end)'
}

home_groups
R=$(publish 2.0)
roll_out_both demo-wave "$R"
delta_after_canary "$ROLLOUT" "$R" & pids+=($!)
if [ "$FAIL" -gt 0 ]; then
  # Break devices of the second stage (the first is a canary of 10 %): their
  # stage opens after the canary succeeds, and its failures pause the rollout.
  # Their health check fails on 2.0 only, as if 2.0 broke their hardware.
  while read -r cid _; do
    is_home "$cid" && continue # the operator's devices only
    echo "$(api GET "/api/v1/tenants/$TENANT/devices/$cid/history" "$OP" | jq -r '.actions[0].stage') $cid"
  done < "$work/tokens" | sort -n -k1,1 -s | awk '$1 >= 1' | head -n "$FAIL" > "$work/failing"
  while read -r _ cid; do
    failing+=("$cid")
    d="$work/devices/$cid"
    cat > "$d/health" <<HEALTH
#!/bin/sh
# the demo health check: this device fails it on 2.0 (DEMO_FAIL)
slot=\$(sed -n 's/.*otter.slot=\([AB]\).*/\1/p' "$d/cmdline" | tr AB ab)
head -c 64 "$d/slots/rootfs-\$slot" | grep -q 'rootfs 2.0 ' && exit 1
exit 0
HEALTH
  done < "$work/failing"
  say "DEMO_FAIL=$FAIL: ${failing[*]} (stage 2) will fail their health check on 2.0"
fi
for d in "$work"/devices/*; do
  if is_home "${d##*/}"; then home_loop "$d" & pids+=($!); else device_loop "$d" & pids+=($!); fi
done
say "devices polling every ${POLL}s"
echo
echo "   Dashboard and API:  $URL/"
echo "   Log in as:          admin / $ADMIN_PW   (or operator, approver, publisher, viewer / $PW)"
echo "   Rollout stats:      $URL/api/v1/tenants/$TENANT/rollouts/$ROLLOUT/stats"
echo "   Ctrl-C stops the demo."
echo

watch "$ROLLOUT" "$HOME_ROLLOUT"
delta_report "$ROLLOUT"
r=$(api GET "/api/v1/tenants/$TENANT/rollouts/$ROLLOUT" "$OP")
if [ "$(jq -r .state <<< "$r")" = finished ] &&
  [ "$(api GET "/api/v1/tenants/$TENANT/rollouts/$HOME_ROLLOUT" "$OP" | jq -r .state)" = finished ]; then
  say "rollouts finished: $(on_version 2.0) of $N devices run 2.0"
  final=2.0
else
  say "rollout $(jq -r .state <<< "$r"): $(jq -r .pause_reason <<< "$r")"
  echo "   $(on_version 2.0) of $N devices run 2.0. The devices set to fail their health check:"
  for f in "${failing[@]}"; do
    h=$(api GET "/api/v1/tenants/$TENANT/devices/$f/history" "$OP" |
      jq -r '.actions[0] // {} | "\(.status // "not offered yet")/\(.result // "-")"')
    slot=$("$agent" -c "$work/devices/$f/agent.conf" status 2>/dev/null | sed -n 's/^booted: *//p')
    case $h in
      error/failure) printf '   %s: installed 2.0, health check failed, fell back: %s runs 1.0\n' "$f" "$slot" ;;
      *) printf '   %s: %s (its stage was not reached)\n' "$f" "$h" ;;
    esac
  done
  final=""
  if [ "${DEMO_FIX:-0}" = 1 ]; then
    echo
    api POST "/api/v1/tenants/$TENANT/rollouts/$ROLLOUT/cancel" "$OP" >/dev/null
    say "operator canceled 'demo-wave'; devices that had not started stay on 1.0"
    R2=$(publish 2.1)
    delta_publish 2.0 2.1 "$R2"
    roll_out_both demo-fix "$R2"
    watch "$ROLLOUT" "$HOME_ROLLOUT"
    delta_report "$ROLLOUT"
    if [ "$(api GET "/api/v1/tenants/$TENANT/rollouts/$ROLLOUT" "$OP" | jq -r .state)" = finished ] &&
      [ "$(api GET "/api/v1/tenants/$TENANT/rollouts/$HOME_ROLLOUT" "$OP" | jq -r .state)" = finished ]; then
      say "rollout 'demo-fix' finished: $(on_version 2.1) of $N devices run 2.1"
      final=2.1
    fi
  else
    echo "   Resume it (accepting the failures, or retrying the failed devices once their cause"
    echo "   is fixed) or cancel it in the dashboard (operator), or run with DEMO_FIX=1 to ship 2.1."
  fi
fi
[ -n "$final" ] && on_version "$final" > "$work/result" || echo 0 > "$work/result"
if [ "${DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
echo
echo "   The server and the devices keep running for the dashboard: $URL/  (Ctrl-C to stop)"
wait "$server_pid"
