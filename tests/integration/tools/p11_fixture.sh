#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by the PKCS#11 tests: a SoftHSM2 of the test's own (token directory under
# $work, SOFTHSM2_CONF pointing at it), so no test sees another's tokens.
#   p11_init                     checks the tools (exit 77 outside CI when absent) and
#                                sets SOFTHSM2_CONF and PKCS11_MODULE_PATH
#   p11_token LABEL PIN          initialises a token
#   p11_keypair LABEL PIN TYPE NAME ID   generates a key pair on it (pkcs11-tool types:
#                                rsa:3072, EC:prime256v1, EC:edwards25519)
#   p11_pubkey LABEL ID OUT.pub  exports the public key: pkcs11-tool --read-object, openssl pkey
p11_module=/usr/lib/softhsm/libsofthsm2.so

p11_init() {
  local missing=
  command -v softhsm2-util >/dev/null || missing="$missing softhsm2"
  command -v pkcs11-tool >/dev/null || missing="$missing opensc"
  [ -f "$p11_module" ] || missing="$missing softhsm2(module)"
  if [ -n "$missing" ]; then
    echo "missing:$missing (make deps)" >&2
    if [ "${CI:-}" = true ]; then exit 1; fi
    exit 77
  fi
  p11_dir=${work:?p11_fixture.sh: the test sets work first}/softhsm
  mkdir -p "$p11_dir/tokens"
  printf 'directories.tokendir = %s\nlog.level = ERROR\n' "$p11_dir/tokens" >"$p11_dir/softhsm2.conf"
  export SOFTHSM2_CONF=$p11_dir/softhsm2.conf
  export PKCS11_MODULE_PATH=$p11_module
}

p11_token() {
  softhsm2-util --init-token --free --label "$1" --pin "$2" --so-pin 87654321 >/dev/null \
    || die "softhsm2-util --init-token $1"
}

p11_keypair() {
  pkcs11-tool --module "$p11_module" --token-label "$1" --login --pin "$2" --keypairgen \
    --key-type "$3" --label "$4" --id "$5" >/dev/null 2>&1 || die "pkcs11-tool --keypairgen $3 on $1"
}

p11_pubkey() {
  pkcs11-tool --module "$p11_module" --token-label "$1" --read-object --type pubkey --id "$2" \
    -o "$p11_dir/pub.der" >/dev/null 2>&1 || die "pkcs11-tool --read-object $2 on $1"
  openssl pkey -pubin -inform DER -in "$p11_dir/pub.der" -out "$3" || die "openssl pkey $3"
}
