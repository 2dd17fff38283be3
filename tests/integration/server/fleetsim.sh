#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the fleet simulator (tests/tools/otter_fleetsim.c) so it
# cannot rot: 50 provisioned devices polling a real otter-server for 3 s,
# no errors, every device sends configData once, and the server's
# /metrics counts exactly the polls the simulator saw answered.
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3
sim="$OTTER_BUILD_DIR/tests/tools/otter_fleetsim"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; rm -rf "${work:-/nonexistent}"' EXIT

# ---- the command line (before any server; expect() reports into $work) ----
work="${OTTER_TEST_TMP:-/tmp}/fleetsim-cli.$$"
mkdir -p "$work"
rc=0; "$sim" --help > "$work/help" || rc=$?
expect "--help exits 0" "$rc/$(grep -c -- '--interval' "$work/help")" 0/1
rc=0; "$sim" --url http://127.0.0.1:1 --tenant t --tokens /dev/null --bogus 2>/dev/null || rc=$?
expect "unknown option: usage error (2)" "$rc" 2
rc=0; "$sim" --url http://192.0.2.1:80 --tenant t --tokens /dev/null 2>/dev/null || rc=$?
expect "a non-loopback server is refused (2)" "$rc" 2
rc=0; "$sim" --url http://127.0.0.1:1 --tenant t --tokens /dev/null --interval 0 2>/dev/null || rc=$?
expect "interval out of bounds (2)" "$rc" 2
rc=0; "$sim" --url http://127.0.0.1:1 --tenant t --tokens /dev/null --devices 1.5 2>/dev/null || rc=$?
expect "fractional device count (2)" "$rc" 2

rm -rf "$work"
start_server fleetsim "[metrics]
enabled = true"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"sim"}' >/dev/null
seq -f 'sim%03g,m1' 0 49 > "$work/devices.csv"
expect "50 devices provisioned" "$(req POST /api/v1/tenants/sim/devices/bulk "$A" -H 'Content-Type: text/csv' --data-binary @"$work/devices.csv")" 201
jq -r '.devices[] | "\(.controller_id) \(.token)"' "$work/body" > "$work/tokens"
# --no-config (bench/carrier.sh: a fleet onboarded before the run): polls, never configData.
rc=0
"$sim" --url "$URL" --tenant sim --tokens "$work/tokens" --interval 0.5 --duration 1.5 \
  --connections 4 --no-config > "$work/nocfg.out" 2>&1 || rc=$?
expect "--no-config: exits 0" "$rc" 0
expect "--no-config: every device polled, no configData sent" \
  "$(awk '$1 == "polls:" { print ($2 >= 50), $6 }' "$work/nocfg.out")" "1 0"
expect "--no-config: the server has no configData" \
  "$(sqlite3 "$work/otter.db" "SELECT count(*) FROM devices WHERE config_sent = 1")" 0
polls0=$(curl -s -m 20 "$URL/metrics" | awk '$1 == "otter_ddi_polls_total" { print $2 }')

rc=0
"$sim" --url "$URL" --tenant sim --tokens "$work/tokens" --devices 50 --interval 0.5 \
  --duration 3 --connections 8 --server-pid "$server_pid" > "$work/sim.out" 2> "$work/sim.err" || rc=$?
cat "$work/sim.out"
expect "simulator exits 0" "$rc" 0
expect "no errors" "$(awk '$1 == "errors:" { print $2 }' "$work/sim.out")" 0
expect "every device sent configData once" "$(awk '$1 == "polls:" { print $6 }' "$work/sim.out")" 50
expect "the server has every device's configData" \
  "$(sqlite3 "$work/otter.db" "SELECT count(*) FROM devices WHERE config_sent = 1")" 50
sim_polls=$(awk '$1 == "polls:" { print $2 }' "$work/sim.out")
expect "at least one poll per device" "$(( sim_polls >= 50 ))" 1
# A request is counted once its response is out, a moment after the client has it: wait
# until the simulator's connections are closed and accounted (only the scrape's is open).
metric() { curl -s -m 20 "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
metrics_settle "" # no metrics token on this server
polls1=$(metric otter_ddi_polls_total)
expect "the server counted exactly the simulator's polls" "$((polls1 - polls0))" "$sim_polls"
expect "server figures reported" "$(grep -c '^server: pid' "$work/sim.out")" 1
stop_server
finish
