#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd as the device of a tenant in certificate+token mode (issue #13):
# its [server] cert/key (a file key from the tenant's device CA, made with the
# openssl command line) and its TargetToken over HTTPS to otter-server, which
# asks for the client certificate itself (tls_client_cert). A whole cycle
# (poll, deploymentBase, artifact download, feedback) works; the same device
# without its certificate, or with one of another CA, is refused (daemon
# exit 2, the server's 401) and installs nothing.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages openssl
ddi_setup devcert-agent
ddi_pkg 2.0 2 300000; release 2.0 >/dev/null
ddi_https
# The same server, now asking TLS clients for a certificate.
kill -TERM "$server_pid"; wait "$server_pid" || true
sed -i "s|^tls_key = .*|&\ntls_client_cert = true|" "$work/server.conf"
restart_server
TLS_URL=$(grep '^https://' "$work/ready" | head -1)
[ -n "$TLS_URL" ] || die "no HTTPS listener: $(cat "$work/ready")"

# The tenant's device CA, a device certificate for gw-0001, and one of another CA.
pki="$work/pki"; mkdir -p "$pki"
ca() { # ca NAME: a self-signed device CA
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.crt" -days 30 -subj "/CN=$1" >/dev/null 2>&1 || die "CA $1"
}
leaf() { # leaf CA NAME CN: a client certificate NAME.{crt,key} issued by CA
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$2.key" \
    -subj "/CN=$3" -out "$pki/$2.csr" >/dev/null 2>&1 || die "CSR $2"
  openssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.crt" -CAkey "$pki/$1.key" -CAcreateserial \
    -days 30 -extfile <(printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n') \
    -out "$pki/$2.crt" >/dev/null 2>&1 || die "certificate $2"
}
ca acme-ca; ca rogue-ca
leaf acme-ca gw gw-0001
leaf rogue-ca rogue gw-0001
expect "device CA uploaded" "$(jreq POST /api/v1/tenants/acme/device-cas "$A" "$(jq -Rs '{pem: .}' "$pki/acme-ca.crt")")" 201
expect "mode certificate+token" \
  "$(jreq PUT /api/v1/tenants/acme/ddi-auth "$A" '{"mode":"certificate+token"}')" 200

d="$work/dev"
ddi_device "$d" gw-0001 "$TLS_URL" "ca = $work/tls/ca.crt
cert = $pki/gw.crt
key = $pki/gw.key"
slot_print() { { sha256sum < "$d/a"; sha256sum < "$d/b"; device_print "$d"; } | sha256sum; }

# 1. Without its certificate (the token alone) and with another CA's: refused, nothing installed.
act=$(deploy 2.0 gw-0001)
cp "$d/agent.conf" "$work/agent.conf.good"
before=$(slot_print)
sed -i '/^cert = /d; /^key = /d' "$d/agent.conf"
expect "token alone: the daemon's poll is refused (exit 2)" "$(cycle "$d")" 2
expect "token alone: the server answered 401" "$(grep -c '401' "$work/cycle.log" || true)" 1
sed "s|$pki/gw\.|$pki/rogue.|" "$work/agent.conf.good" > "$d/agent.conf"
expect "another CA's certificate: the daemon's poll is refused (exit 2)" "$(cycle "$d")" 2
expect "another CA's certificate: the server answered 401" "$(grep -c '401' "$work/cycle.log" || true)" 1
expect "another CA's certificate: refusal logged" \
  "$(grep -c "gw-0001: client certificate refused (the client certificate is not issued by a device CA" "$work/server.log")" 1
expect "refused: slots, state and boot variables untouched" "$(slot_print)" "$before"
expect "refused: the action is still scheduled" "$(action "$act" .status)" scheduled

# 2. Its certificate and its token: the whole cycle over mutual TLS.
cp "$work/agent.conf.good" "$d/agent.conf"
expect "certificate + token: install over mutual TLS" "$(cycle "$d")" 0
"$agent" bootsim --root "$d" >/dev/null
cycle "$d" >/dev/null
expect "mutual TLS cycle: finished/success" \
  "$(action "$act" '.status + "/" + .result') closed=$(closed_count "$act")" "finished/success closed=1"
finish
