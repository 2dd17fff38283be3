#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Encrypted images (docs/package-format.md, "Encrypted images") installed from a file
# by otter-agent on simulated devices:
#   1. a package encrypted for an X25519 and an RSA-3072 device key installs on a
#      device holding either key ([crypt] key) and commits; slot B is the clear image;
#   2. a device whose key is not a recipient, and one without [crypt] key, refuse it
#      with a clear message before anything is written (state, counter, boot
#      variables, both slots byte for byte as they were);
#   3. a flipped ciphertext byte in the first chunk is refused before any byte is
#      written (slot B untouched); in a later chunk, refused with the running slot,
#      state record and counter untouched;
#   4. a re-signed manifest with another nonce prefix (GCM tag fails) or an altered
#      wrapped key (does not open) is refused before any write; altered without
#      re-signing, the signature refuses it;
#   5. otter verify checks it without a key; otter inspect names the recipients by
#      key id and prints no key; otter delta refuses encrypted packages by name.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-crypt.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys
kd="$work/keys"
openssl genpkey -algorithm X25519 -out "$kd/dev.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$kd/rsa.key" 2>/dev/null
openssl genpkey -algorithm X25519 -out "$kd/other.key" 2>/dev/null
for n in dev rsa other; do openssl pkey -in "$kd/$n.key" -pubout -out "$kd/$n.pub"; done
keyid() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

make_content "$work/v1.img" 300000 1
make_content "$work/v2.img" 700000 2
size2=$(stat -c %s "$work/v2.img")
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
  --image "rootfs=$work/v2.img" --key "$kd/r1.key" --key "$kd/r2.key" \
  --encrypt-for "$kd/dev.pub" --encrypt-for "$kd/rsa.pub" -o "$work/v2.zip" >/dev/null
entry=rootfs.img.zst.enc

# device DIR [KEY]: on 1.0 (factory A, booted, committed), slot B holding known bytes
device() {
  rm -rf "$1"; make_device "$1" raw
  [ -z "${2:-}" ] || printf '[crypt]\nkey = %s\n' "$2" >> "$1/agent.conf"
  "$agent" -c "$1/agent.conf" factory "$work/v1.zip" >/dev/null
  "$agent" bootsim --root "$1" >/dev/null
  echo "slot B before the update" > "$1/slots/rootfs-b"
}
# refused NAME DIR PKG WANT_MESSAGE: exit 1 (refused), the message, nothing on the device changed
refused() {
  local before b_before rc=0 out
  before=$(fingerprint "$2"); b_before=$(sha256sum < "$2/slots/rootfs-b")
  out=$("$agent" -c "$2/agent.conf" install "$3" 2>&1) || rc=$?
  expect "$1: exit status" "$rc" 1
  [[ $out == *"$4"* ]] && ok "$1: says \"$4\"" || bad "$1: message: $out"
  [ "$(fingerprint "$2")" = "$before" ] && ok "$1: state, counter, boot variables, slot A untouched" \
    || bad "$1: the device changed"
  [ "$(sha256sum < "$2/slots/rootfs-b")" = "$b_before" ] && ok "$1: slot B untouched (no byte written)" \
    || bad "$1: slot B was written"
}

# 1. Both recipients install it.
for who in dev rsa; do
  d="$work/$who"; device "$d" "$kd/$who.key"
  out=$("$agent" -c "$d/agent.conf" install "$work/v2.zip" 2>&1) && ok "$who: installs the encrypted package" \
    || bad "$who: install: $out"
  out=$("$agent" bootsim --root "$d" 2>&1)
  [[ $out == "booted slot B: update committed" ]] && ok "$who: committed" || bad "$who: boot: $out"
  cmp -s -n "$size2" "$work/v2.img" "$d/slots/rootfs-b" && ok "$who: slot B holds the clear image" \
    || bad "$who: slot B is not the image"
done

# 2. Not a recipient; no key configured.
d="$work/other"; device "$d" "$kd/other.key"
refused "another key" "$d" "$work/v2.zip" "not a recipient"
out=$("$agent" -c "$d/agent.conf" install "$work/v2.zip" 2>&1 || true)
[[ $out == *"$(keyid "$kd/dev.pub" | cut -c1-16)"* && $out == *"$(keyid "$kd/other.pub" | cut -c1-16)"* ]] \
  && ok "another key: the message names the recipients and this device's key" || bad "message: $out"
d="$work/nokey"; device "$d"
refused "no [crypt] key" "$d" "$work/v2.zip" "no decryption key is configured"

