#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device's TLS identity in the TPM (issue 13), against swtpm and a peer that
# requires a client certificate of the device CA (openssl s_server -Verify, real TLS):
#  1. `identity create` makes a key persistent in the TPM (handle) and a CSR signed by
#     it (CN = controller id); the device CA signs it; `identity install` takes the
#     certificate, refuses one for another key; a second create is refused. No private
#     key is on the device's disk.
#  2. mTLS with the TPM key: otter-agentd (`otter-agent check`, no token: the certificate
#     is the credential) and otter-fetch both log in; without a client certificate, or
#     with a key whose certificate another CA issued, the peer refuses them.
#  3. The file-key fallback (`identity create --software`): a PEM key, the same login.
#  4. A TPM-wrapped key blob (key = a path, no --software): made in the TPM, its CSR
#     signed there; no TPM object is left loaded after any of it (no resource manager).
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/tpm-identity.$$"
rm -rf "$work"; mkdir -p "$work"
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/tpm_fixture.sh"
need_tpm_tools openssl
[ -e /usr/lib/x86_64-linux-gnu/ossl-modules/tpm2.so ] || [ -n "$(find /usr/lib -name tpm2.so -path '*ossl-modules*' 2>/dev/null)" ] \
  || { [ "${CI:-}" = true ] && { echo "FAIL: tpm2-openssl missing" >&2; exit 1; }; echo "SKIP: tpm2-openssl missing" >&2; exit 77; }
fetch="$OTTER_BUILD_DIR/bin/otter-fetch"
trap 'swtpm_stop; [ -n "${peer:-}" ] && kill "$peer" 2>/dev/null; [ "$fails" = 0 ] && rm -rf "$work"' EXIT
swtpm_start "$work/tpm-nv"

# The carrier's device CA, another CA, the server's certificate.
pki="$work/pki"; mkdir -p "$pki"
ec() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "$@" 2>/dev/null; }
ec -keyout "$pki/devca.key" -out "$pki/devca.crt" -subj /CN=devca
ec -keyout "$pki/otherca.key" -out "$pki/otherca.crt" -subj /CN=otherca
ec -keyout "$pki/srv.key" -out "$pki/srv.crt" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
issue() { openssl x509 -req -in "$1" -CA "$pki/$2.crt" -CAkey "$pki/$2.key" -CAcreateserial -days 1 \
  -out "$3" 2>/dev/null; }

# The verifying peer: serves the DDI base resource only to clients of the device CA.
www="$work/www"; mkdir -p "$www/acme/controller/v1"
printf '{"config":{"polling":{"sleep":"00:05:00"}},"_links":{}}' > "$www/acme/controller/v1/dev-7"
printf '{"config":{"polling":{"sleep":"00:01:00"}},"_links":{}}' > "$www/acme/controller/v1/dev-8"
head -c 100000 /dev/urandom > "$www/blob"
(cd "$www" && exec openssl s_server -accept 127.0.0.1:0 -cert "$pki/srv.crt" -key "$pki/srv.key" \
  -Verify 1 -verify_return_error -CAfile "$pki/devca.crt" -WWW) > "$work/peer.log" 2>&1 &
peer=$!
for _ in $(seq 1 200); do grep -q '^ACCEPT' "$work/peer.log" && break; sleep 0.05; done
port=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' "$work/peer.log")
[ -n "$port" ] || die "s_server did not start: $(cat "$work/peer.log")"
url="https://127.0.0.1:$port"

# device DIR CONTROLLER KEY: a device whose only credential is its certificate.
device() {
  make_device "$1" raw
  printf '[tpm]\ntcti = %s\n[server]\nurl = %s\ntenant = acme\ncontroller_id = %s\nca = %s\n' \
    "$swtpm_tcti" "$url" "$2" "$pki/srv.crt" >> "$1/agent.conf"
  printf 'cert = %s\nkey = %s\nspool = %s\n' "$1/device.crt" "$3" "$1/spool" >> "$1/agent.conf"
}
run() { local d=$1 rc=0 out; shift; out=$("$agent" -c "$d/agent.conf" "$@" 2>&1) || rc=$?; echo "$rc $out"; }

# 1. Identity in the TPM.
d="$work/dev"; make_keys; device "$d" dev-7 handle:0x81000a00
out=$(run "$d" identity create --csr "$d/device.csr")
expect "identity create" "$out" "0 "
expect "CSR signed by the TPM key, CN = controller id" \
  "$(openssl req -in "$d/device.csr" -verify -noout -subject 2>&1 | tr '\n' ' ')" \
  "Certificate request self-signature verify OK subject=CN = dev-7 "
