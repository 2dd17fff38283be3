#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A fleet against one otter-server on loopback. Two modes.
#
# bench/fleet.sh [DEVICES] [INTERVAL] [SECONDS] [IMAGE_MIB]   (default 10000 10 30 1024)
#   1. DEVICES simulated devices (tests/tools/otter_fleetsim: one
#      process, keep-alive connection pool) first onboard (poll, then
#      configData once each: timed), then poll the DDI base resource every
#      INTERVAL seconds for SECONDS: polls/s, p50/p99 latency, errors, the
#      server's CPU and RSS;
#   2. one real device, otter-agent with file slots, installs a 1 GiB update
#      over loopback HTTPS from otter-server (otter-fetch downloads it with the
#      device's TargetToken), against `curl -s URL | zstd -dc | openssl dgst
#      -sha256` fetching the package's zstd payload from the same server:
#      MB/s of installed bytes and the ratio (target >= 0.85). Best of 2 each.
#
# bench/fleet.sh push [DEVICES] [POLL_S] [WINDOW_S]             (default 10000 300 60)
#   Push wake-up (issue #15) against polling, measured on DEVICES simulated devices, each
#   with its own MQTT connection to a local mosquitto (otter_fleetsim --mqtt: subscribed to
#   its own topic at QoS 1 as otter-agentd's [push]; polls at once on a wake-up and on every
#   (re)subscription), otter-server publishing through the same broker:
#   a. push on, regular poll every hour: a rollout to every device started at t0; time from
#      t0 to 50/95/100 % of the devices having polled and been offered its action, from the
#      simulator's per-device log (--events);
#   b. the broker killed and started again on the same port: the devices reconnect; a rollout
#      started while it was down (its wake-ups dropped, counted by the server) reaches them
#      through the poll each makes on subscribing again; the wake-ups of a rollout started
#      after the restart arrive (counted per device);
#   c. push off, a poll every POLL_S seconds with jitter (each device's first poll at a
#      random point of the first interval, then at a fixed rate): the same time as (a),
#      measured for real (it takes up to POLL_S);
#   d. the server's DDI requests per hour in both modes: otter_http_requests_total (routes
#      ddi_*) over WINDOW_S seconds with no rollout going on, scaled to an hour; and the
#      requests one rollout costs until every device has been offered it.
#   The broker is plain MQTT on 127.0.0.1 without accounts (a bench, not a deployment:
#   docs/operations.md has the TLS + ACL configuration, tests/integration/agent/push.sh
#   tests it).
# Prints the load average before and after: figures taken on a busy machine are noisy.
set -euo pipefail
mode=fleet
if [ "${1:-}" = push ]; then mode=push; shift; fi
devices=${1:-10000}
if [ "$mode" = push ]; then
  poll_s=${2:-300}
  window_s=${3:-60}
else
  interval=${2:-10}
  secs=${3:-30}
  image_mib=${4:-1024}
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
server=${OTTER_SERVER:-"$build/src/server/otter-server"} # OTTER_SERVER: another build (bench/compare.sh)
sim="$build/tests/tools/otter_fleetsim"
otter="$build/bin/otter"
agent="$build/bin/otter-agent"
if ! [ -x "$server" ] || ! [ -x "$sim" ] || { [ "$mode" = fleet ] && ! [ -x "$agent" ]; }; then
  make -C "$top" build >/dev/null
fi
need=()
for p in jq curl zstd openssl bc unzip; do command -v "$p" >/dev/null || need+=("$p"); done
if [ "$mode" = push ]; then
  command -v mosquitto >/dev/null || need+=(mosquitto)
  command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
