#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device's decryption key for encrypted images held in the TPM (issue 13), against
# swtpm: [crypt] key = handle:0x81..., the content key unwrapped inside the TPM
# (RSA-OAEP-SHA256 through the tpm2-openssl provider).
#  1. `otter-agent tpm crypt-key create` makes an RSA-3072 key persistent in the TPM and
#     prints its public key PEM; `crypt-key public` prints the same; a second create is
#     refused; no private key is on the device's disk.
#  2. After a TPM restart, a package encrypted for that public key (`otter pack
#     --encrypt-for`) installs and commits; slot B holds the clear image; no TPM object
#     is left loaded.
#  3. A package encrypted for another RSA key, and one for an X25519 key only, are
#     refused before any write (state, counter, boot variables, both slots unchanged).
#  4. A TPM key that is not RSA (the TLS identity's ECDSA key at another handle) is
#     refused as a decryption key by name (TPM 2.0 has no X25519); a handle outside
#     the owner persistent range is refused.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/tpm-crypt.$$"
rm -rf "$work"; mkdir -p "$work"
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/tpm_fixture.sh"
need_tpm_tools openssl tpm2_getcap
[ -n "$(find /usr/lib -name tpm2.so -path '*ossl-modules*' 2>/dev/null)" ] \
  || { [ "${CI:-}" = true ] && { echo "FAIL: tpm2-openssl missing" >&2; exit 1; }; echo "SKIP: tpm2-openssl missing" >&2; exit 77; }

trap 'swtpm_stop; [ "$fails" = 0 ] && rm -rf "$work"' EXIT
swtpm_start "$work/tpm-nv"
make_keys
kd="$work/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$kd/other.key" 2>/dev/null
openssl genpkey -algorithm X25519 -out "$kd/x.key" 2>/dev/null
for n in other x; do openssl pkey -in "$kd/$n.key" -pubout -out "$kd/$n.pub"; done

# device_conf DIR KEY: a device's agent.conf with [crypt] key = KEY
device_conf() {
  rm -rf "$1"; make_device "$1" raw
  printf '[tpm]\ntcti = %s\n[crypt]\nkey = %s\n' "$swtpm_tcti" "$2" >> "$1/agent.conf"
}
# device DIR KEY: on 1.0 (factory A, booted, committed), slot B holding known bytes
device() {
  [ -e "$1/agent.conf" ] || device_conf "$1" "$2"
  "$agent" -c "$1/agent.conf" factory "$work/v1.zip" >/dev/null
  "$agent" bootsim --root "$1" >/dev/null
  echo "slot B before the update" > "$1/slots/rootfs-b"
}
run() { local d=$1 rc=0 out; shift; out=$("$agent" -c "$d/agent.conf" "$@" 2>&1) || rc=$?; echo "$rc $out"; }
# refused NAME DIR PKG WANT_MESSAGE: exit 1, the message, nothing on the device changed
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
pack() { # pack OUT RECIPIENT_PUB...
  local out=$1 args=(); shift
  for p in "$@"; do args+=(--encrypt-for "$p"); done
  "$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
    --image "rootfs=$work/v2.img" --key "$kd/r1.key" --key "$kd/r2.key" "${args[@]}" -o "$out" >/dev/null
}

make_content "$work/v1.img" 300000 1
make_content "$work/v2.img" 700000 2
size2=$(stat -c %s "$work/v2.img")
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw

# 1. The key in the TPM.
d="$work/dev"; device_conf "$d" handle:0x81000b00
out=$(run "$d" tpm crypt-key create)
expect "crypt-key create" "${out%% *}" 0
printf '%s\n' "${out#0 }" > "$work/tpm.pub"
expect "it prints an RSA-3072 public key" \
  "$(openssl pkey -pubin -in "$work/tpm.pub" -noout -text 2>&1 | head -1)" "Public-Key: (3072 bit)"
expect "crypt-key public prints the same key" "$(run "$d" tpm crypt-key public)" "0 $(cat "$work/tpm.pub")"
expect "the key is persistent in the TPM" \
  "$(TPM2TOOLS_TCTI=$swtpm_tcti tpm2_getcap handles-persistent)" "- 0x81000B00"
out=$(run "$d" tpm crypt-key create)
[[ $out == "1 "*"holds a key already"* ]] && ok "a second create is refused" || bad "second create: $out"
[ -z "$(grep -rl 'PRIVATE KEY' "$d" "$work/tpm.pub" || true)" ] && ok "no private key on the device's disk" \
  || bad "a private key on disk: $(grep -rl 'PRIVATE KEY' "$d")"

# 2. Encrypted for the TPM key (and another): installs, commits, clear image in slot B;
#    after a TPM restart (a reboot: the key is persistent, the device's disk has none).
swtpm_stop; swtpm_start "$work/tpm-nv"
sed -i "s/^tcti = .*/tcti = $swtpm_tcti/" "$d/agent.conf"
device "$d" handle:0x81000b00
pack "$work/v2.zip" "$kd/other.pub" "$work/tpm.pub"
out=$("$agent" -c "$d/agent.conf" install "$work/v2.zip" 2>&1) && ok "installs the package encrypted for the TPM key" \
  || bad "install: $out"
out=$("$agent" bootsim --root "$d" 2>&1)
[[ $out == "booted slot B: update committed" ]] && ok "committed" || bad "boot: $out"
cmp -s -n "$size2" "$work/v2.img" "$d/slots/rootfs-b" && ok "slot B holds the clear image" \
  || bad "slot B is not the image"
expect "no TPM object left loaded" "$(TPM2TOOLS_TCTI=$swtpm_tcti tpm2_getcap handles-transient)" ""

# 3. Encrypted for other keys only: refused before any write.
pack "$work/other.zip" "$kd/other.pub"
d="$work/dev2"; device "$d" handle:0x81000b00
refused "encrypted for another RSA key" "$d" "$work/other.zip" "not a recipient"
pack "$work/x.zip" "$kd/x.pub"
refused "encrypted for an X25519 key" "$d" "$work/x.zip" "not a recipient"

# 4. A TPM key that cannot be a decryption key; a handle out of range.
e="$work/ecdev"; device_conf "$e" handle:0x81000b01
printf '[server]\nurl = https://127.0.0.1:1\ntenant = t\ncontroller_id = dev-1\nkey = handle:0x81000b01\ncert = %s\n' \
  "$e/device.crt" >> "$e/agent.conf"
expect "an ECDSA identity key at another handle" "$(run "$e" identity create --csr "$e/csr" | cut -c1-2)" "0 "
out=$(run "$e" tpm crypt-key public)
[[ $out == "2 "*"not an RSA decryption key (TPM 2.0 has no X25519"* ]] && ok "crypt-key public refuses the ECDSA key" \
  || bad "ECDSA public: $out"
rc=0; out=$("$agent" -c "$e/agent.conf" factory "$work/v1.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"not an RSA decryption key"* ]] && ok "an install with an ECDSA TPM key as [crypt] key is refused" \
  || bad "ECDSA [crypt] key: $rc $out"
sed -i 's/^key = handle:0x81000b00$/key = handle:0x01000b00/' "$work/dev2/agent.conf"
out=$(run "$work/dev2" tpm crypt-key create)
[[ $out == "2 "*"want handle:0x81000000-0x817fffff"* ]] && ok "a handle outside the persistent range is refused" \
  || bad "bad handle: $out"
finish
