#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-server under load on 127.0.0.1, against nginx in the same run:
#   1. provisions DEVICES devices through POST /api/v1/tenants/T/devices/bulk
#      (CSV, 10000 per request; the TargetTokens come back in the answers), timed;
#   2. DDI base polls/s and p99 latency with wrk, CONNS (64) connections for
#      SECONDS, every request a different device with its own TargetToken
#      (bench/poll.lua), vs nginx serving a static file of the poll's JSON
#      size with the same script;
#   3. a 100 MiB artifact downloaded through DDI vs nginx serving the same
#      file: SAMPLES (7) samples each, otter and nginx taking turns, a sample
#      being one curl fetching the URL REPEAT (16) times over one kept-alive
#      connection to /dev/null (1.6 GiB, about a second); median MB/s of each
#      with min-max, and the ratio of the medians. (One 100 MiB transfer is
#      ~50 ms on loopback: single transfers swung 0.55-1.32.)
# Targets: polls/s >= 1.0x nginx; download MB/s >= 0.9x nginx.
# Prints the load average before and after: figures taken on a busy machine are noisy.
#   2b. the same polls while WRITES (10) devices a second send configData: no
#      target, a figure on record (each write voids that device's cached poll).
#   2c. the same polls while FLOODERS (16) clients send wrong-password logins
#      (a new user name each, so the throttle never stops them): p99 next to
#      the quiet run's, and how the logins were answered (503 = turned away
#      by [auth] login_concurrency). Printed, not judged. FLOODERS=0 skips it.
#   bench/server.sh [DEVICES] [SECONDS]   (default 100000 10); env CONNS, THREADS (server pool), WRITES,
#   SAMPLES, REPEAT, SECTIONS: "all" (default) or "download" (3 alone: one device
#   is provisioned, no polls), e.g. SECTIONS=download bench/server.sh
set -euo pipefail
sections=${SECTIONS:-all}
case $sections in all | download) ;; *) echo "SECTIONS: all or download, not '$sections'"; exit 2 ;; esac
devices=${1:-100000}
[ "$sections" = all ] || devices=1
secs=${2:-10}
conns=${CONNS:-64}
top=$(cd "$(dirname "$0")/.." && pwd)
server=${OTTER_SERVER:-"$top/build/src/server/otter-server"} # OTTER_SERVER: another build (bench/compare.sh)
[ -x "$server" ] || make -C "$top" build >/dev/null
need=()
for p in wrk jq curl bc; do command -v "$p" >/dev/null || need+=("$p"); done
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ ${#need[@]} -eq 0 ] || apt-get install -y --no-install-recommends "${need[@]}" >/dev/null

work=$(mktemp -d /var/tmp/otter-bench-server.XXXXXX)
server_pid="" nginx_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill -TERM "$server_pid" 2>/dev/null || true
  [ -z "$nginx_pid" ] || kill -TERM "$nginx_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work" # nginx workers run as nobody
cd "$work"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"

# ---- otter-server ----
cat > server.conf <<CONF
[http]
listen = 127.0.0.1:0
[database]
url = sqlite:$work/otter.db
[storage]
artifacts = $work/artifacts
[limits]
max_body = 16M
max_connections = 4096
# wrk's CONNS connections all come from 127.0.0.1.
max_connections_per_ip = 0
${THREADS:+threads = $THREADS}
[auth]
# 2c's flood comes from one address too: the per-address throttle would stop it.
login_max_failures_addr = 100000
[metrics]
enabled = true
CONF
OTTER_ADMIN_PASSWORD=bench-admin-pw "$server" init --config server.conf >/dev/null
"$server" serve --config server.conf --ready-file ready 2>server.log &
server_pid=$!
for _ in $(seq 100); do [ -s ready ] && break; sleep 0.1; done
url=$(head -1 ready)
[ -n "$url" ] || { echo "otter-server did not start"; cat server.log; exit 1; }
tok=$(curl -s -m 30 -X POST "$url/api/v1/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pw"}' | jq -r .token)
auth="Authorization: Bearer $tok"
curl -s -m 30 -o /dev/null -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' "$url/api/v1/tenants"

# ---- 1. provisioning ----
: > tokens
start=$(date +%s%N)
for ((first = 0; first < devices; first += 10000)); do
  last=$((first + 10000 < devices ? first + 10000 : devices))
  seq -f 'dev%06g,bench-1' "$first" $((last - 1)) > batch.csv
  code=$(curl -s -m 300 -o batch.json -w '%{http_code}' -X POST -H "$auth" \
    -H 'Content-Type: text/csv' --data-binary @batch.csv "$url/api/v1/tenants/bench/devices/bulk")
  [ "$code" = 201 ] || { echo "bulk provisioning: HTTP $code"; head -c 400 batch.json; exit 1; }
  jq -r '.devices[] | "\(.controller_id) \(.token)"' batch.json >> tokens
done
end=$(date +%s%N)
prov_s=$(echo "scale=3; ($end - $start) / 1000000000" | bc)
[ "$(wc -l < tokens)" = "$devices" ] || { echo "got $(wc -l < tokens) tokens, want $devices"; exit 1; }
[ "$sections" != all ] ||
  printf '\nprovisioned %d devices (bulk CSV, 10000 per request): %.2f s, %.0f devices/s\n' \
    "$devices" "$prov_s" "$(echo "$devices / $prov_s" | bc -l)"

# One poll's answer: its size is what nginx serves.
read -r cid0 tok0 < tokens
curl -s -m 30 -H "Authorization: TargetToken $tok0" -o poll.json "$url/bench/controller/v1/$cid0"
poll_bytes=$(stat -c %s poll.json)

# ---- nginx on the same machine, same file sizes ----
mkdir -p www nginx-tmp
cp poll.json www/poll.json
head -c $((100 * 1024 * 1024)) /dev/urandom > www/artifact.bin
cat > nginx.conf <<CONF
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx-tmp; proxy_temp_path $work/nginx-tmp;
  fastcgi_temp_path $work/nginx-tmp; uwsgi_temp_path $work/nginx-tmp; scgi_temp_path $work/nginx-tmp;
  server {
    listen 127.0.0.1:0;
    root $work/www;
    default_type application/json;
    location /artifact.bin { }
    location / { try_files /poll.json =404; }
  }
}
CONF
# nginx cannot report a port it picked; find a free one first.
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s/listen 127.0.0.1:0;/listen 127.0.0.1:$nport;/" nginx.conf
/usr/sbin/nginx -c "$work/nginx.conf" -e "$work/nginx-error.log" &
nginx_pid=$!
nurl="http://127.0.0.1:$nport"
for _ in $(seq 100); do curl -s -o /dev/null "$nurl/x" && break; sleep 0.1; done
[ "$(curl -s -m 5 "$nurl/x" | wc -c)" = "$poll_bytes" ] || { echo "nginx did not start"; cat nginx-error.log; exit 1; }

