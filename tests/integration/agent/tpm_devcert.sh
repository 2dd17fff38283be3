#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# mTLS device login with a TPM key against a real otter-server (issue #13): the device's key
# lives in swtpm (persistent handle), its certificate comes from the tenant's device CA
# (uploaded through the management API), and otter-server asks for it itself
# ([http] tls_client_cert = true). In `certificate` mode the certificate alone logs in: a full
# DDI install (poll, deploymentBase, download, feedback, boot, finished/success). The same TPM
# key with a certificate of another CA, or of another tenant's CA: refused (daemon exit 2, the
# server's 401 with the reason), nothing written. `certificate+token`: the certificate alone is
# refused, with the token a full install. Through nginx (OpenSSL terminates TLS and asks for the
# certificate; otter-server takes it from X-Client-Cert of a trusted proxy): a full install with
# the TPM key, another CA's certificate refused. Then the CA's CRL revokes the certificate: the
# next poll fails and nothing is written. No TPM object is left loaded.
# The server's certificate comes from a CA: checking its chain in the TPM (the old set-up, with
# the tpm2 provider preferred in OpenSSL's default context) ran swtpm out of object slots
# ("tpm2::cannot duplicate context"); only the client's signature is made there now.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/tpm_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/nginx_fixture.sh"
need_tpm_tools openssl tpm2_getcap
need_packages openssl nginx-light
ddi_setup tpm-devcert
ngx="$work/nginx"
ngx_stop() { if [ -s "$ngx/nginx.pid" ]; then kill "$(cat "$ngx/nginx.pid")" 2>/dev/null || true; fi; }
trap 'swtpm_stop; ngx_stop; ddi_cleanup' EXIT
for v in 2.0 3.0 4.0 5.0; do ddi_pkg "$v" "${v%.*}" 300000; release "$v" >/dev/null; done
ddi_https
kill -TERM "$server_pid"; wait "$server_pid" || true
# TLS with client certificates on 127.0.0.1; nginx's side is a plain listener on ::1, the
# trusted proxy (a proxy's own connections: only its header counts, so not the agent's).
sed -i -e "s|^tls_key = .*|&\ntls_client_cert = true|" -e "s|^listen = .*|&\nlisten = [::1]:0|" \
  -e "s|^polling = .*|&\nclient_cert_header = X-Client-Cert|" "$work/server.conf"
printf '[server]\ntrusted_proxies = ::1\n' >> "$work/server.conf"
restart_server
TLS_URL=$(grep '^https://' "$work/ready" | head -1)
URL6=$(grep '^http://\[::1\]' "$work/ready" | head -1)
[ -n "$TLS_URL" ] && [ -n "$URL6" ] || die "listeners: $(cat "$work/ready")"
swtpm_start "$work/tpm-nv"

# The PKI: acme's device CA (an `openssl ca` database, for its CRL), beta's, a rogue one.
pki="$work/pki"; mkdir -p "$pki"
new_ca() {
  local c=$pki/$1
  mkdir -p "$c" && : > "$c/index.txt" && echo 1000 > "$c/serial" && echo 1000 > "$c/crlnumber"
  printf '[ca]\ndefault_ca = dev\n[dev]\ndatabase = %s/index.txt\nserial = %s/serial\ncrlnumber = %s/crlnumber\nnew_certs_dir = %s\ndefault_md = sha256\ndefault_crl_days = 7\npolicy = anything\nunique_subject = no\n[anything]\ncommonName = supplied\n[client]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n' \
    "$c" "$c" "$c" "$c" > "$c/ca.cnf"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$c/ca.key" \
    -out "$c/ca.crt" -days 30 -subj "/CN=$1" >/dev/null 2>&1 || die "CA $1"
}
sign() { # sign CA CSR OUT
  openssl ca -batch -config "$pki/$1/ca.cnf" -cert "$pki/$1/ca.crt" -keyfile "$pki/$1/ca.key" \
    -in "$2" -out "$3" -extensions client -days 30 >/dev/null 2>&1 || die "certificate $3 from $1"
}
new_ca acme-ca; new_ca beta-ca; new_ca rogue-ca
expect "tenant beta" "$(jreq POST /api/v1/tenants "$A" '{"name":"beta"}')" 201
expect "acme's device CA uploaded" "$(jreq POST /api/v1/tenants/acme/device-cas "$A" "$(jq -Rs '{pem: .}' "$pki/acme-ca/ca.crt")")" 201
ACME_CA=$(body .id)
expect "beta's device CA uploaded" "$(jreq POST /api/v1/tenants/beta/device-cas "$A" "$(jq -Rs '{pem: .}' "$pki/beta-ca/ca.crt")")" 201
expect "acme: certificate mode" "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate"}')" 200

