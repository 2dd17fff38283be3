#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A download cut by a power loss resumes from the first missing chunk. The
# agent is killed (SIGKILL at a byte of the slot write) while it installs a
# format 2 package from a real nginx on 127.0.0.1; the next `otter-agent
# install URL` re-hashes what slot B holds against the signed chunk table and
# asks nginx for the rest with a Range request starting at that chunk's first
# stored byte (nginx's log shows it). A slot byte damaged after the cut moves
# the resume point back to its chunk; a damaged record means a fresh start;
# otter-fetch --offset copes with a server that ignores Range. A delta
# package cut the same way resumes the same way, and its source (the
# running slot) is checked again first: changed meanwhile, it is refused
# (exit 3) and nothing more is written.
set -euo pipefail
command -v nginx >/dev/null || { echo "nginx missing: run make deps"; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 1; }
work="${OTTER_TEST_TMP:-/tmp}/agent-resume.$$"
rm -rf "$work"; mkdir -p "$work/www" "$work/logs"
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source "$OTTER_SOURCE_DIR/tests/integration/nginx_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys

range_servers() { # range_servers BASE: Range honoured on BASE, ignored on BASE+1
  cat <<CONF
  log_format ranges '\$status range=[\$http_range] sent=\$body_bytes_sent';
  access_log $work/logs/access.log ranges;
  server { listen 127.0.0.1:$1; root $work/www; }
  server { listen 127.0.0.1:$(($1 + 1)); max_ranges 0; root $work/www; }
CONF
}
nginx_start "$work" "$work/logs" range_servers || exit 1
port=$nginx_base; noranges=$((nginx_base + 1))
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

make_content "$work/v1.img" 100000 1
make_pkg "$work/v1-raw.zip" 1.0 1 "$work/v1.img" raw
make_pkg "$work/v1-file.zip" 1.0 1 "$work/v1.img" file
make_content "$work/v2.img" 3000000 2
for handler in raw file; do
  "$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
    --image "rootfs=$work/v2.img:handler=$handler" --key "$work/keys/r1.key" --key "$work/keys/r2.key" \
    -o "$work/www/update-$handler.zip" >/dev/null
done
cp "$work/www/update-raw.zip" "$work/www/update.zip"
"$otter" delta --from "$work/v1-raw.zip" --to "$work/www/update-raw.zip" --root "$work/keys/root.json" \
  --key "$work/keys/r1.key" --key "$work/keys/r2.key" --level 3 -o "$work/www/delta.zip" >/dev/null
url="http://127.0.0.1:$port/update.zip"
size=$(stat -c %s "$work/www/update.zip")

# chunk_from N [PACKAGE]: the package byte where chunk N of rootfs starts (entry data offset + stored_offset).
chunk_from() {
  python3 - "${2:-$work/www/update.zip}" "$1" <<'PY'
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); info = z.infolist()[2]
f = open(sys.argv[1], "rb"); f.seek(info.header_offset); h = f.read(30)
data = info.header_offset + 30 + int.from_bytes(h[26:28], "little") + int.from_bytes(h[28:30], "little")
m = json.loads(z.read("manifest.json"))
print(data + m["images"][0]["chunks"][int(sys.argv[2])]["stored_offset"])
PY
}

# cut DIR [HANDLER]: a fresh device on 1.0, then an install of 2.0 killed after installed byte
# 1,000,000 (chunk 15 of 64 KiB written: chunks 0..15 are in slot B, or in its temp file).
cut() {
  local d=$1 handler=${2:-raw} rc=0
  rm -rf "$d"; make_device "$d" "$handler"
  "$agent" -c "$d/agent.conf" factory "$work/v1-$handler.zip" >/dev/null
  "$agent" bootsim --root "$d" >/dev/null
  (OTTER_CRASH_AT=install-write@1000000 exec "$agent" -c "$d/agent.conf" install "${3:-$url}" --no-reboot \
    >/dev/null 2>&1) || rc=$?
  expect "killed mid-write" "$rc" 137
  [ -s "$d/state/resume.json" ] && ok "the resume record survived the kill" || bad "no resume record"
}

