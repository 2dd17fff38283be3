#!/usr/bin/env bash
# shellcheck disable=SC2154 # otter, work, fails, server_bin: set by server/lib.sh and the test
# SPDX-License-Identifier: Apache-2.0
# Sourced by the over-the-air tests (after tests/integration/server/lib.sh):
# release keys and packages, a real otter-server polled every second, a
# tenant "acme", provisioned devices as directories with [server] settings,
# deployments, and what the server recorded about each action.
agentd="$OTTER_BUILD_DIR/bin/otter-agentd"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
proxy_bin="$OTTER_BUILD_DIR/tests/tools/otter_faultproxy"
need_packages jq curl sqlite3
source "$OTTER_SOURCE_DIR/tests/integration/lib/agent_conf.sh"

# ddi_setup NAME [EXTRA_SERVER_CONF]: keys in $keys, server up, $A the admin, tenant acme.
ddi_setup() {
  keys="${OTTER_TEST_TMP:-/tmp}/$1-keys.$$"
  rm -rf "$keys"; mkdir -p "$keys"
  proxy_pids=()
  trap 'ddi_cleanup' EXIT
  "$otter" keygen --out "$keys/r1" >/dev/null
  "$otter" root new --pubkey "$keys/r1.pub" -o "$keys/root.json" >/dev/null
  ddi_pkg 1.0 1 300000
  start_server "$1" "[trust]
root = $keys/root.json
[ddi]
polling = 1s
${2:-}"
  A=$(login admin "$ADMIN_PW")
  local code; code=$(jreq POST /api/v1/tenants "$A" '{"name":"acme"}')
  [ "$code" = 201 ] || die "tenant acme: answered $code: $(head -c 300 "$work/body")"
}

ddi_cleanup() {
  for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${daemon_pgid:-}" ] && kill -KILL -- "-$daemon_pgid" 2>/dev/null
  stop_server >/dev/null 2>&1 || true
  [ "$fails" = 0 ] && rm -rf "$keys" "${work:-}"
  return 0
}

# ddi_pkg VERSION SECVER BYTES: $keys/VERSION.zip, an image of BYTES seed-dependent bytes.
ddi_pkg() {
  local lib; lib=$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')
  { echo "version $1"; head -c "$3" "$lib"; } | head -c "$3" > "$keys/$1.img"
  "$otter" pack --product gw --compatible gw-a --version "$1" --security-version "$2" \
    --image rootfs="$keys/$1.img" --key "$keys/r1.key" -o "$keys/$1.zip" >/dev/null
}

# ddi_device DIR CONTROLLER [SERVER_URL] [EXTRA [server] LINES]: provisioned, factory 1.0, booted A.
# The server records the model DDI_MODEL (default gw-a, the device's real one).
ddi_device() {
  local d=$1 id=$2 url=${3:-$URL}
  expect "device $id provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
    "{\"controller_id\":\"$id\",\"model\":\"${DDI_MODEL:-gw-a}\"}")" 201
  local token; token=$(body .token)
  mkdir -p "$d"; : > "$d/a"; : > "$d/b"
  agent_conf "$d" "$keys/root.json" "$d/a" "$d/b"
  agent_conf_server "$d" "$url" "$id" target_token "$token" "${4:-}"
  "$agent" -c "$d/agent.conf" factory "$keys/1.0.zip" >/dev/null 2>&1
  "$agent" bootsim --root "$d" >/dev/null
}

# ddi_url DIR URL: point the device at another server address (a proxy, a restarted server).
ddi_url() { sed -i "s|^url = .*|url = $2|" "$1/agent.conf"; }

# release VERSION: uploads $keys/VERSION.zip once; prints the release id. Call it
# once outside $(...) first: the cache lives in the calling shell.
declare -A release_ids
release() {
  if [ -z "${release_ids[$1]:-}" ]; then
    release_ids[$1]=$(upload acme "$A" "$keys/$1.zip") # uploaded and approved, or the test stops
  fi
  echo "${release_ids[$1]}"
}

# deploy VERSION CONTROLLER [EXTRA_JSON_FIELDS]: prints the action id.
deploy() {
  local r code; r=$(release "$1")
  code=$(jreq POST /api/v1/tenants/acme/deployments "$A" "{\"release\":$r,\"devices\":[\"$2\"]${3:+,$3}}")
  [ "$code" = 201 ] || die "deployment of $1 to $2 answered $code: $(head -c 300 "$work/body")"
  body '.actions[0].id'
}

