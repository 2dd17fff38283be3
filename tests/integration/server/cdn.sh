#!/usr/bin/env bash
# shellcheck disable=SC2154 # work, keys, URL, A, agent ...: set by lib.sh and ddi_fixture.sh
# SPDX-License-Identifier: Apache-2.0
# Issue 15, "Delivery at scale": artifacts through an nginx origin with
# signed, expiring links; two otter-server instances on one PostgreSQL and
# no shared filesystem ([storage] database = true, each its own artifacts
# directory). A release is uploaded to server 1; a real device (otter-agentd,
# file slots) polls server 2, gets a link to nginx (secure_link + proxy_cache)
# and installs through it; nginx fills its cache from server 2, which never
# saw the upload and takes the bytes from the database (SHA-256 checked).
# Tampered links (path, expiry, signature) get 403 from nginx, an expired one
# 410, and the device reports the failure; the server's own origin route
# refuses anything but a valid link too. Needs OTTER_TEST_PG_URL (lib.sh).
export OTTER_TEST_STORE=postgres
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/nginx_fixture.sh"
command -v nginx >/dev/null || { echo "nginx missing: run make deps"; exit 1; }
need_packages openssl

pid_b=
ddi_setup cdn "[storage]
database = true"
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; [ -n "$pid_b" ] && kill -TERM "$pid_b" 2>/dev/null; ddi_cleanup; true' EXIT
chmod 700 "$work" # private like a checkout under /root: nginx must cope (nginx_fixture.sh)
openssl rand -base64 32 > "$work/cdn.secret"
secret=$(cat "$work/cdn.secret")

# nginx: the origin on $cdn, pulling from server 2 on $((cdn + 1)) (started below on that port).
mkdir -p "$work/nginx/cache"
origin_server() { # origin_server BASE
  cat <<CONF
  log_format cdn '\$status \$request_method \$uri cache=\$upstream_cache_status';
  access_log $work/nginx/access.log cdn;
  proxy_cache_path $work/nginx/cache levels=1:2 keys_zone=otter:10m max_size=1g inactive=7d
                   use_temp_path=off;
  upstream otter_servers { server 127.0.0.1:$(($1 + 1)); }
  server {
    listen 127.0.0.1:$1;
    location / {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri $secret";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      proxy_pass http://otter_servers/cdn/v1/artifacts/;
      proxy_cache otter;
      proxy_cache_key \$uri;
      proxy_cache_lock on;
      proxy_cache_valid 200 7d;
      add_header X-Cache \$upstream_cache_status;
    }
  }
  # A proxy in front of server 2 that tampers with every signature it hands out.
  server {
    listen 127.0.0.1:$(($1 + 3));
    location / {
      proxy_pass http://otter_servers;
      proxy_set_header Host \$http_host;
      proxy_set_header Accept-Encoding "";
      sub_filter_types application/json;
      sub_filter_once off;
      sub_filter '?md5=' '?md5=AAAA';
    }
  }
  # The alternative of docs/security.md: no secret at the origin, a server checks each link.
  server {
    listen 127.0.0.1:$(($1 + 2));
    log_subrequest on; # the auth_request subrequests counted below
    location / {
      auth_request /_otter_link;
      proxy_pass http://otter_servers/cdn/v1/artifacts/;
      proxy_cache otter;
      proxy_cache_key \$uri;
      proxy_cache_lock on;
      proxy_cache_valid 200 7d;
    }
    location = /_otter_link {
      internal;
      proxy_method HEAD;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_pass http://otter_servers/cdn/v1/artifacts\$request_uri;
    }
  }
CONF
}
nginx_start "$work" "$work/nginx" origin_server || exit 1
cdn=$nginx_base
nginx_log() { cat "$work/nginx/access.log" 2>/dev/null || true; }

# Server 2: the same database, its own empty artifacts directory, links to the origin.
mkdir -p "$work/artifacts-2"
sed "s|^artifacts = .*|artifacts = $work/artifacts-2|; s|^listen = 127.0.0.1:0$|listen = 127.0.0.1:$((cdn + 1))|" \
  "$work/server.conf" > "$work/server-2.conf"
cat >> "$work/server-2.conf" <<CONF
[cdn]
base_url = http://127.0.0.1:$cdn
secret_file = $work/cdn.secret
link_ttl = 1h
CONF
OTTER_TEST_NOW_FILE="$work/now-2" "$server_bin" serve --config "$work/server-2.conf" \
  --ready-file "$work/ready-2" 2>"$work/server-2.log" &
