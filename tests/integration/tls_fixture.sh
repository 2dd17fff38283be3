#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by tests: makes a test CA, a server certificate for 127.0.0.1, an
# expired one from the same CA, a second unrelated CA, and the server key's pin.
#   make_tls DIR   -> DIR/{ca.crt,srv.crt,srv.key,expired.crt,other-ca.crt,pin}
make_tls() {
  local d=$1
  mkdir -p "$d/ca-db" && : > "$d/ca-db/index.txt" && echo 01 > "$d/ca-db/serial"
  cat > "$d/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $d/ca-db/index.txt
serial = $d/ca-db/serial
new_certs_dir = $d/ca-db
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
CNF
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
    -out "$d/ca.crt" -days 30 -subj /CN=otter-test-ca 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/other-ca.key" \
    -out "$d/other-ca.crt" -days 30 -subj /CN=other-ca 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/srv.key" \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -out "$d/srv.csr" 2>/dev/null
  openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" -in "$d/srv.csr" \
    -out "$d/srv.crt" -days 30 >/dev/null 2>&1
  openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" -in "$d/srv.csr" \
    -out "$d/expired.crt" -startdate 20200101000000Z -enddate 20200201000000Z >/dev/null 2>&1
  echo "sha256//$(openssl x509 -in "$d/srv.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | openssl base64 -A)" > "$d/pin"
}