expect "the key is persistent in the TPM" \
  "$(TPM2TOOLS_TCTI=$swtpm_tcti tpm2_getcap handles-persistent)" "- 0x81000A00"
out=$(run "$d" identity create)
[[ $out == "1 "*"holds a key already"* ]] && ok "a second create is refused" || bad "second create: $out"
issue "$d/device.csr" devca "$work/dev.crt"
ec -keyout "$work/stranger.key" -out "$work/stranger.crt" -subj /CN=dev-7
out=$(run "$d" identity install "$work/stranger.crt")
[[ $out == "1 "*"the certificate is for another key"* ]] && [ ! -e "$d/device.crt" ] \
  && ok "a certificate for another key is refused, nothing stored" || bad "stranger cert: $out"
expect "identity install" "$(run "$d" identity install "$work/dev.crt")" \
  "0 installed $work/dev.crt as $d/device.crt"
[ -z "$(grep -rl 'PRIVATE KEY' "$d" || true)" ] && ok "no private key on the device's disk" \
  || bad "a private key on disk: $(grep -rl 'PRIVATE KEY' "$d")"

# 2. mTLS with the TPM key: otter-agentd and otter-fetch.
expect "otter-agentd logs in with the TPM key" "$(run "$d" check)" \
  "0 server: $url/acme/controller/v1/dev-7 (poll every 300 s)
no update offered"
rc=0; "$fetch" "$url/blob" --ca "$pki/srv.crt" --cert "$d/device.crt" --key handle:0x81000a00 \
  --tcti "$swtpm_tcti" --retries 0 > "$work/blob" 2>"$work/fetch.err" || rc=$?
expect "otter-fetch downloads with the TPM key" "$rc $(cmp "$work/blob" "$www/blob" && echo same)" "0 same"
rc=0; "$fetch" "$url/blob" --ca "$pki/srv.crt" --retries 0 > /dev/null 2>"$work/fetch.err" || rc=$?
[ "$rc" != 0 ] && grep -q "certificate required" "$work/fetch.err" \
  && ok "without a client certificate: refused" || bad "no cert: $rc $(cat "$work/fetch.err")"
openssl req -new -key "$work/stranger.key" -subj /CN=dev-7 -out "$work/stranger.csr" 2>/dev/null
issue "$work/stranger.csr" otherca "$work/other.crt"
rc=0; "$fetch" "$url/blob" --ca "$pki/srv.crt" --cert "$work/other.crt" --key "$work/stranger.key" \
  --retries 0 > /dev/null 2>"$work/fetch.err" || rc=$?
[ "$rc" != 0 ] && grep -q "unknown ca" "$work/fetch.err" \
  && ok "a certificate of another CA: refused" || bad "other CA: $rc $(cat "$work/fetch.err")"
cp "$d/device.crt" "$work/dev.crt.saved"; cp "$work/other.crt" "$d/device.crt"
out=$(run "$d" check)
[[ $out == "2 "* ]] && ok "otter-agentd with a certificate that is not its key's: no login" \
  || bad "mismatched cert: $out"
cp "$work/dev.crt.saved" "$d/device.crt"

# 3. The file-key fallback.
f="$work/filedev"; device "$f" dev-8 "$work/filedev/device.key"
expect "identity create --software" "$(run "$f" identity create --software --csr "$f/device.csr")" "0 "
expect "a PEM key, 0600" "$(head -1 "$f/device.key") $(stat -c %a "$f/device.key")" \
  "-----BEGIN PRIVATE KEY----- 600"
issue "$f/device.csr" devca "$work/file.crt"
run "$f" identity install "$work/file.crt" >/dev/null
expect "otter-agentd logs in with the file key" "$(run "$f" check)" \
  "0 server: $url/acme/controller/v1/dev-8 (poll every 60 s)
no update offered"

# 4. A TPM-wrapped key blob.
b="$work/blobdev"; device "$b" dev-9 "$work/blobdev/device.key"
expect "identity create (TPM key blob)" "$(run "$b" identity create --csr "$b/device.csr")" "0 "
expect "the blob is TPM-wrapped" "$(head -1 "$b/device.key")" "-----BEGIN TSS2 PRIVATE KEY-----"
expect "its CSR is signed by it" \
  "$(openssl req -in "$b/device.csr" -verify -noout -subject 2>&1 | tr '\n' ' ')" \
  "Certificate request self-signature verify OK subject=CN = dev-9 "
expect "no TPM object left loaded" "$(TPM2TOOLS_TCTI=$swtpm_tcti tpm2_getcap handles-transient)" ""
finish