# The device: provisioned (model gw-a), its key made in the TPM, no token in its agent.conf.
expect "gw-0001 provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" '{"controller_id":"gw-0001","model":"gw-a"}')" 201
token=$(body .token)
d="$work/dev"; mkdir -p "$d"; : > "$d/a"; : > "$d/b"
agent_conf "$d" "$keys/root.json" "$d/a" "$d/b"
printf '[tpm]\ntcti = %s\n' "$swtpm_tcti" >> "$d/agent.conf"
agent_conf_server "$d" "$TLS_URL" gw-0001 ca "$work/tls/ca.crt" "cert = $d/device.crt
key = handle:0x81000a01"
"$agent" -c "$d/agent.conf" factory "$keys/1.0.zip" >/dev/null 2>&1
"$agent" bootsim --root "$d" >/dev/null
expect "identity create in the TPM" "$("$agent" -c "$d/agent.conf" identity create --csr "$d/device.csr" 2>&1; echo "rc=$?")" "rc=0"
sign acme-ca "$d/device.csr" "$work/acme.crt"
sign rogue-ca "$d/device.csr" "$work/rogue.crt"
sign beta-ca "$d/device.csr" "$work/beta.crt"
expect "identity install" "$("$agent" -c "$d/agent.conf" identity install "$work/acme.crt" >/dev/null 2>&1; echo $?)" 0
[ -z "$(grep -rl 'PRIVATE KEY' "$d" || true)" ] && ok "no private key on the device's disk" \
  || bad "a private key on disk: $(grep -rl 'PRIVATE KEY' "$d")"
slot_print() { { sha256sum < "$d/a"; sha256sum < "$d/b"; ls "$d/spool" 2>/dev/null; device_print "$d"; } | sha256sum; }

# 1. Certificates of another CA and of another tenant's CA for the same TPM key: refused.
act=$(deploy 2.0 gw-0001)
before=$(slot_print)
for other in rogue beta; do
  cp "$work/$other.crt" "$d/device.crt"
  expect "$other CA's certificate: the poll is refused (exit 2)" "$(cycle "$d")" 2
  expect "$other CA's certificate: the server answered 401" "$(grep -c '401' "$work/cycle.log" || true)" 1
done
expect "both refusals logged: not issued by a device CA of this tenant" \
  "$(grep -c "gw-0001: client certificate refused (the client certificate is not issued by a device CA" "$work/server.log")" 2
expect "refused: nothing written" "$(slot_print)" "$before"
expect "refused: the action is still scheduled" "$(action "$act" .status)" scheduled

# 2. certificate mode, the TPM key and acme's certificate: a full install, no token anywhere.
cp "$work/acme.crt" "$d/device.crt"
expect "certificate mode: install over mutual TLS with the TPM key" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
expect "boot commits 2.0 on slot B" "$(booted "$d")" B
cycle "$d" >/dev/null
expect "certificate mode: finished/success" "$(action "$act" '.status + "/" + .result') closed=$(closed_count "$act")" "finished/success closed=1"

# 3. certificate+token: the certificate alone is refused; with the token, a full install.
expect "acme: certificate+token mode" "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate+token"}')" 200
act=$(deploy 3.0 gw-0001)
before=$(slot_print)
expect "certificate+token: the certificate alone is refused (exit 2)" "$(cycle "$d")" 2
expect "... nothing written" "$(slot_print)" "$before"
sed -i "s|^cert = .*|&\ntarget_token = $token|" "$d/agent.conf"
expect "certificate+token: install with the TPM key and the token" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
expect "boot commits 3.0 on slot A" "$(booted "$d")" A
cycle "$d" >/dev/null
expect "certificate+token: finished/success" "$(action "$act" '.status + "/" + .result')" finished/success

