#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bandwidth caps across servers (issue #15, docs/operations.md "Bandwidth
# caps across servers"): two otter-server instances on one PostgreSQL, as
# behind a load balancer, each serving three devices of one capped rollout
# at once. The aggregate rate of all six downloads (all bytes over the time
# from the first request to the last byte) is within 10 % of the cap, not
# twice it (each server its own bucket, before the heartbeat); afterwards,
# with server B idle, server A alone gets the whole cap. Needs
# OTTER_TEST_PG_URL (see lib.sh).
export OTTER_TEST_STORE=postgres
source "$(dirname "$0")/lib.sh"
need_packages jq curl python3

pid_b=
keys="${OTTER_TEST_TMP:-/tmp}/bwcap-multi-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'for p in ${server_pid:-} $pid_b; do kill -TERM "$p" 2>/dev/null || true; done; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

CAP=$((2 * 1024 * 1024)) # 2 MiB/s for the whole deployment
MT=metrics-token-0123456789
"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
# Random bytes do not compress: ~4 MiB a download, six ~12 s at the cap (the servers' first
# heartbeats, within half a second, and the buckets' bursts are then a few % of it).
head -c $((4 * 1024 * 1024)) /dev/urandom > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 1 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null
SIZE=$(stat -c %s "$keys/1.0.zip")
SUM=$(sha256sum "$keys/1.0.zip" | cut -d' ' -f1)

start_server bwcap_multi "[trust]
root = $keys/root.json
[metrics]
enabled = true
token = $MT"
URL_A=$URL
start_server_b
[ "$URL_A" != "$URL_B" ] || die "both servers on $URL_A?"

A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"op","password":"user-pass-12","role":"operator"}' >/dev/null
OP=$(login op user-pass-12)
R1=$(upload acme "$A" "$keys/1.0.zip")
jreq POST /api/v1/tenants/acme/groups "$OP" '{"name":"g"}' >/dev/null
declare -A TOK HREF
DEVS=(a1 a2 a3 b1 b2 b3)
for id in "${DEVS[@]}"; do
  [ "$(jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$id\",\"model\":\"gw-a\"}")" = 201 ] ||
    die "device $id not registered"
  TOK[$id]="TargetToken $(body .token)"
  req PUT "/api/v1/tenants/acme/groups/g/devices/$id" "$OP" >/dev/null
done
ro="{\"name\":\"capped\",\"release\":$R1,\"filter\":{\"groups\":[\"g\"]},\"stages\":[{\"percent\":100}],\"bandwidth_cap\":$CAP}"
[ "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "$ro")" = 201 ] || die "rollout not created"
RID=$(body .id)
[ "$(jreq POST "/api/v1/tenants/acme/rollouts/$RID/start" "$OP" '{}')" = 200 ] || die "rollout did not start"
# Devices a* download from server A, b* from server B (links written from A's URL).
for d in "${DEVS[@]}"; do
  req GET "/acme/controller/v1/$d" "${TOK[$d]}" >/dev/null
  href=$(body '._links.deploymentBase.href')
  [ "$href" != null ] || die "$d was offered nothing"
  req GET "${href#"$URL"}" "${TOK[$d]}" >/dev/null
  href=$(body '.deployment.chunks[0].artifacts[0]._links.download.href')
  case $d in b*) href="$URL_B${href#"$URL_A"}" ;; esac
  HREF[$d]=$href
done

# download_all DEV...: all at once; prints the aggregate rate in bytes/s and checks each body.
download_all() {
  local t0 t1 d pids=() total=0
  t0=$(date +%s.%N)
  for d in "$@"; do
    curl -s -m 120 -o "$work/dl.$d" -H "Authorization: ${TOK[$d]}" "${HREF[$d]}" &
    pids+=($!)
  done
  wait "${pids[@]}" # not a bare wait: the servers are children too
  t1=$(date +%s.%N)
  for d in "$@"; do
    [ "$(sha256sum < "$work/dl.$d" | cut -d' ' -f1)" = "$SUM" ] || die "$d: the download is not the package"
    total=$((total + SIZE))
  done
  python3 -c "print(int($total / ($t1 - $t0)))"
}
within10() { python3 -c "print('yes' if abs($1 - $CAP) <= 0.1 * $CAP else 'no: %d B/s against %d' % ($1, $CAP))"; }
# share_at SERVER: that server's share of the rollout's cap in /metrics.
share_at() {
  curl -s -m 20 -H "Authorization: Bearer $MT" "$1/metrics" |
    awk -v k="otter_bandwidth_share_bytes_per_second{scope=\"rollout\",id=\"$RID\"}" \
      '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }'
}

# ---- both servers busy: the cap holds for the two together ----
rate=$(download_all "${DEVS[@]}")
echo "six downloads through two servers: $rate B/s (cap $CAP)"
expect "six downloads through two servers together at 2 MiB/s (within 10 %)" "$(within10 "$rate")" yes

# ---- server B idle: A gets the whole cap ----
# B withdraws its demand within a heartbeat and A reads it within its next (bounded wait).
share=missing
for _ in $(seq 100); do
  share=$(share_at "$URL_A")
  [ "$share" = "$CAP" ] && break
  sleep 0.1
done
expect "server A's share is the whole cap once B is idle" "$share" "$CAP"
rate=$(download_all a1 a2 a3)
echo "three downloads through server A alone: $rate B/s (cap $CAP)"
expect "three downloads through server A alone at 2 MiB/s (within 10 %)" "$(within10 "$rate")" yes

stop_server_b
stop_server
finish
