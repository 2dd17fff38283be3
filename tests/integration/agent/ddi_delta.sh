#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Deltas over the air, otter-agentd against a real otter-server (docs/ddi.md
# "Delta artifacts"): release 2.0 carries a delta from 1.0.
#   1. A device on 1.0 sends otter.delta=1 with its configData, is offered
#      the delta beside the full package, installs the delta (its log names
#      it) and commits 2.0, slot B byte for byte the release's image.
#   2. A device on 1.0 whose running slot was modified is offered the same;
#      the installer refuses the delta (source mismatch, nothing written) and
#      the daemon installs the full artifact of the same chunk at once: the
#      action's feedback says "delta refused: ...; installed the full
#      package", and 2.0 commits byte for byte.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"

ddi_setup ddi-delta
ddi_pkg 2.0 2 300000
"$otter" delta --from "$keys/1.0.zip" --to "$keys/2.0.zip" --root "$keys/root.json" \
  --key "$keys/r1.key" --level 3 -o "$keys/delta.zip" >/dev/null
release 1.0 >/dev/null # the delta's base must be a release of the tenant
release 2.0 >/dev/null
R2=$(release 2.0)
expect "the delta from 1.0 is uploaded to release 2.0" \
  "$(req POST "/api/v1/tenants/acme/releases/$R2/deltas" "$A" --data-binary @"$keys/delta.zip")" 201
delta_name=$(body .filename)

details() { action "$1" '[.feedback[].details // [] | join(" ")] | join(" | ")'; }

# 1. The right source: the delta is taken.
d="$work/dev1"; ddi_device "$d" gw-0001
expect "first cycle (configData) exits 0" "$(cycle "$d")" 0
expect "configData says otter.delta=1" \
  "$(req GET /api/v1/tenants/acme/devices/gw-0001 "$A" >/dev/null; body '.attributes["otter.delta"] + "/" + .attributes.version')" "1/1.0"
act=$(deploy 2.0 gw-0001)
expect "install cycle exits 0" "$(cycle "$d")" 0
grep -q "action $act: installing $delta_name" "$work/cycle.log" && ok "the daemon installs the delta ($delta_name)" \
  || bad "the daemon did not take the delta: $(cat "$work/cycle.log")"
det=$(details "$act")
[[ $det == *"installed; rebooting into it"* && $det != *"delta refused"* ]] \
  && ok "feedback: installed, no fallback" || bad "feedback: $det"
out=$("$agent" bootsim --root "$d")
[[ $out == "booted slot B: update committed" ]] && cmp -s "$keys/2.0.img" "$d/b" \
  && ok "2.0 committed from the delta, slot B byte for byte" || bad "after the delta: $out"
expect "report cycle exits 0" "$(cycle "$d")" 0
expect "the action finished with success" "$(action "$act" '.status + "/" + .result')" finished/success

# 2. A modified running slot: the delta is refused before any write, the full package goes in.
d="$work/dev2"; ddi_device "$d" gw-0002
printf '\x01' | dd of="$d/a" bs=1 seek=1000 conv=notrunc status=none
expect "first cycle (configData) exits 0" "$(cycle "$d")" 0
act=$(deploy 2.0 gw-0002)
expect "install cycle exits 0 (the fallback installed)" "$(cycle "$d")" 0
grep -q "action $act: installing $delta_name" "$work/cycle.log" \
  && grep -q "delta refused (.*source mismatch.*); taking the full package" "$work/cycle.log" \
  && ok "the daemon tried the delta, then took the full package" || bad "daemon log: $(cat "$work/cycle.log")"
det=$(details "$act")
[[ $det == *"delta refused: "*"source mismatch"*"$d/a"*"; installed the full package"* ]] \
  && ok "feedback: delta refused: <reason>; installed the full package" || bad "feedback: $det"
out=$("$agent" bootsim --root "$d")
[[ $out == "booted slot B: update committed" ]] && cmp -s "$keys/2.0.img" "$d/b" \
  && ok "2.0 committed from the full package, slot B byte for byte" || bad "after the fallback: $out"
expect "report cycle exits 0" "$(cycle "$d")" 0
expect "the action finished with success" "$(action "$act" '.status + "/" + .result')" finished/success

echo "$fails failures"
[ "$fails" = 0 ]