# 4. Through nginx: TLS ends there (OpenSSL), the certificate reaches otter-server in a header.
ngx_body() {
  cat <<CONF
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $work/tls/srv.crt;
    ssl_certificate_key $work/tls/srv.key;
    ssl_verify_client optional_no_ca;
    location / {
      proxy_set_header X-Client-Cert \$ssl_client_escaped_cert;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_pass $URL6;
    }
  }
CONF
}
mkdir -p "$ngx"
nginx_start "$ngx" "$ngx" ngx_body || die "nginx did not start: $(cat "$ngx/error.log" 2>/dev/null)"
expect "acme: certificate mode again" "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate"}')" 200
sed -i -e '/^target_token = /d' -e "s|^url = .*|url = https://127.0.0.1:$nginx_base|" "$d/agent.conf"
act=$(deploy 4.0 gw-0001)
before=$(slot_print)
cp "$work/rogue.crt" "$d/device.crt"
expect "nginx: another CA's certificate: the poll is refused (exit 2)" "$(cycle "$d")" 2
expect "nginx: ... otter-server checked the header and said why" \
  "$(grep -c "gw-0001: client certificate refused (the client certificate is not issued by a device CA" "$work/server.log")" 3
expect "nginx: ... nothing written" "$(slot_print)" "$before"
cp "$work/acme.crt" "$d/device.crt"
expect "nginx: install over TLS to nginx with the TPM key, no token" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
expect "nginx: boot commits 4.0 on slot B" "$(booted "$d")" B
cycle "$d" >/dev/null
expect "nginx: finished/success" "$(action "$act" '.status + "/" + .result')" finished/success
sed -i "s|^url = .*|url = $TLS_URL|" "$d/agent.conf"

# 5. The CA revokes the certificate (its CRL through the management API): the next poll fails
# and nothing is written, though an update waits.
act=$(deploy 5.0 gw-0001)
openssl ca -config "$pki/acme-ca/ca.cnf" -cert "$pki/acme-ca/ca.crt" -keyfile "$pki/acme-ca/ca.key" \
  -revoke "$work/acme.crt" >/dev/null 2>&1 || die "revoke"
openssl ca -gencrl -config "$pki/acme-ca/ca.cnf" -cert "$pki/acme-ca/ca.crt" \
  -keyfile "$pki/acme-ca/ca.key" -out "$pki/acme.crl" >/dev/null 2>&1 || die "CRL"
expect "CRL uploaded" "$(jreq PUT "/api/v1/tenants/acme/device-cas/$ACME_CA/crl" "$A" "$(jq -Rs '{pem: .}' "$pki/acme.crl")")" 200
before=$(slot_print)
expect "revoked: the poll is refused (exit 2)" "$(cycle "$d")" 2
expect "revoked: the server says revoked" "$(grep -c 'gw-0001: client certificate refused.*revoked' "$work/server.log")" 1
expect "revoked: nothing written" "$(slot_print)" "$before"
expect "revoked: the action is still scheduled" "$(action "$act" .status)" scheduled
# Every TPM user flushed what it loaded (swtpm has no resource manager): the key stays persistent.
expect "no TPM object left loaded" "$(TPM2TOOLS_TCTI=$swtpm_tcti tpm2_getcap handles-transient)" ""
finish