# ---- 2. polls ----
if [ "$sections" = all ]; then
metric() { curl -s -m 30 "$url/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
to_ms() { # wrk latency "812.00us" / "1.23ms" / "1.02s" -> ms
  case $1 in *us) echo "scale=3; ${1%us} / 1000" | bc ;; *ms) echo "${1%ms}" ;; *s) echo "scale=3; ${1%s} * 1000" | bc ;; esac
}
run_wrk() { # run_wrk URL OUT
  wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$top/bench/poll.lua" "$1" \
    -- "$work/tokens" bench > "$2"
  if grep -q 'Non-2xx' "$2"; then echo "errors against $1:"; cat "$2"; exit 1; fi
}
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$server_pid/stat"; }
polls0=$(metric otter_ddi_polls_total)
t0=$(cpu_ticks)
run_wrk "$url" wrk-otter.txt
t1=$(cpu_ticks)
polls1=$(metric otter_ddi_polls_total)
rss_kib=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$server_pid/status")
run_wrk "$nurl" wrk-nginx.txt
o_rps=$(awk '/^Requests\/sec/ { print $2 }' wrk-otter.txt)
n_rps=$(awk '/^Requests\/sec/ { print $2 }' wrk-nginx.txt)
o_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' wrk-otter.txt)")
n_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' wrk-nginx.txt)")
o_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' wrk-otter.txt)")
n_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' wrk-nginx.txt)")
o_n=$(awk '/requests in/ { print $1 }' wrk-otter.txt)
# The server also counts the polls wrk cut off at the end: a little above wrk's count.
srv_n=$((polls1 - polls0))
printf '\n== DDI base poll, %d connections, %d s, %d devices each with its TargetToken (%d-byte answer)\n' \
  "$conns" "$secs" "$devices" "$poll_bytes"
printf 'otter-server : %9.0f polls/s  p50 %7.3f ms  p99 %7.3f ms\n' "$o_rps" "$o_p50" "$o_p99"
printf "               (%d polls by wrk, %d counted by the server's /metrics; server CPU %.0f %% of a core, peak RSS %.1f MiB)\n" \
  "$o_n" "$srv_n" "$(echo "($t1 - $t0) * 100 / $(getconf CLK_TCK) / $secs" | bc -l)" "$(echo "$rss_kib / 1024" | bc -l)"
