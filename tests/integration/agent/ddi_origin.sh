#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 11 §3, "the device talks only to its server", with a real otter-server
# behind a real nginx on 127.0.0.1 (and the server's own listener on ::1):
#  1. X-Forwarded-Proto/-Host count only from [server] trusted_proxies
#     (127.0.0.1 trusted, ::1 not): forged ones from ::1 change no link.
#  2. nginx terminates TLS and sends no forwarded headers: the server writes
#     http:// links; the device (https URL, CA, pin) refuses them as a
#     downgrade, and no plain-HTTP request (with its token) reaches the proxy.
#  3. nginx sends X-Forwarded-Proto/-Host from the trusted address: https
#     links, the update installs over the proxy.
#  4. An artifact link on another origin (nginx rewrites it, as a server with
#     a CDN would write it): refused and reported as the action's failure,
#     nothing installed, unless [server] artifact_origins lists the origin;
#     then it is downloaded from there without the token.
#  5. [server] public_url: the proxy of step 2 works once the server knows
#     its public URL.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/tls_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/nginx_fixture.sh"
command -v nginx >/dev/null || { echo "nginx missing: run make deps"; exit 1; }
ddi_setup ddi-origin "[server]
trusted_proxies = 127.0.0.1
[http]
listen = [::1]:0"
# nginx first: ddi_cleanup removes $work, and with it the pid file (nginx was left running).
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; ddi_cleanup; true' EXIT
# Private like a checkout under /root (0700): nginx must serve the CDN files all the same.
chmod 700 "$work"
ddi_pkg 2.0 2 300000; release 2.0 >/dev/null
V6_URL=$(grep '^http://\[::1\]' "$work/ready" | head -1)
[ -n "$V6_URL" ] || { bad "no listener on ::1: $(cat "$work/ready")"; finish; }
make_tls "$work/tls"
pin=$(cat "$work/tls/pin")

# 1. Forwarded headers: honoured from 127.0.0.1 (trusted), ignored from ::1.
d1="$work/d1"; ddi_device "$d1" gw-0001
act1=$(deploy 2.0 gw-0001)
token1=$(sed -n 's/^target_token = //p' "$d1/agent.conf")
forged_href() {
  curl -s -m 20 -H "Authorization: TargetToken $token1" -H "X-Forwarded-Proto: https" \
    -H "X-Forwarded-Host: ota.example.com:8443" "$1/acme/controller/v1/gw-0001" |
    jq -r '._links.deploymentBase.href'
}
expect "forwarded headers from a trusted proxy make the links" "$(forged_href "$URL")" \
  "https://ota.example.com:8443/acme/controller/v1/gw-0001/deploymentBase/$act1"
expect "forged forwarded headers from an untrusted address are ignored" "$(forged_href "$V6_URL")" \
  "$V6_URL/acme/controller/v1/gw-0001/deploymentBase/$act1"

# nginx: TLS without forwarded headers ($plain), TLS with them ($fwd), plain HTTP
# rewriting artifact links to the "CDN" ($rw), and the CDN serving files ($cdn).
mkdir -p "$work/nginx" "$work/cdn"
origin_servers() { # origin_servers BASE: $plain, $fwd, $rw, $cdn from BASE
  local plain=$1 fwd=$(($1 + 1)) rw=$(($1 + 2)) cdn=$(($1 + 3))
  cat <<CONF
  log_format auth '\$server_port \$status \$request_method \$uri auth=[\$http_authorization]';
  access_log $work/nginx/access.log auth;
  proxy_set_header Host \$http_host;
  server { listen 127.0.0.1:$plain ssl; ssl_certificate $work/tls/srv.crt;
           ssl_certificate_key $work/tls/srv.key; location / { proxy_pass $URL; } }
  server { listen 127.0.0.1:$fwd ssl; ssl_certificate $work/tls/srv.crt;
           ssl_certificate_key $work/tls/srv.key;
           location / { proxy_pass $URL; proxy_set_header Host \$http_host;
                        proxy_set_header X-Forwarded-Proto \$scheme;
                        proxy_set_header X-Forwarded-Host \$http_host; } }
  server { listen 127.0.0.1:$rw;
           location / { proxy_pass $URL; proxy_set_header Host \$http_host;
                        proxy_set_header Accept-Encoding ""; sub_filter_types application/json;
                        sub_filter_once off;
                        sub_filter 'http://127.0.0.1:$rw/acme/controller/v1/gw-0003/softwaremodules/'
                                   'http://127.0.0.1:$cdn/files/'; } }
  server { listen 127.0.0.1:$cdn; root $work/cdn; }
CONF
}
nginx_start "$work" "$work/nginx" origin_servers || exit 1
plain=$nginx_base; fwd=$((nginx_base + 1)); rw=$((nginx_base + 2)); cdn=$((nginx_base + 3))
nginx_log() { grep "^$1 " "$work/nginx/access.log" || true; }

