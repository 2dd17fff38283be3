#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# "Upload update.zip" on the local page's front (POST /api/upload, docs/device-ui.md) with
# curl, against a simulated device whose daemon polls a real otter-server on 127.0.0.1:
#   - the route wants the login, the CSRF token and our own origin, and a Content-Length
#     within [ui] max_upload_mb: each refused before a byte reaches [ui] upload_dir;
#   - packages the installer refuses before a byte is written, each shown as the daemon's
#     refusal with its reason, the inactive slot, state, counter and boot variables
#     unchanged: another model, a security version below the device's counter, a payload
#     byte changed (its chunk's SHA-256), a file that is no zip;
#   - the control method install_file: a path is refused by the parser; a user of
#     [control] group who does not own [ui] upload_dir may not name a file (forbidden);
#     its owner may;
#   - [ui] upload_dir is empty after every one of them.
# Needs root (a client as nobody).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages util-linux python3
ddi_setup device-upload-front
# pack VERSION SECVER MODEL [OPTIONS]: $keys/VERSION.zip signed by the trusted key r1.
pack() {
  { echo "version $1"; head -c 300000 /dev/urandom; } > "$keys/$1.img"
  "$otter" pack --product gw --compatible "$3" --version "$1" --security-version "$2" \
    --image "rootfs=$keys/$1.img${4:-}" --key "$keys/r1.key" -o "$keys/$1.zip" > /dev/null
}
pack 4.0 4 gw-z         # another model
pack 2.5 2 gw-a         # below the counter (3, set below)
pack 5.0 5 gw-a :compression=none
# The same entries, signed manifest and valid zip CRCs, one payload byte inverted: only the
# first chunk's SHA-256 can tell.
python3 - "$keys/5.0.zip" "$keys/5.0-changed.zip" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as out:
    for i in z.infolist():
        data = bytearray(z.read(i))
        if i.filename not in ("manifest.json", "manifest.sig"):
            data[100] ^= 0xFF
        out.writestr(zipfile.ZipInfo(i.filename, date_time=i.date_time), bytes(data))
PY
head -c 5000 /dev/urandom > "$keys/junk.zip"
head -c 1100000 /dev/urandom > "$keys/big.zip"
head -c 1000000 /dev/urandom > "$keys/near-limit.zip"

# nobody must reach the socket's directory and run the client: not in a 0700 home.
t=$(mktemp -d /tmp/otter-upload.XXXXXX); chmod 755 "$t"
install -m 755 "$OTTER_SOURCE_DIR/tests/integration/lib/control_client.py" "$t/cc.py"
d="$t/dev"; sock=$t/control.sock; up_dir=$d/upload
ddi_device "$d" gw-0001
echo 3 > "$d/state/counter"
hash=$(printf 'page-pass-3\n' | "$agentd" ui --hash-password)
cat >> "$d/agent.conf" <<CONF
[control]
socket = $sock
mode = 0660
group = $(id -gn nobody)
[ui]
listen = 127.0.0.1:0
password_hash = $hash
web_dir = $OTTER_SOURCE_DIR/web/device
upload_dir = $up_dir
max_upload_mb = 1
CONF
front_pid=
trap '[ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null; ddi_cleanup; rm -rf "$t"' EXIT
setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || die "the control socket did not appear: $(tail -3 "$work/daemon.log")"
"$agentd" -c "$d/agent.conf" ui > "$work/front.out" 2> "$work/front.err" & front_pid=$!
for _ in $(seq 200); do grep -q '^listening on ' "$work/front.out" && break; sleep 0.05; done
F=$(sed -n 's/^listening on //p' "$work/front.out")
[ -n "$F" ] || die "the front did not listen: $(cat "$work/front.err")"
expect "the front made [ui] upload_dir, private" "$(stat -c %a "$up_dir")" 700

fc() { curl -sS -m 60 -o "$work/f.out" -w '%{http_code}' "$@"; }
fj() { jq -r "$1" "$work/f.out"; }
left() { find "$up_dir" -mindepth 1 | wc -l; }
S=(-b "$work/jar" -c "$work/jar")
expect "an upload without a login: 401" \
  "$(fc --data-binary "@$keys/2.5.zip" "$F/api/upload")" 401
# A client whose body is still on its way when the front has made up its mind: curl's
# Expect: 100-continue waits only 1 s for the go-ahead (it did run out on a loaded machine
# and curl printed "Send failure: Broken pipe", status 000), a browser sends the body right
# behind the headers. Answered at once with the body unread, the front's close resets the
# connection and the client may lose the answer with it; a refused body within the limit is
# read and dropped first. early CASE ORIGIN: headers and 64 KiB, a pause while the answer
# could arrive (2 s, the old front's answer comes at once), the rest, then the status line.
early() {
  python3 - "${F#http://}" "$keys/near-limit.zip" "$2" <<'PY'
import select, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
body = open(sys.argv[2], "rb").read()
s = socket.create_connection((host, int(port)), timeout=30)
head = ("POST /api/upload HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/zip\r\n"
        "Content-Length: %d\r\n\r\n" % (sys.argv[1], sys.argv[3], len(body))).encode()
try:
    s.sendall(head + body[:65536])
    select.select([s], [], [], 2)
    s.sendall(body[65536:])
    print(s.makefile("rb").readline().split()[1].decode())
except OSError as e:
    print("000 (%s)" % e)
PY
}
expect "an upload without a login, its body still arriving: 401" "$(early login "$F")" 401
expect "an upload from another origin, its body still arriving: 403" \
  "$(early origin http://evil.example)" 403