# 3. A flipped ciphertext byte: chunk 0, then chunk 3.
flip() { # flip PKG OUT CHUNK: one byte of that chunk's ciphertext changed
  python3 - "$1" "$2" "$3" "$entry" <<'PY'
import json, struct, sys, zipfile
src, dst, chunk, entry = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = bytearray(open(src, 'rb').read())
z = zipfile.ZipFile(src)
info = z.getinfo(entry)
m = json.loads(z.read('manifest.json'))
c = m['images'][0]['chunks'][chunk]
h = info.header_offset
name_len, extra_len = struct.unpack('<HH', data[h + 26:h + 30])
at = h + 30 + name_len + extra_len + c['stored_offset'] + c['stored_size'] // 2
data[at] ^= 0x01
open(dst, 'wb').write(data)
PY
}
flip "$work/v2.zip" "$work/flip0.zip" 0
d="$work/flip0"; device "$d" "$kd/dev.key"
refused "flipped byte in chunk 0" "$d" "$work/flip0.zip" "chunk 0: ciphertext sha256 mismatch"
flip "$work/v2.zip" "$work/flip3.zip" 3
d="$work/flip3"; device "$d" "$kd/dev.key"
before=$(active_fingerprint "$d"); rc=0
out=$("$agent" -c "$d/agent.conf" install "$work/flip3.zip" 2>&1) || rc=$?
expect "flipped byte in chunk 3: exit status" "$rc" 1
[[ $out == *"chunk 3: ciphertext sha256 mismatch"* ]] && ok "flipped byte in chunk 3: refused at that chunk" \
  || bad "chunk 3: $out"
[ "$(active_fingerprint "$d")" = "$before" ] && ok "chunk 3: running slot, booted slot and counter untouched" \
  || bad "chunk 3: the running side changed"

# 4. Re-signed manifests with another nonce prefix or an altered wrapped key.
resign() { # resign PKG OUT PYTHON_EDIT [nosign]: manifest edited (m), repacked, signed by r1+r2
  local t="$work/re"; rm -rf "$t"; mkdir -p "$t"; (cd "$t" && unzip -q "$1")
  python3 - "$t/manifest.json" "$3" <<'PY'
import base64, json, sys
p, edit = sys.argv[1], sys.argv[2]
m = json.load(open(p))
enc = m['images'][0]['encryption']
def flip_b64(s):
    raw = bytearray(base64.b64decode(s)); raw[5] ^= 1; return base64.b64encode(bytes(raw)).decode()
exec(edit)
open(p, 'w').write(json.dumps(m, indent=2))
PY
  rm -f "$2"; (cd "$t" && zip -q -0 -X "$2" manifest.json manifest.sig "$entry")
  [ "${4:-}" = nosign ] || "$otter" sign "$2" --key "$kd/r1.key" --key "$kd/r2.key" >/dev/null
}
resign "$work/v2.zip" "$work/nonce.zip" "enc['nonce_prefix'] = '%016x' % (int(enc['nonce_prefix'], 16) ^ 1)"
d="$work/nonce"; device "$d" "$kd/dev.key"
refused "another nonce prefix (re-signed)" "$d" "$work/nonce.zip" "GCM tag mismatch"
resign "$work/v2.zip" "$work/wrapped.zip" "enc['recipients'][0]['wrapped_key'] = flip_b64(enc['recipients'][0]['wrapped_key'])"
d="$work/wrapped"; device "$d" "$kd/dev.key"
refused "an altered wrapped key (re-signed)" "$d" "$work/wrapped.zip" "does not open"
resign "$work/v2.zip" "$work/epk.zip" "enc['recipients'][0]['epk'] = flip_b64(enc['recipients'][0]['epk'])"
d="$work/epk"; device "$d" "$kd/dev.key"
refused "an altered ephemeral key (re-signed)" "$d" "$work/epk.zip" "does not open"
resign "$work/v2.zip" "$work/unsigned.zip" "enc['recipients'].reverse()" nosign
d="$work/unsigned"; device "$d" "$kd/dev.key"
refused "a reordered recipients list (not re-signed)" "$d" "$work/unsigned.zip" "manifest.sig"

# 5. The release tool, without any key.
out=$("$otter" verify --trust "$kd/root.json" "$work/v2.zip" 2>&1) && [[ $out == *"image rootfs is encrypted"* ]] \
  && ok "otter verify checks it without a key" || bad "verify: $out"
rc=0; "$otter" verify --trust "$kd/root.json" "$work/flip3.zip" >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] && ok "otter verify refuses a flipped ciphertext byte without a key" || bad "verify passed flip3"
out=$("$otter" inspect "$work/v2.zip")
[[ $out == *"$(keyid "$kd/dev.pub")  x25519-hkdf-sha256-a256gcm"* && $out == *"$(keyid "$kd/rsa.pub")  rsa-oaep-sha256"* ]] \
  && ok "otter inspect names both recipients by key id" || bad "inspect: $out"
wrapped=$(unzip -p "$work/v2.zip" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["encryption"]["recipients"][0]["wrapped_key"])')
[[ $out != *"$wrapped"* && $out != *"key:"* ]] && ok "otter inspect prints no key, not even a wrapped one" \
  || bad "inspect shows key material"
rc=0; out=$("$otter" delta --from "$work/v1.zip" --to "$work/v2.zip" --root "$kd/root.json" \
  --key "$kd/r1.key" -o "$work/delta.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"encrypted images cannot be delta bases or targets yet"* ]] \
  && ok "otter delta refuses an encrypted package by name" || bad "delta: rc $rc: $out"
finish
