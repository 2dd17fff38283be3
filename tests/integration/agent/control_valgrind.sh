#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The control API under valgrind (memcheck), against a real otter-server on 127.0.0.1:
# otter-agent as a client of a running daemon (progress, check, check --verify, a refused
# start), and otter-agentd with its control thread for a download-then-ask cycle (offer
# published, download into the spool, waiting feedback, the thread joined and everything
# freed). Any memcheck error or definite/indirect leak fails. Plain build only (no-asan).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages valgrind
ddi_setup control-valgrind
ddi_pkg 2.0 2 300000; release 2.0 >/dev/null
d="$work/dev"
ddi_device "$d" gw-0001
sock=$work/control.sock
printf '[control]\nsocket = %s\n' "$sock" >> "$d/agent.conf"

vg() {
  local name=$1 want=$2; shift 2
  local rc=0
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --log-file="$work/vg-$name.log" "$@" > "$work/out-$name.log" 2>&1 || rc=$?
  if [ "$rc" = "$want" ] && [ ! -s "$work/vg-$name.log" ]; then
    ok "valgrind clean: $name (exit $rc)"
  else
    bad "valgrind: $name exit $rc (want $want)"
    head -n 40 "$work/vg-$name.log" "$work/out-$name.log"
  fi
}

act=$(deploy 2.0 gw-0001 '"update":"attempt"')
vg "the daemon's cycle with its control thread (download then ask)" 0 "$agentd" -c "$d/agent.conf" run --once
expect "the package waits in the spool" "$(find "$d/spool" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null | wc -l)" 1
expect "the server heard otter.user=waiting" \
  "$(action "$act" '[.feedback[] | select(.details[0] == "otter.user=waiting")] | length')" 1

setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { bad "the control socket did not appear"; finish; }
vg "progress --json" 0 "$agent" -c "$d/agent.conf" progress --json
vg "check through the daemon" 0 "$agent" -c "$d/agent.conf" check
vg "check --verify through the daemon" 0 "$agent" -c "$d/agent.conf" check --verify
expect "the offer as the client printed it" "$(grep -c '^offer: version 2.0' "$work/out-check through the daemon.log")" 1
finish
