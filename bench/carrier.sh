#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A carrier-scale run (issue #15, "Delivery at scale"): DEVICES (1,000,000) provisioned devices,
# two otter-server instances on one PostgreSQL ([storage] database = true, no shared files),
# one nginx in front of both (DDI and management API, round robin) that is also the artifact
# origin (secure_link + proxy_cache, the servers hand out signed links: [cdn]), mosquitto for
# push. While otter_fleetsim polls through nginx at the fleet's hourly share (every device once
# an hour by default: DEVICES / 3600 polls/s, RATE overrides), a staged rollout (1 % -> 10 % ->
# 100 %) to the whole fleet opens stage after stage; one wildcard subscriber counts the
# wake-ups (as bench/push.sh: the broker's routing, not 1M connections), the woken devices
# poll (a second otter_fleetsim on exactly the woken identities, at WAKE_RATE polls/s, at most
# SECONDS), and a sample of them downloads the artifact through the origin.
# Figures: provisioning time, per server polls/s and p50/p99 (nginx's $upstream_addr and
# $upstream_response_time), errors, CPU and RSS per server, pg_database_size and its growth per
# stage, time per stage (request -> all its wake-ups delivered), the rollout-history sampler's
# query at this size, and what grows with the fleet.
# Everything listens on 127.0.0.1 with ports picked free at run time; all killed in a trap.
#   bench/carrier.sh            DEVICES=100000 SECONDS=120 bench/carrier.sh
# Parameters (environment): DEVICES (1000000), SECONDS (180: the background load), RATE
# (DEVICES/3600 polls/s), WAKE_RATE (1000 polls/s), SAMPLE (20 downloads), STAGE_WAIT (900 s),
# POLL_CACHE ([ddi] poll_cache of both servers; the server's default when unset),
# ROLLOUT (1; 0: the fleet's polls only, no rollout started: a baseline, and a bound on the
# run's time where starting a rollout to the whole fleet takes longer than there is).
set -euo pipefail
# shellcheck source=bench/carrier_lib.sh disable=SC2154 # tok, front, ...: carrier.sh's
devices=${DEVICES:-1000000}
# SECONDS is bash's own clock (it counts on from an inherited value): read the environment's.
load_secs=$(printenv SECONDS || echo 180)
wake_rate=${WAKE_RATE:-1000}
sample=${SAMPLE:-20}
stage_wait=${STAGE_WAIT:-900}
rollout=${ROLLOUT:-1}
rate=${RATE:-$(echo "scale=3; $devices / 3600" | bc -l)}
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
server="$build/src/server/otter-server"
sim="$build/tests/tools/otter_fleetsim"
otter="$build/bin/otter"
if ! [ -x "$server" ] || ! [ -x "$sim" ] || ! [ -x "$otter" ]; then make -C "$top" build >/dev/null; fi
for p in nginx mosquitto mosquitto_sub mosquitto_pub psql jq curl bc python3 openssl; do
  command -v "$p" >/dev/null || { echo "missing $p (make deps)"; exit 1; }
done
if [ "$devices" -lt 100 ] || [ "$devices" -gt 1000000 ]; then echo "DEVICES: 100..1000000"; exit 2; fi
source "$top/tests/integration/nginx_fixture.sh" # nginx_user
source "$top/bench/carrier_lib.sh"
pg=$(bash "$top/tests/pg/ensure.sh" "$build/pg")
work=$(mktemp -d /var/tmp/otter-bench-carrier.XXXXXX)
chmod 755 "$work"
# tests/pg/ensure.sh drops otter_it_*_<pid> databases whose pid is gone: a killed run's too.
pg_db="otter_it_carrier_$$"
db_url=$(sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/$pg_db#" <<<"$pg")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  wait 2>/dev/null || true
  psql -X -q "$pg" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"
echo "== carrier run: $devices devices, background ${rate} polls/s for ${load_secs} s"
echo "commit $(git -C "$top" rev-parse --short HEAD)  load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores, shared)"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }
dbsize() { sql "SELECT pg_database_size(current_database())"; }

# ---- mosquitto, keys, the package ----
mport=$(free_ports 1)
printf 'user %s\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlistener %s 127.0.0.1\n' \
  "$(id -un)" "$mport" > mosquitto.conf
mosquitto -c mosquitto.conf 2>mosquitto.log & pids+=($!)
for _ in $(seq 100); do mosquitto_pub -h 127.0.0.1 -p "$mport" -t probe -n 2>/dev/null && break; sleep 0.1; done
"$otter" keygen --out rel >/dev/null
"$otter" root new --pubkey rel.pub -o root.json >/dev/null
head -c 1048576 /dev/urandom > img
"$otter" pack --product bench --compatible bench-1 --version 1 --security-version 1 \
  --image rootfs=img --key rel.key -o update.zip >/dev/null
