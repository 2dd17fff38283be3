#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Device certificates as DDI authentication (issue #13, docs/ddi.md "Authentication"):
# a test PKI made with the openssl command line (file keys), a real otter-server
# that terminates TLS itself and asks for client certificates, and a real nginx in
# front of it (ssl_verify_client optional_no_ca) passing $ssl_client_escaped_cert
# from a trusted proxy address. curl plays the device. Checks: the tenant's CA is
# accepted, another CA / another tenant's CA / expired / revoked / wrong controller
# id are refused (401 with the reason), certificate+token needs both, the header
# from an untrusted peer is ignored, bad CA and CRL uploads are refused.
source "$(dirname "$0")/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/nginx_fixture.sh"
need_packages jq curl openssl nginx-light

pki="${OTTER_TEST_TMP:-/tmp}/devcert-pki.$$"
ngx="${OTTER_TEST_TMP:-/tmp}/devcert-nginx.$$"
rm -rf "$pki" "$ngx"; mkdir -p "$pki" "$ngx"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  if [ -s "$ngx/nginx.pid" ]; then kill "$(cat "$ngx/nginx.pid")" 2>/dev/null || true; fi
  drop_pg_db; rm -rf "$pki" "$ngx" "${work:-/nonexistent}"' EXIT

# ---- the test PKI ----
make_tls "$pki/tls" # the server's own TLS certificate (and its CA, for curl)
# new_ca NAME: a CA with an `openssl ca` database (for CRLs).
new_ca() {
  local d=$pki/$1
  mkdir -p "$d" && : > "$d/index.txt" && echo 1000 > "$d/serial" && echo 1000 > "$d/crlnumber"
  cat > "$d/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $d/index.txt
serial = $d/serial
crlnumber = $d/crlnumber
new_certs_dir = $d
default_md = sha256
default_crl_days = 7
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
serialNumber = optional
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[server]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
    -out "$d/ca.crt" -days 30 -subj "/CN=${2:-$1} device CA" >/dev/null 2>&1 || die "CA $1"
}
# device CA NAME CN [openssl ca args]: a device key and certificate NAME.{key,crt} from CA.
device() {
  local ca=$pki/$1 name=$2 cn=$3; shift 3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$name.key" \
    -subj "/CN=$cn" -out "$pki/$name.csr" >/dev/null 2>&1 || die "CSR $name"
  [ $# -gt 0 ] || set -- -days 30
  openssl ca -batch -config "$ca/ca.cnf" -cert "$ca/ca.crt" -keyfile "$ca/ca.key" \
    -in "$pki/$name.csr" -out "$pki/$name.crt" -extensions client "$@" >/dev/null 2>&1 ||
    die "certificate $name"
}
new_ca acme-ca  # tenant acme's device CA
new_ca beta-ca  # tenant beta's device CA
new_ca rogue-ca # nobody's
new_ca impostor-ca acme-ca # acme's CA's name, another key
device acme-ca dev1 dev1
device acme-ca dev2 dev2           # revoked below
device acme-ca dev5 dev5           # certificate+token
device rogue-ca rogue-dev1 dev1     # dev1's name from another CA
device beta-ca beta-dev1 dev1       # dev1's name from another tenant's CA
device acme-ca expired-dev1 dev1 -startdate 20200101000000Z -enddate 20200201000000Z
openssl ca -batch -config "$pki/acme-ca/ca.cnf" -cert "$pki/acme-ca/ca.crt" \
  -keyfile "$pki/acme-ca/ca.key" -in "$pki/dev1.csr" -out "$pki/server-dev1.crt" -days 30 \
  -extensions server >/dev/null 2>&1 || die "serverAuth certificate"
cp "$pki/dev1.key" "$pki/server-dev1.key"
openssl ca -config "$pki/acme-ca/ca.cnf" -cert "$pki/acme-ca/ca.crt" -keyfile "$pki/acme-ca/ca.key" \
  -revoke "$pki/dev2.crt" >/dev/null 2>&1 || die "revoke dev2"
openssl ca -gencrl -config "$pki/acme-ca/ca.cnf" -cert "$pki/acme-ca/ca.crt" \
  -keyfile "$pki/acme-ca/ca.key" -out "$pki/acme.crl" >/dev/null 2>&1 || die "CRL"
openssl ca -gencrl -config "$pki/impostor-ca/ca.cnf" -cert "$pki/impostor-ca/ca.crt" \
  -keyfile "$pki/impostor-ca/ca.key" -out "$pki/impostor.crl" >/dev/null 2>&1 || die "impostor CRL"
openssl ca -gencrl -config "$pki/beta-ca/ca.cnf" -cert "$pki/beta-ca/ca.crt" \
  -keyfile "$pki/beta-ca/ca.key" -out "$pki/beta.crl" >/dev/null 2>&1 || die "beta CRL"

# ---- the server: plain HTTP on 127.0.0.1 and ::1 (nginx's side), TLS with client certificates
start_server devcert "[http]
listen = [::1]:0
listen_tls = 127.0.0.1:0
tls_cert = $pki/tls/srv.crt
tls_key = $pki/tls/srv.key
tls_client_cert = true
[server]
trusted_proxies = ::1
[ddi]
client_cert_header = X-Client-Cert
[metrics]
enabled = true"
URL6=$(sed -n 2p "$work/ready")
TLSURL=$(sed -n 3p "$work/ready")
case "$URL6|$TLSURL" in http://\[::1\]:*\|https://127.0.0.1:*) ;; *) die "listeners: $(cat "$work/ready")" ;; esac

A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants "$A" '{"name":"beta"}' >/dev/null
pem_json() { jq -Rs '{pem: .}' "$1"; }

# ---- uploads: refused with clear errors, then accepted ----
expect "mode certificate without a CA: 409" \
  "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate"}')" 409
