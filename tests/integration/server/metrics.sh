#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GET /metrics against a real otter-server on 127.0.0.1: access (disabled,
# token), then polls, a download, feedback and management API requests,
# each checked to move its counters by exactly the expected amount.
source "$(dirname "$0")/lib.sh"
need_packages jq curl openssl

keys="${OTTER_TEST_TMP:-/tmp}/metrics-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

# ---- disabled by default: /metrics is the dashboard's 404 ----
start_server metrics-off ""
expect "metrics off by default (404)" "$(req GET /metrics "")" 404
stop_server

MT=metrics-token-0123456789
"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 200000 /dev/urandom > "$keys/rootfs.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 \
  --image rootfs="$keys/rootfs.img" --key "$keys/rel.key" -o "$keys/update.zip" >/dev/null
start_server metrics "[trust]
root = $keys/root.json
[metrics]
enabled = true
token = $MT"

# ---- access ----
expect "no token (401)" "$(req GET /metrics "")" 401
expect "WWW-Authenticate names Bearer" "$(header WWW-Authenticate | cut -d' ' -f1)" Bearer
expect "wrong token (401)" "$(req GET /metrics "Bearer metrics-token-0123456788")" 401
expect "POST (405)" "$(req POST /metrics "Bearer $MT" -d x)" 405
expect "token (200)" "$(req GET /metrics "Bearer $MT")" 200
expect "text exposition content type" "$(header Content-Type)" "text/plain; version=0.0.4; charset=utf-8"

# metric NAME_WITH_LABELS: its value now. A request is counted when its
# response has gone out, which can trail the client by a moment: wait for
# the previous requests' accounting (metric_settle) before reading.
metric() { curl -s -m 20 -H "Authorization: Bearer $MT" "$URL/metrics" |
  awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }'; }
open_conns() { metric otter_http_open_connections; }
# Every earlier connection closed (curl exits) and accounted: only the scrape's own is open.
metric_settle() { metrics_settle "$MT"; }
delta() { # delta NAME BEFORE: prints now - BEFORE
  local now; now=$(metric "$1"); echo $(( now - $2 )); }

# ---- setup through the management API ----
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/devices "$A" '{"controller_id":"d1","model":"gw-a"}' >/dev/null
T1=$(body .token)
R1=$(upload acme "$A" "$keys/update.zip")
jreq POST /api/v1/tenants/acme/deployments "$A" "{\"release\":$R1,\"devices\":[\"d1\"]}" >/dev/null
AID=$(body '.actions[0].id')
D=/acme/controller/v1/d1
metric_settle

# ---- DDI polls: 5 polls (one 304), one refused ----
polls0=$(metric otter_ddi_polls_total)
p2xx=$(metric 'otter_http_requests_total{route="ddi_poll",code="2xx"}')
p3xx=$(metric 'otter_http_requests_total{route="ddi_poll",code="3xx"}')
p4xx=$(metric 'otter_http_requests_total{route="ddi_poll",code="4xx"}')
pcount=$(metric 'otter_http_request_duration_seconds_count{route="ddi_poll"}')
for _ in 1 2 3 4; do req GET "$D" "TargetToken $T1" >/dev/null; done
ETAG=$(header ETag)
expect "poll with If-None-Match (304)" "$(req GET "$D" "TargetToken $T1" -H "If-None-Match: $ETAG")" 304
expect "poll with a wrong token (401)" "$(req GET "$D" "TargetToken otd_0000")" 401
metric_settle
expect "otter_ddi_polls_total +5" "$(delta otter_ddi_polls_total "$polls0")" 5
expect "ddi_poll 2xx +4" "$(delta 'otter_http_requests_total{route="ddi_poll",code="2xx"}' "$p2xx")" 4
expect "ddi_poll 3xx +1" "$(delta 'otter_http_requests_total{route="ddi_poll",code="3xx"}' "$p3xx")" 1
expect "ddi_poll 4xx +1" "$(delta 'otter_http_requests_total{route="ddi_poll",code="4xx"}' "$p4xx")" 1
expect "ddi_poll histogram count +6" "$(delta 'otter_http_request_duration_seconds_count{route="ddi_poll"}' "$pcount")" 6
expect "histogram +Inf bucket equals count" \
  "$(metric 'otter_http_request_duration_seconds_bucket{route="ddi_poll",le="+Inf"}')" \
  "$(metric 'otter_http_request_duration_seconds_count{route="ddi_poll"}')"