last_log() { tail -n 1 "$work/logs/access.log"; }
committed() { # committed DIR NAME: the resumed install committed, slot B holds 2.0 byte for byte
  local d=$1 out
  out=$("$agent" bootsim --root "$d")
  [[ $out == *"booted slot B: update committed"* ]] && cmp -s -n 3000000 "$work/v2.img" "$d/slots/rootfs-b" \
    && [ ! -e "$d/state/resume.json" ] && ok "$2: 2.0 committed, slot B byte for byte, record gone" \
    || bad "$2: $out"
}

# 1. Resume after the cut: a Range from chunk 16's first stored byte, the rest of the package only.
d="$work/dev"
cut "$d"
from=$(chunk_from 16)
out=$("$agent" -c "$d/agent.conf" install "$url" --no-reboot 2>&1) || bad "resumed install failed: $out"
[[ $out == *"resuming at image rootfs chunk 16 (package byte $from)"* ]] \
  && ok "resumed at chunk 16 (byte $from of $size)" || bad "resume point: $out"
expect "nginx got one Range request from chunk 16" "$(last_log)" "206 range=[bytes=$from-] sent=$((size - from))"
committed "$d" "after the cut"

# 2. A slot byte lost after the cut (chunk 5): the re-hash finds it, the Range starts there.
cut "$d"
printf '\x5a' | dd of="$d/slots/rootfs-b" bs=1 seek=$((5 * 65536 + 100)) conv=notrunc status=none
from=$(chunk_from 5)
out=$("$agent" -c "$d/agent.conf" install "$url" --no-reboot 2>&1) || bad "resumed install failed: $out"
[[ $out == *"resuming at image rootfs chunk 5 (package byte $from)"* ]] \
  && ok "damaged chunk 5: resumed there" || bad "damaged slot: $out"
expect "nginx: Range from chunk 5" "$(last_log)" "206 range=[bytes=$from-] sent=$((size - from))"
committed "$d" "after a damaged chunk"

# 3. A damaged record is no resume: the install starts at byte 0 and succeeds.
cut "$d"
echo '{"format": 1, "url": ' > "$d/state/resume.json"
out=$("$agent" -c "$d/agent.conf" install "$url" --no-reboot 2>&1) || bad "install after a bad record: $out"
[[ $out == *"starting from byte 0"* ]] && ok "damaged record: started from byte 0" || bad "bad record: $out"
expect "nginx: the whole package" "$(last_log)" "200 range=[-] sent=$size"
committed "$d" "after a damaged record"

# 4. A file slot: its bytes wait in a temp file beside the slot; the record names it and the
#    resume continues it (a Range from chunk 16 again), then renames it over the slot.
d="$work/dev-file"
cut "$d" file "http://127.0.0.1:$port/update-file.zip"
grep -q '"partial":"'"$d"'/slots/rootfs-b.tmp.' "$d/state/resume.json" \
  && ok "file slot: the record names its temp file" || bad "file slot record: $(head -c 300 "$d/state/resume.json")"
from=$(chunk_from 16 "$work/www/update-file.zip")
out=$("$agent" -c "$d/agent.conf" install "http://127.0.0.1:$port/update-file.zip" --no-reboot 2>&1) \
  || bad "resumed file install failed: $out"
[[ $out == *"resuming at image rootfs chunk 16 (package byte $from)"* ]] \
  && ok "file slot: resumed at chunk 16" || bad "file slot resume point: $out"
expect "file slot: nginx Range from chunk 16" "$(last_log)" \
  "206 range=[bytes=$from-] sent=$(( $(stat -c %s "$work/www/update-file.zip") - from ))"
out=$("$agent" bootsim --root "$d")
[[ $out == *"booted slot B: update committed"* ]] && cmp -s "$work/v2.img" "$d/slots/rootfs-b" \
  && ! compgen -G "$d/slots/*tmp*" >/dev/null && ok "file slot: 2.0 committed, no temp file left" \
  || bad "file slot: $out $(ls "$d/slots")"

