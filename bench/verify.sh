#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How fast does `otter verify` stream a package, against the pipeline limit
# `zstd -dc payload | openssl dgst -sha256` (two processes on two cores) on the
# same payload in the same run? Prints MB/s of installed bytes, the ratio and
# otter's peak RSS. Targets: ratio >= 0.9, peak RSS <= 16 MiB.
#   bench/verify.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
size_mib=${1:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
otter="$top/build/bin/otter"
[ -x "$otter" ] || make -C "$top" build >/dev/null
need=()
for p in zstd openssl time; do command -v "$p" >/dev/null || need+=("$p"); done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get install -y "${need[@]}" >/dev/null; fi

work=${BENCH_DIR:-$(mktemp -d /var/tmp/otter-bench.XXXXXX)}
trap 'rm -rf "$work"' EXIT
cd "$work"

# Realistic binary content: the machine's own programs and libraries,
# concatenated in a fixed order until SIZE_MIB (they compress like firmware).
want=$((size_mib * 1024 * 1024))
find /usr/lib /usr/bin /usr/sbin /usr/libexec -type f -size +256k 2>/dev/null | LC_ALL=C sort |
  while read -r f; do cat "$f" 2>/dev/null || true; done | head -c "$want" > image.bin
have=$(stat -c %s image.bin)
while [ "$have" -lt "$want" ]; do # a small /usr: repeat what we have
  head -c $((want - have)) image.bin >> image.bin.more; cat image.bin.more >> image.bin; rm image.bin.more
  have=$(stat -c %s image.bin)
done

"$otter" keygen --type ed25519 --out key >/dev/null
"$otter" root new --pubkey key.pub --threshold 1 -o root.json >/dev/null
pack_start=$(date +%s.%N)
"$otter" pack --product bench --compatible bench-1 --version 1.0 --security-version 1 \
  --image rootfs=image.bin --key key.key -o update.zip >/dev/null
pack_end=$(date +%s.%N)
unzip -p update.zip rootfs.img.zst > payload.zst
stored=$(stat -c %s payload.zst)
rm -f image.bin

best() { # best N CMD...: the fastest of N runs, in seconds
  local n=$1 b=""; shift
  for _ in $(seq "$n"); do
    local s e t
    s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}
command -v bc >/dev/null || apt-get install -y bc >/dev/null

# Warm the page cache for both, then take the best of 3 each.
cat update.zip payload.zst > /dev/null
ref=$(best 3 bash -c 'zstd -dc payload.zst | openssl dgst -sha256')
ott=$(best 3 "$otter" verify update.zip --trust root.json)
rss_kb=$(/usr/bin/time -f %M "$otter" verify update.zip --trust root.json 2>&1 >/dev/null | tail -1)

mb=$(echo "$want / 1000000" | bc -l)
printf 'image: %d MiB installed, %.1f MiB stored (ratio %.2f), pack took %.1f s\n' \
  "$size_mib" "$(echo "$stored / 1048576" | bc -l)" "$(echo "$want / $stored" | bc -l)" \
  "$(echo "$pack_end - $pack_start" | bc -l)"
printf 'reference  zstd -dc | openssl dgst -sha256 : %7.1f MB/s (%.3f s)\n' "$(echo "$mb / $ref" | bc -l)" "$ref"
printf 'otter verify                             : %7.1f MB/s (%.3f s)\n' "$(echo "$mb / $ott" | bc -l)" "$ott"
printf 'ratio otter / reference                  : %7.3f (target >= 0.9)\n' "$(echo "$ref / $ott" | bc -l)"
printf 'otter verify peak RSS                    : %7.1f MiB (target <= 16)\n' "$(echo "$rss_kb / 1024" | bc -l)"