# 2. Behind the TLS proxy without forwarded headers the server writes http:// links.
d2="$work/d2"
ddi_device "$d2" gw-0002 "https://127.0.0.1:$plain" "ca = $work/tls/ca.crt
pin = $pin"
act2=$(deploy 2.0 gw-0002)
before=$(device_print "$d2")
rc=$(cycle "$d2")
[ "$rc" != 0 ] && grep -q "is plain HTTP but the server is reached over HTTPS (a downgrade" "$work/cycle.log" \
  && ok "http:// link from an https server refused as a downgrade" \
  || bad "downgrade: rc=$rc $(cat "$work/cycle.log")"
expect "no plain-HTTP request reached the TLS proxy" "$(nginx_log "$plain" | grep -c ' 400 ' || true)" 0
expect "nothing installed after the refused link" "$(device_print "$d2")" "$before"
expect "the device still polled over HTTPS" "$(nginx_log "$plain" | grep -c "GET /acme/controller/v1/gw-0002 " || true)" 1

# 3. The same device through the proxy that says what the client used.
ddi_url "$d2" "https://127.0.0.1:$fwd"
expect "install through the forwarding proxy" "$(cycle "$d2")" 0
"$agent" bootsim --root "$d2" >/dev/null
cycle "$d2" >/dev/null
expect "through the forwarding proxy: finished/success" "$(action "$act2" '.status + "/" + .result')" \
  finished/success

# 4. An artifact link on another origin.
d3="$work/d3"; ddi_device "$d3" gw-0003 "http://127.0.0.1:$rw"
act3=$(deploy 2.0 gw-0003)
token3=$(sed -n 's/^target_token = //p' "$d3/agent.conf")
href=$(curl -s -m 20 -H "Authorization: TargetToken $token3" "http://127.0.0.1:$rw/acme/controller/v1/gw-0003/deploymentBase/$act3" |
  jq -r '.deployment.chunks[0].artifacts[0]._links.download.href')
[[ $href == "http://127.0.0.1:$cdn/files/"* ]] && ok "artifact link rewritten to the CDN" || bad "artifact link: $href"
mkdir -p "$(dirname "$work/cdn/files/${href#*/files/}")"
cp "$keys/2.0.zip" "$work/cdn/files/${href#*/files/}"
before=$(device_print "$d3")
cycle "$d3" >/dev/null
expect "unlisted artifact origin: action error/failure" "$(action "$act3" '.status + "/" + .result')" error/failure
detail=$(action "$act3" '[.feedback[] | select(.execution == "closed")][0].details[0]')
[[ $detail == *"is on http://127.0.0.1:$cdn, neither the server's origin"* ]] \
  && ok "the refusal is the action's feedback" || bad "feedback: $detail"
expect "unlisted artifact origin: nothing fetched from it" "$(nginx_log "$cdn" | wc -l)" 0
expect "unlisted artifact origin: nothing installed" "$(device_print "$d3")" "$before"

echo "artifact_origins = http://127.0.0.1:$cdn" >> "$d3/agent.conf"
act3=$(deploy 2.0 gw-0003)
expect "listed artifact origin: install" "$(cycle "$d3")" 0
"$agent" bootsim --root "$d3" >/dev/null
cycle "$d3" >/dev/null
expect "listed artifact origin: finished/success" "$(action "$act3" '.status + "/" + .result')" finished/success
expect "the CDN got the download without the token" "$(nginx_log "$cdn" | sed 's/ GET .*auth=/ auth=/' | sort -u)" \
  "$cdn 200 auth=[-]"
nginx_log "$rw" | grep -q "auth=\[TargetToken $token3\]" && ok "the server's origin got the token" \
  || bad "no token at the server's origin: $(nginx_log "$rw")"

# 5. public_url: the server writes https://127.0.0.1:$plain links behind the proxy of step 2.
d5="$work/d5"
ddi_device "$d5" gw-0005 "https://127.0.0.1:$plain" "ca = $work/tls/ca.crt
pin = $pin"
kill -TERM "$server_pid"; wait "$server_pid" || true
sed -i "s|^trusted_proxies = .*|&\npublic_url = https://127.0.0.1:$plain|; s|^listen = 127.0.0.1:0$|listen = $HOSTPORT|; s|^listen = \[::1\]:0$|listen = ${V6_URL#http://}|" \
  "$work/server.conf"
restart_server
expect "server back on its port" "$URL" "http://$HOSTPORT"
act5=$(deploy 2.0 gw-0005)
expect "public_url: install through the TLS proxy" "$(cycle "$d5")" 0
"$agent" bootsim --root "$d5" >/dev/null
cycle "$d5" >/dev/null
expect "public_url: finished/success" "$(action "$act5" '.status + "/" + .result')" finished/success

stop_server
finish
