#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bytes sent against bytes a full update would have cost (issue #12,
# docs/rollouts.md "Bytes sent"), otter-agentd against a real otter-server:
# a rollout of release 2.0, which carries a delta from 1.0, to two devices.
# The one on 1.0 installs the delta, the one on 1.5 (no delta from it) the
# full package. The rollout's stats and /metrics then say exactly: the
# delta's size and the full package's size sent, once each, and twice the
# full package's size as what a full update would have cost. Then the
# device fetches the delta again in two adjoining ranges (a resumed
# download): the delta's size once more, and exactly one full package's
# worth; HEAD, 304 and the .MD5SUM count nothing.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"

ddi_setup ddi-traffic "[metrics]
enabled = true"
ddi_pkg 1.5 1 300000
ddi_pkg 2.0 2 300000
"$otter" delta --from "$keys/1.0.zip" --to "$keys/2.0.zip" --root "$keys/root.json" \
  --key "$keys/r1.key" --level 3 -o "$keys/delta.zip" >/dev/null
release 1.0 >/dev/null # the delta's base must be a release of the tenant
release 2.0 >/dev/null
R2=$(release 2.0)
expect "the delta from 1.0 is uploaded to release 2.0" \
  "$(req POST "/api/v1/tenants/acme/releases/$R2/deltas" "$A" --data-binary @"$keys/delta.zip")" 201
delta_name=$(body .filename)
D=$(stat -c %s "$keys/delta.zip")
F=$(stat -c %s "$keys/2.0.zip")
[ "$D" -lt "$F" ] && ok "the delta ($D bytes) is smaller than the full package ($F bytes)" \
  || bad "delta $D bytes, full package $F bytes"

# gw-0001 runs 1.0 (ddi_device's factory release); gw-0002 runs 1.5, which has no delta.
d1="$work/dev1"; ddi_device "$d1" gw-0001
d2="$work/dev2"; ddi_device "$d2" gw-0002
"$agent" -c "$d2/agent.conf" install "$keys/1.5.zip" >/dev/null 2>&1
expect "dev2 boots 1.5 from slot B" "$("$agent" bootsim --root "$d2")" "booted slot B: update committed"
expect "dev1: first cycle (configData) exits 0" "$(cycle "$d1")" 0
expect "dev2: first cycle (configData) exits 0" "$(cycle "$d2")" 0
expect "the devices run 1.0 and 1.5" "$(for c in gw-0001 gw-0002; do
  req GET "/api/v1/tenants/acme/devices/$c" "$A" >/dev/null; body .attributes.version; done | paste -sd,)" "1.0,1.5"

expect "rollout created (201)" "$(jreq POST /api/v1/tenants/acme/rollouts "$A" \
  "{\"name\":\"to-2.0\",\"release\":$R2,\"filter\":{\"models\":[\"gw-a\"]},\"stages\":[{\"percent\":100}]}")" 201
RO=$(body .id)
expect "rollout started (200)" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/start" "$A" '{}')" 200
stats() { req GET "/api/v1/tenants/acme/rollouts/$RO/stats" "$A" >/dev/null; body "$1"; }
expect "nothing sent yet" "$(stats '.traffic | [.bytes_sent, .bytes_full_equivalent, .bytes_saved] | join(",")')" "0,0,0"

expect "dev1: install cycle exits 0" "$(cycle "$d1")" 0
grep -q "installing $delta_name" "$work/cycle.log" && ok "dev1 installs the delta" \
  || bad "dev1 did not take the delta: $(cat "$work/cycle.log")"
expect "dev2: install cycle exits 0" "$(cycle "$d2")" 0
grep -q "installing gw-2.0.zip" "$work/cycle.log" && ok "dev2 installs the full package" \
  || bad "dev2 did not take the full package: $(cat "$work/cycle.log")"
for ds in "$d1:B" "$d2:A"; do
  d=${ds%:*} s=${ds#*:}
  out=$("$agent" bootsim --root "$d")
  [[ $out == "booted slot $s: update committed" ]] && cmp -s "$keys/2.0.img" "$d/${s,,}" \
    && ok "$(basename "$d"): 2.0 committed, slot $s byte for byte" || bad "$(basename "$d"): $out"
  expect "$(basename "$d"): report cycle exits 0" "$(cycle "$d")" 0
done
expect "both succeeded" "$(stats '.total.success')" 2

metrics_settle ""
metric() { curl -s -m 20 "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
expect "stats: delta: one download, its size, a full package's worth" \
  "$(stats '.traffic.delta | [.downloads, .bytes, .full_equivalent] | join(",")')" "1,$D,$F"
expect "stats: full: one download, its size" \
  "$(stats '.traffic.full | [.downloads, .bytes, .full_equivalent] | join(",")')" "1,$F,$F"
expect "stats: sent, a full update would be, saved" \
  "$(stats '.traffic | [.bytes_sent, .bytes_full_equivalent, .bytes_saved] | join(",")')" \
  "$((D + F)),$((2 * F)),$((F - D))"
expect "/metrics: delta bytes of acme" "$(metric 'otter_artifact_bytes_sent_total{tenant="acme",kind="delta"}')" "$D"
expect "/metrics: full bytes of acme" "$(metric 'otter_artifact_bytes_sent_total{tenant="acme",kind="full"}')" "$F"
expect "/metrics: downloads" "$(metric 'otter_artifact_downloads_total{tenant="acme",kind="delta"}'),$(metric 'otter_artifact_downloads_total{tenant="acme",kind="full"}')" "1,1"
expect "/metrics: what a full update would have cost" "$(metric 'otter_artifact_bytes_full_equivalent_total{tenant="acme"}')" "$((2 * F))"

# A resumed download: two adjoining ranges add up to the delta's size and one full package.
tok="TargetToken $(sed -n 's/^target_token = //p' "$d1/agent.conf")"
P="/acme/controller/v1/gw-0001/softwaremodules/$R2/artifacts/$delta_name"
cut=$((D / 3))
expect "first part of the delta (206)" "$(req GET "$P" "$tok" -H "Range: bytes=0-$((cut - 1))")" 206
expect "the rest (206)" "$(req GET "$P" "$tok" -H "Range: bytes=$cut-")" 206
expect "HEAD (200, no body)" "$(req HEAD "$P" "$tok" -I)" 200
expect "If-None-Match (304)" "$(req GET "$P" "$tok" -H "If-None-Match: \"$(sha256sum < "$keys/delta.zip" | cut -d' ' -f1)\"")" 304
expect "MD5SUM (200)" "$(req GET "$P.MD5SUM" "$tok")" 200
metrics_settle ""
expect "stats: the ranges count their bytes, one full package's worth in all" \
  "$(stats '.traffic.delta | [.downloads, .bytes, .full_equivalent] | join(",")')" "3,$((2 * D)),$((2 * F))"
expect "/metrics: the same" "$(metric 'otter_artifact_bytes_sent_total{tenant="acme",kind="delta"}'),$(metric 'otter_artifact_bytes_full_equivalent_total{tenant="acme"}')" \
  "$((2 * D)),$((3 * F))"

echo "$fails failures"
[ "$fails" = 0 ]