# action ID JQ: a field of the action as the server has it (status, result, feedback ...).
action() { req GET "/api/v1/tenants/acme/actions/$1" "$A" >/dev/null; body "$2"; }
closed_count() { action "$1" '[.feedback[] | select(.execution == "closed" and .kind == "deployment")] | length'; }

# cycle DIR: one daemon cycle; output in $work/cycle.log, exit status printed.
cycle() { local rc=0; "$agentd" -c "$1/agent.conf" run --once > "$work/cycle.log" 2>&1 || rc=$?; echo "$rc"; }

# booted DIR: the slot letter the device booted (A or B).
booted() { sed -n 's/.*otter.slot=\([AB]\).*/\1/p' "$1/cmdline"; }

# device_print DIR: digests of what a refused or canceled update must not touch:
# the state (all but the inactive slot's record: an install that had started
# writing forgets it), the counter, the boot variables of the running slot,
# the command line and the running slot. An update that switched, or that
# made the running slot's record or tries change, shows here.
device_print() {
  local d=$1 run other; run=$(booted "$d"); other=$([ "$run" = A ] && echo B || echo A)
  {
    jq -S --arg o "$other" 'del(.slots[$o])' "$d/state/state.json" 2>/dev/null || echo "absent state"
    for f in state/counter cmdline "$(tr AB ab <<< "$run")"; do
      if [ -e "$d/$f" ]; then sha256sum < "$d/$f"; else echo "absent $f"; fi
    done
    sed -n "s/^BOOT_ORDER=\($run\).*/first \1/p; /^BOOT_${run}_LEFT=/p" "$d/bootenv" 2>/dev/null
  } | sha256sum | cut -d' ' -f1
}

# start_proxy ARGS...: otter_faultproxy to the server; sets $proxy_url, log in $work/proxy.log.
# shellcheck disable=SC2034 # proxy_url is for the calling test
start_proxy() {
  rm -f "$work/proxy.port" "$work/proxy.log"
  "$proxy_bin" --target "${HOSTPORT##*:}" --port-file "$work/proxy.port" --log "$work/proxy.log" "$@" &
  proxy_pids+=($!)
  for _ in $(seq 250); do [ -s "$work/proxy.port" ] && break; sleep 0.02; done
  [ -s "$work/proxy.port" ] || die "otter_faultproxy wrote no port file in 5 s: $(cat "$work/proxy.log" 2>/dev/null)"
  proxy_url="http://127.0.0.1:$(cat "$work/proxy.port")"
}
# proxy_stalled: waits (10 s at most) until the proxy holds a response (its log says stall);
# a download that never reached the stall would test nothing: the test stops (die).
proxy_stalled() {
  local _n
  for _n in $(seq 200); do grep -q stall "$work/proxy.log" 2>/dev/null && return 0; sleep 0.05; done
  die "the proxy never stalled in 10 s: $(tail -3 "$work/proxy.log" 2>/dev/null)"
}
stop_proxy() { kill "${proxy_pids[-1]}" 2>/dev/null || true; wait "${proxy_pids[-1]}" 2>/dev/null || true; }

# restart_server: the same database and files, a new port (URL, HOSTPORT updated).
restart_server() {
  rm -f "$work/ready"
  "$server_bin" serve --config "$work/server.conf" --ready-file "$work/ready" 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
  [ -s "$work/ready" ] || die "the restarted server wrote no ready file in 10 s: $(tail -5 "$work/server.log")"
  URL=$(head -1 "$work/ready"); HOSTPORT=${URL#http://}
}

# ddi_https: the same server also on HTTPS with a certificate of the test CA
# (make_tls, tests/integration/tls_fixture.sh, into $work/tls); sets TLS_URL and pin.
# shellcheck disable=SC2034 # pin is for the calling test
ddi_https() {
  make_tls "$work/tls"
  pin=$(cat "$work/tls/pin")
  kill -TERM "$server_pid"; wait "$server_pid" || true
  sed -i "s|^listen = 127.0.0.1:0$|listen = 127.0.0.1:0\nlisten_tls = 127.0.0.1:0\ntls_cert = $work/tls/srv.crt\ntls_key = $work/tls/srv.key|" "$work/server.conf"
  restart_server
  TLS_URL=$(grep '^https://' "$work/ready" | head -1)
  [ -n "$TLS_URL" ] && ok "server listens on HTTPS: $TLS_URL" || { bad "no HTTPS listener: $(cat "$work/ready")"; finish; }
}
