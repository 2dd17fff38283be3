#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The `otter` command against standard tools: unzip lists what pack made,
# openssl verifies the signatures otter made, a package assembled by hand with
# `zip -0` verifies once `otter sign` signed it, and every refusal exits 1 with
# one line saying what and where.
set -euo pipefail
otter="$OTTER_BUILD_DIR/bin/otter"
work="${OTTER_TEST_TMP:-/tmp}/tool-interop.$$"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
trap 'rm -rf "$work"' EXIT

source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
check() { # check NAME EXPECTED_EXIT EXPECTED_STDERR_PART -- command...
  local name=$1 want=$2 part=$3; shift 4
  local rc=0
  "$@" >out.txt 2>err.txt || rc=$?
  if [ "$rc" != "$want" ] || ! grep -qF -- "$part" err.txt out.txt; then
    bad "$name: exit $rc (want $want), output:"; cat out.txt err.txt
  else
    ok "$name"
  fi
}

# Realistic content: a slice of a shared library and text, not zeros.
head -c 2000000 "$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')" > rootfs.img
cat /etc/os-release /etc/os-release > app.conf
"$otter" keygen --type ed25519 --out ed >/dev/null
"$otter" keygen --type ecdsa-p256 --out ec >/dev/null
"$otter" keygen --type rsa-3072 --out rsa >/dev/null
[ "$(stat -c %a ed.key)" = 600 ] || bad "key mode"

"$otter" pack --product gw --compatible gw-a,gw-b --version 2.0.0 --security-version 4 \
  --image rootfs=rootfs.img:target=rootfs --image app=app.conf:handler=file:compression=none \
  --key ed.key -o update.zip >/dev/null

# unzip lists exactly our entries, in stream order, all stored.
unzip -Z1 update.zip > list.txt
printf 'manifest.json\nmanifest.sig\nrootfs.img.zst\napp.bin\n' | diff - list.txt \
  && ok "unzip -l lists the entries in order" || bad "unzip order"
[ "$(unzip -v update.zip | grep -c ' Stored ')" = 4 ] \
  && ok "all entries stored" || bad "an entry is compressed"
unzip -tq update.zip >/dev/null && ok "unzip -t: CRCs good" || bad "unzip -t"

# openssl accepts otter's signatures over the exact manifest bytes.
"$otter" sign update.zip --key ec.key --key rsa.key >/dev/null
mkdir x && (cd x && unzip -q ../update.zip)
sig_of() { # sig_of ALG -> writes sig.bin
  grep -A3 "\"alg\": \"$1\"" x/manifest.sig | sed -n 's/.*"sig": "\(.*\)".*/\1/p' | openssl base64 -d -A > sig.bin
}
sig_of ed25519
check "openssl verifies ed25519" 0 "Signature Verified Successfully" -- \
  openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in x/manifest.json -sigfile sig.bin
sig_of ecdsa-p256-sha256
check "openssl verifies ecdsa-p256" 0 "Verified OK" -- \
  openssl dgst -sha256 -verify ec.pub -signature sig.bin x/manifest.json
sig_of rsa-pss-sha256
check "openssl verifies rsa-pss" 0 "Verified OK" -- \
  openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
  -verify rsa.pub -signature sig.bin x/manifest.json

# Trust roots and k-of-n from the command line.
"$otter" root new --pubkey ed.pub --pubkey ec.pub --pubkey rsa.pub --threshold 2 -o root.json >/dev/null
check "verify 2-of-3 with root.json" 0 "signed by 3 of 2 required" -- \
  "$otter" verify update.zip --trust root.json --model gw-b
check "verify with --pubkey --threshold" 0 "OK: gw 2.0.0" -- \
  "$otter" verify update.zip --pubkey ed.pub --pubkey ec.pub --threshold 2
check "verify from stdin" 0 "OK" -- bash -c "'$otter' verify - --trust root.json < update.zip"
check "inspect" 0 "installed 2000000 bytes" -- "$otter" inspect update.zip
check "inspect --json" 0 '"digest_ok": true' -- "$otter" inspect update.zip --json

# A package assembled by hand with zip -0 and signed by otter sign verifies.
mkdir hand && cd hand
zstd -q -3 ../rootfs.img -o rootfs.img.zst
size=$(stat -c %s ../rootfs.img); sum=$(openssl dgst -sha256 -r ../rootfs.img | cut -d' ' -f1)
cat > manifest.json <<JSON
{"format": 1, "product": "gw", "compatible": ["gw-a"], "version": "2.0.1",
 "security_version": 4, "created": "2026-11-25T10:00:00Z",
 "images": [{"name": "rootfs", "file": "rootfs.img.zst", "handler": "raw", "target": "rootfs",
             "compression": "zstd", "size": $size, "sha256": "$sum", "delta_base_sha256": null}]}
