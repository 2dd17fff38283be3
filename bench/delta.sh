#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Delta updates (issue #12) on real binary pairs anyone can fetch again, side
# by side in one run:
#   otter      `otter delta` between two one-image packages (level 19, 1 MiB
#              chunks), applied through libotter's reader (bench/delta_apply.c:
#              signatures, every chunk checked, written out) with the old
#              image as the active slot;
#   bsdiff     Debian's bsdiff/bspatch;
#   xdelta3    xdelta3 -9;
#   zstd-pf    zstd -19 --long --patch-from;
#   zstd-full  the new image alone, zstd -19 (what a full update ships).
# For each: patch bytes, time and peak RSS to make, time and peak RSS to
# apply; every apply is compared byte for byte with the new image.
# Pairs (Debian bookworm, `apt-get download pkg=version`, `dpkg-deb -x`):
#   security  libpython3.11.so.1.0, 3.11.2-6+deb12u8 -> +deb12u9 (bookworm-security)
#   openssl   libcrypto.so.3, 3.0.20 -> 3.0.22 (bookworm -> bookworm-security)
#   upstream  libc.so.6, 2.36-9+deb12u7 -> +deb12u14 (seven stable updates)
#   major     cc1, cpp-11 11.3.0 -> cpp-12 12.2.0 (a major compiler jump; skipped with quick)
#   ext4      24 MiB ext4 images (mke2fs -d) of the old and the new package trees
#             of libssl3 and libpython3.11 (an upgraded package set; bsdiff
#             needs over 15 minutes for 64 MiB images on this machine)
# Targets (docs/delta.md): otter <= 0.9 x bsdiff on security patches; otter <=
# min(zstd-pf, zstd-full) on big changes; make time and RSS <= 0.5 x bsdiff's;
# apply peak RSS <= 32 MiB, apply throughput >= 0.9 x a full install of the
# same image through the same reader. Applies are timed three times (the best
# time and CPU time, the highest RSS), makes once; CPU time (user + system,
# /usr/bin/time) beside wall time, which the machine's load disturbs more.
#   bench/delta.sh [PAIR ...]   (default: all five; e.g. `bench/delta.sh security ext4`)
set -euo pipefail
pairs=" ${*:-security openssl upstream major ext4} "
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/build/bin"
[ -x "$bin/otter" ] || cmake --build "$top/build" --target otter-tool >/dev/null
need=()
for p in bsdiff xdelta3 zstd bc; do command -v "$p" >/dev/null || need+=("$p"); done
[ -x /usr/bin/time ] || need+=(time)
[ ${#need[@]} -eq 0 ] || apt-get install -y "${need[@]}" >/dev/null

debs=/var/tmp/otter-bench-delta-debs # downloads are kept between runs
mkdir -p "$debs"
work=$(mktemp -d /var/tmp/otter-bench-delta.XXXXXX)
trap 'rm -rf "$work"' EXIT
read -ra libs <<< "$(pkg-config --libs openssl jansson libarchive libzip libzstd liblzma)"
cc -O2 -Wall -Wextra -Werror -I"$top/src/core" "$top/bench/delta_apply.c" \
  "$top/build/src/core/libotter.a" "${libs[@]}" -lpthread -o "$work/delta_apply"
cd "$work"
"$bin/otter" keygen --out rel >/dev/null
"$bin/otter" root new --pubkey rel.pub -o root.json >/dev/null

fetch() { # fetch PKG VERSION DIR: the package extracted into DIR
  local deb
  deb=$(find "$debs" -name "${1}_${2//:/%3a}_*.deb" | head -1)
  if [ -z "$deb" ]; then
    (cd "$debs" && apt-get download "$1=$2" >/dev/null 2>&1)
    deb=$(find "$debs" -name "${1}_${2//:/%3a}_*.deb" | head -1)
  fi
  mkdir -p "$3"; dpkg-deb -x "$deb" "$3"
}

timed() { # timed PREFIX CMD...: sets ${prefix}_s, ${prefix}_kb and ${prefix}_cpu (user + system s)
  local prefix=$1; shift
  local start end kb cpu
  start=$(date +%s%N)
  /usr/bin/time -f "%M %U %S" -o time.out "$@" >/dev/null 2>cmd.err || { cat cmd.err; echo "failed: $*"; exit 1; }
  end=$(date +%s%N)
  read -r kb cpu < <(tail -1 time.out | awk '{print $1, $2 + $3}')
  eval "${prefix}_s=$(echo "scale=3; ($end - $start) / 1000000000" | bc); ${prefix}_kb=$kb; ${prefix}_cpu=$cpu"
}

best3() { # best3 PREFIX CMD...: timed three times, the best time and CPU time, the highest RSS
  local prefix=$1 t="" c="" k=0 sv kv cv; shift
  for _ in 1 2 3; do
    timed "$prefix" "$@"
    sv=${prefix}_s; kv=${prefix}_kb; cv=${prefix}_cpu
    if [ -z "$t" ] || [ "$(echo "${!sv} < $t" | bc)" = 1 ]; then t=${!sv}; fi
    if [ -z "$c" ] || [ "$(echo "${!cv} < $c" | bc)" = 1 ]; then c=${!cv}; fi
    if [ "${!kv}" -gt "$k" ]; then k=${!kv}; fi
  done
  eval "${prefix}_s=$t; ${prefix}_kb=$k; ${prefix}_cpu=$c"
}

same() { cmp -s "$1" "$2" || { echo "$3: applied bytes differ from the new image"; exit 1; }; }
ratio() { echo "scale=3; $1 / $2" | bc -l | sed 's/^\./0./'; }

pack() { # pack IMAGE VERSION OUT
  "$bin/otter" pack --product bench --compatible bench-1 --version "$2" --security-version 1 \
    --level 19 --image "rootfs=$1" --key rel.key -o "$3" >/dev/null
}

# The ${prefix}_s and ${prefix}_kb variables it reads are set by timed() (eval).
# shellcheck disable=SC2154
run_pair() { # run_pair NAME OLD NEW KIND   (KIND: small | big)
  local name=$1 old=$2 new=$3 kind=$4
  local wl; wl=$(python3 -c "import math,sys; print(max(27, math.ceil(math.log2(max(int(a) for a in sys.argv[1:])))))" \
    "$(stat -c %s "$old")" "$(stat -c %s "$new")")
  pack "$old" 1 old.zip; pack "$new" 2 new.zip
  timed om "$bin/otter" delta --from old.zip --to new.zip --root root.json --key rel.key -o d.zip
  best3 oa ./delta_apply d.zip root.json out.otter "$old"; same out.otter "$new" otter
  best3 of ./delta_apply new.zip root.json out.full; same out.full "$new" "otter full install"
  timed bm bsdiff "$old" "$new" p.bsdiff
  best3 ba bspatch "$old" out.bsdiff p.bsdiff; same out.bsdiff "$new" bspatch
  timed xm xdelta3 -9 -f -e -s "$old" "$new" p.xd3
  best3 xa xdelta3 -f -d -s "$old" p.xd3 out.xd3; same out.xd3 "$new" xdelta3
  timed zm zstd -q -f -19 --long="$wl" --patch-from="$old" "$new" -o p.zpf
  best3 za zstd -q -f -d --long="$wl" --patch-from="$old" p.zpf -o out.zpf; same out.zpf "$new" zstd-patch-from
  timed fm zstd -q -f -19 "$new" -o p.zst
  best3 fa zstd -q -f -d p.zst -o out.zst; same out.zst "$new" zstd
  local o b x z f
  o=$(stat -c %s d.zip); b=$(stat -c %s p.bsdiff); x=$(stat -c %s p.xd3)
  z=$(stat -c %s p.zpf); f=$(stat -c %s p.zst)
  printf '\n== %s: %s (%d bytes) -> %s (%d bytes)\n' "$name" "${old#"$work"/}" \
    "$(stat -c %s "$old")" "${new#"$work"/}" "$(stat -c %s "$new")"
  printf '%-10s %11s %9s %9s %9s %9s %9s %9s\n' tool "patch B" "make s" "make CPU" "make MiB" \
    "apply s" "apply CPU" "apply MiB"
  row() { printf '%-10s %11d %9s %9s %9.1f %9s %9s %9.1f\n' "$1" "$2" "$3" "$4" "$(echo "$5 / 1024" | bc -l)" \
    "$6" "$7" "$(echo "$8 / 1024" | bc -l)"; }
  row otter "$o" "$om_s" "$om_cpu" "$om_kb" "$oa_s" "$oa_cpu" "$oa_kb"
  row bsdiff "$b" "$bm_s" "$bm_cpu" "$bm_kb" "$ba_s" "$ba_cpu" "$ba_kb"
  row xdelta3 "$x" "$xm_s" "$xm_cpu" "$xm_kb" "$xa_s" "$xa_cpu" "$xa_kb"
  row zstd-pf "$z" "$zm_s" "$zm_cpu" "$zm_kb" "$za_s" "$za_cpu" "$za_kb"
  row zstd-full "$f" "$fm_s" "$fm_cpu" "$fm_kb" "$fa_s" "$fa_cpu" "$fa_kb"
  printf 'load average after the pair: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'otter full package %d bytes, installed through the same reader in %s s, peak RSS %.1f MiB\n' \
    "$(stat -c %s new.zip)" "$of_s" "$(echo "$of_kb / 1024" | bc -l)"
  printf 'otter apply CPU (user + system): delta %s s, full install %s s\n' "$oa_cpu" "$of_cpu"
  "$bin/otter" inspect d.zip --full new.zip | grep -E '^ +(copy|zstd-patch|bsdiff|bsdiff-lzma|zstd) ' || true
  local m; m=$(( z < f ? z : f ))
  if [ "$kind" = small ]; then
    printf 'size   otter / bsdiff              %s (target <= 0.9)\n' "$(ratio "$o" "$b")"
  else
    printf 'size   otter / min(zstd-pf, full)  %s (target <= 1)\n' "$(ratio "$o" "$m")"
  fi
  printf '       otter / bsdiff %s, / xdelta3 %s, / zstd-pf %s, / zstd-full %s\n' \
    "$(ratio "$o" "$b")" "$(ratio "$o" "$x")" "$(ratio "$o" "$z")" "$(ratio "$o" "$f")"
  printf 'make   otter / bsdiff time %s, CPU time %s, peak RSS %s (targets <= 0.5)\n' \
    "$(ratio "$om_s" "$bm_s")" "$(ratio "$om_cpu" "$bm_cpu")" "$(ratio "$om_kb" "$bm_kb")"
  printf 'apply  peak RSS %.1f MiB (target <= 32), throughput delta / full install %s (target >= 0.9; by CPU time %s)\n' \
    "$(echo "$oa_kb / 1024" | bc -l)" "$(ratio "$of_s" "$oa_s")" "$(ratio "$of_cpu" "$oa_cpu")"
  rm -f old.zip new.zip d.zip p.* out.*
}

fetch libpython3.11 3.11.2-6+deb12u8 py.old; fetch libpython3.11 3.11.2-6+deb12u9 py.new
fetch libssl3 3.0.20-1~deb12u2 ssl.old; fetch libssl3 3.0.22-1~deb12u2 ssl.new
fetch libc6 2.36-9+deb12u7 libc.old; fetch libc6 2.36-9+deb12u14 libc.new
lib=usr/lib/x86_64-linux-gnu
want() { [[ "$pairs" == *" $1 "* ]]; }
want security && run_pair security "$work/py.old/$lib/libpython3.11.so.1.0" "$work/py.new/$lib/libpython3.11.so.1.0" small
want openssl && run_pair openssl "$work/ssl.old/$lib/libcrypto.so.3" "$work/ssl.new/$lib/libcrypto.so.3" small
want upstream && run_pair upstream "$work/libc.old/lib/x86_64-linux-gnu/libc.so.6" "$work/libc.new/lib/x86_64-linux-gnu/libc.so.6" big
if want major; then
  fetch cpp-11 11.3.0-12 cpp.old; fetch cpp-12 12.2.0-14+deb12u1 cpp.new
  run_pair major "$work/cpp.old/usr/lib/gcc/x86_64-linux-gnu/11/cc1" \
    "$work/cpp.new/usr/lib/gcc/x86_64-linux-gnu/12/cc1" big
fi
# Two filesystem images of the old and the new package set, made the same way
# (fixed UUID, hash seed and time: only the contents differ).
want ext4 || exit 0
for side in old new; do
  mkdir -p "tree.$side"
  for p in py ssl; do cp -a "$p.$side/." "tree.$side/"; done
  find "tree.$side" -exec touch -h -d @1700000000 {} + # the directories made here too
  E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -b 4096 -U 6f7e1d2c-0000-4000-8000-000000000001 \
    -E root_owner=0:0,hash_seed=6f7e1d2c-0000-4000-8000-000000000002 -d "tree.$side" "fs.$side.img" 24M >/dev/null
done
run_pair ext4 "$work/fs.old.img" "$work/fs.new.img" big
