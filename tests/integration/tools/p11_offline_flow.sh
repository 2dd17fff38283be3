#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The offline signing room of docs/keys.md, whole: three release signers, a 2-of-3 trust
# root. The build server packs without any key; the unsigned package is carried (copied)
# to the offline machine; each signer adds one signature to the same package in turn
# (alice: an encrypted PKCS#8 file, bob: a P-256 key on a SoftHSM2 token, carol: a file);
# `otter verify --trust root.json` refuses it until two have signed, then accepts it,
# before it is carried back for upload.
set -euo pipefail
otter="$OTTER_BUILD_DIR/bin/otter"
work="${OTTER_TEST_TMP:-/tmp}/p11-offline.$$"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tools/p11_fixture.sh"
p11_init
mkdir build-server room upload

# Key ceremony: each signer makes a key where it will live; only public keys leave.
printf 'alice passphrase\n' >room/alice.pass
"$otter" keygen --type rsa-3072 --encrypt --passphrase-file room/alice.pass \
  --out room/alice >/dev/null
p11_token bob-hsm 246810
p11_keypair bob-hsm 246810 EC:prime256v1 bob-release 0b
p11_pubkey bob-hsm 0b room/bob.pub
printf '246810\n' >room/bob.pin
"$otter" keygen --type ed25519 --out room/carol >/dev/null
"$otter" root new --pubkey room/alice.pub --pubkey room/bob.pub --pubkey room/carol.pub \
  --threshold 2 -o root.json >/dev/null

# Build server: the package, with no key at all.
head -c 500000 "$otter" >build-server/rootfs.img
(cd build-server && "$otter" pack --product gw --compatible gw-a --version 3.1.0 \
  --security-version 2 --image rootfs=rootfs.img -o update.zip >/dev/null) \
  && ok "the build server packs without a key" || bad "pack without a key"
expect "the unsigned package holds no signature" "$(unzip -p build-server/update.zip manifest.sig)" "[]"

# Carried to the offline room.
cp build-server/update.zip room/update.zip
verify_rc() { "$otter" verify room/update.zip --trust root.json >verify.txt 2>&1; echo $?; }
expect "unsigned: refused" "$(verify_rc)" 1

(cd room && "$otter" sign update.zip --key alice.key --passphrase-file alice.pass >/dev/null) \
  && ok "alice signs with her encrypted key" || bad "alice signs"
expect "1 of 2: still refused" "$(verify_rc)" 1
grep -q "1 of 2 required" verify.txt && ok "verify says 1 of 2" || bad "verify: $(cat verify.txt)"

(cd room && "$otter" sign update.zip --key "pkcs11:token=bob-hsm;object=bob-release" \
  --pin-file bob.pin >/dev/null) && ok "bob signs on his token" || bad "bob signs"
expect "2 of 3 signed: verify accepts it" "$(verify_rc)" 0
grep -q "signed by 2 of 2 required" verify.txt && ok "verify counts both" \
  || bad "verify: $(cat verify.txt)"

(cd room && "$otter" sign update.zip --key carol.key >/dev/null) && ok "carol adds hers" \
  || bad "carol signs"
expect "three signatures in the package" "$(unzip -p room/update.zip manifest.sig | grep -c keyid)" 3
expect "still accepted" "$(verify_rc)" 0

# The signatures are over the bytes the build server made: the images are unchanged.
expect "manifest.json unchanged by signing" \
  "$(unzip -p room/update.zip manifest.json | sha256sum)" \
  "$(unzip -p build-server/update.zip manifest.json | sha256sum)"
cp room/update.zip upload/update.zip
expect "verified before upload, against the root, as a device does" \
  "$("$otter" verify upload/update.zip --trust root.json --model gw-a --product gw >/dev/null 2>&1; echo $?)" 0

finish