expect "unknown mode: 400" "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"cert"}')" 400
expect "unknown mode: where" "$(body .error.where)" body.mode
expect "not PEM: 400" "$(jreq POST /api/v1/tenants/acme/device-cas "$A" '{"pem":"hello"}')" 400
expect "not PEM: says so" "$(body .error.message | grep -c 'not one PEM certificate')" 1
expect "a device certificate as CA: 400" \
  "$(jreq POST /api/v1/tenants/acme/device-cas "$A" "$(pem_json "$pki/dev1.crt")")" 400
expect "a device certificate as CA: says not a CA" "$(body .error.message | grep -c 'not a CA')" 1
cat "$pki/acme-ca/ca.crt" "$pki/beta-ca/ca.crt" > "$pki/two.pem"
expect "two certificates in one upload: 400" \
  "$(jreq POST /api/v1/tenants/acme/device-cas "$A" "$(pem_json "$pki/two.pem")")" 400
expect "unknown field: 400" "$(jreq POST /api/v1/tenants/acme/device-cas "$A" '{"cert":"x"}')" 400
expect "acme's CA uploaded (201)" \
  "$(jreq POST /api/v1/tenants/acme/device-cas "$A" "$(pem_json "$pki/acme-ca/ca.crt")")" 201
ACME_CA=$(body .id)
expect "subject shown" "$(body .subject)" "CN=acme-ca device CA"
expect "same CA again: 409" \
  "$(jreq POST /api/v1/tenants/acme/device-cas "$A" "$(pem_json "$pki/acme-ca/ca.crt")")" 409
expect "beta's CA uploaded (201)" \
  "$(jreq POST /api/v1/tenants/beta/device-cas "$A" "$(pem_json "$pki/beta-ca/ca.crt")")" 201
BETA_CA=$(body .id)
expect "acme's CA read back with its PEM" \
  "$(req GET "/api/v1/tenants/acme/device-cas/$ACME_CA" "$A")$(jq -j .pem "$work/body" | cmp -s - "$pki/acme-ca/ca.crt" && echo same)" 200same