openssl rand -base64 32 > cdn.secret

# ---- nginx (front on base, origin on base+3) and two servers (base+1, base+2) ----
read -r base < <(free_ports 4)
front="http://127.0.0.1:$base" origin="http://127.0.0.1:$((base + 3))"
nginx_conf "$work" "$base" "$(cat cdn.secret)" > nginx.conf
mkdir -p nginx/cache
nginx -p "$work" -c "$work/nginx.conf" || { cat nginx/error.log; exit 1; }
for i in 1 2; do
  mkdir -p "artifacts-$i"
  cat > "server-$i.conf" <<CONF
[http]
listen = 127.0.0.1:$((base + i))
[database]
url = $db_url
[storage]
artifacts = $work/artifacts-$i
database = true
[trust]
root = $work/root.json
[limits]
max_body = 16M
max_connections = 4096
max_connections_per_ip = 0
[ddi]
polling = 1h
${POLL_CACHE:+poll_cache = $POLL_CACHE}
[metrics]
enabled = true
[push]
broker = 127.0.0.1:$mport
queue = 2000000
[cdn]
base_url = $origin
secret_file = $work/cdn.secret
link_ttl = 1h
CONF
done
OTTER_ADMIN_PASSWORD=bench-admin-pw "$server" init --config server-1.conf >/dev/null
spid=()
for i in 1 2; do
  "$server" serve --config "server-$i.conf" --ready-file "ready-$i" 2>"server-$i.log" & pids+=($!)
  spid[i]=$!
done
for i in 1 2; do
  for _ in $(seq 300); do [ -s "ready-$i" ] && break; sleep 0.1; done
  [ -s "ready-$i" ] || { echo "server $i did not start"; cat "server-$i.log"; exit 1; }
done
tok=$(curl -s -m 30 -X POST "$front/api/v1/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pw"}' | jq -r .token)
api() { local m=$1 p=$2; shift 2; curl -s -m 1800 -X "$m" -H "Authorization: Bearer $tok" "$@" "$front/api/v1$p"; }
api POST /tenants -H 'Content-Type: application/json' -d '{"name":"bench"}' >/dev/null
size_empty=$(dbsize)

# ---- provisioning: the bulk route, 10,000 a request, one at a time (writes are serialized across
# servers by one advisory lock: two at a time made the second wait past busy_timeout, 500) ----
t=$(now)
provision "$devices" 1 > tokens
t_prov=$(since "$t")
[ "$(wc -l < tokens)" = "$devices" ] || { echo "provisioning failed: $(wc -l < tokens) tokens"; exit 1; }
size_prov=$(dbsize)
printf '\n== provisioning: %d devices in %.1f s (%.0f devices/s, POST /devices/bulk x %d)\n' \
  "$devices" "$t_prov" "$(echo "$devices / $t_prov" | bc -l)" $(((devices + 9999) / 10000))
printf 'database: %s empty, %s provisioned (%d bytes per device)\n' "$(mib "$size_empty")" \
  "$(mib "$size_prov")" $(((size_prov - size_empty) / devices))

rid=$(api POST /tenants/bench/releases --data-binary @update.zip | jq -r .id)
api POST "/tenants/bench/releases/$rid/approve" -H 'Content-Type: application/json' -d '{}' >/dev/null
sha=$(sha256sum < update.zip | cut -d' ' -f1)
t=$(now)
ro=$(api POST /tenants/bench/rollouts -H 'Content-Type: application/json' -d '{"name":"carrier",
  "release":'"$rid"',"stages":[{"percent":1,"success_threshold":100},
  {"percent":10,"success_threshold":100},{"percent":100,"success_threshold":100}]}' | jq -r .id)
t_create=$(since "$t")
[[ $ro =~ ^[0-9]+$ ]] || { echo "rollout not created"; exit 1; }
for i in 1 2; do
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$((base + i))/metrics" | grep -q '^otter_push_connected 1' && break; sleep 0.1
  done
done

# ---- the wake-up counter: every device topic, ready once a probe reaches it ----
mosquitto_sub -h 127.0.0.1 -p "$mport" -t 'otter/bench/dev/+' -q 1 -v > woken & pids+=($!)
for _ in $(seq 100); do
  mosquitto_pub -h 127.0.0.1 -p "$mport" -t otter/bench/dev/probe -m probe -q 1; [ -s woken ] && break; sleep 0.1
done
woken_count() { grep -vc '^otter/bench/dev/probe ' woken || true; }