printf 'nginx static : %9.0f req/s    p50 %7.3f ms  p99 %7.3f ms\n' "$n_rps" "$n_p50" "$n_p99"
printf 'ratio otter / nginx throughput : %.3f (target >= 1.0)\n' "$(echo "$o_rps / $n_rps" | bc -l)"
printf 'ratio otter / nginx p99        : %.3f (lower is better)\n' "$(echo "$o_p99 / $n_p99" | bc -l)"

# ---- 2b. the same polls while devices write (no target: a figure on record) ----
# A rollout is a stream of poll-visible writes (feedback, configData); each one
# voids the cached poll of the device it touches (docs/server.md, the base
# poll cache), so the rest of the fleet stays answered from memory.
# WRITES configData PUTs per second, each from another device, paced by one
# curl process (--rate), so the writer costs no fork per write.
writes=${WRITES:-10}
if [ "$writes" -gt 0 ]; then
  tail -n $((writes * secs * 2)) tokens | awk -v url="$url" 'NR > 1 { print "next" } {
    printf "url = \"%s/bench/controller/v1/%s/configData\"\n", url, $1
    printf "header = \"Authorization: TargetToken %s\"\nheader = \"Content-Type: application/json\"\n", $2
    print "request = \"PUT\"\noutput = \"/dev/null\""
    print "data = \"{\\\"data\\\":{\\\"site\\\":\\\"bench\\\"},\\\"mode\\\":\\\"merge\\\"}\"" }' > writes.curlrc
  other='otter_http_requests_total{route="ddi_other",code="2xx"}'
  w0=$(metric "$other")
  h0=$(metric 'otter_ddi_poll_cache_total{result="hit"}')
  m0=$(metric 'otter_ddi_poll_cache_total{result="miss"}')
  curl -s --rate "$writes/s" -K writes.curlrc >/dev/null 2>&1 &
  writer=$!
  run_wrk "$url" wrk-otter-writes.txt
  w_done=$(($(metric "$other") - ${w0:-0}))
  hits=$(($(metric 'otter_ddi_poll_cache_total{result="hit"}') - ${h0:-0}))
  misses=$(($(metric 'otter_ddi_poll_cache_total{result="miss"}') - ${m0:-0}))
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  w_rps=$(awk '/^Requests\/sec/ { print $2 }' wrk-otter-writes.txt)
  w_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' wrk-otter-writes.txt)")
  printf '\n== the same polls while %d devices/s send configData (poll-visible writes)\n' "$writes"
  printf 'otter-server : %9.0f polls/s  p99 %7.3f ms  (%.3f of the quiet run; WRITES=0 skips this)\n' \
    "$w_rps" "$w_p99" "$(echo "$w_rps / $o_rps" | bc -l)"
  printf '               (%d configData PUTs answered 2xx while wrk ran: %.1f/s; poll cache %d hits, %d misses)\n' \
    "$w_done" "$(echo "$w_done / $secs" | bc -l)" "$hits" "$misses"
fi

# ---- 2c. the same polls during a login flood (a figure on record) ----
# yescrypt costs tens of ms of a pool thread per check; [auth] login_concurrency
# bounds how many run at once (503 beyond), so the other threads keep polling.
flooders=${FLOODERS:-16}
if [ "$flooders" -gt 0 ]; then
  seq 1 500 | awk -v url="$url" 'NR > 1 { print "next" } {
    printf "url = \"%s/api/v1/login\"\nrequest = \"POST\"\noutput = \"/dev/null\"\n", url
    # Per transfer: "next" resets every option given before it.
    print "silent\nmax-time = 30\nwrite-out = \"%{http_code}\\n\""
    print "header = \"Content-Type: application/json\""
    printf "data = \"{\\\"username\\\":\\\"flood%d\\\",\\\"password\\\":\\\"wrong\\\"}\"\n", $1 }' > flood.curlrc
  # Rounds of 500 logins, FLOODERS at a time, until wrk is done (the round running then ends).
  rm -f flood.stop
  (while [ ! -e flood.stop ]; do
    curl -s -Z --parallel-max "$flooders" -K flood.curlrc || true
  done) > flood.codes 2>/dev/null &
  flooder=$!
  run_wrk "$url" wrk-otter-flood.txt
  touch flood.stop
  wait "$flooder" 2>/dev/null || true
  f_rps=$(awk '/^Requests\/sec/ { print $2 }' wrk-otter-flood.txt)
  f_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' wrk-otter-flood.txt)")
  f_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' wrk-otter-flood.txt)")
  printf '\n== the same polls while %d clients flood POST /api/v1/login with wrong passwords\n' "$flooders"
  printf 'otter-server : %9.0f polls/s  p50 %7.3f ms  p99 %7.3f ms  (quiet run: p99 %.3f ms)\n' \
    "$f_rps" "$f_p50" "$f_p99" "$o_p99"
  printf '               logins answered: %s\n' \
    "$(sort flood.codes | uniq -c | awk '{ printf "%s%d x %s", (NR > 1 ? ", " : ""), $1, $2 }')"
