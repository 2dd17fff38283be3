#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Over the air, against a real otter-server: a power cut between the
# installer's pending record and its boot switch (issue 14 scenario 3) is no
# failed update for the server. The cut leaves what both programs wrote
# before it: otter-agentd's record of the action (ddi.json, written before it
# tells its installer to switch) and the installer's pending record, killed
# at its crash point before the boot variables changed (OTTER_CRASH_AT, test
# builds). After the power-on the daemon sends no failure (before the fix:
# boot-check recorded "slot B did not boot" and the next cycle closed the
# action as error/failure), installs the action again, and after the reboot
# closes it once, as success.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
ddi_setup ddi-switch-cut
ddi_pkg 2.0 2 300000
release 2.0 >/dev/null
d="$work/dev"
ddi_device "$d" gw-0001

act=$(deploy 2.0 gw-0001)
printf '{"action":"%s","version":"2.0"}' "$act" > "$d/state/ddi.json"
rc=0
(OTTER_CRASH_AT=install-recorded:1 exec "$agent" -c "$d/agent.conf" install "$keys/2.0.zip" \
  --no-reboot >/dev/null 2>&1) || rc=$?
expect "the installer was cut between its record and the switch (SIGKILL: 137)" "$rc" 137
expect "... 2.0 pending, not switched" "$(jq -c '.pending | [.version, .switched]' "$d/state/state.json")" '["2.0",false]'
expect "power on: 1.0 runs again, nothing failed" "$("$agent" bootsim --root "$d")" \
  "booted slot A: the switch to the update never happened, install it again"
expect "cycle after the power-on" "$(cycle "$d")" 0
expect "no failure sent: the action is still open" "$(action "$act" '.status') closed=$(closed_count "$act")" \
  "running closed=0"
expect "... and installed again: 2.0 pending" "$(jq -r '.pending.version' "$d/state/state.json")" 2.0
expect "reboot: 2.0 commits" "$("$agent" bootsim --root "$d")" "booted slot B: update committed"
expect "report cycle" "$(cycle "$d")" 0
expect "the action ends finished/success, closed once" \
  "$(action "$act" '.status + "/" + .result') closed=$(closed_count "$act")" "finished/success closed=1"
finish
