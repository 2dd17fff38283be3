#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's resumable HTTP(S) source against a real nginx on 127.0.0.1, with
# a TCP fault proxy in between: cuts at 50+ random offsets resume and verify,
# a flipped byte is refused by digest, a stall times out and resumes, a server
# that ignores Range restarts cleanly, and TLS refuses a wrong pin, an expired
# certificate and a wrong CA before any payload byte. otter-fetch's client
# certificate (--cert/--key) against nginx with ssl_verify_client (refused
# without one or with one of another CA), and its --proxy through a real
# forward proxy (tinyproxy) for HTTP and for HTTPS with a pin (CONNECT).
set -euo pipefail
src="$OTTER_SOURCE_DIR"; bin="$OTTER_BUILD_DIR"
fetch="$bin/tests/tools/fetch_verify"; proxy="$bin/tests/tools/otter_faultproxy"
command -v nginx >/dev/null || { echo "nginx missing: run make deps"; exit 1; }
if ! command -v tinyproxy >/dev/null; then # the forward proxy (binary only, no service)
  [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tinyproxy-bin >/dev/null 2>&1 || true
  command -v tinyproxy >/dev/null || { echo "tinyproxy missing: run make deps"; exit 1; }
fi
otter_fetch="$bin/bin/otter-fetch"
work="${OTTER_TEST_TMP:-/tmp}/http-source.$$"
rm -rf "$work"; mkdir -p "$work/www" "$work/logs"; cd "$work"
# Private like a checkout under /root (0700): nginx must serve it all the same (nginx_fixture.sh).
chmod 700 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
            [ -f nginx.pid ] && kill "$(cat nginx.pid)" 2>/dev/null
            [ -f tinyproxy.pid ] && kill "$(cat tinyproxy.pid)" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source "$src/tests/integration/tls_fixture.sh"
source "$src/tests/integration/nginx_fixture.sh"
source "$src/tests/integration/agent/device_fixture.sh"   # also lib/check.sh: ok, bad, expect, finish
make_tls "$work/tls"
# Client certificates: one from the test CA, one from the unrelated CA.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls/client.key \
  -subj /CN=gw-0001 -out tls/client.csr 2>/dev/null
openssl ca -batch -config tls/ca.cnf -cert tls/ca.crt -keyfile tls/ca.key -in tls/client.csr \
  -out tls/client.crt -days 30 >/dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls/stranger.key \
  -subj /CN=gw-0001 -out tls/stranger.csr 2>/dev/null
openssl x509 -req -in tls/stranger.csr -CA tls/other-ca.crt -CAkey tls/other-ca.key -CAcreateserial \
  -out tls/stranger.crt -days 30 2>/dev/null

# A real package: 2 MB of library bytes, signed.
head -c 2000000 "$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')" > rootfs.img
"$otter" keygen --out k >/dev/null
"$otter" root new --pubkey k.pub -o root.json >/dev/null
"$otter" pack --product p --compatible m --version 1 --security-version 1 \
  --image rootfs=rootfs.img --key k.key -o www/update.zip >/dev/null
size=$(stat -c %s www/update.zip)

source_servers() { # source_servers BASE: HTTP, HTTPS, HTTPS-expired, HTTP-without-ranges, HTTPS-client-cert
  local http=$1 https=$(($1 + 1)) expired=$(($1 + 2)) noranges=$(($1 + 3)) mtls=$(($1 + 4))
  cat <<CONF
  access_log $work/logs/access.log;
  server { listen 127.0.0.1:$http; root $work/www; }
  server { listen 127.0.0.1:$https ssl; ssl_certificate $work/tls/srv.crt;
           ssl_certificate_key $work/tls/srv.key; root $work/www;
           location = /to-http.zip { return 302 http://127.0.0.1:$http/update.zip; } }
  server { listen 127.0.0.1:$expired ssl; ssl_certificate $work/tls/expired.crt;
           ssl_certificate_key $work/tls/srv.key; root $work/www; }
  server { listen 127.0.0.1:$noranges; max_ranges 0; root $work/www; }
  log_format mtls '\$status \$ssl_client_verify \$ssl_client_s_dn';
  server { listen 127.0.0.1:$mtls ssl; ssl_certificate $work/tls/srv.crt;
           ssl_certificate_key $work/tls/srv.key; ssl_client_certificate $work/tls/ca.crt;
           ssl_verify_client on; access_log $work/logs/mtls.log mtls; root $work/www; }
CONF
}
nginx_start "$work" "$work/logs" source_servers || exit 1
http=$nginx_base; https=$((nginx_base + 1)); expired=$((nginx_base + 2))
noranges=$((nginx_base + 3)); mtls=$((nginx_base + 4))

start_proxy() { # start_proxy TARGET_PORT ARGS... -> sets $pport
  rm -f port
  "$proxy" --target "$1" --port-file port "${@:2}" & pids+=($!)
  for _ in $(seq 100); do [ -s port ] && break; sleep 0.02; done
  pport=$(cat port)
}
stop_proxy() { kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; }


out=$("$fetch" "http://127.0.0.1:$http/update.zip" root.json) && [[ $out == OK*resumes=0* ]] \
  && ok "plain HTTP: $out" || bad "plain HTTP: $out"

# Connection cut at random offsets: every one resumes with Range and verifies.
survived=0; tried=0
for _ in $(seq 60); do
  cut=$(( (RANDOM * 32768 + RANDOM) % size + 1 ))
  start_proxy "$http" --cut "$cut"
  tried=$((tried + 1))
  if out=$("$fetch" "http://127.0.0.1:$pport/update.zip" root.json 2>&1) && [[ $out == OK* ]] &&
     ! [[ $out == *resumes=0* ]]; then survived=$((survived + 1)); else echo "  cut at $cut: $out"; fi
  stop_proxy
done
[ "$survived" = "$tried" ] && ok "cuts at $tried random offsets: all resumed and verified" \
  || bad "cuts: $survived of $tried survived"

# Several cuts in one download.
start_proxy "$http" --cut "$((size / 5)),$((size / 4)),$((size / 3)),1000,50"
out=$("$fetch" "http://127.0.0.1:$pport/update.zip" root.json --retries 8 2>&1) && [[ $out == *resumes=5* ]] \
  && ok "five cuts in one download: $out" || bad "five cuts: $out"
stop_proxy

# A flipped byte in the payload: refused (exit 1), never accepted.
start_proxy "$http" --flip "$((size / 2))"
rc=0; out=$("$fetch" "http://127.0.0.1:$pport/update.zip" root.json 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ $out == *"image rootfs"* ]] && ok "flipped byte refused: ${out##*$'\n'}" \
  || bad "flipped byte: rc=$rc $out"
stop_proxy

# A stall longer than the stall timeout: the transfer is retried and completes.
start_proxy "$http" --stall "$((size / 2))" --stall-ms 3000
out=$("$fetch" "http://127.0.0.1:$pport/update.zip" root.json --stall 1 2>&1) && [[ $out == OK*resumes=1* ]] \
  && ok "stall: $out" || bad "stall: $out"
stop_proxy

# A server that ignores Range: the source restarts and skips what it had.
start_proxy "$noranges" --cut "$((size / 2))"
out=$("$fetch" "http://127.0.0.1:$pport/update.zip" root.json 2>&1) && [[ $out == OK*resumes=1* ]] \
  && ok "server ignoring Range: $out" || bad "no ranges: $out"
stop_proxy

# TLS: right CA and pin work; wrong pin, expired certificate, wrong CA are
# refused (exit 1) with no payload byte read (offset=0).
pin=$(cat tls/pin)
out=$("$fetch" "https://127.0.0.1:$https/update.zip" root.json --ca tls/ca.crt --pin "$pin" 2>&1) \
  && [[ $out == OK* ]] && ok "TLS with CA and pin" || bad "TLS good: $out"
tls_refused() { # NAME ARGS...
  local name=$1; shift; local rc=0 out
  out=$("$fetch" "$@" 2>&1) || rc=$?
  [ "$rc" = 1 ] && [[ $out == *offset=0\ payload=0* ]] && ok "$name refused: ${out##*$'\n'}" \
    || bad "$name: rc=$rc $out"
}
tls_refused "wrong pin" "https://127.0.0.1:$https/update.zip" root.json --ca tls/ca.crt \
  --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
tls_refused "expired certificate" "https://127.0.0.1:$expired/update.zip" root.json --ca tls/ca.crt
tls_refused "wrong CA" "https://127.0.0.1:$https/update.zip" root.json --ca tls/other-ca.crt

# A redirect from https to http is refused: the rest of the download would
# cross the network in clear. Nothing is written, the http server sees nothing.
requests=$(wc -l < logs/access.log)
rc=0; "$otter_fetch" "https://127.0.0.1:$https/to-http.zip" --ca tls/ca.crt --pin "$pin" \
  > got.zip 2> fetch.err || rc=$?
[ "$rc" = 2 ] && [ ! -s got.zip ] && grep -q "a redirect away from https is refused" fetch.err \
  && ok "redirect from https to http refused: $(cat fetch.err)" || bad "https->http redirect: rc=$rc $(cat fetch.err)"
expect "only the redirect itself was requested" "$(( $(wc -l < logs/access.log) - requests ))" 1

# Every 206 must continue at the byte asked for (range_liar.py cuts the first
# answer in half, then answers the Range request wrongly): refused, nothing
# beyond the first half written.
for mode in zero missing other; do
  rm -f liar.port
  python3 "$src/tests/tools/range_liar.py" www/update.zip liar.port "$mode" 2>>logs/liar.err & pids+=($!)
  for _ in $(seq 100); do [ -s liar.port ] && break; sleep 0.05; done
  rc=0; "$otter_fetch" "http://127.0.0.1:$(cat liar.port)/update.zip" > got.zip 2> fetch.err || rc=$?
  [ "$rc" = 2 ] && grep -q "206 answer does not continue at byte $((size / 2))" fetch.err \
    && [ "$(stat -c %s got.zip)" -le "$((size / 2))" ] \
    && ok "206 with Content-Range $mode refused: $(cat fetch.err)" \
    || bad "206 $mode: rc=$rc, $(stat -c %s got.zip) bytes, $(cat fetch.err)"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

# HTTP errors that another attempt cannot fix: no retries.
rc=0; out=$("$fetch" "http://127.0.0.1:$http/missing.zip" root.json 2>&1) || rc=$?
[ "$rc" = 2 ] && [[ $out == *"HTTP 404"* ]] && [[ $out == *resumes=0* ]] && ok "404 is final" \
  || bad "404: rc=$rc $out"

# The agent installs from a URL: download in otter-fetch (child process),
# resumed after a cut, verified, written, committed on the next boot.
make_keys
make_content v1.img 200000 1
make_pkg v1.zip 1.0 1 v1.img raw
make_pkg www/v2.zip 2.0 2 rootfs.img raw
make_device "$work/dev" raw
"$agent" -c "$work/dev/agent.conf" factory v1.zip >/dev/null 2>&1
"$agent" bootsim --root "$work/dev" >/dev/null
before=$(fingerprint "$work/dev")
rc=0; out=$("$agent" -c "$work/dev/agent.conf" install "https://127.0.0.1:$https/v2.zip" --ca tls/ca.crt \
  --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$before" = "$(fingerprint "$work/dev")" ] && [[ $out == *"download refused"* ]] \
  && ok "agent: wrong pin refused, device unchanged" || bad "agent wrong pin: rc=$rc $out"
v2size=$(stat -c %s www/v2.zip)
start_proxy "$https" --cut "$((v2size / 3))"
out=$("$agent" -c "$work/dev/agent.conf" install "https://127.0.0.1:$pport/v2.zip" --ca tls/ca.crt --pin "$pin" 2>&1) \
  && out=$("$agent" bootsim --root "$work/dev") && [[ $out == "booted slot B: update committed" ]] \
  && ok "agent: install from HTTPS with pin, cut and resumed, committed" || bad "agent URL install: $out"
stop_proxy

# Client certificate: nginx demands one of the test CA (ssl_verify_client on).
mtls_url="https://127.0.0.1:$mtls/update.zip"
rc=0; "$otter_fetch" "$mtls_url" --ca tls/ca.crt --pin "$pin" --cert tls/client.crt --key tls/client.key \
  > got.zip 2> fetch.err || rc=$?
[ "$rc" = 0 ] && cmp -s got.zip www/update.zip && ok "client certificate of the test CA: downloaded, identical" \
  || bad "client certificate: rc=$rc $(cat fetch.err)"
for who in "no client certificate:" "client certificate of another CA:--cert tls/stranger.crt --key tls/stranger.key"; do
  read -ra opts <<< "${who#*:}" # the options of that case (none in the first)
  rc=0; "$otter_fetch" "$mtls_url" --ca tls/ca.crt --pin "$pin" "${opts[@]}" > got.zip 2> fetch.err || rc=$?
  [ "$rc" = 2 ] && [ ! -s got.zip ] && grep -q "400" fetch.err && ok "${who%%:*} refused (no byte): $(cat fetch.err)" \
    || bad "${who%%:*}: rc=$rc, $(stat -c %s got.zip) bytes, $(cat fetch.err)"
done
expect "nginx saw: the test CA's client verified, none, the other CA's failed" \
  "$(cut -c1-30 logs/mtls.log | sed 's/:.*//')" "$(printf '200 SUCCESS CN=gw-0001\n400 NONE -\n400 FAILED')"

# A forward proxy (tinyproxy) on 127.0.0.1: plain HTTP is forwarded, HTTPS
# goes through CONNECT with the pin still checked end to end. tinyproxy cannot
# take port 0: a random port, ready when tinyproxy itself logs that it accepts
# connections on it (a connect alone may reach whatever else holds the port);
# a port it cannot bind ends it, and the next try takes another.
start_tinyproxy() {
  for _ in $(seq 20); do
    tport=$((20000 + RANDOM % 30000))
    cat > tinyproxy.conf <<CONF
Port $tport
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
ConnectPort $https
LogFile "$work/logs/tinyproxy.log"
LogLevel Info
PidFile "$work/tinyproxy.pid"
MaxClients 10
CONF
    rm -f tinyproxy.pid
    : > logs/tinyproxy.log
    tinyproxy -d -c "$work/tinyproxy.conf" 2>>logs/tinyproxy.err & pids+=($!)
    for _ in $(seq 50); do
      grep -q "Accepting connections" logs/tinyproxy.log && return 0
      kill -0 "${pids[-1]}" 2>/dev/null || break
      sleep 0.1
    done
    kill "${pids[-1]}" 2>/dev/null || true
  done
  echo "cannot start tinyproxy: $(tail -3 logs/tinyproxy.err logs/tinyproxy.log 2>/dev/null)"; return 1
}
start_tinyproxy || exit 1
rc=0; "$otter_fetch" "http://127.0.0.1:$http/update.zip" --proxy "http://127.0.0.1:$tport" > got.zip 2> fetch.err || rc=$?
[ "$rc" = 0 ] && cmp -s got.zip www/update.zip && grep -q "GET http://127.0.0.1:$http/update.zip" logs/tinyproxy.log \
  && ok "HTTP through the proxy: identical, the proxy forwarded the GET" \
  || bad "HTTP through the proxy: rc=$rc $(cat fetch.err) $(tail -5 logs/tinyproxy.log)"
rc=0; "$otter_fetch" "https://127.0.0.1:$https/update.zip" --ca tls/ca.crt --pin "$pin" \
  --proxy "http://127.0.0.1:$tport" > got.zip 2> fetch.err || rc=$?
[ "$rc" = 0 ] && cmp -s got.zip www/update.zip && grep -q "CONNECT 127.0.0.1:$https" logs/tinyproxy.log \
  && ok "HTTPS with pin through the proxy: identical, the proxy saw the CONNECT" \
  || bad "HTTPS through the proxy: rc=$rc $(cat fetch.err) $(tail -5 logs/tinyproxy.log)"
rc=0; "$otter_fetch" "https://127.0.0.1:$https/update.zip" --ca tls/ca.crt \
  --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" --proxy "http://127.0.0.1:$tport" > got.zip 2> fetch.err || rc=$?
[ "$rc" = 1 ] && [ ! -s got.zip ] && ok "wrong pin through the proxy refused: $(cat fetch.err)" \
  || bad "wrong pin through the proxy: rc=$rc $(cat fetch.err)"
expect "the proxy carried two CONNECTs" "$(grep -c "CONNECT 127.0.0.1:$https" logs/tinyproxy.log)" 2
# The option is honoured, not ignored: a proxy that is not there fails the download.
kill "$(cat tinyproxy.pid)"; rm -f tinyproxy.pid
rc=0; "$otter_fetch" "http://127.0.0.1:$http/update.zip" --proxy "http://127.0.0.1:$tport" --retries 1 > got.zip 2> fetch.err || rc=$?
[ "$rc" = 2 ] && [ ! -s got.zip ] && ok "proxy gone: the download fails ($(cat fetch.err))" \
  || bad "proxy gone: rc=$rc $(cat fetch.err)"

finish
