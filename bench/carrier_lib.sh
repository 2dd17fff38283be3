#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2154 # work, front, origin, tok, sha, base: set by bench/carrier.sh
# Helpers of bench/carrier.sh (sourced; they read its variables: work, front, origin, tok, sha,
# db_url, sim). Kept apart so carrier.sh reads as the run's steps.

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
mib() { echo "$(($1 / 1048576)) MiB"; }

# free_ports N: the first of N consecutive ports free on 127.0.0.1 (bound and released here).
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randint(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); break
else:
    sys.exit("no free ports")
PY
}

# nginx_conf DIR BASE SECRET: the front (BASE: DDI + management API, round robin over both
# servers, kept-alive upstream connections) and the artifact origin (BASE+3: secure_link and
# proxy_cache, as docs/operations.md "CDN delivery and several servers" configures it).
nginx_conf() {
  local dir=$1 base=$2 secret=$3
  nginx_user
  cat <<CONF
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log;
worker_processes 1;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  client_body_temp_path $dir/nginx; proxy_temp_path $dir/nginx; fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx; scgi_temp_path $dir/nginx;
  log_format carrier '\$upstream_addr \$status \$request_time \$upstream_response_time \$request_method \$uri';
  log_format cdn '\$status \$uri cache=\$upstream_cache_status \$body_bytes_sent';
  proxy_cache_path $dir/nginx/cache levels=1:2 keys_zone=otter:10m max_size=1g inactive=7d
                   use_temp_path=off;
  upstream otter_servers {
    server 127.0.0.1:$((base + 1));
    server 127.0.0.1:$((base + 2));
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$base;
    access_log $dir/nginx/front.log carrier;
    client_max_body_size 64m;
    location / {
      proxy_pass http://otter_servers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_read_timeout 1800s;
      proxy_send_timeout 1800s;
    }
  }
  server {
    listen 127.0.0.1:$((base + 3));
    access_log $dir/nginx/origin.log cdn;
    location / {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri $secret";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      proxy_pass http://otter_servers/cdn/v1/artifacts/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache otter;
      proxy_cache_key \$uri;
      proxy_cache_lock on;
      proxy_cache_valid 200 7d;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
CONF
}

# provision N PARALLEL: "controller_id token" lines of N new devices (sim0000000, ...) on
# stdout, from POST /devices/bulk (10,000 a request, PARALLEL requests at a time through nginx).
provision() {
  local n=$1 par=$2 first last jobs=()
  mkdir -p prov
  for ((first = 0; first < n; first += 10000)); do
    last=$((first + 10000 < n ? first + 10000 : n))
    (seq -f 'sim%07.0f,bench-1' "$first" $((last - 1)) |
      curl -s -m 1800 -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: text/csv' \
        --data-binary @- "$front/api/v1/tenants/bench/devices/bulk" |
      jq -r '.devices[] | "\(.controller_id) \(.token)"' > "prov/$first") &
    jobs+=($!)
    # Only these requests: a bare wait would wait for the servers and the broker too.
    if [ "${#jobs[@]}" -ge "$par" ]; then wait "${jobs[0]}" || true; jobs=("${jobs[@]:1}"); fi
  done
  for j in "${jobs[@]}"; do wait "$j" || true; done
  for ((first = 0; first < n; first += 10000)); do cat "prov/$first"; done
}

# proc_snap PID: "cpu_ticks rss_kib hwm_kib" of a process.
proc_snap() {
  local stat
  stat=$(cut -d')' -f2- "/proc/$1/stat")
  echo "$(awk '{ print $12 + $13 }' <<<"$stat") $(awk '/^VmRSS/ { print $2 }' "/proc/$1/status") \
$(awk '/^VmHWM/ { print $2 }' "/proc/$1/status")"
}

proc_report() { # proc_report NAME START END SECONDS
  local c0 c1 rss hwm hz
  hz=$(getconf CLK_TCK)
  read -r c0 _ _ < "$2"
  read -r c1 rss hwm < "$3"
  printf '%s: cpu %.1f %% of one core, rss %.1f MiB, peak rss %.1f MiB\n' "$1" \
    "$(echo "100 * ($c1 - $c0) / $hz / $4" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
    "$(echo "$hwm / 1024" | bc -l)"
}

# sleep_until_polls N: waits (at most 60 s) until nginx logged N requests of the run.
sleep_until_polls() {
  for _ in $(seq 600); do
    [ "$(wc -l < nginx/front.log)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "no load reached nginx after 60 s: $(cat load.err)" >&2
  return 1
}

# The sampler's per-rollout count (otter_store_rollout_counts, sql_rollouts.c), as PostgreSQL
# executes it now: milliseconds.
counts_sql() {
  echo "SELECT coalesce(stage, 0), status, result, count(*) FROM actions
        WHERE rollout_id = $1 AND superseded_by IS NULL GROUP BY stage, status, result"
}
stats_query_ms() {
  sql "EXPLAIN (ANALYZE, FORMAT JSON) $(counts_sql "$1")" | jq '.[0]["Execution Time"] | floor'
}

# sampler_report ROLLOUT: what the rollout-history sampler costs each server every 5 s now.
sampler_report() {
  local ms api_ms u
  ms=$(for _ in 1 2 3; do stats_query_ms "$1"; done | sort -n | sed -n 2p)
  printf 'rollout-history sampler: its count query over the rollout'"'"'s actions takes %s ms (median of 3);\n' "$ms"
  printf '  every server runs it every 5 s on its one database connection: %.1f %% of that connection\n' \
    "$(echo "100 * $ms / 5000" | bc -l)"
  for u in $((base + 1)) $((base + 2)); do
    api_ms=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $tok" \
      "http://127.0.0.1:$u/api/v1/tenants/bench/rollouts/$1/stats")
    printf '  GET /rollouts/%s/stats on 127.0.0.1:%s: %.0f ms\n' "$1" "$u" "$(echo "$api_ms * 1000" | bc -l)"
  done
  printf '  the plan: %s\n' "$(sql "EXPLAIN $(counts_sql "$1")" | grep -oE '(Index Only Scan|Index Scan|Bitmap Heap Scan|Seq Scan)[^(]*' | head -2 | tr '\n' ';')"
  printf 'samples stored for the rollout: %s\n' "$(sql "SELECT count(*) FROM rollout_samples WHERE rollout_id = $1" 2>/dev/null || echo '?')"
}

# download_sample TOKENS K: K woken devices poll, take their deployment's signed link and
# download the artifact from the origin; prints a summary.
download_sample() {
  local ok=0 bad=0 hit=0 miss=0 cid dtok dep href t0 t
  t0=$(now)
  while read -r cid dtok; do
    dep=$(curl -s -m 60 -H "Authorization: TargetToken $dtok" "$front/bench/controller/v1/$cid" |
      jq -r '._links.deploymentBase.href // empty')
    href=
    [ -n "$dep" ] && href=$(curl -s -m 60 -H "Authorization: TargetToken $dtok" "$dep" |
      jq -r '.deployment.chunks[0].artifacts[0]._links.download.href // empty')
    if [[ $href == "$origin/"* ]] && curl -s -m 120 -o got -D got.h "$href" &&
      [ "$(sha256sum < got | cut -d' ' -f1)" = "$sha" ]; then
      ok=$((ok + 1))
      grep -qi '^x-cache: HIT' got.h && hit=$((hit + 1)) || miss=$((miss + 1))
    else
      bad=$((bad + 1))
      echo "device $cid: no download (deploymentBase '$dep', link '$href')"
    fi
  done < <(head -n "$2" "$1")
  t=$(since "$t0")
  printf 'downloads: %d ok (sha256 checked), %d failed; origin cache: %d hit, %d miss; %.1f s for all\n' \
    "$ok" "$bad" "$hit" "$miss" "$t"
  printf 'origin log: %s\n' "$(awk '{ print $1, $3 }' nginx/origin.log | sort | uniq -c | tr '\n' ';')"
}

# per_upstream LOG SECONDS BASE: per server, DDI polls (GET /bench/controller/v1/<id>) a
# second, p50/p99/max of the server's answer time, and errors over all requests.
per_upstream() {
  local log=$1 secs=$2 b=$3 u
  for u in $((b + 1)) $((b + 2)); do
    awk -v u="127.0.0.1:$u" '$1 == u && $5 == "GET" && $6 ~ /^\/bench\/controller\/v1\/[^\/]+$/ { print $4 }' "$log" |
      sort -n > "poll-$u.times"
    local n p50 p99 max err
    n=$(wc -l < "poll-$u.times")
    p50=$(awk -v n="$n" 'NR == int(n * 0.5) + 1 { print $1 * 1000; exit }' "poll-$u.times")
    p99=$(awk -v n="$n" 'NR == int(n * 0.99) + 1 { print $1 * 1000; exit }' "poll-$u.times")
    max=$(tail -1 "poll-$u.times" | awk '{ print $1 * 1000 }')
    err=$(awk -v u="127.0.0.1:$u" '$1 == u && $2 >= 400' "$log" | wc -l)
    printf 'server 127.0.0.1:%s: %d polls, %.1f polls/s, p50 %s ms, p99 %s ms, max %s ms; %d error answers of %d requests\n' \
      "$u" "$n" "$(echo "$n / $secs" | bc -l)" "${p50:-?}" "${p99:-?}" "${max:-?}" "$err" \
      "$(awk -v u="127.0.0.1:$u" '$1 == u' "$log" | wc -l)"
  done
  printf 'nginx: %d requests, %d answered >= 500, %d without an upstream (nginx itself)\n' \
    "$(wc -l < "$log")" "$(awk '$2 >= 500' "$log" | wc -l)" "$(awk '$1 == "-"' "$log" | wc -l)"
}

# metrics_report PORT NAME: the server's poll-cache hits and misses and push counters (/metrics).
metrics_report() {
  curl -s "http://127.0.0.1:$1/metrics" |
    grep -E '^otter_(ddi_poll_cache_total|push_published_total|push_dropped_total)' | tr '\n' ' ' |
    sed "s/^/$2: /"
  echo
}