expect "beta's CA is not acme's (404)" "$(req GET "/api/v1/tenants/acme/device-cas/$BETA_CA" "$A")" 404
expect "CRL of another CA: 400" \
  "$(jreq PUT "/api/v1/tenants/acme/device-cas/$ACME_CA/crl" "$A" "$(pem_json "$pki/beta.crl")")" 400
expect "CRL of another CA: says so" "$(body .error.message | grep -c 'not signed by this device CA')" 1
expect "a CRL under acme's CA's name, signed by another key: 400" \
  "$(jreq PUT "/api/v1/tenants/acme/device-cas/$ACME_CA/crl" "$A" "$(pem_json "$pki/impostor.crl")")" 400
expect "a certificate as CRL: 400" \
  "$(jreq PUT "/api/v1/tenants/acme/device-cas/$ACME_CA/crl" "$A" "$(pem_json "$pki/dev1.crt")")" 400
expect "list: one CA, no CRL" "$(req GET /api/v1/tenants/acme/device-cas "$A")$(body 'length')$(body '.[0].crl')" 2001null
expect "acme: certificate mode (200)" \
  "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate"}')" 200
expect "acme: mode read back" "$(req GET /api/v1/tenants/acme/ddi-auth "$A")$(body .mode)$(body .controller_id_from)" 200certificatecn
jreq PUT /api/v1/tenants/beta/ddi-auth "$A" '{"mode":"certificate"}' >/dev/null

# ---- direct TLS: otter-server asks for the certificate itself ----
# dev CERT [PATHDEVICE [curl args]]: a base poll of acme over TLS with CERT's key; prints the status.
dev() {
  local cert=$1 cid=${2:-dev1}; shift 2 || shift 1
  local a=()
  [ -n "$cert" ] && a=(--cert "$pki/$cert.crt" --key "$pki/$cert.key")
  curl -s -m 20 --cacert "$pki/tls/ca.crt" "${a[@]}" "$@" -o "$work/body" -w '%{http_code}' \
    "$TLSURL/acme/controller/v1/$cid"
}
reason() { jq -r '.error | if type == "string" then . else .message end' "$work/body"; }
expect "TLS: acme's device certificate is enough (200)" "$(dev dev1)" 200
expect "TLS: the device was registered" "$(req GET /api/v1/tenants/acme/devices/dev1 "$A")" 200
expect "TLS: no certificate: 401" "$(dev '')" 401
expect "TLS: no certificate: reason" "$(reason | grep -c 'client certificate')" 1
expect "TLS: a certificate of another CA: 401" "$(dev rogue-dev1)" 401
expect "TLS: another CA: reason" "$(reason | grep -c 'not issued by a device CA of this tenant')" 1
expect "TLS: a certificate of beta's CA: 401" "$(dev beta-dev1)" 401
expect "TLS: beta's CA: same reason, nothing about beta" \
  "$(reason | grep -c 'not issued by a device CA of this tenant')$(grep -c beta "$work/body" || true)" 10
expect "TLS: beta's device is beta's (200)" "$(curl -s -m 20 --cacert "$pki/tls/ca.crt" \
  --cert "$pki/beta-dev1.crt" --key "$pki/beta-dev1.key" -o "$work/body" -w '%{http_code}' \
  "$TLSURL/beta/controller/v1/dev1")" 200
expect "TLS: expired: 401" "$(dev expired-dev1)" 401
expect "TLS: expired: reason" "$(reason | grep -c 'expired')" 1
expect "TLS: serverAuth-only certificate: 401" "$(dev server-dev1)" 401
expect "TLS: serverAuth-only: reason" "$(reason | grep -c 'client authentication')" 1
expect "TLS: dev1's certificate for dev2's path: 401" "$(dev dev1 dev2)" 401
expect "TLS: wrong path: reason" "$(reason | grep -c "for controller 'dev1'")" 1
expect "TLS: dev2 before its CRL (200)" "$(dev dev2 dev2)" 200
expect "CRL uploaded (200)" \
  "$(jreq PUT "/api/v1/tenants/acme/device-cas/$ACME_CA/crl" "$A" "$(pem_json "$pki/acme.crl")")" 200