# ---- the background load: the hourly share through nginx, for SECONDS ----
interval=$(echo "scale=3; $devices / $rate" | bc -l)
: > nginx/front.log # only the run's requests from here on
proc_snap "${spid[1]}" > proc1.start; proc_snap "${spid[2]}" > proc2.start
t_load=$(now)
"$sim" --url "$front" --tenant bench --tokens tokens --interval "$interval" --duration "$load_secs" \
  --connections 64 --timeout 30 --no-config > load.out 2> load.err & load_pid=$!; pids+=("$load_pid")
sleep_until_polls 1 || true # the load is under way before the first stage opens

# ---- the stages: request -> all of the stage's wake-ups delivered; the woken devices poll ----
printf '\n== rollout: created in %.2f s; stages (the background load running)%s\n' "$t_create" \
  "$([ "$rollout" = 1 ] || echo ': none (ROLLOUT=0), the fleet polls only')"
printf '%-6s %9s %9s %10s %12s %10s %12s %10s\n' stage devices wake-ups request_s all_woken_s database growth sampler_ms
prev_size=$(dbsize)
stages=(0 1 2)
[ "$rollout" = 1 ] || stages=()
for st in "${stages[@]}"; do
  # A start or advance wakes every device whose action is now available and still scheduled:
  # this stage's and the earlier stages' devices that have not fetched their deployment yet.
  before=$(wc -l < woken)
  t=$(now)
  if [ "$st" = 0 ]; then path=start; else path=advance; fi
  api POST "/tenants/bench/rollouts/$ro/$path" -H 'Content-Type: application/json' -d '{}' > "stage$st.json"
  t_req=$(since "$t")
  api GET "/tenants/bench/rollouts/$ro/stats" > "stats$st.json"
  new=$(jq ".stages[$st].devices" "stats$st.json")
  want=$(jq "[.stages[0:$((st + 1))][].scheduled] | add" "stats$st.json")
  for _ in $(seq $((stage_wait * 10))); do [ $(($(wc -l < woken) - before)) -ge "$want" ] && break; sleep 0.1; done
  t_woken=$(since "$t")
  got=$(($(wc -l < woken) - before))
  size=$(dbsize)
  stats_ms=$(stats_query_ms "$ro")
  printf '%-6s %9d %9d %10.2f %12.2f %10s %12s %10s%s\n' "$((st + 1))" "$new" "$want" "$t_req" "$t_woken" \
    "$(mib "$size")" "+$(mib $((size - prev_size)))" "$stats_ms" \
    "$([ "$got" -ge "$want" ] || echo "  (only $got of $want woken after $stage_wait s)")"
  # The woken devices poll: exactly the identities whose topics got a message, at WAKE_RATE.
  tail -n +"$((before + 1))" woken | grep -v '^otter/bench/dev/probe ' | cut -d' ' -f1 | sed 's#.*/##' |
    awk 'NR == FNR { want[$1] = 1; next } ($1 in want)' - tokens > "woken-$st.tokens"
  n=$(wc -l < "woken-$st.tokens")
  dur=$(echo "d = $n / $wake_rate; if (d < 5) d = 5; if (d > $load_secs) d = $load_secs; d" | bc -l)
  "$sim" --url "$front" --tenant bench --tokens "woken-$st.tokens" --interval "$dur" --duration "$dur" \
    --connections 64 --timeout 30 --no-config > "wake-$st.out" 2>&1 || true
  [ "$st" = 0 ] && download_sample "woken-$st.tokens" "$sample" > downloads.out
  prev_size=$size
done
for st in "${stages[@]}"; do
  printf 'stage %d, the woken devices polling: %s | %s | %s\n' $((st + 1)) \
    "$(sed -n 2p "wake-$st.out")" "$(sed -n 3p "wake-$st.out")" "$(sed -n 4p "wake-$st.out")"
done

wait "$load_pid" || true
t_load=$(since "$t_load")
proc_snap "${spid[1]}" > proc1.end; proc_snap "${spid[2]}" > proc2.end
printf '\n== background load (otter_fleetsim, %s devices, one poll each per %s s, through nginx)\n' "$devices" "$interval"
cat load.out
printf '\n== per server, all requests through nginx during the run (%.0f s)\n' "$t_load"
per_upstream nginx/front.log "$t_load" "$base"
for i in 1 2; do
  proc_report "server $i" "proc$i.start" "proc$i.end" "$t_load"
done
if [ "$rollout" = 1 ]; then
  printf '\n== the artifact from the origin (a sample of %d woken devices of stage 1)\n' "$sample"
  cat downloads.out
fi
printf '\n== what grows with the fleet\n'
sampler_report "$ro"
metrics_report $((base + 1)) "server 1"
metrics_report $((base + 2)) "server 2"
printf 'database: %s at the end; largest relations:\n' "$(mib "$(dbsize)")"
sql "SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 6" |
  sed 's/^/  /'
printf 'server log lines (errors, warnings): %s / %s\n' "$(wc -l < server-1.log)" "$(wc -l < server-2.log)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
