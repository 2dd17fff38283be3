#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Custom handlers (issue #14, docs/porting.md "Custom handlers"): a slot class
# whose handler is a [handler.NAME] executable from agent.conf.
#   1. the handler gets exactly the image's bytes on stdin (several chunks),
#      its arguments ([handler] args, then slot path, size, sha256, image) and
#      a clean environment; the install commits as usual;
#   2. a handler that fails after reading everything fails the install with
#      its exit status and stderr in the message; one that exits at once
#      (before reading) too, even with status 0; the running side is
#      unchanged each time;
#   3. a package whose third chunk was tampered: the handler sees only the
#      verified chunks before it, never an EOF, and is killed;
#   4. format 1 images for a custom handler are refused (judged only at their end).
# On the old code step 1 fails: agent.conf refuses [handler.modem].
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-exec.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }

make_content "$work/rootfs1.img" 300000 1
make_content "$work/rootfs2.img" 300000 2
head -c 400000 /dev/urandom > "$work/modem1.bin"
head -c 400000 /dev/urandom > "$work/modem2.bin"
size2=$(stat -c %s "$work/modem2.bin"); sha2=$(sha256sum < "$work/modem2.bin" | cut -d' ' -f1)

# The handler: records its arguments, environment and stdin, then marks EOF.
cat > "$work/modem-flash" <<'SH'
#!/bin/sh
printf '%s\n' "$@" > "$OTTER_SLOT_PATH.args"
env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort > "$OTTER_SLOT_PATH.env"
cat > "$OTTER_SLOT_PATH" || exit 9
echo eof > "$OTTER_SLOT_PATH.eof"
SH
cat > "$work/modem-late-fail" <<'SH'
#!/bin/sh
cat > /dev/null
echo "modem refused the image: bad vendor signature" >&2
exit 4
SH
cat > "$work/modem-early-fail" <<'SH'
#!/bin/sh
echo "modem not answering on /dev/ttyUSB2" >&2
exit 5
SH
cat > "$work/modem-lazy-fail" <<'SH'
#!/bin/sh
echo "nothing to do" >&2
exit 0
SH
chmod +x "$work"/modem-*

# pack OUT VERSION SECVER N [FORMAT]: rootfs N (raw) + modem N (custom, stored, 64 KiB chunks)
pack() {
  "$otter" pack --product gw --compatible gw-a --version "$2" --security-version "$3" \
    --chunk-size 64KiB --format "${5:-2}" --image "rootfs=$work/rootfs$4.img:handler=raw" \
    --image "modem=$work/modem$4.bin:handler=modem:compression=none" \
    --key "$work/keys/r1.key" --key "$work/keys/r2.key" -o "$1" >/dev/null
}
pack "$work/v1.zip" 1.0 1 1
pack "$work/v2.zip" 2.0 2 2
# device DIR COMMAND: on 1.0, with the modem class handled by COMMAND
device() {
  rm -rf "$1"; make_device "$1" raw
  : > "$1/slots/modem-a"; : > "$1/slots/modem-b"
  cat >> "$1/agent.conf" <<CONF
[slot.modem]
a = $1/slots/modem-a
b = $1/slots/modem-b
handler = modem
[handler.modem]
command = $work/modem-flash
args = --port /dev/ttyUSB2
timeout = 20
CONF
  "$agent" -c "$1/agent.conf" factory "$work/v1.zip" >/dev/null || die "factory install with the handler"
  "$agent" bootsim --root "$1" >/dev/null
  sed -i "/^\[handler.modem\]/,\$ s|^command = .*|command = $2|" "$1/agent.conf"
}

# 1. Exactly the image's bytes, the documented arguments and environment.
d="$work/ok"; device "$d" "$work/modem-flash"
out=$("$agent" -c "$d/agent.conf" install "$work/v2.zip" 2>&1) && ok "installs with a custom handler" \
  || bad "install: $out"
