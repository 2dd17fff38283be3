#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Release keys that never leave a token: `otter pack`, `otter sign`, `otter root sign` and
# `otter delta` sign with PKCS#11 keys named by RFC 7512 URIs (SoftHSM2, libp11), the PIN
# from --pin-file; each signature verifies with the public key exported from the token
# (pkcs11-tool --read-object, openssl pkey). RSA-3072 and P-256 sign; Ed25519 on a token
# gives the clear error of libp11 0.4.12; a wrong PIN, a missing key or token and a PIN in
# the URI are refused with one line saying so. Encrypted PKCS#8 key files sign with the
# right passphrase (file or terminal prompt, no echo) and refuse a wrong one.
set -euo pipefail
otter="$OTTER_BUILD_DIR/bin/otter"
work="${OTTER_TEST_TMP:-/tmp}/p11-sign.$$"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tools/p11_fixture.sh"

# refused NAME WANT_EXIT MESSAGE_PART -- command...: the exit code and one stderr line.
refused() {
  local name=$1 want=$2 part=$3 rc=0; shift 4
  "$@" >out.txt 2>err.txt || rc=$?
  if [ "$rc" = "$want" ] && grep -qF -- "$part" err.txt && [ "$(wc -l <err.txt)" = 1 ]; then
    ok "$name"
  else
    bad "$name: exit $rc (want $want), stderr: $(cat err.txt)"
  fi
}

# on_tty OUTFILE ANSWER... -- command...: runs command on a terminal of its own (script(1));
# types each ANSWER and Enter once a prompt ending in ": " shows (waits at most 30 s per
# character); everything the terminal showed lands in OUTFILE. Returns the command's status.
on_tty() {
  local out=$1 cmd seen='' c rc=0 answers=()
  shift
  while [ "$1" != -- ]; do answers+=("$1"); shift; done
  shift
  printf -v cmd '%q ' "$@"
  # script(1) runs the command with $SHELL; %q quoting is bash's ($'…'), which sh reads wrong.
  coproc TTY { SHELL=/bin/bash script -qfec "$cmd" /dev/null; }
  local pid=$TTY_PID in keys
  exec {in}<&"${TTY[0]}" {keys}>&"${TTY[1]}"
  for a in "${answers[@]}"; do
    while [[ $seen != *": " ]] && IFS= read -r -d '' -n1 -t 30 -u "$in" c; do seen+=$c; done
    printf '%s\r' "$a" >&"$keys"
    printf '%s' "$seen" >>"$out"; seen=''
  done
  cat <&"$in" >>"$out" || true
  wait "$pid" || rc=$?
  exec {in}<&- {keys}>&-
  return "$rc"
}

p11_init
p11_token rel 1234
p11_keypair rel 1234 rsa:3072 rel-rsa 01
p11_keypair rel 1234 EC:prime256v1 rel-ec 02
p11_token edtok 1234
p11_keypair edtok 1234 EC:edwards25519 rel-ed 03
p11_pubkey rel 01 rsa.pub
p11_pubkey rel 02 ec.pub
printf '1234\n' >pin
printf '0000\n' >wrong-pin
head -c 300000 "$otter" >rootfs.img

pack() { # pack OUT [key options...]
  local out=$1; shift
  "$otter" pack --product gw --compatible gw-a --version 1.0.0 --security-version 1 \
    --image rootfs=rootfs.img "$@" -o "$out"
}

# pack signs on the token (RSA-3072, PSS); the exported public key verifies it, alone.
pack rsa.zip --key "pkcs11:token=rel;object=rel-rsa;type=private" --pin-file pin >/dev/null \
  && ok "pack signs with an RSA-3072 key on the token" || bad "pack with a PKCS#11 RSA key"
expect "RSA-3072 signature verifies with the key read from the token" \
  "$("$otter" verify rsa.zip --pubkey rsa.pub >/dev/null 2>&1; echo $?)" 0
# sign adds a P-256 signature made on the token, named by id (percent-encoded) this time.
cp rsa.zip both.zip
"$otter" sign both.zip --key "pkcs11:token=rel;id=%02" --pin-file pin >/dev/null \
  && ok "sign with a P-256 key on the token, by id" || bad "sign with a PKCS#11 EC key"
expect "P-256 signature verifies with the key read from the token" \
  "$("$otter" verify both.zip --pubkey ec.pub >/dev/null 2>&1; echo $?)" 0
expect "both token signatures count for a 2-of-2 threshold" \
  "$("$otter" verify both.zip --pubkey ec.pub --pubkey rsa.pub --threshold 2 >/dev/null 2>&1; echo $?)" 0
