#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The install streams with bounded memory: peak RSS of `otter-agent install`
# does not grow with the bytes it streams. What does grow is the signed chunk
# table (format 2), held while the manifest is parsed: at most 2 KiB a chunk
# (1 GiB at the default 1 MiB chunks: 1024 chunks). So: at most 16 MiB plus
# the table, and a 64 MiB and a 1 GiB install differ by at most 1 MiB plus the
# difference of their tables. A delta apply (a 256 MiB image made from the
# running slot: copies, patches, shifted and new chunks) stays within 32 MiB:
# chunk slots + patch buffers + the source ranges mapped while a chunk
# decodes (docs/agent.md, "Delta installs"). And the agent is valgrind-clean
# (install, delta install and its refusal, encrypted install and its refusal,
# boot simulator, status, refusal).
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-memory.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
[ -x /usr/bin/time ] || { echo "GNU time missing: run make deps"; exit 1; }
make_keys

# Realistic content: the system's libraries, repeated up to the size.
big_image() { # big_image FILE MIB
  local want=$(( $2 * 1024 * 1024 ))
  find /usr/lib -type f -size +256k 2>/dev/null | LC_ALL=C sort | head -400 | xargs cat 2>/dev/null | head -c "$want" > "$1" || true
  while [ "$(stat -c %s "$1")" -lt "$want" ]; do
    head -c $(( want - $(stat -c %s "$1") )) "$1" > "$1.more"; cat "$1.more" >> "$1"; rm "$1.more"
  done
}

rss_of_install() { # rss_of_install MIB: peak RSS (KiB) in $work/rss-MIB, chunks in $work/chunks-MIB
  local d="$work/dev-$1"
  make_device "$d" raw
  make_content "$work/v1.img" 100000 1
  make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
  "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1
  "$agent" bootsim --root "$d" >/dev/null
  big_image "$work/big.img" "$1"
  make_pkg "$work/big.zip" 2.0 2 "$work/big.img" raw
  rm -f "$work/big.img"
  "$otter" inspect --json "$work/big.zip" | jq '.images[0].chunks' > "$work/chunks-$1"
  /usr/bin/time -f %M -o "$work/rss-$1" "$agent" -c "$d/agent.conf" install "$work/big.zip" --no-reboot >/dev/null
  local out; out=$("$agent" bootsim --root "$d")
  [[ $out == *"update committed"* ]] || { echo "the $1 MiB image did not land: $out"; exit 1; }
  rm -f "$work/big.zip" "$d/slots/rootfs-b"
}

# Called directly, not in $(...): errexit must stop the test when an install fails.
rss_of_install 64
rss_of_install 1024
small=$(cat "$work/rss-64") large=$(cat "$work/rss-1024")
small_chunks=$(cat "$work/chunks-64") large_chunks=$(cat "$work/chunks-1024")
echo "peak RSS of install: 64 MiB image ($small_chunks chunks): $small KiB, 1 GiB image ($large_chunks chunks): $large KiB"
[ "$large_chunks" -ge 1024 ] || bad "the 1 GiB package has $large_chunks chunks, expected >= 1024"
limit=$(( 16 * 1024 + 2 * large_chunks ))
[ "$large" -le "$limit" ] && ok "1 GiB install peak RSS ${large} KiB <= 16 MiB + its table ($limit KiB)" \
  || bad "RSS $large KiB > $limit KiB"
diff=$(( large > small ? large - small : small - large ))
growth=$(( 1024 + 2 * (large_chunks - small_chunks) ))
[ "$diff" -le "$growth" ] && ok "memory does not grow with the stream: 64 MiB vs 1 GiB differ by $diff KiB (<= $growth)" \
  || bad "RSS grows: $small -> $large KiB (allowed $growth)"

# A delta apply of a 256 MiB image: v2 is v1 with bytes changed in six chunks, 3000 bytes
# inserted at 120 MiB (every later chunk moves) and 2 MiB of new data appended.
d="$work/dev-delta"; make_device "$d" raw
echo "[install]" >> "$d/agent.conf"; echo "workers = 2" >> "$d/agent.conf"
big_image "$work/d1.img" 256
python3 - "$work/d1.img" "$work/d2.img" <<'PY'
import os, sys
v = bytearray(open(sys.argv[1], "rb").read()); M = 1 << 20
for c in (3, 40, 90, 150, 200, 240):
    for k in range(20):
        v[c * M + 4099 * k + 17] ^= 0x5A
v[120 * M:120 * M] = os.urandom(3000)
open(sys.argv[2], "wb").write(v + os.urandom(2 * M))
PY
make_pkg "$work/d1.zip" 1.0 1 "$work/d1.img" raw
make_pkg "$work/d2.zip" 2.0 2 "$work/d2.img" raw
"$otter" delta --from "$work/d1.zip" --to "$work/d2.zip" --root "$work/keys/root.json" \
  --key "$work/keys/r1.key" --key "$work/keys/r2.key" --level 3 -o "$work/d-delta.zip" >/dev/null
