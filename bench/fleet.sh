#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A fleet against one otter-server on loopback, in one run:
#   1. DEVICES (10000) simulated devices (tests/tools/otter_fleetsim: one
#      process, keep-alive connection pool) first onboard (poll, then
#      configData once each: timed), then poll the DDI base resource every
#      INTERVAL seconds for SECONDS: polls/s, p50/p99 latency, errors, the
#      server's CPU and RSS;
#   2. one real device, otter-agent with file slots, installs a 1 GiB update
#      over loopback HTTPS from otter-server (otter-fetch downloads it with the
#      device's TargetToken), against `curl -s URL | zstd -dc | openssl dgst
#      -sha256` fetching the package's zstd payload from the same server:
#      MB/s of installed bytes and the ratio (target >= 0.85). Best of 2 each.
# Prints the load average before and after: figures taken on a busy machine are noisy.
#   bench/fleet.sh [DEVICES] [INTERVAL] [SECONDS] [IMAGE_MIB]   (default 10000 10 30 1024)
set -euo pipefail
devices=${1:-10000}
interval=${2:-10}
secs=${3:-30}
image_mib=${4:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
server=${OTTER_SERVER:-"$build/src/server/otter-server"} # OTTER_SERVER: another build (bench/compare.sh)
sim="$build/tests/tools/otter_fleetsim"
otter="$build/bin/otter"
agent="$build/bin/otter-agent"
if ! [ -x "$server" ] || ! [ -x "$sim" ] || ! [ -x "$agent" ]; then make -C "$top" build >/dev/null; fi
need=()
for p in jq curl zstd openssl bc unzip; do command -v "$p" >/dev/null || need+=("$p"); done
[ ${#need[@]} -eq 0 ] || apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
# shellcheck source=/dev/null # linted on its own (.ci/shellcheck.sh)
source "$top/tests/integration/tls_fixture.sh"

work=$(mktemp -d /var/tmp/otter-bench-fleet.XXXXXX)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill -TERM "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"

# ---- the update: a 1 GiB image of the machine's own binaries (they compress like firmware) ----
want=$((image_mib * 1024 * 1024))
find /usr/lib /usr/bin -type f -size +256k 2>/dev/null | LC_ALL=C sort |
  while read -r f; do cat "$f" 2>/dev/null || true; done | head -c "$want" > image.bin
while [ "$(stat -c %s image.bin)" -lt "$want" ]; do
  head -c $((want - $(stat -c %s image.bin))) image.bin > more.bin; cat more.bin >> image.bin; rm more.bin
done
"$otter" keygen --out rel >/dev/null
"$otter" root new --pubkey rel.pub -o root.json >/dev/null
head -c 4096 /dev/urandom > factory.img
"$otter" pack --product bench --compatible bench-1 --version 0 --security-version 0 \
  --image rootfs=factory.img --key rel.key -o factory.zip >/dev/null
"$otter" pack --product bench --compatible bench-1 --version 1 --security-version 1 \
  --image rootfs=image.bin --key rel.key -o update.zip >/dev/null
unzip -p update.zip rootfs.img.zst > payload.zst
rm -f image.bin
make_tls "$work/tls" >/dev/null

# ---- otter-server: HTTP for the simulated fleet, HTTPS for the real device ----
cat > server.conf <<CONF
[http]
listen = 127.0.0.1:0
listen_tls = 127.0.0.1:0
tls_cert = $work/tls/srv.crt
tls_key = $work/tls/srv.key
[database]
url = sqlite:$work/otter.db
[storage]
artifacts = $work/artifacts
[trust]
root = $work/root.json
[limits]
max_body = 16M
max_connections = 4096
max_connections_per_ip = 0
[metrics]
enabled = true
CONF
OTTER_ADMIN_PASSWORD=bench-admin-pw "$server" init --config server.conf >/dev/null
"$server" serve --config server.conf --ready-file ready 2>server.log &
server_pid=$!
for _ in $(seq 100); do [ -s ready ] && [ "$(wc -l < ready)" -ge 2 ] && break; sleep 0.1; done
url=$(grep '^http:' ready) turl=$(grep '^https:' ready)
if [ -z "$url" ] || [ -z "$turl" ]; then echo "otter-server did not start"; cat server.log; exit 1; fi
api() { # api METHOD PATH [curl args]: JSON answer on stdout
  local m=$1 p=$2; shift 2
  curl -s -m 600 -X "$m" -H "Authorization: Bearer $tok" "$@" "$url/api/v1$p"
}
tok=$(curl -s -m 30 -X POST "$url/api/v1/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pw"}' | jq -r .token)
api POST /tenants -H 'Content-Type: application/json' -d '{"name":"bench"}' >/dev/null
: > tokens
for ((first = 0; first < devices; first += 10000)); do
  last=$((first + 10000 < devices ? first + 10000 : devices))
  seq -f 'sim%06g,bench-1' "$first" $((last - 1)) |
    api POST /tenants/bench/devices/bulk -H 'Content-Type: text/csv' --data-binary @- |
    jq -r '.devices[] | "\(.controller_id) \(.token)"' >> tokens
done
[ "$(wc -l < tokens)" = "$devices" ] || { echo "provisioning failed"; exit 1; }
printf 'agent,bench-1\nref,bench-1\n' | api POST /tenants/bench/devices/bulk -H 'Content-Type: text/csv' \
  --data-binary @- | jq -r '.devices[] | "\(.controller_id) \(.token)"' > real-tokens
atok=$(awk '$1 == "agent" { print $2 }' real-tokens)
rtok=$(awk '$1 == "ref" { print $2 }' real-tokens)

# ---- 1. the simulated fleet ----
# Onboarding first: every device polls and sends its configData (a database
# write each) as fast as the server takes them (polls every second), timed;
# then the steady state, where polls are reads only (last_seen is written in
# batches).
"$sim" --url "$url" --tenant bench --tokens tokens --interval 1 --duration 600 --until-configured \
  --server-pid "$server_pid" > onboard.out 2> sim.err || true
printf '\n== onboarding: %d simulated devices poll (every 1 s) until each has sent configData once\n' "$devices"
cat onboard.out
printf '\n== steady state: %d simulated devices, a poll every %s s each, %s s (otter_fleetsim, 64 connections)\n' \
  "$devices" "$interval" "$secs"
rc=0
"$sim" --url "$url" --tenant bench --tokens tokens --interval "$interval" --duration "$secs" \
  --server-pid "$server_pid" 2> sim.err || rc=$?
[ "$rc" = 0 ] || { echo "the simulator saw errors (exit $rc):"; head -5 sim.err; }

# ---- 2. one real device: otter-agent over HTTPS vs curl | zstd | openssl ----
rid=$(api POST /tenants/bench/releases --data-binary @update.zip | jq -r .id)
pid_=$(api POST '/tenants/bench/releases?type=foreign&filename=payload.zst&version=1' \
  --data-binary @payload.zst | jq -r .id)
link() { # link DEVICE TOKEN RELEASE: the DDI download URL of a fresh deployment
  local aid
  api POST "/tenants/bench/releases/$3/approve" -H 'Content-Type: application/json' -d '{}' >/dev/null
  aid=$(api POST /tenants/bench/deployments -H 'Content-Type: application/json' \
    -d "{\"release\":$3,\"devices\":[\"$1\"]}" | jq -r '.actions[0].id')
  curl -s -m 30 --cacert tls/ca.crt -H "Authorization: TargetToken $2" \
    "$turl/bench/controller/v1/$1/deploymentBase/$aid" |
    jq -r '.deployment.chunks[0].artifacts[0]._links.download.href'
}
aurl=$(link agent "$atok" "$rid")
rurl=$(link ref "$rtok" "$pid_")
case "$aurl$rurl" in https://127.0.0.1:*https://127.0.0.1:*) ;; *) echo "bad links: $aurl $rurl"; exit 1 ;; esac

device() { # device DIR: a raw A/B device (file slots) with slot A flashed and booted
  rm -rf "$1"; mkdir -p "$1/state"; : > "$1/a"; : > "$1/b"
  cat > "$1/agent.conf" <<CONF
[device]
product = bench
model = bench-1
[trust]
root = $work/root.json
[state]
dir = $1/state
[rollback]
path = $1/state/counter
[boot]
backend = file
path = $1/bootenv
cmdline = $1/cmdline
[reboot]
command =
[slot.rootfs]
a = $1/a
b = $1/b
handler = raw
CONF
  "$agent" -c "$1/agent.conf" factory factory.zip >/dev/null 2>&1
  "$agent" bootsim --root "$1" >/dev/null
}
secs_of() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>>run.err; e=$(date +%s%N); echo "scale=4; ($e - $s) / 1000000000" | bc; }
cat artifacts/* > /dev/null # the server's page cache warm for both
best_ref="" best_ott=""
for _ in 1 2; do
  t=$(secs_of bash -c "curl -s -m 600 --cacert tls/ca.crt -H 'Authorization: TargetToken $rtok' '$rurl' | zstd -dc | openssl dgst -sha256")
  [ -z "$best_ref" ] || [ "$(echo "$t < $best_ref" | bc)" = 1 ] && best_ref=$t
  device "$work/dev"
  t=$(secs_of "$agent" -c dev/agent.conf install "$aurl" --no-reboot --ca tls/ca.crt \
    --header "Authorization: TargetToken $atok")
  "$agent" bootsim --root dev | grep -q "update committed" || { echo "the agent's install did not commit"; cat run.err; exit 1; }
  [ -z "$best_ott" ] || [ "$(echo "$t < $best_ott" | bc)" = 1 ] && best_ott=$t
done
mbs() { echo "scale=1; $want / 1000000 / $1" | bc -l; }
printf '\n== %d MiB image (%.1f MiB zstd) over loopback HTTPS from otter-server, best of 2\n' \
  "$image_mib" "$(echo "$(stat -c %s payload.zst) / 1048576" | bc -l)"
printf 'curl | zstd -dc | openssl dgst -sha256 : %8s MB/s  %7.3f s\n' "$(mbs "$best_ref")" "$best_ref"
printf 'otter-agent install URL (write+fsync)  : %8s MB/s  %7.3f s\n' "$(mbs "$best_ott")" "$best_ott"
printf 'ratio otter-agent / curl pipeline      : %8.3f (target >= 0.85)\n' "$(echo "$best_ref / $best_ott" | bc -l)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