pid_b=$!
for _ in $(seq 100); do [ -s "$work/ready-2" ] && break; sleep 0.1; done
URL_B=$(head -1 "$work/ready-2")
expect "server 2 listens where nginx pulls from" "$URL_B" "http://127.0.0.1:$((cdn + 1))"

# ---- a release uploaded to server 1 only ----
ddi_pkg 2.0 2 300000; release 2.0 >/dev/null
sha=$(sha256sum < "$keys/2.0.zip" | cut -d' ' -f1)
[ -f "$work/artifacts/$sha" ] && ok "server 1 has the file" || bad "server 1 has no $sha"
expect "server 2 has no file" "$(find "$work/artifacts-2" -mindepth 1 | wc -l)" 0
expect "the artifact is in the database" "$(db "SELECT size FROM blobs WHERE sha256 = '$sha'")" \
  "$(stat -c %s "$keys/2.0.zip")"

# ---- a device polling server 2 gets a signed link to the origin ----
d1="$work/d1"; ddi_device "$d1" gw-0001 "$URL_B" "artifact_origins = http://127.0.0.1:$cdn"
act1=$(deploy 2.0 gw-0001)
token1=$(sed -n 's/^target_token = //p' "$d1/agent.conf")
curl -s -m 20 -H "Authorization: TargetToken $token1" \
  "$URL_B/acme/controller/v1/gw-0001/deploymentBase/$act1" > "$work/dep.json"
href=$(jq -r '.deployment.chunks[0].artifacts[0]._links.download.href' "$work/dep.json")
expect "download-http is the same link" \
  "$(jq -r '.deployment.chunks[0].artifacts[0]._links["download-http"].href' "$work/dep.json")" "$href"