"$agent" -c "$d/agent.conf" factory "$work/d1.zip" >/dev/null 2>&1
"$agent" bootsim --root "$d" >/dev/null
rm -f "$work/d1.zip" "$work/d1.img"
/usr/bin/time -f %M -o "$work/rss-delta" "$agent" -c "$d/agent.conf" install "$work/d-delta.zip" --no-reboot >/dev/null
out=$("$agent" bootsim --root "$d")
[[ $out == *"update committed"* ]] && cmp -s -n "$(stat -c %s "$work/d2.img")" "$work/d2.img" "$d/slots/rootfs-b" \
  && ok "256 MiB delta applied and committed, slot B byte for byte" || bad "256 MiB delta: $out"
rss=$(cat "$work/rss-delta")
echo "peak RSS of a 256 MiB delta apply ($(stat -c %s "$work/d-delta.zip") bytes of package, 2 workers): $rss KiB"
[ "$rss" -le $((32 * 1024)) ] && ok "delta apply peak RSS $rss KiB <= 32 MiB" || bad "delta apply RSS $rss KiB > 32 MiB"
rm -rf "$d" "$work/d2.img" "$work/d2.zip" "$work/d-delta.zip"

if ! command -v valgrind >/dev/null; then
  bad "valgrind is missing (make deps installs it): the agent's memcheck run cannot be skipped"
else
  d="$work/vg"; make_device "$d" raw
  make_content "$work/v2.img" 200000 2
  make_pkg "$work/v2.zip" 2.0 2 "$work/v2.img" raw
  make_pkg "$work/bad.zip" 2.0 2 "$work/v2.img" raw gw-a stranger
  vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"; }
  vg "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1 &&
  vg "$agent" bootsim --root "$d" >/dev/null 2>&1 &&
  { vg "$agent" -c "$d/agent.conf" install "$work/bad.zip" >/dev/null 2>&1; [ $? = 1 ]; } &&
  vg "$agent" -c "$d/agent.conf" install "$work/v2.zip" >/dev/null 2>&1 &&
  vg "$agent" bootsim --root "$d" >/dev/null 2>&1 &&
  vg "$agent" -c "$d/agent.conf" status --json >/dev/null 2>&1 \
    && ok "valgrind: factory, boot, refusal, install, commit, status are clean" || bad "valgrind reported errors"
  # A delta: refused on a changed running slot (exit 3), then applied and committed.
  d="$work/vg-delta"; make_device "$d" raw
  "$otter" delta --from "$work/v1.zip" --to "$work/v2.zip" --root "$work/keys/root.json" \
    --key "$work/keys/r1.key" --key "$work/keys/r2.key" --level 3 -o "$work/v2-delta.zip" >/dev/null
  "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1
  "$agent" bootsim --root "$d" >/dev/null 2>&1
  cp "$d/slots/rootfs-a" "$work/slot-a"
  printf '\x01' | dd of="$d/slots/rootfs-a" bs=1 seek=99 conv=notrunc status=none
  { vg "$agent" -c "$d/agent.conf" install "$work/v2-delta.zip" >/dev/null 2>&1; [ $? = 3 ]; } &&
  cp "$work/slot-a" "$d/slots/rootfs-a" &&
  vg "$agent" -c "$d/agent.conf" install "$work/v2-delta.zip" >/dev/null 2>&1 &&
  [[ $(vg "$agent" bootsim --root "$d" 2>&1) == *"update committed"* ]] \
    && ok "valgrind: a delta refused (changed source) and applied are clean" || bad "valgrind: delta install"
  # An encrypted image (issue 13): refused for another key (exit 1), then installed and committed.
  d="$work/vg-crypt"; make_device "$d" raw
  openssl genpkey -algorithm X25519 -out "$work/crypt.key" 2>/dev/null
  openssl genpkey -algorithm X25519 -out "$work/crypt-other.key" 2>/dev/null
  openssl pkey -in "$work/crypt.key" -pubout -out "$work/crypt.pub"
  "$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
    --image "rootfs=$work/v2.img" --key "$work/keys/r1.key" --key "$work/keys/r2.key" \
    --encrypt-for "$work/crypt.pub" -o "$work/v2-enc.zip" >/dev/null
  "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1
  "$agent" bootsim --root "$d" >/dev/null 2>&1
  printf '[crypt]\nkey = %s\n' "$work/crypt-other.key" >> "$d/agent.conf"
  { vg "$agent" -c "$d/agent.conf" install "$work/v2-enc.zip" >/dev/null 2>&1; [ $? = 1 ]; } &&
  sed -i "s|^key = .*|key = $work/crypt.key|" "$d/agent.conf" &&
  vg "$agent" -c "$d/agent.conf" install "$work/v2-enc.zip" >/dev/null 2>&1 &&
  [[ $(vg "$agent" bootsim --root "$d" 2>&1) == *"update committed"* ]] \
    && ok "valgrind: an encrypted image refused (another key) and installed are clean" \
    || bad "valgrind: encrypted install"
fi
finish