expect "CRL shown" "$(body '.crl.sha256 | length')" 64
expect "TLS: revoked: 401" "$(dev dev2 dev2)" 401
expect "TLS: revoked: reason" "$(reason | grep -c 'revoked')" 1
expect "TLS: dev1 still in after the CRL (200)" "$(dev dev1)" 200
expect "refusals are logged (all but 'none presented')" "$(grep -c 'client certificate refused' "$work/server.log")" 6

# ---- certificate+token: both, never either alone ----
jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"token"}' >/dev/null
expect "dev5 provisioned (201)" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"dev5","model":"gw"}')" 201
T5=$(body .token)
expect "token mode: the token alone (200, now cached)" "$(dev '' dev5 -H "Authorization: TargetToken $T5")" 200
expect "token mode: again from the poll cache (200)" "$(dev '' dev5 -H "Authorization: TargetToken $T5")" 200
expect "certificate+token mode (200)" \
  "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate+token"}')" 200
expect "cert+token: the (cached) token alone: 401" "$(dev '' dev5 -H "Authorization: TargetToken $T5")" 401
expect "cert+token: the certificate alone: 401" "$(dev dev5 dev5)" 401
expect "cert+token: certificate and a wrong token: 401" "$(dev dev5 dev5 -H "Authorization: TargetToken x$T5")" 401
expect "cert+token: both (200)" "$(dev dev5 dev5 -H "Authorization: TargetToken $T5")" 200
expect "cert+token: both again (200)" "$(dev dev5 dev5 -H "Authorization: TargetToken $T5")" 200
expect "cert+token: token and another device's certificate: 401" \
  "$(dev dev1 dev5 -H "Authorization: TargetToken $T5")" 401
expect "cert+token: the token alone still refused: 401" "$(dev '' dev5 -H "Authorization: TargetToken $T5")" 401
jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate"}' >/dev/null

# ---- through nginx: TLS ends there, the certificate comes in a header ----
ngx_body() {
  cat <<CONF
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $pki/tls/srv.crt;
    ssl_certificate_key $pki/tls/srv.key;
    ssl_verify_client optional_no_ca;
    location / {
      proxy_set_header X-Client-Cert \$ssl_client_escaped_cert;
      proxy_set_header Host \$host;
      proxy_pass $URL6;
    }
  }
CONF
}
nginx_start "$ngx" "$ngx" ngx_body
NGX="https://127.0.0.1:$nginx_base"
via_nginx() { # via_nginx CERT [curl args]
  local cert=$1 a=(); shift
  [ -n "$cert" ] && a=(--cert "$pki/$cert.crt" --key "$pki/$cert.key")
  curl -s -m 20 --cacert "$pki/tls/ca.crt" "${a[@]}" "$@" -o "$work/body" -w '%{http_code}' \
    "$NGX/acme/controller/v1/dev1"
}
expect "nginx: acme's device certificate (200)" "$(via_nginx dev1)" 200
expect "nginx: no certificate: 401" "$(via_nginx '')" 401
expect "nginx: no certificate, the device's own X-Client-Cert header (nginx replaces it): 401" \
  "$(via_nginx '' -H "X-Client-Cert: $(jq -sRr @uri "$pki/dev1.crt")")" 401