[[ $href =~ ^http://127\.0\.0\.1:$cdn/$sha\?md5=([A-Za-z0-9_-]{22})\&expires=([0-9]+)$ ]] \
  && ok "signed link to the origin: $href" || bad "link: $href"
md5=${BASH_REMATCH[1]:-}; expires=${BASH_REMATCH[2]:-0}
now=$(date +%s)
[ "$expires" -gt $((now + 3500)) ] && [ "$expires" -le $((now + 3600)) ] \
  && ok "the link lives link_ttl (1h)" || bad "expires $expires, now $now"
# The signature nginx checks: base64url(MD5(expires uri " " secret)), computed here by openssl.
expect "signature as secure_link_md5 computes it" \
  "$(printf '%s' "$expires/$sha $secret" | openssl md5 -binary | openssl base64 | tr '+/' '-_' | tr -d '=')" "$md5"
fname=$(jq -r '.deployment.chunks[0].artifacts[0].filename' "$work/dep.json")
expect "the md5sum link stays on the server" \
  "$(jq -r '.deployment.chunks[0].artifacts[0]._links.md5sum.href' "$work/dep.json")" \
  "$URL_B/acme/controller/v1/gw-0001/softwaremodules/$(release 2.0)/artifacts/$fname.MD5SUM"

# ---- the device installs through nginx; nginx filled its cache from server 2 ----
before=$(device_print "$d1")
expect "install through the origin" "$(cycle "$d1")" 0
"$agent" bootsim --root "$d1" >/dev/null
cycle "$d1" >/dev/null
expect "finished/success" "$(action "$act1" '.status + "/" + .result')" finished/success
[ "$(device_print "$d1")" != "$before" ] && ok "the device runs the new release" || bad "nothing changed"
expect "nginx served it, a cache miss filled from server 2" \
  "$(nginx_log | grep " /$sha " | head -1)" "200 GET /$sha cache=MISS"
expect "server 2 wrote the file from the database" "$(sha256sum < "$work/artifacts-2/$sha" | cut -d' ' -f1)" "$sha"
code=$(curl -s -m 20 -o "$work/got" -D "$work/got.h" -w '%{http_code}' "$href")
expect "the same link again: from the cache" "$code $(grep -i '^x-cache:' "$work/got.h" | tr -d '\r')" "200 X-Cache: HIT"
expect "cached bytes are the release" "$(sha256sum < "$work/got" | cut -d' ' -f1)" "$sha"

# ---- a delta, uploaded to server 2 (its base 1.0 is only in the database there) ----
"$otter" delta --from "$keys/1.0.zip" --to "$keys/2.0.zip" --root "$keys/root.json" \
  --key "$keys/r1.key" --level 3 -o "$keys/delta.zip" >/dev/null
release 1.0 >/dev/null # the delta's base must be a release of the tenant (uploaded to server 1)
code=$(curl -s -m 60 -o "$work/delta.json" -w '%{http_code}' -H "Authorization: $A" \
  --data-binary @"$keys/delta.zip" "$URL_B/api/v1/tenants/acme/releases/$(release 2.0)/deltas")
expect "delta uploaded to server 2, its base read from the database" "$code" 201
dsha=$(sha256sum < "$keys/delta.zip" | cut -d' ' -f1)
delta_name=$(jq -r .filename "$work/delta.json")
expect "the delta is in the database" "$(db "SELECT count(*) FROM blobs WHERE sha256 = '$dsha'")" 1
d3="$work/d3"; ddi_device "$d3" gw-0003 "$URL_B" "artifact_origins = http://127.0.0.1:$cdn"
expect "first cycle (configData: otter.delta=1)" "$(cycle "$d3")" 0
act3=$(deploy 2.0 gw-0003)
token3=$(sed -n 's/^target_token = //p' "$d3/agent.conf")
dhref=$(curl -s -m 20 -H "Authorization: TargetToken $token3" \
  "$URL_B/acme/controller/v1/gw-0003/deploymentBase/$act3" |
  jq -r --arg n "$delta_name" '.deployment.chunks[0].artifacts[] | select(.filename == $n) | ._links.download.href')
[[ $dhref == "http://127.0.0.1:$cdn/$dsha?md5="*"&expires="* ]] && ok "the delta's link is signed for the origin too" \
  || bad "delta link: $dhref"
expect "delta install through the origin" "$(cycle "$d3")" 0
grep -q "action $act3: installing $delta_name" "$work/cycle.log" && ok "the device took the delta" \
  || bad "no delta: $(cat "$work/cycle.log")"
expect "nginx filled the delta from server 2" \
  "$(nginx_log | grep " /$dsha " | head -1)" "200 GET /$dsha cache=MISS"
"$agent" bootsim --root "$d3" >/dev/null
cycle "$d3" >/dev/null
expect "delta: finished/success" "$(action "$act3" '.status + "/" + .result')" finished/success
cmp -s "$keys/2.0.img" "$d3/b" && ok "slot B is 2.0 byte for byte" || bad "slot B differs from 2.0"

# ---- tampered links: nginx refuses them (403), none reaches a server ----
n_b=$(grep -c "cdn origin" "$work/server-2.log" || true)
fetch() { curl -s -m 20 -o /dev/null -w '%{http_code}' "$1"; }
other=$(printf '%064d' 0)
expect "another path, same signature: 403" "$(fetch "http://127.0.0.1:$cdn/$other?md5=$md5&expires=$expires")" 403
expect "a later expiry, same signature: 403" "$(fetch "http://127.0.0.1:$cdn/$sha?md5=$md5&expires=$((expires + 86400))")" 403
flipped=$( [ "${md5:0:1}" = A ] && echo B || echo A )${md5:1}
expect "another signature: 403" "$(fetch "http://127.0.0.1:$cdn/$sha?md5=$flipped&expires=$expires")" 403
expect "no signature: 403" "$(fetch "http://127.0.0.1:$cdn/$sha")" 403

# ---- the server's own origin route checks the link itself ----
route="$URL_B/cdn/v1/artifacts/$sha"
expect "server route, no link: 403" "$(fetch "$route")" 403
expect "server route, tampered expiry: 403" "$(fetch "$route?md5=$md5&expires=$((expires + 1))")" 403
past=$((now - 60))
sig_past=$(printf '%s' "$past/$sha $secret" | openssl md5 -binary | openssl base64 | tr '+/' '-_' | tr -d '=')
expect "server route, expired link: 410" "$(fetch "$route?md5=$sig_past&expires=$past")" 410
expect "nginx, expired link: 410" "$(fetch "http://127.0.0.1:$cdn/$sha?md5=$sig_past&expires=$past")" 410
expect "server route, valid link: 200" "$(fetch "$route?md5=$md5&expires=$expires")" 200
expect "server 1's route has no [cdn]: 404" "$(fetch "$URL/cdn/v1/artifacts/$sha?md5=$md5&expires=$expires")" 404
# The auth_request origin (no secret in nginx): the server's check decides.
auth_origin="http://127.0.0.1:$((cdn + 2))"
expect "auth_request origin, valid link: 200" "$(fetch "$auth_origin/$sha?md5=$md5&expires=$expires")" 200
expect "auth_request origin, tampered expiry: 403" "$(fetch "$auth_origin/$sha?md5=$md5&expires=$((expires + 1))")" 403
expect "auth_request origin, no link: 403" "$(fetch "$auth_origin/$sha")" 403
expect "auth_request origin, expired link: 500 (nginx's answer to a 410 from auth_request)" \
  "$(fetch "$auth_origin/$sha?md5=$sig_past&expires=$past")" 500
# What each costs, counted: a download from the cache asks a server nothing with secure_link,
# once with auth_request.
n_sl=$(nginx_log | grep -c "cache=MISS" || true)
n_ar=$(nginx_log | grep -c " /_otter_link " || true)
for _ in 1 2 3 4 5; do
  fetch "http://127.0.0.1:$cdn/$sha?md5=$md5&expires=$expires" >/dev/null
  fetch "$auth_origin/$sha?md5=$md5&expires=$expires" >/dev/null
done
expect "5 cached downloads, secure_link: no request to a server" "$(nginx_log | grep -c "cache=MISS" || true)" "$n_sl"
expect "5 cached downloads, auth_request: 5 requests to a server" \
  "$(nginx_log | grep -c " /_otter_link " || true)" $((n_ar + 5))
expect "server 2 logged no artifact errors" "$(grep -c "cdn origin" "$work/server-2.log" || true)" "$n_b"

# ---- a tampered link reaches the device: nginx says 403, the device reports it ----
d4="$work/d4"; ddi_device "$d4" gw-0004 "http://127.0.0.1:$((cdn + 3))" "artifact_origins = http://127.0.0.1:$cdn"
act4=$(deploy 2.0 gw-0004)
before=$(device_print "$d4")
n403=$(nginx_log | grep -c "^403 GET /" || true)
for _ in 1 2 3; do cycle "$d4" >/dev/null; done
[ "$(nginx_log | grep -c "^403 GET /" || true)" -gt "$n403" ] \
  && ok "tampered link: nginx answered the device 403" || bad "no 403 for the device: $(nginx_log | tail -3)"
expect "tampered link: nothing installed" "$(device_print "$d4")" "$before"
detail=$(action "$act4" '[.feedback[].details[]] | join(" ")')
[[ $detail == *"download refused: HTTP 403 Forbidden (a tampered link"* ]] \
  && ok "the device reported the refusal (HTTP 403 Forbidden, a tampered link)" || bad "feedback: $detail"
expect "tampered link: the action failed" "$(action "$act4" '.status + "/" + .result')" error/failure

# ---- an expired link reaches the device: nginx says 410, the device reports it ----
# Server 2's clock two hours back: its links expired an hour ago by nginx's (real) clock.
echo $((now - 7200)) > "$work/now-2"
d2="$work/d2"; ddi_device "$d2" gw-0002 "$URL_B" "artifact_origins = http://127.0.0.1:$cdn"
act2=$(deploy 2.0 gw-0002)
before=$(device_print "$d2")
n410=$(nginx_log | grep -c "^410 GET /" || true)
for _ in 1 2 3; do cycle "$d2" >/dev/null; done
rm -f "$work/now-2"
[ "$(nginx_log | grep -c "^410 GET /" || true)" -gt "$n410" ] \
  && ok "expired link: nginx answered the device 410" || bad "no 410 for the device: $(nginx_log | tail -3)"
expect "expired link: nothing installed" "$(device_print "$d2")" "$before"
detail=$(action "$act2" '[.feedback[].details[]] | join(" ")')
[[ $detail == *"download refused: HTTP 410 Gone (an expired link"* ]] \
  && ok "the device reported the refusal (HTTP 410 Gone, an expired link)" || bad "feedback: $detail"
expect "expired link: the action failed" "$(action "$act2" '.status + "/" + .result')" error/failure

stop_server_b() { kill -TERM "$pid_b"; local rc=0; wait "$pid_b" || rc=$?; pid_b=; expect "server 2 exits 0" "$rc" 0; }
stop_server_b
stop_server
finish