fi
[ ${#need[@]} -eq 0 ] || apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
# shellcheck source=/dev/null # linted on its own (.ci/shellcheck.sh)
source "$top/tests/integration/tls_fixture.sh"

work=$(mktemp -d /var/tmp/otter-bench-fleet.XXXXXX)
server_pid="" mq_pid="" sim_pids=()
cleanup() {
  for p in "${sim_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  [ -z "$server_pid" ] || kill -TERM "$server_pid" 2>/dev/null || true
  [ -z "$mq_pid" ] || kill "$mq_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that a kill of the script still runs cleanup
cd "$work"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"

# ---- push mode (bench/fleet.sh push) ----
push_setup() { # keys, a small update, mosquitto on a free port; sets push_conf
  "$otter" keygen --out rel >/dev/null
  "$otter" root new --pubkey rel.pub -o root.json >/dev/null
  head -c 4096 /dev/urandom > img
  "$otter" pack --product bench --compatible bench-1 --version 1 --security-version 1 \
    --image rootfs=img --key rel.key -o update.zip >/dev/null
  mq_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # max_queued_messages 0: no cap on a client's queue (a wake-up is never dropped by the broker)
  cat > mosquitto.conf <<CONF
user $(id -un)
allow_anonymous true
persistence false
max_connections -1
max_queued_messages 0
listener $mq_port 127.0.0.1
CONF
  [ "$(ulimit -Hn)" -gt $((devices + 100)) ] ||
    { echo "ulimit -Hn is $(ulimit -Hn): the broker needs one descriptor per device"; exit 1; }
  broker_up
  push_conf="[push]
broker = 127.0.0.1:$mq_port
queue = 1000000"
}
broker_up() { # mosquitto (one descriptor per device), ready once it takes a publish
  (ulimit -n "$(ulimit -Hn)"; exec mosquitto -c mosquitto.conf) 2>>mosquitto.log & mq_pid=$!
  for _ in $(seq 200); do
    mosquitto_pub -h 127.0.0.1 -p "$mq_port" -t probe -n 2>/dev/null && return 0
    sleep 0.1
  done
  echo "mosquitto did not start: $(tail -3 mosquitto.log)"; exit 1
}
metric() { curl -s -m 30 "$url/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
is_metric() { [ "$(metric "$1")" = "$2" ]; }
# The server's DDI requests so far (polls, configData, ...), from /metrics.
ddi_requests() {
  curl -s -m 30 "$url/metrics" |
    awk 'index($1, "otter_http_requests_total{route=\"ddi_") == 1 { n += $2 } END { printf "%d\n", n }'
}
now() { date +%s.%N; }
# The simulated fleet: one otter_fleetsim per share of the devices, as many as the descriptor
# limit needs (with --mqtt each device takes three: its broker connection and the socket pair
# libmosquitto makes for each client; raising the hard limit needs CAP_SYS_RESOURCE).
#   start_sims NAME ARGS...: NAME.ev.N (--events), NAME.out.N, NAME.err.N per share N
start_sims() {
  local name=$1 per=$((($(ulimit -Hn) - 300) / 3)) n
  shift
  n=$(((devices + per - 1) / per))
  rm -f share.*
  split -n "l/$n" -d -a 2 tokens share.
  for f in share.*; do
    "$sim" --url "$url" --tenant bench --tokens "$f" --events "$name.ev.${f#share.}" \
      --seed $((10#${f#share.} + 1)) "$@" \
      > "$name.out.${f#share.}" 2> "$name.err.${f#share.}" & sim_pids+=($!)
  done
}
stop_sims() {
  for p in "${sim_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${sim_pids[@]}"; do wait "$p" || true; done
  sim_pids=()
}
# events NAME: the shares' --events logs as one, in time order ("SECONDS DEVICE EVENT [ARG]").
events() { cat "$1".ev.* 2>/dev/null | sort -n -k1,1; }
# lines NAME EVENT: how many lines of the fleet's events log are EVENT (sub, wake, lost).
lines() { events "$1" | awk -v e="$2" '$3 == e' | wc -l; }
enough() { [ "$(lines "$1" "$2")" -ge "$3" ]; }
# reach EVENTS T0 PREFIX: seconds from T0 until 50, 95 and 100 % of the devices had a poll
# offering an action new to them (ARG starting with PREFIX) after T0 ("-": not reached),
# and how many devices had one.
reach() {
  awk -v t0="$2" -v a="$3" -v n="$devices" '
    $1 >= t0 && $3 == "offer" && index($4, a) == 1 && !($2 in f) {
      f[$2] = 1; k++
      if (k == int((n * 50 + 99) / 100)) p50 = $1 - t0
      if (k == int((n * 95 + 99) / 100)) p95 = $1 - t0
      if (k == n) p100 = $1 - t0
    }
    END { printf "%s %s %s %d\n", p50 == "" ? "-" : p50, p95 == "" ? "-" : p95,
          p100 == "" ? "-" : p100, k }' <(events "$1")
}
reached() { [ "$(reach "$1" "$2" "$3" | cut -d' ' -f4)" -ge "$devices" ]; }
# wait_until SECONDS WHAT COMMAND...: COMMAND every 0.5 s until it succeeds, SECONDS at most.
wait_until() {
  local limit=$(($1 + SECONDS)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$limit" ] || { echo "gave up waiting: $what"; tail -3 ./*.err.*; exit 1; }
    sleep 0.5
  done
}
rollout() { # rollout NAME: a rollout of the release to every device, not started: its id
  api POST /tenants/bench/rollouts -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"release\":$rid,\"stages\":[{\"percent\":100}]}" | jq -r .id
}
act() { # act ROLLOUT start|cancel STATE: the action, whose answer must show STATE
  local st
  st=$(api POST "/tenants/bench/rollouts/$1/$2" -H 'Content-Type: application/json' -d '{}' | jq -r .state)
  [ "$st" = "$3" ] || { echo "rollout $1 $2: state '$st', want $3"; exit 1; }
}
per_hour() { echo "($2 - $1) * 3600 / ($4 - $3)" | bc -l | xargs printf '%.0f'; }
secs_line() { printf '%-44s %8s %8s %8s  (%d devices)\n' "$@"; }
fmt() { [ "$1" = - ] && echo - || printf '%.1f' "$1"; }
# wake_count EVENTS T0: devices that got a wake-up after T0.
wake_count() { events "$1" | awk -v t0="$2" '$1 >= t0 && $3 == "wake" { d[$2] = 1 } END { print length(d) }'; }

ddi_settled() { [ "$(ddi_requests)" -ge $((2 * devices)) ]; }

# a. push: the fleet connects, settles, then a rollout starts at t0.
push_phase() {
  start_sims push --interval 3600 --duration 3600 --mqtt "127.0.0.1:$mq_port"
  local t=$SECONDS
  wait_until 900 "every device subscribed" enough push sub "$devices"
  # Each device polls once on subscribing (and sends its configData once): wait for them.
  wait_until 900 "the subscriptions' polls" ddi_settled
  connect_s=$((SECONDS - t))
  r0=$(ddi_requests) w0=$(now); sleep "$window_s"; r1=$(ddi_requests) w1=$(now)
  push_rate=$(per_hour "$r0" "$r1" "$w0" "$w1")
  ro1=$(rollout push-1)
  t0=$(now); act "$ro1" start running; t_ans=$(now)
  wait_until 900 "every device offered the push rollout" reached push "$t0" deploymentBase/
  push_rollout_req=$(($(ddi_requests) - r1))
  read -r a50 a95 a100 a_n < <(reach push "$t0" deploymentBase/)
  a_wakes=$(wake_count push "$t0")
  start_s=$(echo "$t_ans - $t0" | bc -l)
}

# b. the broker restarts; a rollout started while it is down; another after.
restart_phase() {
  local lost0 subs0
  lost0=$(lines push lost) subs0=$(lines push sub)
  drop0=$(metric otter_push_dropped_total)
  kill "$mq_pid"; wait "$mq_pid" 2>/dev/null || true; mq_pid=""
  wait_until 300 "every device saw the broker go" enough push lost $((lost0 + devices))
  act "$ro1" cancel canceled
  ro2=$(rollout push-2)
  t2=$(now); act "$ro2" start running # its wake-ups cannot go out: dropped and counted
  dropped=$(($(metric otter_push_dropped_total) - drop0))
  t_up=$(now); broker_up
  wait_until 900 "every device subscribed again" enough push sub $((subs0 + devices))
  # A device whose hourly poll came while the broker was down has it already (polling).
  wait_until 900 "every device polled after reconnecting" reached push "$t2" deploymentBase/
  read -r b50 b95 b100 b_n < <(reach push "$t2" deploymentBase/)
  down_s=$(echo "$t_up - $t2" | bc -l)
  wait_until 300 "the server's publisher reconnected" is_metric otter_push_connected 1
  act "$ro2" cancel canceled
  ro3=$(rollout push-3)
  t3=$(now); act "$ro3" start running
  wait_until 900 "every device offered the rollout started after the restart" reached push "$t3" deploymentBase/
  read -r c50 c95 c100 c_n < <(reach push "$t3" deploymentBase/)
  c_wakes=$(wake_count push "$t3")
  stop_sims
  act "$ro3" cancel canceled
}

# c. no push: a poll every POLL_S seconds, first polls spread over the first interval.
poll_phase() {
  start_sims poll --interval "$poll_s" --duration 3600
  r0=$(ddi_requests) w0=$(now); sleep "$window_s"; r1=$(ddi_requests) w1=$(now)
  poll_rate=$(per_hour "$r0" "$r1" "$w0" "$w1")
  ro4=$(rollout poll-1)
  t4=$(now); act "$ro4" start running
  wait_until $((2 * poll_s + 300)) "every device offered the rollout by polling" reached poll "$t4" deploymentBase/
  poll_rollout_req=$(($(ddi_requests) - r1))
  read -r d50 d95 d100 d_n < <(reach poll "$t4" deploymentBase/)
  stop_sims
}

push_run() {
  rid=$(api POST /tenants/bench/releases --data-binary @update.zip | jq -r .id)
  api POST "/tenants/bench/releases/$rid/approve" -H 'Content-Type: application/json' -d '{}' >/dev/null
  wait_until 60 "the server's publisher connected" is_metric otter_push_connected 1
  push_phase
  restart_phase
  poll_phase
  printf '\n== push wake-up vs a %s s poll, %d simulated devices (otter_fleetsim --mqtt: one MQTT connection each)\n' "$poll_s" "$devices"
  printf '%d connections to mosquitto, subscribed, first polls (and configData) done in %d s\n' "$devices" "$connect_s"
  printf 'the rollout start request took %.1f s (targeting %d devices); times below count from when it was sent\n' "$start_s" "$devices"
  printf '%-44s %8s %8s %8s\n' "time to devices having polled and seen it, s" "50 %" "95 %" "100 %"
  secs_line "push, 1 h fallback poll" "$(fmt "$a50")" "$(fmt "$a95")" "$(fmt "$a100")" "$a_n"
  secs_line "$poll_s s poll with jitter, no push" "$(fmt "$d50")" "$(fmt "$d95")" "$(fmt "$d100")" "$d_n"
  printf 'wake-ups received: %d devices\n' "$a_wakes"
  printf '\n== DDI requests at the server (otter_http_requests_total, routes ddi_*)\n'
  printf 'per hour, no rollout (%s s measured, scaled): push + 1 h poll %s   %s s poll %s\n' "$window_s" "$push_rate" "$poll_s" "$poll_rate"
  printf 'one rollout until every device had it:        push %d   %s s poll %d\n' "$push_rollout_req" "$poll_s" "$poll_rollout_req"
  printf '\n== broker restart (killed, started again on port %d)\n' "$mq_port"
  printf 'a rollout started while it was down: %d wake-ups dropped (otter_push_dropped_total);\n' "$dropped"
  printf '  the broker was back %.1f s after that start; every device reconnected, subscribed again\n' "$down_s"
  printf '  and polled: %d had it, 50/95/100 %% after %s / %s / %s s from the start\n' "$b_n" "$(fmt "$b50")" "$(fmt "$b95")" "$(fmt "$b100")"
  printf 'a rollout started after the restart: wake-ups received by %d devices; seen by %d, 50/95/100 %% after %s / %s / %s s\n' "$c_wakes" "$c_n" "$(fmt "$c50")" "$(fmt "$c95")" "$(fmt "$c100")"
  printf '\n== the simulators, push run\n'; cat push.out.*
  printf '\n== the simulators, %s s poll run\n' "$poll_s"; cat poll.out.*
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- the update: a 1 GiB image of the machine's own binaries (they compress like firmware) ----
make_update() {
  want=$((image_mib * 1024 * 1024))
  find /usr/lib /usr/bin -type f -size +256k 2>/dev/null | LC_ALL=C sort |
    while read -r f; do cat "$f" 2>/dev/null || true; done | head -c "$want" > image.bin
  while [ "$(stat -c %s image.bin)" -lt "$want" ]; do
    head -c $((want - $(stat -c %s image.bin))) image.bin > more.bin; cat more.bin >> image.bin; rm more.bin
  done
  "$otter" keygen --out rel >/dev/null
  "$otter" root new --pubkey rel.pub -o root.json >/dev/null
  head -c 4096 /dev/urandom > factory.img
  "$otter" pack --product bench --compatible bench-1 --version 0 --security-version 0 \
    --image rootfs=factory.img --key rel.key -o factory.zip >/dev/null
  "$otter" pack --product bench --compatible bench-1 --version 1 --security-version 1 \
    --image rootfs=image.bin --key rel.key -o update.zip >/dev/null
  unzip -p update.zip rootfs.img.zst > payload.zst
  rm -f image.bin
}
push_conf=""
if [ "$mode" = fleet ]; then make_update; else push_setup; fi
make_tls "$work/tls" >/dev/null

# ---- otter-server: HTTP for the simulated fleet, HTTPS for the real device ----
cat > server.conf <<CONF
[http]
listen = 127.0.0.1:0
listen_tls = 127.0.0.1:0
tls_cert = $work/tls/srv.crt
tls_key = $work/tls/srv.key
[database]
url = sqlite:$work/otter.db
[storage]
artifacts = $work/artifacts
[trust]
root = $work/root.json
[limits]
max_body = 16M
max_connections = 4096
max_connections_per_ip = 0
[metrics]
enabled = true
$push_conf
CONF
OTTER_ADMIN_PASSWORD=bench-admin-pw "$server" init --config server.conf >/dev/null
"$server" serve --config server.conf --ready-file ready 2>server.log &
server_pid=$!
for _ in $(seq 100); do [ -s ready ] && [ "$(wc -l < ready)" -ge 2 ] && break; sleep 0.1; done
url=$(grep '^http:' ready) turl=$(grep '^https:' ready)
if [ -z "$url" ] || [ -z "$turl" ]; then echo "otter-server did not start"; cat server.log; exit 1; fi
api() { # api METHOD PATH [curl args]: JSON answer on stdout
  local m=$1 p=$2; shift 2
  curl -s -m 600 -X "$m" -H "Authorization: Bearer $tok" "$@" "$url/api/v1$p"
}
tok=$(curl -s -m 30 -X POST "$url/api/v1/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pw"}' | jq -r .token)
api POST /tenants -H 'Content-Type: application/json' -d '{"name":"bench"}' >/dev/null
: > tokens
for ((first = 0; first < devices; first += 10000)); do
  last=$((first + 10000 < devices ? first + 10000 : devices))
  seq -f 'sim%06g,bench-1' "$first" $((last - 1)) |
    api POST /tenants/bench/devices/bulk -H 'Content-Type: text/csv' --data-binary @- |
    jq -r '.devices[] | "\(.controller_id) \(.token)"' >> tokens
done
[ "$(wc -l < tokens)" = "$devices" ] || { echo "provisioning failed"; exit 1; }
if [ "$mode" = push ]; then push_run; exit 0; fi
printf 'agent,bench-1\nref,bench-1\n' | api POST /tenants/bench/devices/bulk -H 'Content-Type: text/csv' \
  --data-binary @- | jq -r '.devices[] | "\(.controller_id) \(.token)"' > real-tokens
atok=$(awk '$1 == "agent" { print $2 }' real-tokens)
rtok=$(awk '$1 == "ref" { print $2 }' real-tokens)

# ---- 1. the simulated fleet ----
# Onboarding first: every device polls and sends its configData (a database
# write each) as fast as the server takes them (polls every second), timed;
# then the steady state, where polls are reads only (last_seen is written in
# batches).
"$sim" --url "$url" --tenant bench --tokens tokens --interval 1 --duration 600 --until-configured \
  --server-pid "$server_pid" > onboard.out 2> sim.err || true
printf '\n== onboarding: %d simulated devices poll (every 1 s) until each has sent configData once\n' "$devices"
cat onboard.out
printf '\n== steady state: %d simulated devices, a poll every %s s each, %s s (otter_fleetsim, 64 connections)\n' \
  "$devices" "$interval" "$secs"
rc=0
"$sim" --url "$url" --tenant bench --tokens tokens --interval "$interval" --duration "$secs" \
  --server-pid "$server_pid" 2> sim.err || rc=$?
[ "$rc" = 0 ] || { echo "the simulator saw errors (exit $rc):"; head -5 sim.err; }

# ---- 2. one real device: otter-agent over HTTPS vs curl | zstd | openssl ----
rid=$(api POST /tenants/bench/releases --data-binary @update.zip | jq -r .id)
pid_=$(api POST '/tenants/bench/releases?type=foreign&filename=payload.zst&version=1' \
  --data-binary @payload.zst | jq -r .id)
link() { # link DEVICE TOKEN RELEASE: the DDI download URL of a fresh deployment
  local aid
  api POST "/tenants/bench/releases/$3/approve" -H 'Content-Type: application/json' -d '{}' >/dev/null
  aid=$(api POST /tenants/bench/deployments -H 'Content-Type: application/json' \
    -d "{\"release\":$3,\"devices\":[\"$1\"]}" | jq -r '.actions[0].id')
  curl -s -m 30 --cacert tls/ca.crt -H "Authorization: TargetToken $2" \
    "$turl/bench/controller/v1/$1/deploymentBase/$aid" |
    jq -r '.deployment.chunks[0].artifacts[0]._links.download.href'
}
aurl=$(link agent "$atok" "$rid")
rurl=$(link ref "$rtok" "$pid_")
case "$aurl$rurl" in https://127.0.0.1:*https://127.0.0.1:*) ;; *) echo "bad links: $aurl $rurl"; exit 1 ;; esac

device() { # device DIR: a raw A/B device (file slots) with slot A flashed and booted
  rm -rf "$1"; mkdir -p "$1/state"; : > "$1/a"; : > "$1/b"
  cat > "$1/agent.conf" <<CONF
[device]
product = bench
model = bench-1
[trust]
root = $work/root.json
[state]
dir = $1/state
[rollback]
path = $1/state/counter
[boot]
backend = file
path = $1/bootenv
cmdline = $1/cmdline
[reboot]
command =
[slot.rootfs]
a = $1/a
b = $1/b
handler = raw
CONF
  "$agent" -c "$1/agent.conf" factory factory.zip >/dev/null 2>&1
  "$agent" bootsim --root "$1" >/dev/null
}
secs_of() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>>run.err; e=$(date +%s%N); echo "scale=4; ($e - $s) / 1000000000" | bc; }
cat artifacts/* > /dev/null # the server's page cache warm for both
best_ref="" best_ott=""
for _ in 1 2; do
  t=$(secs_of bash -c "curl -s -m 600 --cacert tls/ca.crt -H 'Authorization: TargetToken $rtok' '$rurl' | zstd -dc | openssl dgst -sha256")
  [ -z "$best_ref" ] || [ "$(echo "$t < $best_ref" | bc)" = 1 ] && best_ref=$t
  device "$work/dev"
  t=$(secs_of "$agent" -c dev/agent.conf install "$aurl" --no-reboot --ca tls/ca.crt \
    --header "Authorization: TargetToken $atok")
  "$agent" bootsim --root dev | grep -q "update committed" || { echo "the agent's install did not commit"; cat run.err; exit 1; }
  [ -z "$best_ott" ] || [ "$(echo "$t < $best_ott" | bc)" = 1 ] && best_ott=$t
done
mbs() { echo "scale=1; $want / 1000000 / $1" | bc -l; }
printf '\n== %d MiB image (%.1f MiB zstd) over loopback HTTPS from otter-server, best of 2\n' \
  "$image_mib" "$(echo "$(stat -c %s payload.zst) / 1048576" | bc -l)"
printf 'curl | zstd -dc | openssl dgst -sha256 : %8s MB/s  %7.3f s\n' "$(mbs "$best_ref")" "$best_ref"
printf 'otter-agent install URL (write+fsync)  : %8s MB/s  %7.3f s\n' "$(mbs "$best_ott")" "$best_ott"
printf 'ratio otter-agent / curl pipeline      : %8.3f (target >= 0.85)\n' "$(echo "$best_ref / $best_ott" | bc -l)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