expect "nginx: another CA (optional_no_ca passes it on): 401" "$(via_nginx rogue-dev1)" 401
expect "nginx: another CA: reason" "$(reason | grep -c 'not issued by a device CA of this tenant')" 1
expect "nginx: beta's CA: 401" "$(via_nginx beta-dev1)" 401
# nginx itself refuses an expired certificate (400) even with optional_no_ca; what a
# proxy passes on is verified again here all the same (the proxy's address sends it).
trusted() { # trusted CERT: a base poll of dev1 from ::1 (a trusted proxy) with CERT in the header
  curl -s -m 20 -o "$work/body" -w '%{http_code}' -H "X-Client-Cert: $(jq -sRr @uri "$pki/$1.crt")" \
    "$URL6/acme/controller/v1/dev1"
}
expect "trusted header: expired: 401" "$(trusted expired-dev1)" 401
expect "trusted header: expired: reason" "$(reason | grep -c expired)" 1
expect "trusted header: another CA: 401" "$(trusted rogue-dev1)" 401
expect "trusted header: beta's CA: 401" "$(trusted beta-dev1)" 401
expect "trusted header: not a certificate: 401" \
  "$(curl -s -m 20 -o "$work/body" -w '%{http_code}' -H 'X-Client-Cert: hello' "$URL6/acme/controller/v1/dev1")" 401

# ---- the header from a peer that is not a trusted proxy is ignored ----
esc=$(jq -sRr @uri "$pki/dev1.crt")
expect "header from 127.0.0.1 (untrusted) over plain HTTP: 401" \
  "$(req GET /acme/controller/v1/dev1 "" -H "X-Client-Cert: $esc")" 401
expect "untrusted header: no certificate seen" "$(reason | grep -c 'none was presented')" 1
expect "header from 127.0.0.1 over TLS with a rogue certificate: 401" \
  "$(dev rogue-dev1 dev1 -H "X-Client-Cert: $esc")" 401
expect "header from the trusted proxy address (::1) is taken (200)" "$(trusted dev1)" 200

# ---- a restarted server's bulk-loaded poll cache holds no token of a certificate tenant ----
jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate+token"}' >/dev/null
jreq POST /api/v1/tenants "$A" '{"name":"gamma"}' >/dev/null
expect "gamma (token mode): g1 provisioned" "$(jreq POST /api/v1/tenants/gamma/devices "$A" \
  '{"controller_id":"g1","model":"gw"}')" 201
TG=$(body .token)
kill -TERM "$server_pid"
rc=0; wait "$server_pid" || rc=$?
expect "the first server exits 0 on SIGTERM (under ASan: no leak)" "$rc" 0
rm -f "$work/ready"
"$server_bin" serve --config "$work/server.conf" --ready-file "$work/ready" 2>>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
URL=$(head -1 "$work/ready")
[ -n "$URL" ] || die "the restarted server wrote no ready file"
hits() { curl -s -m 20 "$URL/metrics" | awk '$1 == "otter_ddi_poll_cache_total{result=\"hit\"}" { print $2 }'; }
# Wait (10 s at most) until the bulk load is in: gamma's g1 is answered from the cache.
loaded=no
for _ in $(seq 50); do
  h=$(hits)
  req GET /gamma/controller/v1/g1 "TargetToken $TG" >/dev/null
  [ "$(hits)" != "$h" ] && { loaded=yes; break; }
  sleep 0.2
done
expect "restarted: the bulk-loaded cache answers gamma's g1" "$loaded" yes
h=$(hits)
expect "restarted: acme's dev5 with its token alone (cert+token): 401" \
  "$(req GET /acme/controller/v1/dev5 "TargetToken $T5")" 401
expect "restarted: and not from the cache" "$(hits)" "$h"
jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate"}' >/dev/null

# ---- deletion ----
expect "the last CA in certificate mode: 409" "$(req DELETE "/api/v1/tenants/acme/device-cas/$ACME_CA" "$A")" 409
jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"token"}' >/dev/null
expect "CA deleted (204)" "$(req DELETE "/api/v1/tenants/acme/device-cas/$ACME_CA" "$A")" 204
expect "list empty" "$(req GET /api/v1/tenants/acme/device-cas "$A")$(body length)" 2000
expect "deleting it again: 404" "$(req DELETE "/api/v1/tenants/acme/device-cas/$ACME_CA" "$A")" 404

stop_server
finish