# ---- download: one full GET, one range, one HEAD ----
req GET "$D/deploymentBase/$AID" "TargetToken $T1" >/dev/null
DL=$(body '.deployment.chunks[0].artifacts[0]._links.download.href')
P=${DL#"$URL"}
SIZE=$(stat -c %s "$keys/update.zip")
metric_settle
dl0=$(metric otter_ddi_downloads_total)
bytes0=$(metric otter_ddi_download_bytes_total)
expect "GET artifact (200)" "$(req GET "$P" "TargetToken $T1")" 200
expect "Range 0-99 (206)" "$(req GET "$P" "TargetToken $T1" -H 'Range: bytes=0-99')" 206
expect "HEAD (200)" "$(req HEAD "$P" "TargetToken $T1" -I)" 200
metric_settle
expect "otter_ddi_downloads_total +2 (HEAD not counted)" "$(delta otter_ddi_downloads_total "$dl0")" 2
expect "otter_ddi_download_bytes_total +size+100" "$(delta otter_ddi_download_bytes_total "$bytes0")" $((SIZE + 100))

# ---- feedback: proceeding/none, downloaded/none, closed/success; one malformed ----
fsucc=$(metric 'otter_ddi_feedback_total{result="success"}')
fnone=$(metric 'otter_ddi_feedback_total{result="none"}')
ffail=$(metric 'otter_ddi_feedback_total{result="failure"}')
eclosed=$(metric 'otter_ddi_feedback_executions_total{execution="closed"}')
eproc=$(metric 'otter_ddi_feedback_executions_total{execution="proceeding"}')
edown=$(metric 'otter_ddi_feedback_executions_total{execution="downloaded"}')
f2xx=$(metric 'otter_http_requests_total{route="ddi_feedback",code="2xx"}')
f4xx=$(metric 'otter_http_requests_total{route="ddi_feedback",code="4xx"}')
fb() { req POST "$D/deploymentBase/$AID/feedback" "TargetToken $T1" -H 'Content-Type: application/json' --data-binary "$1"; }
expect "feedback proceeding (200)" "$(fb '{"status":{"execution":"proceeding","result":{"finished":"none"}}}')" 200
expect "feedback downloaded (200)" "$(fb '{"status":{"execution":"downloaded","result":{"finished":"none"}}}')" 200
expect "feedback malformed (400)" "$(fb '{"status":{"execution":"exploded"}}')" 400
expect "feedback closed success (200)" "$(fb '{"status":{"execution":"closed","result":{"finished":"success"}}}')" 200
metric_settle
expect "feedback result=success +1" "$(delta 'otter_ddi_feedback_total{result="success"}' "$fsucc")" 1
expect "feedback result=none +2" "$(delta 'otter_ddi_feedback_total{result="none"}' "$fnone")" 2
expect "feedback result=failure +0" "$(delta 'otter_ddi_feedback_total{result="failure"}' "$ffail")" 0
expect "execution=closed +1" "$(delta 'otter_ddi_feedback_executions_total{execution="closed"}' "$eclosed")" 1
expect "execution=proceeding +1" "$(delta 'otter_ddi_feedback_executions_total{execution="proceeding"}' "$eproc")" 1
expect "execution=downloaded +1" "$(delta 'otter_ddi_feedback_executions_total{execution="downloaded"}' "$edown")" 1
expect "ddi_feedback 2xx +3" "$(delta 'otter_http_requests_total{route="ddi_feedback",code="2xx"}' "$f2xx")" 3
expect "ddi_feedback 4xx +1" "$(delta 'otter_http_requests_total{route="ddi_feedback",code="4xx"}' "$f4xx")" 1

# ---- management API by status class ----
a2xx=$(metric 'otter_http_requests_total{route="api",code="2xx"}')
a4xx=$(metric 'otter_http_requests_total{route="api",code="4xx"}')
req GET /api/v1/me "$A" >/dev/null
req GET /api/v1/tenants "$A" >/dev/null
req GET /api/v1/me "Bearer ots_nope" >/dev/null
metric_settle
expect "api 2xx +2" "$(delta 'otter_http_requests_total{route="api",code="2xx"}' "$a2xx")" 2
expect "api 4xx +1" "$(delta 'otter_http_requests_total{route="api",code="4xx"}' "$a4xx")" 1

# ---- gauges ----
expect "process start time is now-ish" "$(( $(date +%s) - $(metric otter_process_start_time_seconds) < 3600 ))" 1
expect "one connection open (the scrape)" "$(open_conns)" 1

stop_server
finish