JSON
echo '[]' > manifest.sig
zip -q -0 ../hand.zip manifest.json manifest.sig rootfs.img.zst
cd ..
check "hand-made zip unsigned is refused" 1 "hand.zip: manifest.sig: not signed" -- \
  "$otter" verify hand.zip --trust root.json
"$otter" sign hand.zip --key ed.key >/dev/null
check "hand-made zip with one signature is below threshold" 1 "1 of 2 required signatures valid" -- \
  "$otter" verify hand.zip --trust root.json
"$otter" sign hand.zip --key rsa.key >/dev/null
check "hand-made zip signed by otter sign verifies" 0 "OK: gw 2.0.1" -- \
  "$otter" verify hand.zip --trust root.json --model gw-a

# Refusals: exit 1, one line naming the file and the problem.
check "wrong model" 1 "update.zip: model \"gw-x\" is not in compatible" -- \
  "$otter" verify update.zip --trust root.json --model gw-x
check "wrong product" 1 "built for product \"gw\", device is \"cam\"" -- \
  "$otter" verify update.zip --trust root.json --product cam
"$otter" keygen --type ed25519 --out stranger >/dev/null
check "unknown key" 1 "is not in the trust root" -- "$otter" verify update.zip --pubkey stranger.pub
total=$(stat -c %s update.zip)
head -c $((total / 2)) update.zip > cut.zip
check "truncated" 1 "cut.zip: image rootfs: truncated or damaged zip" -- \
  "$otter" verify cut.zip --trust root.json
cp update.zip flipped.zip
printf '\x55' | dd of=flipped.zip bs=1 seek=$((total / 3)) conv=notrunc status=none
check "flipped payload byte" 1 "flipped.zip: image rootfs:" -- "$otter" verify flipped.zip --trust root.json
(cd x && sed -i 's/"version": "2.0.0"/"version": "9.0.0"/' manifest.json && zip -q -0 ../tampered.zip manifest.json manifest.sig rootfs.img.zst app.bin)
check "tampered manifest" 1 "does not verify" -- "$otter" verify tampered.zip --trust root.json
(cd x && zip -q ../deflated.zip manifest.json manifest.sig rootfs.img.zst app.bin)
check "deflated entries" 1 "is compressed" -- "$otter" verify deflated.zip --trust root.json
[ "$(wc -l < err.txt)" = 1 ] && ok "one line per refusal" || bad "multi-line refusal"

# Root rotation: a threshold of the current keys and of the new keys must sign.
"$otter" keygen --type ecdsa-p256 --out next1 >/dev/null
"$otter" keygen --type ed25519 --out next2 >/dev/null
"$otter" root new --pubkey next1.pub --pubkey next2.pub --threshold 1 --version 2 -o root2.json >/dev/null
check "rotation unsigned refused" 1 "signatures by the current root's keys: not signed" -- \
  "$otter" root verify root2.json --trust root.json
"$otter" root sign root2.json --key ed.key --key ec.key >/dev/null
check "rotation without the new keys refused" 1 "signatures by its own keys: 0 of 1 required" -- \
  "$otter" root verify root2.json --trust root.json
"$otter" root sign root2.json --key next2.key >/dev/null
check "rotation signed by old 2-of-3 and new 1-of-2" 0 "version 2 may replace root.json (version 1)" -- \
  "$otter" root verify root2.json --trust root.json
"$otter" root new --pubkey next1.pub --threshold 1 --version 3 -o root3.json >/dev/null
"$otter" root sign root3.json --key ed.key --key ec.key --key next1.key >/dev/null
check "rotation must not skip a version" 1 "new root has version 3, expected 2" -- \
  "$otter" root verify root3.json --trust root.json

# Usage and I/O errors: exit 2.
check "missing file" 2 "nothere.zip: cannot open" -- "$otter" verify nothere.zip --trust root.json
check "no trust given" 2 "give either --pubkey or --trust" -- "$otter" verify update.zip
check "bad level" 2 "--level" -- "$otter" pack --product p --compatible m --version 1 \
  --security-version 0 --image a=app.conf --level 30 -o y.zip
check "keygen refuses overwrite" 2 "ed.key: cannot create" -- "$otter" keygen --type ed25519 --out ed
for cmd in keygen pack sign verify inspect root; do
  check "$cmd --help" 0 "usage: otter $cmd" -- "$otter" $cmd --help
done
check "otter --help" 0 "Commands:" -- "$otter" --help

finish