# openssl_ec_ok ZIP: openssl verifies the package's P-256 signature with ec.pub.
openssl_ec_ok() {
  rm -rf x && mkdir x && (cd x && unzip -q "../$1")
  grep -A3 '"alg": "ecdsa-p256-sha256"' x/manifest.sig | sed -n 's/.*"sig": "\(.*\)".*/\1/p' \
    | openssl base64 -d -A >ec.sig
  openssl dgst -sha256 -verify ec.pub -signature ec.sig x/manifest.json >/dev/null
}
openssl_ec_ok both.zip && ok "openssl verifies the token's P-256 signature" \
  || bad "openssl on the token's signature"
# Two token keys in one command: both sessions open at once.
pack two.zip --key "pkcs11:token=rel;object=rel-ec" --key "pkcs11:token=rel;object=rel-rsa" \
  --pin-file pin >/dev/null && ok "pack with two token keys at once" || bad "pack with two token keys"
expect "both verify" \
  "$("$otter" verify two.zip --pubkey ec.pub --pubkey rsa.pub --threshold 2 >/dev/null 2>&1; echo $?)" 0
# A package nobody signed on the token does not verify with the token's key.
pack plain.zip >/dev/null
refused "an unsigned package is refused by the token's key" 1 "not signed" -- \
  "$otter" verify plain.zip --pubkey ec.pub

# root sign and delta sign on the token too.
"$otter" root new --pubkey ec.pub --pubkey rsa.pub --threshold 2 -o root.json >/dev/null
"$otter" root sign root.json --key "pkcs11:token=rel;object=rel-ec" \
  --key "pkcs11:token=rel;object=rel-rsa" --pin-file pin >/dev/null \
  && ok "root sign with two token keys" || bad "root sign with PKCS#11 keys"
expect "root.json.sig holds both token signatures" "$(grep -c '"keyid"' root.json.sig)" 2
head -c 100000 /dev/zero >>rootfs.img
pack new.zip --key "pkcs11:token=rel;object=rel-ec" --pin-file pin >/dev/null
"$otter" delta --from both.zip --to new.zip --pubkey ec.pub \
  --key "pkcs11:token=rel;object=rel-ec" --pin-file pin -o delta.zip >/dev/null \
  && ok "delta signs with a token key" || bad "delta with a PKCS#11 key"
openssl_ec_ok delta.zip && ok "openssl verifies the delta's token signature" \
  || bad "the delta's signature"

# Refusals, each with the reason.
refused "a wrong PIN" 2 'token "rel": wrong PIN' -- \
  "$otter" sign plain.zip --key "pkcs11:token=rel;object=rel-ec" --pin-file wrong-pin
refused "a missing key object" 2 'token "rel": no private key with object="absent"' -- \
  "$otter" sign plain.zip --key "pkcs11:token=rel;object=absent" --pin-file pin
refused "a missing token" 2 'no token with token="absent"' -- \
  "$otter" sign plain.zip --key "pkcs11:token=absent;object=rel-ec" --pin-file pin
refused "a PIN in the URI" 2 'pin-value refused: a PIN never goes on the command line' -- \
  "$otter" sign plain.zip --key "pkcs11:token=rel;object=rel-ec;pin-value=1234"
refused "no PIN file and no terminal" 2 'no terminal to ask on: give --pin-file' -- \
  setsid "$otter" sign plain.zip --key "pkcs11:token=rel;object=rel-ec"
refused "no module" 2 'no PKCS#11 module' -- \
  env -u PKCS11_MODULE_PATH "$otter" sign plain.zip --key "pkcs11:token=rel;object=rel-ec" \
  --pin-file pin
# The PIN typed at the terminal: asked for by token name, never echoed.
cp plain.zip tty.zip
on_tty tty-pin.txt 1234 -- "$otter" sign tty.zip --key "pkcs11:token=rel;object=rel-ec" \
  && ok "the PIN typed at the prompt signs" || bad "PIN prompt: $(cat tty-pin.txt)"
grep -q 'PIN for token "rel": ' tty-pin.txt && ok "the prompt names the token" \
  || bad "no PIN prompt: $(cat tty-pin.txt)"
grep -q 1234 tty-pin.txt && bad "the PIN was echoed: $(cat tty-pin.txt)" || ok "the PIN is not echoed"
expect "and the package verifies" \
  "$("$otter" verify tty.zip --pubkey ec.pub >/dev/null 2>&1; echo $?)" 0
rc=0; on_tty tty-bad.txt 4321 -- "$otter" sign tty.zip --key "pkcs11:token=rel;object=rel-rsa" || rc=$?
expect "a wrong PIN at the prompt: exit 2" "$rc" 2
grep -q 'wrong PIN' tty-bad.txt && ok "a wrong PIN at the prompt says so" || bad "$(cat tty-bad.txt)"

