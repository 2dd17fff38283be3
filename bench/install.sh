#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agent installing an image into a file slot (verify + decompress + hash
# + write + fsync) from a format 2 package (chunk table, chunks checked on
# every core; default 1 MiB chunks), against in the same run:
#   (a) the pipeline limit `zstd -dc payload | openssl dgst -sha256`,
#   (b) Debian's swupdate installing the same image (uncompressed in its .swu,
#       type rawfile, installed-directly), as ../shared/notes describe,
#   (c) otter-agent installing the same image from a format 1 package (one
#       zstd stream, decompressed on one core, hashed on another),
#   (d) otter-agent from a format 2 package with 4 MiB chunks (the span trade:
#       stored size, speed and memory),
#   (e) otter-agent with [install] workers = 1 (the memory/speed trade),
#   and format 2 against format 1 with the slots in RAM (tmpfs), where the CPU,
#   not this machine's disk (~500 MB/s write + fsync), bounds the install;
#   (f) an encrypted package (AES-256-GCM per chunk, X25519 recipient, the
#       device's [crypt] key) against the same clear one, on disk and in tmpfs
#       (target: encrypted / clear throughput >= 0.9).
# For a 1 GiB and a 1 MiB image: MB/s, peak RSS, package sizes, ratios.
# Targets: >= 0.9 of (a); faster than (b) at both sizes; less memory than (b);
# format 2 faster than format 1 on 2 cores.
#   bench/install.sh [BIG_MIB]   (default 1024)
#   OTTER_BENCH_ONLY=crypt bench/install.sh [BIG_MIB]   only (f)
set -euo pipefail
big_mib=${1:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/build/bin"
[ -x "$bin/otter-agent" ] || make -C "$top" build >/dev/null
need=()
for p in zstd openssl cpio swupdate bc; do command -v "$p" >/dev/null || need+=("$p"); done
[ -x /usr/bin/time ] || need+=(time)
[ ${#need[@]} -eq 0 ] || apt-get install -y "${need[@]}" >/dev/null

work=$(mktemp -d /var/tmp/otter-bench-install.XXXXXX)
shm=$(mktemp -d /dev/shm/otter-bench-slots.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT
cd "$work"
"$bin/otter" keygen --out rel >/dev/null
"$bin/otter" root new --pubkey rel.pub -o root.json >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout swu.key -out swu.crt -days 30 -subj /CN=bench 2>/dev/null

content() { # content FILE MIB: the machine's libraries, repeated to size
  local want=$(( $2 * 1024 * 1024 ))
  find /usr/lib /usr/bin -type f -size +256k 2>/dev/null | LC_ALL=C sort |
    while read -r f; do cat "$f" 2>/dev/null || true; done | head -c "$want" > "$1"
  while [ "$(stat -c %s "$1")" -lt "$want" ]; do
    head -c $(( want - $(stat -c %s "$1") )) "$1" > "$1.more"; cat "$1.more" >> "$1"; rm "$1.more"
  done
}

device() { # device DIR [WORKERS] [SLOTDIR] [CRYPT_KEY]: a raw A/B device with slot A flashed (slots in SLOTDIR, default DIR)
  local slots=${3:-$1}
  mkdir -p "$1/state" "$slots"; : > "$slots/a"; : > "$slots/b"
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
[install]
workers = ${2:-0}
[slot.rootfs]
a = $slots/a
b = $slots/b
handler = raw
CONF
  [ -z "${4:-}" ] || printf '[crypt]\nkey = %s\n' "$4" >> "$1/agent.conf"
  head -c 4096 /dev/urandom > factory.img
  "$bin/otter" pack --product bench --compatible bench-1 --version 0 --security-version 0 \
    --image rootfs=factory.img --key rel.key -o factory.zip >/dev/null
  "$bin/otter-agent" -c "$1/agent.conf" factory factory.zip >/dev/null 2>&1
  "$bin/otter-agent" bootsim --root "$1" >/dev/null
}

timed() { # timed OUTVAR_PREFIX CMD...: sets ${prefix}_s and ${prefix}_kb
  local prefix=$1; shift
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f "%M" -o time.out "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  read -r kb < time.out
  eval "${prefix}_s=$(echo "scale=4; ($end - $start) / 1000000000" | bc); ${prefix}_kb=$kb"
}

install_timed() { # install_timed PREFIX PACKAGE [WORKERS] [SLOTDIR] [CRYPT_KEY]: a fresh device, timed install, checked boot
  rm -rf dev; device "$work/dev" "${3:-0}" "${4:-}" "${5:-}"
  timed "$1" "$bin/otter-agent" -c dev/agent.conf install "$2" --no-reboot
  "$bin/otter-agent" bootsim --root dev | grep -q "update committed" || { echo "install of $2 did not commit"; exit 1; }
}

# The ${prefix}_s and ${prefix}_kb variables it reads are set by timed() (eval).
# shellcheck disable=SC2154
run_size() { # run_size MIB
  local mib=$1 bytes=$(( $1 * 1024 * 1024 ))
  content image.bin "$mib"
  "$bin/otter" pack --product bench --compatible bench-1 --version "$mib" --security-version 1 \
    --image rootfs=image.bin --key rel.key -o update.zip >/dev/null
  "$bin/otter" pack --product bench --compatible bench-1 --version "$mib" --security-version 1 \
    --format 1 --image rootfs=image.bin --key rel.key -o update-v1.zip >/dev/null
  "$bin/otter" pack --product bench --compatible bench-1 --version "$mib" --security-version 1 \
    --chunk-size 4MiB --image rootfs=image.bin --key rel.key -o update-4m.zip >/dev/null
  unzip -p update-v1.zip rootfs.img.zst > payload.zst
  # (b) swupdate's package: the image uncompressed, signed sw-description.
  local sum; sum=$(openssl dgst -sha256 -r image.bin | cut -d' ' -f1)
  cat > sw-description <<SWD
software =
{
  version = "$mib";
  hardware-compatibility: [ "1.0" ];
  images: ( { filename = "image.bin"; type = "rawfile"; path = "$work/swu-slot";
              installed-directly = true; sha256 = "$sum"; } );
}
SWD
  openssl cms -sign -in sw-description -out sw-description.sig -signer swu.crt -inkey swu.key \
    -outform DER -nosmimecap -binary
  printf '%s\n' sw-description sw-description.sig image.bin | cpio -o -H newc > update.swu 2>/dev/null
  rm -f image.bin
  cat update.zip update-v1.zip update-4m.zip payload.zst update.swu > /dev/null   # warm the page cache for everyone

  local best_ref="" best_ott="" best_swu="" best_v1="" best_4m="" best_w1="" best_r1="" best_r2=""
  for _ in 1 2 3; do
    timed ref bash -c 'zstd -dc payload.zst | openssl dgst -sha256'
    install_timed v1 update-v1.zip
    install_timed m4 update-4m.zip
    install_timed w1 update.zip 1
    [ -z "$best_w1" ] || [ "$(echo "$w1_s < $best_w1" | bc)" = 1 ] && best_w1=$w1_s
    w1_peak=$(( ${w1_peak:-0} > w1_kb ? ${w1_peak:-0} : w1_kb ))
    # The same installs with the slots in RAM (tmpfs): no disk, the CPU decides.
    install_timed r2 update.zip 0 "$shm"; rm -f "$shm/a" "$shm/b"
    install_timed r1 update-v1.zip 0 "$shm"; rm -f "$shm/a" "$shm/b"
    [ -z "$best_r2" ] || [ "$(echo "$r2_s < $best_r2" | bc)" = 1 ] && best_r2=$r2_s
    [ -z "$best_r1" ] || [ "$(echo "$r1_s < $best_r1" | bc)" = 1 ] && best_r1=$r1_s
    [ -z "$best_v1" ] || [ "$(echo "$v1_s < $best_v1" | bc)" = 1 ] && best_v1=$v1_s
    [ -z "$best_4m" ] || [ "$(echo "$m4_s < $best_4m" | bc)" = 1 ] && best_4m=$m4_s
    v1_peak=$(( ${v1_peak:-0} > v1_kb ? ${v1_peak:-0} : v1_kb ))
    m4_peak=$(( ${m4_peak:-0} > m4_kb ? ${m4_peak:-0} : m4_kb ))
    install_timed ott update.zip
    rm -f swu-slot; mkdir -p swu-tmp
    timed swu env TMPDIR="$work/swu-tmp" swupdate -k swu.crt -H test:1.0 -i update.swu
    cmp -s -n "$bytes" swu-slot dev/b || { echo "swupdate and otter wrote different bytes"; exit 1; }
    [ -z "$best_ref" ] || [ "$(echo "$ref_s < $best_ref" | bc)" = 1 ] && best_ref=$ref_s
    [ -z "$best_ott" ] || [ "$(echo "$ott_s < $best_ott" | bc)" = 1 ] && best_ott=$ott_s
    [ -z "$best_swu" ] || [ "$(echo "$swu_s < $best_swu" | bc)" = 1 ] && best_swu=$swu_s
    ott_peak=$(( ${ott_peak:-0} > ott_kb ? ${ott_peak:-0} : ott_kb ))
    swu_peak=$(( ${swu_peak:-0} > swu_kb ? ${swu_peak:-0} : swu_kb ))
  done
  mbs() { echo "scale=1; $bytes / 1000000 / $1" | bc -l; }
  printf '\n== %d MiB image (payload %.1f MiB zstd)\n' "$mib" "$(echo "$(stat -c %s payload.zst) / 1048576" | bc -l)"
  printf '(a) zstd -dc | openssl dgst -sha256 : %8s MB/s  %7.3f s\n' "$(mbs "$best_ref")" "$best_ref"
  printf 'otter-agent install (write+fsync)  : %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_ott")" "$best_ott" "$(echo "$ott_peak / 1024" | bc -l)"
  printf '(b) swupdate rawfile install       : %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_swu")" "$best_swu" "$(echo "$swu_peak / 1024" | bc -l)"
  printf '(c) otter-agent, format 1 package   : %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_v1")" "$best_v1" "$(echo "$v1_peak / 1024" | bc -l)"
  printf '(d) otter-agent, 4 MiB chunks       : %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_4m")" "$best_4m" "$(echo "$m4_peak / 1024" | bc -l)"
  printf '(e) otter-agent, [install] workers=1: %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_w1")" "$best_w1" "$(echo "$w1_peak / 1024" | bc -l)"
  printf 'slots in tmpfs (CPU-bound): format 2 %s MB/s, format 1 %s MB/s: format 2 / format 1 %.2f x\n' \
    "$(mbs "$best_r2")" "$(mbs "$best_r1")" "$(echo "$best_r1 / $best_r2" | bc -l)"
  printf 'package bytes: format 2 (1 MiB) %d, format 2 (4 MiB) %d, format 1 %d: %.3f and %.3f of format 1\n' \
    "$(stat -c %s update.zip)" "$(stat -c %s update-4m.zip)" "$(stat -c %s update-v1.zip)" \
    "$(echo "$(stat -c %s update.zip) / $(stat -c %s update-v1.zip)" | bc -l)" \
    "$(echo "$(stat -c %s update-4m.zip) / $(stat -c %s update-v1.zip)" | bc -l)"
  printf 'otter / (a) throughput ratio       : %8.3f  (target >= 0.9)\n' "$(echo "$best_ref / $best_ott" | bc -l)"
  printf 'format 2 / format 1 speed-up (c)   : %8.2f x (target > 1 on 2 cores; %d cores here)\n' "$(echo "$best_v1 / $best_ott" | bc -l)" "$(nproc)"
  printf 'otter / (b) speed-up               : %8.2f x (target > 1)\n' "$(echo "$best_swu / $best_ott" | bc -l)"
  printf 'otter / (b) memory                 : %8.2f  (target < 1)\n' "$(echo "$ott_peak / $swu_peak" | bc -l)"
  ott_peak=0; swu_peak=0; v1_peak=0; m4_peak=0; w1_peak=0
  rm -f update.zip update-v1.zip update-4m.zip payload.zst update.swu swu-slot
}

# (f) Encrypted against clear, the same image and chunk size, best of 3 each, on disk and in tmpfs.
# shellcheck disable=SC2154
run_crypt() { # run_crypt MIB
  local mib=$1 bytes=$(( $1 * 1024 * 1024 )) best_c="" best_e="" best_tc="" best_te="" c_peak=0 e_peak=0
  [ -s crypt.key ] || { openssl genpkey -algorithm X25519 -out crypt.key 2>/dev/null
    openssl pkey -in crypt.key -pubout -out crypt.pub; }
  content image.bin "$mib"
  "$bin/otter" pack --product bench --compatible bench-1 --version "$mib" --security-version 1 \
    --image rootfs=image.bin --key rel.key -o clear.zip >/dev/null
  "$bin/otter" pack --product bench --compatible bench-1 --version "$mib" --security-version 1 \
    --image rootfs=image.bin --key rel.key --encrypt-for crypt.pub -o enc.zip >/dev/null
  rm -f image.bin
  cat clear.zip enc.zip > /dev/null
  for _ in 1 2 3; do
    install_timed cl clear.zip
    [ -z "$best_c" ] || [ "$(echo "$cl_s < $best_c" | bc)" = 1 ] && best_c=$cl_s
    c_peak=$(( c_peak > cl_kb ? c_peak : cl_kb )); local clear_b; clear_b=$(sha256sum < dev/b)
    install_timed en enc.zip 0 "" "$work/crypt.key"
    [ -z "$best_e" ] || [ "$(echo "$en_s < $best_e" | bc)" = 1 ] && best_e=$en_s
    e_peak=$(( e_peak > en_kb ? e_peak : en_kb ))
    [ "$(sha256sum < dev/b)" = "$clear_b" ] || { echo "encrypted and clear installs differ"; exit 1; }
    install_timed tc clear.zip 0 "$shm"; rm -f "$shm/a" "$shm/b"
    install_timed te enc.zip 0 "$shm" "$work/crypt.key"; rm -f "$shm/a" "$shm/b"
    [ -z "$best_tc" ] || [ "$(echo "$tc_s < $best_tc" | bc)" = 1 ] && best_tc=$tc_s
    [ -z "$best_te" ] || [ "$(echo "$te_s < $best_te" | bc)" = 1 ] && best_te=$te_s
  done
  mbs() { echo "scale=1; $bytes / 1000000 / $1" | bc -l; }
  printf '\n== (f) %d MiB image: encrypted vs clear (1 MiB chunks, %d cores)\n' "$mib" "$(nproc)"
  printf 'clear install (write+fsync)        : %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_c")" "$best_c" "$(echo "$c_peak / 1024" | bc -l)"
  printf 'encrypted install (write+fsync)    : %8s MB/s  %7.3f s  peak RSS %6.1f MiB\n' "$(mbs "$best_e")" "$best_e" "$(echo "$e_peak / 1024" | bc -l)"
  printf 'slots in tmpfs: clear %s MB/s, encrypted %s MB/s\n' "$(mbs "$best_tc")" "$(mbs "$best_te")"
  printf 'encrypted / clear throughput       : %8.3f on disk, %.3f in tmpfs (target >= 0.9)\n' \
    "$(echo "$best_c / $best_e" | bc -l)" "$(echo "$best_tc / $best_te" | bc -l)"
  printf 'package bytes: encrypted %d, clear %d\n' "$(stat -c %s enc.zip)" "$(stat -c %s clear.zip)"
  rm -f clear.zip enc.zip
}

if [ "${OTTER_BENCH_ONLY:-}" != crypt ]; then
  run_size 1
  run_size "$big_mib"
fi
run_crypt 1
run_crypt "$big_mib"