fi
fi # SECTIONS=all

# ---- 3. a 100 MiB download ----
curl -s -m 300 -o rel.json -X POST -H "$auth" --data-binary @www/artifact.bin \
  "$url/api/v1/tenants/bench/releases?type=foreign&filename=artifact.bin&version=1.0"
rid=$(jq -r .id rel.json)
curl -s -m 30 -o /dev/null -X POST -H "$auth" -H 'Content-Type: application/json' -d '{}' \
  "$url/api/v1/tenants/bench/releases/$rid/approve"
curl -s -m 30 -o dep.json -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"release\":$rid,\"devices\":[\"$cid0\"]}" "$url/api/v1/tenants/bench/deployments"
aid=$(jq -r '.actions[0].id' dep.json)
dl=$(curl -s -m 30 -H "Authorization: TargetToken $tok0" "$url/bench/controller/v1/$cid0/deploymentBase/$aid" |
  jq -r '.deployment.chunks[0].artifacts[0]._links.download.href')
cat www/artifact.bin "$work"/artifacts/* > /dev/null # page cache warm for both
samples=${SAMPLES:-7}
repeat=${REPEAT:-16}
size=$(stat -c %s www/artifact.bin)
sample() { # sample URL [curl args]: REPEAT downloads over one connection to /dev/null, bytes/s of the whole
  local u=$1 outs=() urls=() t0 t1 got; shift
  for _ in $(seq "$repeat"); do outs+=(-o /dev/null); urls+=("$u"); done
  t0=$(date +%s%N)
  got=$(curl -s -m 300 -w '%{http_code} %{size_download} %{num_connects}\n' "${outs[@]}" "$@" "${urls[@]}")
  t1=$(date +%s%N)
  # Every transfer whole and 200; one connect in all (the rest reuse it).
  if [ "$(grep -c "^200 $size " <<< "$got")" != "$repeat" ] ||
     [ "$(awk '{ n += $3 } END { print n }' <<< "$got")" != 1 ]; then
    { echo "download sample from $u:"; echo "$got"; } >&2
    exit 1
  fi
  echo "$repeat * $size * 1000000000 / ($t1 - $t0)" | bc
}
stats() { # stats FILE: median min max of its lines, MB/s
  sort -n "$1" | awk '{ v[NR] = $1 / 1e6 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %.1f %.1f", m, v[1], v[NR] }'
}
# Both servers take turns so they see the same moments of a shared machine;
# one warm-up sample each first, not counted.
sample "$dl" -H "Authorization: TargetToken $tok0" > /dev/null
sample "$nurl/artifact.bin" > /dev/null
: > dl-otter.txt
: > dl-nginx.txt
for _ in $(seq "$samples"); do
  sample "$dl" -H "Authorization: TargetToken $tok0" >> dl-otter.txt
  sample "$nurl/artifact.bin" >> dl-nginx.txt
done
read -r o_med o_min o_max <<< "$(stats dl-otter.txt)"
read -r n_med n_min n_max <<< "$(stats dl-nginx.txt)"
printf '\n== 100 MiB artifact, one connection: %d samples each taking turns, a sample = %d downloads kept alive (%.1f GiB)\n' \
  "$samples" "$repeat" "$(echo "$repeat * $size / 1073741824" | bc -l)"
printf 'otter-server DDI download : median %8.1f MB/s  (min %.1f, max %.1f)\n' "$o_med" "$o_min" "$o_max"
printf 'nginx static file         : median %8.1f MB/s  (min %.1f, max %.1f)\n' "$n_med" "$n_min" "$n_max"
echo "samples MB/s, in turn: otter $(awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 / 1e6 }' dl-otter.txt); nginx $(awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 / 1e6 }' dl-nginx.txt)"
printf 'ratio of medians otter / nginx : %.3f (target >= 0.9)\n' "$(echo "$o_med / $n_med" | bc -l)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