cmp -s "$d/slots/modem-b" "$work/modem2.bin" && [ -e "$d/slots/modem-b.eof" ] \
  && ok "the handler got exactly the image's bytes ($size2, 7 chunks), then EOF" || bad "the handler's bytes differ"
expect "its arguments: [handler] args, slot path, size, sha256, image" "$(cat "$d/slots/modem-b.args")" \
  "--port
/dev/ttyUSB2
$d/slots/modem-b
$size2
$sha2
modem"
expect "its environment: PATH and OTTER_* only" "$(cat "$d/slots/modem-b.env")" \
  "OTTER_HANDLER=modem
OTTER_IMAGE=modem
OTTER_IMAGE_SHA256=$sha2
OTTER_IMAGE_SIZE=$size2
OTTER_SLOT=B
OTTER_SLOT_PATH=$d/slots/modem-b
OTTER_VERSION=2.0
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
out=$("$agent" bootsim --root "$d" 2>&1)
[[ $out == "booted slot B: update committed" ]] && ok "2.0 boots and commits" || bad "boot: $out"

# 2. Failing handlers: the install fails with their status and stderr.
for kind in late early lazy; do
  d="$work/$kind"; device "$d" "$work/modem-$kind-fail"; before=$(active_fingerprint "$d")
  rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2.zip" 2>&1) || rc=$?
  case $kind in
    late) want="image modem: slot B: custom handler: modem exited with 4: modem refused the image: bad vendor signature" ;;
    early) want="modem not answering on /dev/ttyUSB2" ;;
    lazy) want="nothing to do" ;; # exit 0 without reading: never a success
  esac
  [ "$rc" != 0 ] && [[ $out == *"$want"* ]] && ok "$kind failure: the install fails (exit $rc) with the handler's stderr" \
    || bad "$kind failure: rc $rc: $out"
  st=$("$agent" -c "$d/agent.conf" status --json | tr -d ' \n')
  [ "$(active_fingerprint "$d")" = "$before" ] && [[ $st == *'"B":null'* && $st == *'"pending":null'* ]] \
    && ok "$kind failure: running side unchanged, slot B invalid, nothing pending" || bad "$kind failure: $st"
done

# 3. A tampered chunk: the handler gets the verified chunks before it, no EOF, and is killed.
python3 - "$work/v2.zip" "$work/v2-tampered.zip" <<'PY'
import sys, zipfile
src, out = sys.argv[1:3]
z = zipfile.ZipFile(src)
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as o:
    for info in z.infolist():
        data = z.read(info.filename)
        if info.filename.startswith("modem"):
            at = 2 * 65536 + 100  # in the third chunk
            data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
        o.writestr(info.filename, data)
PY
d="$work/tampered"; device "$d" "$work/modem-flash"; before=$(active_fingerprint "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-tampered.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"image modem"* ]] && ok "a tampered chunk refuses the install (exit $rc)" || bad "tampered: rc $rc: $out"
got=$(stat -c %s "$d/slots/modem-b")
[ "$got" -le $((2 * 65536)) ] && cmp -s -n "$got" "$d/slots/modem-b" "$work/modem2.bin" && [ ! -e "$d/slots/modem-b.eof" ] \
  && ok "the handler saw only verified bytes ($got, before the bad chunk) and no EOF" \
  || bad "the handler got $got bytes (eof: $(cat "$d/slots/modem-b.eof" 2>/dev/null))"
[ "$(active_fingerprint "$d")" = "$before" ] && ok "tampered: the running side unchanged" || bad "tampered: running side changed"

# 4. Format 1: refused for a custom handler before anything is written.
pack "$work/v2-f1.zip" 2.0 2 2 1
d="$work/f1"; device "$d" "$work/modem-flash"; before=$(fingerprint "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-f1.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"format 1"* ]] && [ "$(fingerprint "$d")" = "$before" ] && [ ! -e "$d/slots/modem-b.args" ] \
  && ok "format 1 refused for a custom handler, nothing run or written" || bad "format 1: rc $rc: $out"
finish
