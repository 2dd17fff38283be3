#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# "Verify the connection" (#17): `otter-agent check --verify` names what fails, against a real
# otter-server on 127.0.0.1 (HTTP and HTTPS with the test CA): a name that does not resolve
# (dns), a port nothing listens on (refused), a wrong pin (pin), an expired certificate
# (cert_expired), a wrong token (device_refused, HTTP 401), a metered link the policy forbids
# (metered); the right settings say ok. The same through a running daemon's control socket.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages python3 openssl
ddi_setup control-verify
ddi_https
d="$work/dev"
ddi_device "$d" gw-0001 "$TLS_URL" "ca = $work/tls/ca.crt
pin = $pin"
cp "$d/agent.conf" "$work/good.conf"
# verify: the first line of `otter-agent check --verify` and its exit status.
verify() { local rc=0 out; out=$("$agent" -c "$d/agent.conf" check --verify 2>/dev/null) || rc=$?; echo "$rc $(head -1 <<< "$out")"; }
setting() { cp "$work/good.conf" "$d/agent.conf"; sed -i "s|^$1 = .*|$1 = $2|" "$d/agent.conf"; }

expect "the right settings" "$(verify)" "0 connection: ok"
setting url "https://otter-no-such-host.invalid:${TLS_URL##*:}"
out=$(verify)
case "$out" in "1 connection: dns: the server's name does not resolve (DNS): "*) ok "dns named: $out";; *) bad "dns: $out";; esac
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setting url "https://127.0.0.1:$free_port"
out=$(verify)
case "$out" in "1 connection: refused: the server refused the connection (nothing listens): "*) ok "refused named: $out";; *) bad "refused: $out";; esac
setting pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
out=$(verify)
case "$out" in "1 connection: pin: the server's key does not match the pin ([server] pin): "*) ok "pin named: $out";; *) bad "pin: $out";; esac
setting target_token otd_0000000000000000000000000000000000000000000000000000000000000000
expect "a wrong token: the server refused the device" "$(verify)" \
  "1 connection: device_refused: the server refused this device (its token or certificate): HTTP 401 from $TLS_URL"
cp "$work/good.conf" "$d/agent.conf"
cat >> "$d/agent.conf" <<CONF
[preconditions]
metered_command = test -e $work/metered
metered = forbid
CONF
expect "not metered: ok" "$(verify)" "0 connection: ok"
touch "$work/metered"
expect "metered and forbidden" "$(verify)" \
  "1 connection: metered: the link is metered and this device may not download over it ([preconditions] metered = forbid)"

# A second server with an expired certificate from the right CA.
mkdir -p "$work/expired"
cat > "$work/expired/server.conf" <<CONF
[http]
listen_tls = 127.0.0.1:0
tls_cert = $work/tls/expired.crt
tls_key = $work/tls/srv.key
[database]
url = sqlite:$work/expired/otter.db
[storage]
artifacts = $work/expired/artifacts
CONF
OTTER_ADMIN_PASSWORD="$ADMIN_PW" "$server_bin" init --config "$work/expired/server.conf" >/dev/null
"$server_bin" serve --config "$work/expired/server.conf" --ready-file "$work/expired/ready" 2>"$work/expired/log" &
expired_pid=$!
for _ in $(seq 100); do [ -s "$work/expired/ready" ] && break; sleep 0.1; done
setting url "$(head -1 "$work/expired/ready")"
sed -i "s|^pin = .*|pin = |" "$d/agent.conf"
out=$(verify)
kill -TERM "$expired_pid"; wait "$expired_pid" || true
case "$out" in "1 connection: cert_expired: the server's certificate has expired: "*) ok "expired named: $out";; *) bad "expired: $out";; esac

# Through the running daemon: its verify action, the answer in the state.
setting target_token otd_0000000000000000000000000000000000000000000000000000000000000000
echo "[control]
socket = $work/control.sock" >> "$d/agent.conf"
setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$work/control.sock" ] && break; sleep 0.05; done
expect "through the daemon: the server refused the device" "$(verify)" \
  "1 connection: device_refused: the server refused this device (its token or certificate): HTTP 401 from $TLS_URL"
grep -q "refused the device\|HTTP 401" "$work/daemon.log" && ok "the daemon did the request" || bad "the daemon's log: $(tail -3 "$work/daemon.log")"
finish