# Ctrl-C at the prompt: the command dies of SIGINT, and the terminal echoes again after it.
rc=0
# shellcheck disable=SC2016 # $0 is for the inner bash: the otter binary passed after the script
on_tty tty-int.txt $'\003' -- bash -c 'trap "stty -a; exit 130" INT; "$0" sign tty.zip --key \
  "pkcs11:token=rel;object=rel-rsa"' "$otter" || rc=$?
expect "Ctrl-C at the PIN prompt stops the command" "$rc" 130
grep -qE '(^| )echo( |;|$)' tty-int.txt && ok "and the terminal echoes again" \
  || bad "echo left off after Ctrl-C: $(cat tty-int.txt)"

# Measured: libp11 0.4.12 (Debian 12) cannot list the keys of a token holding an Ed25519 key.
refused "Ed25519 on a token: the clear libp11 0.4.12 error" 2 \
  'libp11 0.4.12 cannot read a token that holds an Ed25519 key' -- \
  "$otter" sign plain.zip --key "pkcs11:token=edtok;object=rel-ed" --pin-file pin
expect "a refused signer leaves the package unsigned" "$(unzip -p plain.zip manifest.sig)" "[]"

# Encrypted PKCS#8 key files.
printf 'correct horse battery\n' >pass
printf 'wrong\n' >wrong-pass
"$otter" keygen --type ecdsa-p256 --encrypt --passphrase-file pass --out enc >/dev/null
expect "keygen --encrypt writes an encrypted PKCS#8 PEM" "$(head -1 enc.key)" \
  "-----BEGIN ENCRYPTED PRIVATE KEY-----"
openssl pkey -in enc.key -passin file:pass -noout && ok "openssl opens it with the passphrase" \
  || bad "openssl cannot open the encrypted key"
cp plain.zip enc.zip
refused "a wrong passphrase" 2 "enc.key: wrong passphrase" -- \
  "$otter" sign enc.zip --key enc.key --passphrase-file wrong-pass
refused "no passphrase and no terminal" 2 "no terminal to ask on: give --passphrase-file" -- \
  setsid "$otter" sign enc.zip --key enc.key
"$otter" sign enc.zip --key enc.key --passphrase-file pass >/dev/null \
  && ok "the right passphrase signs" || bad "sign with an encrypted key"
# Typed at the prompt: keygen asks twice, sign once; nothing echoed.
on_tty tty-keygen.txt 'typed secret' 'typed secret' -- "$otter" keygen --type ed25519 --encrypt \
  --out typed >/dev/null && ok "keygen --encrypt with the passphrase typed twice" \
  || bad "keygen prompt: $(cat tty-keygen.txt)"
rc=0; on_tty tty-differ.txt 'typed secret' 'other' -- "$otter" keygen --encrypt --out differ || rc=$?
expect "two different passphrases: refused" "$rc/$(grep -c 'passphrases differ' tty-differ.txt)" 2/1
[ ! -e differ.key ] && ok "and no key file written" || bad "differ.key written"
on_tty tty-pass.txt 'typed secret' -- "$otter" sign enc.zip --key typed.key >/dev/null \
  && ok "the passphrase typed at the prompt signs" || bad "passphrase prompt: $(cat tty-pass.txt)"
grep -q 'Passphrase for typed.key: ' tty-pass.txt && ok "the prompt names the key file" \
  || bad "no passphrase prompt: $(cat tty-pass.txt)"
cat tty-keygen.txt tty-pass.txt | grep -q 'typed secret' && bad "a passphrase was echoed" \
  || ok "passphrases are not echoed"
expect "the typed key's signature verifies" \
  "$("$otter" verify enc.zip --pubkey typed.pub >/dev/null 2>&1; echo $?)" 0
expect "the encrypted key's signature verifies" \
  "$("$otter" verify enc.zip --pubkey enc.pub >/dev/null 2>&1; echo $?)" 0
# An encrypted key made by openssl (not by otter) works the same.
openssl genpkey -algorithm ed25519 -out ossl-plain.pem
openssl pkcs8 -topk8 -v2 aes-256-cbc -in ossl-plain.pem -passout file:pass -out ossl.key
openssl pkey -in ossl-plain.pem -pubout -out ossl.pub
pack ossl.zip --key ossl.key --passphrase-file pass >/dev/null \
  && ok "pack with an openssl-encrypted PKCS#8 key" || bad "pack with openssl's encrypted key"
expect "its signature verifies" "$("$otter" verify ossl.zip --pubkey ossl.pub >/dev/null 2>&1; echo $?)" 0

finish
