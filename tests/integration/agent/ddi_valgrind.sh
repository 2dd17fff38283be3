#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd under valgrind (memcheck), over pinned HTTPS to a real
# otter-server on 127.0.0.1: a poll with nothing to do, a full update
# (poll, download, verify, install, closing feedback after the reboot), a
# refused TLS peer (wrong pin) and the installer's --from-server check. Any
# memcheck error or definite/indirect leak fails. Plain build only: ASan's
# runtime and valgrind do not mix (label no-asan).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages valgrind
ddi_setup ddi-valgrind
ddi_pkg 2.0 2 400000; release 2.0 >/dev/null
# The same server, now also on HTTPS.
ddi_https

d="$work/dev"
ddi_device "$d" gw-0001 "$TLS_URL" "ca = $work/tls/ca.crt
pin = $pin"

# vg NAME WANT_RC ARGS...: one run under memcheck; its report in $work/vg-NAME.log.
vg() {
  local name=$1 want=$2; shift 2
  local rc=0
  valgrind -q --trace-children=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --log-file="$work/vg-$name.log" "$@" > "$work/out-$name.log" 2>&1 || rc=$?
  if [ "$rc" = "$want" ] && [ ! -s "$work/vg-$name.log" ]; then
    ok "valgrind clean: $name (exit $rc)"
  else
    bad "valgrind: $name exit $rc (want $want)"
    head -n 40 "$work/vg-$name.log" "$work/out-$name.log"
  fi
}

vg "poll, nothing to do" 0 "$agentd" -c "$d/agent.conf" run --once
act=$(deploy 2.0 gw-0001)
vg "check (the installer asks the daemon)" 0 "$agent" -c "$d/agent.conf" check
vg "poll, download, install over HTTPS" 0 "$agentd" -c "$d/agent.conf" run --once
expect "the update went into the inactive slot" "$(cmp -s "$d/b" "$keys/2.0.img" && echo same)" same
"$agent" bootsim --root "$d" >/dev/null
vg "after the reboot: commit and closing feedback" 0 "$agentd" -c "$d/agent.conf" run --once
expect "finished/success on the server" "$(action "$act" '.status + "/" + .result')" finished/success
cp "$d/agent.conf" "$work/agent.conf.good"
sed -i "s|^pin = .*|pin = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=|" "$d/agent.conf"
vg "wrong pin refused" 1 "$agentd" -c "$d/agent.conf" run --once
grep -q "TLS verification failed" "$work/out-wrong pin refused.log" && ok "wrong pin: says TLS verification failed" \
  || bad "wrong pin: $(cat "$work/out-wrong pin refused.log")"

stop_server
finish
