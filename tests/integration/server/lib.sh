#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Shared by the shell integration tests of otter-server: start a real server
# (init + serve) on 127.0.0.1 with a fresh SQLite file, talk to it with curl
# (every request bounded to 20 s) and check answers with jq. With
# OTTER_TEST_STORE=postgres the server gets a fresh database on the
# PostgreSQL of OTTER_TEST_PG_URL instead (exit 77 = skipped without it,
# failure when CI=true); db SQL queries whichever it is.
# shellcheck disable=SC2034 # otter, HOSTPORT, ...: for the tests that source this file
set -euo pipefail

server_bin="$OTTER_BUILD_DIR/src/server/otter-server"
otter="$OTTER_BUILD_DIR/bin/otter"
ADMIN_PW='admin-pass-1'
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"

# Installs Debian packages the test drives, when missing and we are root.
need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then echo "missing packages: ${missing[*]} (run make deps as root)"; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}

pg_db=
if [ "${OTTER_TEST_STORE:-sqlite}" = postgres ] && [ -z "${OTTER_TEST_PG_URL:-}" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: CI=true but OTTER_TEST_PG_URL is not set (make test sets it from tests/pg/ensure.sh)"
    exit 1
  fi
  echo "SKIPPED: OTTER_TEST_PG_URL is not set (run tests/pg/ensure.sh and export the URL it prints)"
  exit 77
fi
# pg_url DB: OTTER_TEST_PG_URL with its database replaced by DB (query string kept).
pg_url() { sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/$1#" <<<"$OTTER_TEST_PG_URL"; }
# db SQL: one query on the server's database, values separated by |, like sqlite3 prints them.
db() {
  if [ -n "$pg_db" ]; then psql -X -q -A -t -v ON_ERROR_STOP=1 "$(pg_url "$pg_db")" -c "$1"
  else sqlite3 "$work/otter.db" "$1"; fi
}
# db_dump: every byte the server's database holds, as text (to look for secrets).
db_dump() {
  if [ -n "$pg_db" ]; then pg_dump "$(pg_url "$pg_db")"; else cat "$work/otter.db"; fi
}
drop_pg_db() {
  [ -n "$pg_db" ] || return 0
  psql -X -q "$OTTER_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" 2>/dev/null || true
}

# start_server NAME EXTRA_CONFIG_TEXT: sets work, URL, server_pid, HOSTPORT.
start_server() {
  work="${OTTER_TEST_TMP:-/tmp}/$1.$$"
  rm -rf "$work"; mkdir -p "$work"
  local db_url="sqlite:$work/otter.db"
  if [ "${OTTER_TEST_STORE:-sqlite}" = postgres ]; then
    drop_pg_db
    pg_db="otter_it_$(tr -c 'a-z0-9\n' _ <<<"$1")_$$"
    drop_pg_db
    db_url=$(pg_url "$pg_db") # otter-server init creates it (the test role may CREATEDB)
  fi
  cat > "$work/server.conf" <<CONF
[http]
listen = 127.0.0.1:0
[database]
url = $db_url
[storage]
artifacts = $work/artifacts
[limits]
threads = 4
connection_timeout = 10
$2
CONF
  OTTER_ADMIN_PASSWORD="$ADMIN_PW" "$server_bin" init --config "$work/server.conf" >/dev/null
  "$server_bin" serve --config "$work/server.conf" --ready-file "$work/ready" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
  URL=$(head -1 "$work/ready")
  HOSTPORT=${URL#http://}
  [ -n "$URL" ] || { echo "server did not start"; cat "$work/server.log"; exit 1; }
}

# start_server_b: a second otter-server on the same configuration and database
# (port 0: another port), as behind a load balancer; sets URL_B and pid_b.
start_server_b() {
  rm -f "$work/ready-b"
  "$server_bin" serve --config "$work/server.conf" --ready-file "$work/ready-b" 2>"$work/server-b.log" &
  pid_b=$!
  for _ in $(seq 100); do [ -s "$work/ready-b" ] && break; sleep 0.1; done
  URL_B=$(head -1 "$work/ready-b")
  [ -n "$URL_B" ] || { echo "second server did not start"; cat "$work/server-b.log"; exit 1; }
}

stop_server_b() {
  kill -TERM "$pid_b"
  local rc=0
  wait "$pid_b" || rc=$?
  pid_b=
  expect "server B exits 0 on SIGTERM" "$rc" 0
}

stop_server() {
  [ -n "${server_pid:-}" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=
  expect "server exits 0 on SIGTERM" "$rc" 0
  drop_pg_db
}

# req METHOD PATH AUTH [curl args...]: body in $work/body, headers in $work/headers; prints status.
req() {
  local method=$1 path=$2 auth=$3; shift 3
  local auth_args=() status rc=0
  [ -n "$auth" ] && auth_args=(-H "Authorization: $auth")
  status=$(curl -s -m 20 -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$method" "${auth_args[@]}" "$@" "$URL$path") || rc=$?
  printf '%s' "$status"
  if [ -n "${OTTER_API_LOG:-}" ] && [ "$rc" = 0 ]; then api_log "$method" "$path" "$status"; fi
  return "$rc"
}
# api_log METHOD PATH STATUS: appends the answer in $work/{headers,body} to $OTTER_API_LOG
# as one JSON line, for the contract check (tests/docs/check_responses.py).
api_log() {
  local ct body=(--argjson body null)
  ct=$(header Content-Type)
  if [ -s "$work/body" ]; then
    case "${ct,,}" in
      application/json*) body=(--rawfile body "$work/body") ;;
      *) body=(--arg body "(not JSON)") ;;
    esac
  fi
  { flock -x 9
    jq -cn --arg method "$1" --arg path "$2" --argjson status "$3" --arg ct "$ct" \
      --arg test "$(basename "$0" .sh)" --rawfile h "$work/headers" "${body[@]}" \
      '{method: $method, path: $path, status: $status, test: $test, body: $body,
        content_type: (if $ct == "" then null else $ct end),
        headers: ([$h | split("\r\n")[] | capture("^(?<k>[^: ]+): (?<v>.*)$")
                   | {key: (.k | ascii_downcase), value: .v}] | from_entries)}' >&9
  } 9>>"$OTTER_API_LOG"
}
# jreq METHOD PATH AUTH JSON: a JSON request.
jreq() { req "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4"; }
body() { jq -r "$1" "$work/body"; }
# approve TENANT RELEASE_ID AUTH: an approver (or global admin) signs the release off for the tenant.
approve() { jreq POST "/api/v1/tenants/$1/releases/$2/approve" "$3" '{"comment":"tested"}'; }
# metrics_settle [TOKEN]: waits (5 s at most, then die) until the only open connection of the
# server is this scrape's own: every earlier request has gone out and is counted in /metrics
# (a request is counted once its response went out, a moment after the client saw it).
metrics_settle() {
  local _n auth=()
  [ -n "${1:-}" ] && auth=(-H "Authorization: Bearer $1")
  for _n in $(seq 100); do
    [ "$(curl -s -m 20 "${auth[@]}" "$URL/metrics" |
      awk '$1 == "otter_http_open_connections" { print $2 }')" = 1 ] && return 0
    sleep 0.05
  done
  die "/metrics: connections still open after 5 s"
}
# upload TENANT AUTH FILE [QUERY]: a release uploaded (201) and approved (200), its id printed;
# any other answer stops the test (die), also from inside $(...).
upload() {
  local code
  code=$(req POST "/api/v1/tenants/$1/releases${4:+?$4}" "$2" --data-binary @"$3")
  [ "$code" = 201 ] || die "upload of $3 to $1 answered $code: $(head -c 300 "$work/body")"
  local id; id=$(body .id)
  code=$(approve "$1" "$id" "$2")
  [ "$code" = 200 ] || die "approval of release $id ($1) answered $code: $(head -c 300 "$work/body")"
  echo "$id"
}
header() { grep -i "^$1:" "$work/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

login() { # login USER PASSWORD -> prints "Bearer TOKEN"; any answer but 200 stops the test (die)
  local code; code=$(jreq POST /api/v1/login "" "{\"username\":\"$1\",\"password\":\"$2\"}")
  [ "$code" = 200 ] || die "login of $1 answered $code: $(head -c 300 "$work/body")"
  echo "Bearer $(body .token)"
}
