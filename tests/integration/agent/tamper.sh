#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A tampered archive payload never reaches the tar extractor. The attacker
# swaps the payload of a signed package for a tar of the same size whose "."
# entry would chmod/chown the slot directory and which carries a setuid file,
# keeps the zip consistent (valid CRC, same stored size) and the signed
# manifest as it was. Format 2: refused at chunk 0, before any byte is
# extracted. Format 1: refused before the image, since a format 1 image is
# only judged at its end (the old agent extracted it first and its abort left
# the slot directory's new mode and owner behind).
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-tamper.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }

# Two tars with the same layout and sizes: good (0755 root dir, plain files)
# and hostile ("." 0777 owned by 65534, a setuid root binary).
python3 - "$work" <<'PY'
import io, sys, tarfile
work = sys.argv[1]
def build(path, hostile):
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        d = tarfile.TarInfo(".")
        d.type, d.mode = tarfile.DIRTYPE, 0o777 if hostile else 0o755
        d.uid = d.gid = 65534 if hostile else 0
        t.addfile(d)
        for name, size, mode in (("etc/os-release", 40, 0o644), ("usr/bin/app", 200000, 0o4755 if hostile else 0o755)):
            data = bytes((i * 7 + (13 if hostile else 0)) % 251 for i in range(size))
            f = tarfile.TarInfo(name); f.size, f.mode = size, mode
            t.addfile(f, io.BytesIO(data))
build(work + "/good.tar", False)
build(work + "/hostile.tar", True)
PY
[ "$(stat -c %s "$work/good.tar")" = "$(stat -c %s "$work/hostile.tar")" ] || { echo "tars differ in size"; exit 1; }

# swap_payload PKG OUT TAR FORMAT: OUT is PKG with its image entry replaced by
# TAR compressed to exactly the same stored size (a zstd skippable frame pads).
swap_payload() {
  python3 - "$@" <<'PY'
import json, struct, subprocess, sys, zipfile
pkg, out, tar, fmt = sys.argv[1:5]
z = zipfile.ZipFile(pkg)
names = [i.filename for i in z.infolist()]
entries = {n: z.read(n) for n in names}
image = names[2]
want = len(entries[image])
raw = open(tar, "rb").read()
for level in range(1, 20):
    frame = subprocess.run(["zstd", "-q", "-c", "-%d" % level, "--no-check"], input=raw,
                           capture_output=True, check=True).stdout
    if len(frame) + 8 <= want:
        break
else:
    sys.exit("hostile payload does not fit")
pad = want - len(frame) - 8
entries[image] = frame + struct.pack("<II", 0x184D2A50, pad) + b"\0" * pad
assert len(entries[image]) == want
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as o:
    for n in names:
        o.writestr(zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0)), entries[n])
PY
}

mode_owner() { stat -c '%a %u' "$1"; }

for format in 2 1; do
  d="$work/dev-$format"
  make_device "$d" archive
  mkdir -p "$work/t1"; echo "v1" > "$work/t1/version"; tar -C "$work/t1" -cf "$work/v1.tar" .
  make_pkg "$work/v1.zip" 1.0 1 "$work/v1.tar" archive
  "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null
  "$agent" bootsim --root "$d" >/dev/null
  "$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --format "$format" \
    --image "rootfs=$work/good.tar:handler=archive" --key "$work/keys/r1.key" --key "$work/keys/r2.key" \
    -o "$work/good-$format.zip" >/dev/null
  swap_payload "$work/good-$format.zip" "$work/bad-$format.zip" "$work/hostile.tar" "$format"
  unzip -tq "$work/bad-$format.zip" >/dev/null && ok "format $format: the tampered package is a consistent zip" \
    || bad "format $format: tampered zip is not consistent"
  chmod 0750 "$d/slots/rootfs-b"
  before_mode=$(mode_owner "$d/slots/rootfs-b")
  before=$(fingerprint "$d")
  rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/bad-$format.zip" 2>&1) || rc=$?
  case $format in
    2) want="image rootfs: chunk 0: stored bytes sha256 mismatch" ;;
    1) want="image rootfs: format 1 archive images are refused" ;;
  esac
  [ "$rc" = 1 ] && [[ $out == *"$want"* ]] && ok "format $format: refused (${out##*otter-agent: })" \
    || bad "format $format: rc=$rc $out"
  [ "$(mode_owner "$d/slots/rootfs-b")" = "$before_mode" ] \
    && ok "format $format: slot directory keeps mode and owner ($before_mode)" \
    || bad "format $format: slot directory is now $(mode_owner "$d/slots/rootfs-b"), was $before_mode"
  [ -z "$(find "$d/slots/rootfs-b" -perm -4000 2>/dev/null)" ] && [ "$(fingerprint "$d")" = "$before" ] \
    && ok "format $format: nothing extracted, nothing changed" || bad "format $format: the slot or state changed"
done
# The good format 2 package of the same shape installs (the test can pass only by refusing bad input).
d="$work/dev-2"
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/good-2.zip" 2>&1) || rc=$?
[ "$rc" = 0 ] && [ -x "$d/slots/rootfs-b/usr/bin/app" ] && ok "the untampered package installs" \
  || bad "untampered package: rc=$rc $out"

finish
