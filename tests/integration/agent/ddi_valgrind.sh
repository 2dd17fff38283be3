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
# A delta on release 2.0 and a device whose running slot was modified: the daemon tries the
# delta, the installer refuses it (source mismatch) and the full package goes in, all clean.
release 1.0 >/dev/null
expect "delta 1.0 -> 2.0 uploaded" "$("$otter" delta --from "$keys/1.0.zip" --to "$keys/2.0.zip" \
  --root "$keys/root.json" --key "$keys/r1.key" --level 3 -o "$keys/delta.zip" >/dev/null
  req POST "/api/v1/tenants/acme/releases/$(release 2.0)/deltas" "$A" --data-binary @"$keys/delta.zip")" 201
d2="$work/dev2"
ddi_device "$d2" gw-0002 "$TLS_URL" "ca = $work/tls/ca.crt
pin = $pin"
printf '\x01' | dd of="$d2/a" bs=1 seek=1000 conv=notrunc status=none
"$agentd" -c "$d2/agent.conf" run --once >/dev/null 2>&1 # configData: version 1.0, otter.delta
act2=$(deploy 2.0 gw-0002)
vg "delta refused, the full package installed" 0 "$agentd" -c "$d2/agent.conf" run --once
grep -q "taking the full package" "$work/out-delta refused, the full package installed.log" \
  && cmp -s "$d2/b" "$keys/2.0.img" && ok "the fallback installed 2.0 (action $act2)" \
  || bad "delta fallback: $(cat "$work/out-delta refused, the full package installed.log")"
cp "$d/agent.conf" "$work/agent.conf.good"
sed -i "s|^pin = .*|pin = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=|" "$d/agent.conf"
vg "wrong pin refused" 1 "$agentd" -c "$d/agent.conf" run --once
grep -q "TLS verification failed" "$work/out-wrong pin refused.log" && ok "wrong pin: says TLS verification failed" \
  || bad "wrong pin: $(cat "$work/out-wrong pin refused.log")"

stop_server
finish
