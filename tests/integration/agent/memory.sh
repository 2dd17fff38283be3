#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The install streams with bounded memory: peak RSS of `otter-agent install`
# does not grow with the bytes it streams. What does grow is the signed chunk
# table (format 2), held while the manifest is parsed: at most 2 KiB a chunk
# (1 GiB at the default 1 MiB chunks: 1024 chunks). So: at most 16 MiB plus
# the table, and a 64 MiB and a 1 GiB install differ by at most 1 MiB plus the
# difference of their tables. And the agent is valgrind-clean (install, boot
# simulator, status, refusal).
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
fi
finish
