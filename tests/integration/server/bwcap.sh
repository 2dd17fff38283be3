#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Server-side bandwidth caps (issue #15, docs/rollouts.md "Bandwidth caps")
# against a real otter-server on 127.0.0.1 with a real SQLite file (or
# PostgreSQL, see lib.sh): several devices download one rollout's artifact
# at once with curl, and the aggregate rate (all bytes / time from the first
# request to the last byte) is within 10 % of the rollout's cap; a tenant cap
# bounds two rollouts together the same way; with no cap the same downloads
# are not paced; three downloads under one cap get a third of it each. The
# caps through the API (RBAC, validation, audit) and their series in /metrics.
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3 python3

keys="${OTTER_TEST_TMP:-/tmp}/bwcap-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

CAP=$((2 * 1024 * 1024)) # 2 MiB/s
MT=metrics-token-0123456789
"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
# Random bytes do not compress: the package is ~4 MiB, three downloads ~6 s at the cap
# (the buckets' burst, a quarter of a second, is then under 5 % of the time).
head -c $((4 * 1024 * 1024)) /dev/urandom > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null
SIZE=$(stat -c %s "$keys/1.0.zip")
SUM=$(sha256sum "$keys/1.0.zip" | cut -d' ' -f1)

start_server bwcap "[trust]
root = $keys/root.json
[metrics]
enabled = true
token = $MT"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"op","password":"user-pass-12","role":"operator"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"vw","password":"user-pass-12","role":"viewer"}' >/dev/null
OP=$(login op user-pass-12)
VW=$(login vw user-pass-12)
R1=$(upload acme "$A" "$keys/1.0.zip")
declare -A TOK HREF
for g in ga gb; do jreq POST /api/v1/tenants/acme/groups "$OP" "{\"name\":\"$g\"}" >/dev/null; done
for dev in a1:ga a2:ga a3:ga b1:gb b2:gb b3:gb; do
  id=${dev%%:*} g=${dev#*:}
  [ "$(jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$id\",\"model\":\"gw-a\"}")" = 201 ] ||
    die "device $id not registered"
  TOK[$id]="TargetToken $(body .token)"
  req PUT "/api/v1/tenants/acme/groups/$g/devices/$id" "$OP" >/dev/null
done

# ---- the caps through the API ----
ro_a="{\"name\":\"a\",\"release\":$R1,\"filter\":{\"groups\":[\"ga\"]},\"stages\":[{\"percent\":100}],\"bandwidth_cap\":$CAP}"
ro_b="{\"name\":\"b\",\"release\":$R1,\"filter\":{\"groups\":[\"gb\"]},\"stages\":[{\"percent\":100}]}"
expect "rollout with a negative cap refused (400)" \
  "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "${ro_a/$CAP/-1}")" 400
expect "rollout a with a cap (201)" "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "$ro_a")" 201
RA=$(body .id)
expect "its document shows the cap" "$(body .bandwidth.bytes_per_second)" "$CAP"
expect "rollout b without (201)" "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "$ro_b")" 201
RB=$(body .id)
expect "its document shows no cap (0)" "$(body .bandwidth.bytes_per_second)" 0
BW=/api/v1/tenants/acme/rollouts/$RB/bandwidth
expect "viewer reads a rollout's cap (200)" "$(req GET "$BW" "$VW")" 200
expect "viewer may not set it (403)" "$(jreq PUT "$BW" "$VW" '{"bytes_per_second":1000}')" 403
expect "a cap that is not a number (400)" "$(jreq PUT "$BW" "$OP" '{"bytes_per_second":"fast"}')" 400
expect "an unknown key (400)" "$(jreq PUT "$BW" "$OP" '{"bytes_per_second":5,"burst":1}')" 400
expect "operator sets it (200)" "$(jreq PUT "$BW" "$OP" '{"bytes_per_second":123456}')" 200
expect "... and reads it back" "$(req GET "$BW" "$VW" >/dev/null; body .bytes_per_second)" 123456
expect "operator removes it with null (200)" "$(jreq PUT "$BW" "$OP" '{"bytes_per_second":null}')" 200
expect "... gone" "$(req GET "$BW" "$VW" >/dev/null; body .bytes_per_second)" 0
expect "operator may not cap the tenant (403)" "$(jreq PUT /api/v1/tenants/acme/bandwidth "$OP" '{"bytes_per_second":1}')" 403
expect "the change is audited" \
  "$(req GET /api/v1/tenants/acme/audit "$A" >/dev/null; body '[.entries[] | select(.action == "rollout.bandwidth")] | length')" 2
expect "no rollout 999 (404)" "$(req GET /api/v1/tenants/acme/rollouts/999/bandwidth "$VW")" 404

for r in "$RA" "$RB"; do
  [ "$(jreq POST "/api/v1/tenants/acme/rollouts/$r/start" "$OP" '{}')" = 200 ] || die "rollout $r did not start"
done
for d in a1 a2 a3 b1 b2 b3; do
  req GET "/acme/controller/v1/$d" "${TOK[$d]}" >/dev/null
  href=$(body '._links.deploymentBase.href')
  [ "$href" != null ] || die "$d was offered nothing"
  req GET "${href#"$URL"}" "${TOK[$d]}" >/dev/null
  HREF[$d]=$(body '.deployment.chunks[0].artifacts[0]._links.download.href')
done

# download_all DEV...: all at once; prints the aggregate rate in bytes/s (all bytes over
# the time from the first request to the last byte), and checks each body is whole.
download_all() {
  local t0 t1 d total=0
  t0=$(date +%s.%N)
  for d in "$@"; do
    curl -s -m 120 -o "$work/dl.$d" -H "Authorization: ${TOK[$d]}" "${HREF[$d]}" &
  done
  wait
  t1=$(date +%s.%N)
  for d in "$@"; do
    [ "$(sha256sum < "$work/dl.$d" | cut -d' ' -f1)" = "$SUM" ] || die "$d: the download is not the package"
    total=$((total + SIZE))
  done
  python3 -c "print(int($total / ($t1 - $t0)))"
}
# within10 RATE: "yes" when RATE is within 10 % of CAP.
within10() { python3 -c "print('yes' if abs($1 - $CAP) <= 0.1 * $CAP else 'no: %d B/s against %d' % ($1, $CAP))"; }
metric() { curl -s -m 20 -H "Authorization: Bearer $MT" "$URL/metrics" |
  awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }'; }

# ---- one rollout's cap: three devices at once ----
rate=$(download_all a1 a2 a3)
expect "three downloads of rollout a together at 2 MiB/s (within 10 %)" "$(within10 "$rate")" yes
expect "/metrics: rollout a's cap" \
  "$(metric "otter_bandwidth_cap_bytes_per_second{scope=\"rollout\",id=\"$RA\"}")" "$CAP"
expect "/metrics: rollout a's rate is there" \
  "$(metric "otter_bandwidth_rate_bytes_per_second{scope=\"rollout\",id=\"$RA\"}" | grep -c '^[0-9]')" 1

# ---- fairness: three downloads under a 3 MiB/s cap get about 1 MiB/s each ----
# Each download's own rate (its bytes over its own time, curl's speed_download) is within
# 20 % of a third of the cap: first come does not take all (issue #15, otter_bwcap.h).
FAIR=$((3 * 1024 * 1024))
expect "operator sets rollout a's cap to 3 MiB/s (200)" \
  "$(jreq PUT "/api/v1/tenants/acme/rollouts/$RA/bandwidth" "$OP" "{\"bytes_per_second\":$FAIR}")" 200
pids=()
for d in a1 a2 a3; do
  curl -s -m 120 -o "$work/dl.$d" -w '%{speed_download}' -H "Authorization: ${TOK[$d]}" "${HREF[$d]}" \
    > "$work/speed.$d" &
  pids+=($!)
done
wait "${pids[@]}"
for d in a1 a2 a3; do
  [ "$(sha256sum < "$work/dl.$d" | cut -d' ' -f1)" = "$SUM" ] || die "$d: the download is not the package"
  speed=$(cat "$work/speed.$d")
  echo "$d: $speed B/s"
  expect "$d's own rate within 20 % of 1 MiB/s" \
    "$(python3 -c "print('yes' if abs($speed - $FAIR / 3) <= 0.2 * $FAIR / 3 else 'no: %d B/s' % $speed)")" yes
done
expect "operator sets rollout a's cap back (200)" \
  "$(jreq PUT "/api/v1/tenants/acme/rollouts/$RA/bandwidth" "$OP" "{\"bytes_per_second\":$CAP}")" 200

# ---- the tenant's cap bounds both rollouts together ----
expect "admin caps the tenant (200)" "$(jreq PUT /api/v1/tenants/acme/bandwidth "$A" "{\"bytes_per_second\":$CAP}")" 200
expect "operator lifts rollout a's own cap (200)" \
  "$(jreq PUT "/api/v1/tenants/acme/rollouts/$RA/bandwidth" "$OP" '{"bytes_per_second":0}')" 200
expect "viewer reads the tenant's cap" "$(req GET /api/v1/tenants/acme/bandwidth "$VW" >/dev/null; body .bytes_per_second)" "$CAP"
rate=$(download_all a1 a2 b1 b2)
expect "rollouts a and b together at the tenant's 2 MiB/s (within 10 %)" "$(within10 "$rate")" yes
expect "/metrics: the tenant's cap" \
  "$(metric "otter_bandwidth_cap_bytes_per_second{scope=\"tenant\",id=\"$(db "SELECT id FROM tenants WHERE name = 'acme'")\"}")" "$CAP"

# ---- no cap: not paced ----
expect "admin lifts the tenant's cap (200)" "$(jreq PUT /api/v1/tenants/acme/bandwidth "$A" '{"bytes_per_second":null}')" 200
rate=$(download_all a1 a2 a3 b1 b2 b3)
expect "six downloads with no cap go faster than twice the old cap" \
  "$(python3 -c "print('yes' if $rate > 2 * $CAP else 'no: %d B/s' % $rate)")" yes
expect "/metrics: no cap series left" "$(metric "otter_bandwidth_cap_bytes_per_second{scope=\"rollout\",id=\"$RA\"}")" missing
stop_server
finish