# 6. A delta cut mid-apply: the resume re-checks its source, then continues at chunk 16.
d="$work/dev-delta"; durl="http://127.0.0.1:$port/delta.zip"
cut "$d" raw "$durl"
from=$(chunk_from 16 "$work/www/delta.zip")
out=$("$agent" -c "$d/agent.conf" install "$durl" --no-reboot 2>&1) || bad "resumed delta failed: $out"
[[ $out == *"resuming at image rootfs chunk 16 (package byte $from)"* ]] \
  && ok "delta: resumed at chunk 16" || bad "delta resume point: $out"
expect "delta: nginx Range from chunk 16" "$(last_log)" \
  "206 range=[bytes=$from-] sent=$(( $(stat -c %s "$work/www/delta.zip") - from ))"
finish "$d" "delta after the cut"

# 7. The running slot changed while the device was off: the resumed delta is refused before
#    it writes on (exit 3); slot B, the state file, boot variables and counter stay as the cut left them.
cut "$d" raw "$durl"
printf '\x01' | dd of="$d/slots/rootfs-a" bs=1 seek=500 conv=notrunc status=none
before=$(cd "$d" && find . -type f -exec sha256sum {} + | sort | sha256sum)
rc=0; out=$("$agent" -c "$d/agent.conf" install "$durl" --no-reboot 2>&1) || rc=$?
[ "$rc" = 3 ] && [[ $out == *"source mismatch"*"$d/slots/rootfs-a"* ]] \
  && ok "delta: a changed source is refused at the resume (exit 3)" || bad "changed source at resume: exit $rc: $out"
[ "$(cd "$d" && find . -type f -exec sha256sum {} + | sort | sha256sum)" = "$before" ] \
  && ok "delta: the refused resume wrote nothing" || bad "delta: the refused resume changed the device"

# 8. A package with an install hook leaves no resume record: a resume would start after the
#    pre_install hook ran in the cut attempt (skipping it, or running it twice around a half
#    slot). Cut the same way, the next install starts from byte 0 and runs the hook again.
printf '#!/bin/sh\necho ran >> %s/hook-runs\n' "$work" > "$work/pre.sh"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
  --image "rootfs=$work/v2.img:handler=raw" --pre-install "$work/pre.sh" \
  --key "$work/keys/r1.key" --key "$work/keys/r2.key" -o "$work/www/update-hooks.zip" >/dev/null
hurl="http://127.0.0.1:$port/update-hooks.zip"
rm -rf "$d"; make_device "$d" raw
"$agent" -c "$d/agent.conf" factory "$work/v1-raw.zip" >/dev/null
"$agent" bootsim --root "$d" >/dev/null
rc=0; (OTTER_CRASH_AT=install-write@1000000 exec "$agent" -c "$d/agent.conf" install "$hurl" --no-reboot \
  >/dev/null 2>&1) || rc=$?
expect "hooks: killed mid-write" "$rc" 137
[ ! -e "$d/state/resume.json" ] && ok "hooks: no resume record" || bad "hooks: a record: $(head -c 300 "$d/state/resume.json")"
out=$("$agent" -c "$d/agent.conf" install "$hurl" --no-reboot 2>&1) || bad "hooks: install after the cut: $out"
[[ $out != *"resuming at"* ]] && [ "$(last_log)" = "200 range=[-] sent=$(stat -c %s "$work/www/update-hooks.zip")" ] \
  && ok "hooks: the next install fetched the whole package" || bad "hooks: $(last_log)"
expect "hooks: pre_install ran in both attempts" "$(cat "$work/hook-runs")" "$(printf 'ran\nran')"
committed "$d" "hooks"

# 5. otter-fetch --offset against a server that ignores Range: the body from that byte all the same.
from=$(chunk_from 16)
"$OTTER_BUILD_DIR/bin/otter-fetch" --offset "$from" "http://127.0.0.1:$noranges/update.zip" > "$work/tail.bin"
tail -c +"$((from + 1))" "$work/www/update.zip" | cmp -s - "$work/tail.bin" \
  && ok "otter-fetch --offset with Range ignored (200): the body from byte $from" \
  || bad "otter-fetch --offset without ranges differs"
"$OTTER_BUILD_DIR/bin/otter-fetch" --offset "$from" "$url" | cmp -s - "$work/tail.bin" \
  && ok "otter-fetch --offset with Range: the same bytes" || bad "otter-fetch --offset with Range differs"

finish
