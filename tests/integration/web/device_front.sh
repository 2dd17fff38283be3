#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `otter-agentd ui`, the local update page's HTTP front (docs/device-ui.md "The reference
# local page"), with curl against a simulated device (file slots) whose daemon polls a real
# otter-server on 127.0.0.1: the page is served with its CSP; the API wants a login; a wrong
# password is refused; the session cookie is HttpOnly and SameSite=Strict; a POST without
# the CSRF token, with a wrong one or from another origin is refused and queues nothing; a
# form-style login (text/plain) is refused; an oversized body is refused before it is read;
# the state comes from the control socket (with the running version); five wrong passwords
# lock logins out, the right one included; logout ends the session.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
ddi_setup device-front
d="$work/dev"
ddi_device "$d" gw-0001
sock=$work/control.sock
hash=$(printf 'page-pass-1\n' | "$agentd" ui --hash-password)
cat >> "$d/agent.conf" <<CONF
[control]
socket = $sock
[ui]
listen = 127.0.0.1:0
password_hash = $hash
web_dir = $OTTER_SOURCE_DIR/web/device
upload_dir = $d/upload
CONF
front_pid=
trap '[ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null; ddi_cleanup' EXIT
setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || die "the control socket did not appear: $(tail -3 "$work/daemon.log")"
"$agentd" -c "$d/agent.conf" ui > "$work/front.out" 2> "$work/front.err" & front_pid=$!
for _ in $(seq 200); do grep -q '^listening on ' "$work/front.out" && break; sleep 0.05; done
F=$(sed -n 's/^listening on //p' "$work/front.out")
[ -n "$F" ] || die "the front did not listen: $(cat "$work/front.err")"
case "$F" in http://127.0.0.1:*) ok "the front listens on 127.0.0.1 ($F)";; *) bad "front address $F";; esac

# fc ARGS...: one request to the front; prints the status; the body in $work/f.out, headers in f.hdr.
fc() { curl -sS -m 20 -o "$work/f.out" -D "$work/f.hdr" -w '%{http_code}' "$@"; }
fj() { jq -r "$1" "$work/f.out"; }
hdr() { grep -i "^$1:" "$work/f.hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

expect "the page is served" "$(fc "$F/")" 200
expect "... as HTML" "$(grep -c 'Software update' "$work/f.out")" 2
expect "... framed by its own origin only" "$(hdr Content-Security-Policy)" \
  "default-src 'self'; frame-ancestors 'self'; form-action 'none'"
expect "app.js served" "$(fc "$F/app.js")" 200
expect "no other file" "$(fc "$F/../agent.conf" --path-as-is)" 404
expect "the state needs a login" "$(fc "$F/api/status")" 401

login() { fc -c "$work/jar" -b "$work/jar" -H 'Content-Type: application/json' \
  --data-binary "{\"password\":\"$1\"}" "$F/api/login"; }
expect "a wrong password: 401" "$(login wrong-pass)" 401
expect "... named" "$(fj .error.message)" "wrong password"
expect "... and no cookie" "$(hdr Set-Cookie)" ""
expect "a form-style login (text/plain) is refused" \
  "$(fc -H 'Content-Type: text/plain' --data-binary '{"password":"page-pass-1"}' "$F/api/login")" 415
expect "the right password: 200" "$(login page-pass-1)" 200
csrf=$(fj .csrf)
expect "a CSRF token of 64 hex digits" "$(grep -cE '^[0-9a-f]{64}$' <<< "$csrf")" 1
case "$(hdr Set-Cookie)" in
  "otter_ui="*"; Path=/; HttpOnly; SameSite=Strict") ok "the cookie is HttpOnly, SameSite=Strict";;
  *) bad "cookie: $(hdr Set-Cookie)";;
esac
S=(-b "$work/jar" -c "$work/jar")
expect "the state through the front" "$(fc "${S[@]}" "$F/api/status")" 200
expect "... idle, running 1.0" "$(fj '"\(.result.state) \(.result.installed)"')" "idle 1.0"
expect "the session gives the token back (a reload)" "$(fc "${S[@]}" "$F/api/session"; echo " $(fj .csrf)")" "200 $csrf"

post() { fc "${S[@]}" -H 'Content-Type: application/json' --data-binary '{}' "$@"; }
expect "check without the CSRF token: 403" "$(post "$F/api/check")" 403
expect "... named" "$(fj .error.code)" csrf
expect "check with a wrong token: 403" "$(post -H "X-CSRF-Token: ${csrf//?/0}" "$F/api/check")" 403
expect "check from another origin: 403" \
  "$(post -H "X-CSRF-Token: $csrf" -H 'Origin: http://evil.example' "$F/api/check")" 403
expect "... named" "$(fj .error.code)" origin
expect "check from a cross-site fetch (Sec-Fetch-Site): 403" \
  "$(post -H "X-CSRF-Token: $csrf" -H 'Sec-Fetch-Site: cross-site' "$F/api/check")" 403
expect "start with a good token is the daemon's call (nothing offered: 409)" \
  "$(post -H "X-CSRF-Token: $csrf" "$F/api/start")" 409
expect "... its answer passed on" "$(fj .error.code)" state
expect "check with the token and our own origin: accepted" \
  "$(post -H "X-CSRF-Token: $csrf" -H "Origin: $F" "$F/api/check"; echo " $(fj .result.accepted)")" "200 check"

big=$(printf '{"seconds":%05000d}' 0)
expect "an oversized body: 413 before it is read" \
  "$(post -H "X-CSRF-Token: $csrf" --data-binary "$big" "$F/api/postpone")" 413
expect "oversized headers: refused by the front" \
  "$(fc "${S[@]}" -H "X-Junk: $(printf '%020000d' 0)" "$F/api/status")" 431
expect "the front still answers" "$(fc "${S[@]}" "$F/api/status")" 200

expect "logout" "$(post -H "X-CSRF-Token: $csrf" "$F/api/logout")" 200
expect "the old cookie is dead" "$(fc "${S[@]}" "$F/api/status")" 401
for i in 1 2 3 4 5; do login "wrong-$i" > /dev/null; done
expect "after 5 wrong passwords even the right one waits" "$(login page-pass-1)" 429
expect "... saying why" "$(fj .error.code)" locked
kill "$front_pid"; rc=0; wait "$front_pid" || rc=$?; front_pid=
expect "SIGTERM stops the front cleanly" "$rc" 0
finish