expect "login" "$(fc "${S[@]}" -H 'Content-Type: application/json' \
  --data-binary '{"password":"page-pass-3"}' "$F/api/login")" 200
csrf=$(fj .csrf)
expect "the session tells the page the limit" "$(fc "${S[@]}" "$F/api/session"; echo " $(fj .max_upload)")" \
  "200 1048576"
up() { fc "${S[@]}" -H 'Content-Type: application/zip' "$@" "$F/api/upload"; }
expect "an upload without the CSRF token: 403" "$(up --data-binary "@$keys/2.5.zip")" 403
expect "an upload from another origin: 403" \
  "$(up -H "X-CSRF-Token: $csrf" -H 'Origin: http://evil.example' --data-binary "@$keys/2.5.zip")" 403
expect "an upload over [ui] max_upload_mb: 413 before it is read" \
  "$(up -H "X-CSRF-Token: $csrf" --data-binary "@$keys/big.zip")" 413
expect "... the limit named" "$(fj .error.message)" \
  "update.zip too large: 1100000 bytes, this device takes at most 1 MiB ([ui] max_upload_mb)"
# (Expect: 100-continue: the client waits for the front's word before it sends the body, as
# curl does by itself for the large one above; the front answers before reading any.)
expect "an upload without a Content-Length (chunked): 411" \
  "$(up -H "X-CSRF-Token: $csrf" -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue' \
    --data-binary "@$keys/2.5.zip")" 411
expect "nothing reached [ui] upload_dir" "$(left)" 0

print() {
  local f
  for f in a b state/state.json state/counter bootenv cmdline; do
    if [ -e "$d/$f" ]; then echo "$f $(sha256sum < "$d/$f" | cut -d' ' -f1)"; else echo "$f absent"; fi
  done
}
refusals() { fc "${S[@]}" "$F/api/status" > /dev/null; fj .result.refusals; }
# refused CASE FILE REASON: taken by the daemon, refused by the installer with REASON.
refused() {
  local n before; n=$(refusals); before=$(print)
  expect "$1: the upload is taken" "$(up -H "X-CSRF-Token: $csrf" --data-binary "@$2"; echo " $(fj .result.accepted)")" \
    "200 install_file"
  for _ in $(seq 600); do [ "$(refusals)" -gt "$n" ] && break; sleep 0.1; done
  local why; why=$(fj .result.refusal)
  [[ $why == *"$3"* ]] && ok "$1: refused: $why" || bad "$1: refusal '$why', want '$3'"
  expect "$1: slots, state, counter and boot variables unchanged" "$(print)" "$before"
  expect "$1: nothing left in [ui] upload_dir" "$(left)" 0
}
refused "another model" "$keys/4.0.zip" "gw-a"
refused "below the counter" "$keys/2.5.zip" "security version 2 is below the device's counter 3"
refused "a payload byte changed" "$keys/5.0-changed.zip" "sha256"
refused "not a zip" "$keys/junk.zip" "the uploaded file"

cc() { "$t/cc.py" "$@"; }
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
a=$(cc "$sock" '{"id":1,"method":"install_file","params":{"file":"../../etc/shadow"}}')
expect "install_file with a path: bad_request" "$(jq -r .error.code <<< "$a")" bad_request
a=$(as_nobody "$t/cc.py" "$sock" '{"id":2,"method":"install_file","params":{"file":"upload-x.zip"}}' || true)
expect "install_file from [control] group, not upload_dir's owner: forbidden" \
  "$(jq -r .error.code <<< "$a")" forbidden
expect "... while status is fine for it" \
  "$(as_nobody "$t/cc.py" "$sock" '{"id":3,"method":"status"}' | jq -r .ok)" true
chown nobody "$up_dir"
n=$(refusals)
a=$(as_nobody "$t/cc.py" "$sock" '{"id":4,"method":"install_file","params":{"file":"upload-x.zip"}}' || true)
expect "upload_dir's owner may name a file" "$(jq -r .result.accepted <<< "$a")" install_file
for _ in $(seq 600); do [ "$(refusals)" -gt "$n" ] && break; sleep 0.1; done
why=$(fj .result.refusal)
[[ $why == *"upload-x.zip"* ]] && ok "... a missing one is refused: $why" || bad "missing upload: '$why'"
finish
