#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Privilege separation of downloads: otter-agent (root: it writes slots) runs
# otter-fetch (libcurl, TLS, the network's bytes) as [server] fetch_user. A
# real HTTP server on 127.0.0.1 holds the download half-way until the test has
# read /proc/PID/status of both processes: otter-fetch is nobody (uid, gid, no
# supplementary groups) while otter-agent is root; then the install completes.
# An unknown fetch_user is refused before any byte is fetched or written.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/fetch-user.$$"
rm -rf "$work"; mkdir -p "$work"
bindir="" server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
            [ -z "$bindir" ] || rm -rf "$bindir"; rm -rf "$work"; }
trap cleanup EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
if [ "$(id -u)" != 0 ]; then # switching users needs root; CI runs as root
  echo "fetch_user: needs root to switch users"; [ "${CI:-}" = true ] && exit 1; exit 77
fi
nobody_uid=$(id -u nobody); nobody_gid=$(id -g nobody)

# nobody must be able to run otter-fetch: the build tree may sit in a 0700 home (/root), so
# the two programs (otter-agent finds otter-fetch next to itself) run from a 0755 copy.
bindir=$(mktemp -d /tmp/otter-fetch-user.XXXXXX); chmod 755 "$bindir"
cp "$OTTER_BUILD_DIR/bin/otter-agent" "$OTTER_BUILD_DIR/bin/otter-fetch" "$bindir/"
agent_copy="$bindir/otter-agent"

make_keys
make_content "$work/v1.img" 300000 1
make_content "$work/v2.img" 3000000 2
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
make_pkg "$work/v2.zip" 2.0 2 "$work/v2.img" raw
d="$work/dev"
make_device "$d" raw
printf '[server]\nfetch_user = nobody\n' >> "$d/agent.conf"
"$agent_copy" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null
"$agent_copy" bootsim --root "$d" >/dev/null

# The origin: sends the first MiB, writes $work/held, and sends the rest once $work/release
# exists (the test's go, bounded to a minute). Prints its port to $work/port when listening.
cat > "$work/origin.py" <<'PY'
import http.server, os, sys, time
work, body = sys.argv[1], open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:1 << 20]); self.wfile.flush()
        open(os.path.join(work, "held"), "w").close()
        for _ in range(1200):
            if os.path.exists(os.path.join(work, "release")): break
            time.sleep(0.05)
        self.wfile.write(body[1 << 20:])
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(work, "port.tmp"), "w") as f: f.write(str(s.server_address[1]))
os.rename(os.path.join(work, "port.tmp"), os.path.join(work, "port"))
s.serve_forever()
PY
python3 "$work/origin.py" "$work" "$work/v2.zip" & server_pid=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

rc=0
"$agent_copy" -c "$d/agent.conf" install "http://127.0.0.1:$port/update.zip" --no-reboot \
  > "$work/install.log" 2>&1 & apid=$!
for _ in $(seq 600); do [ -e "$work/held" ] && break; sleep 0.05; done
fpid=$(pgrep -P "$apid" -x otter-fetch || true)
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$2/status"; } # space-separated
if [ -n "$fpid" ]; then
  expect "otter-fetch runs as nobody (real, effective, saved, fs uid)" "$(field Uid "$fpid")" \
    "$nobody_uid $nobody_uid $nobody_uid $nobody_uid"
  expect "otter-fetch has nobody's group" "$(field Gid "$fpid")" \
    "$nobody_gid $nobody_gid $nobody_gid $nobody_gid"
  expect "otter-fetch has no supplementary groups" "$(field Groups "$fpid")" ""
else
  bad "no otter-fetch child of otter-agent while the download is held"
fi
expect "otter-agent (it writes the slot) stays root" "$(field Uid "$apid")" "0 0 0 0"
touch "$work/release"
wait "$apid" || rc=$?
expect "the install through the unprivileged otter-fetch succeeds: $(tail -1 "$work/install.log")" "$rc" 0
cmp -s -n "$(stat -c %s "$work/v2.img")" "$work/v2.img" "$d/slots/rootfs-b" \
  && ok "slot B holds 2.0" || bad "slot B does not hold 2.0"

# A fetch_user that does not exist: refused, nothing fetched, the device untouched.
sed -i 's/^fetch_user = nobody$/fetch_user = otter-no-such-user/' "$d/agent.conf"
before=$(fingerprint "$d")
rm -f "$work/held" "$work/release"
rc=0; out=$("$agent_copy" -c "$d/agent.conf" install "http://127.0.0.1:$port/update.zip" --no-reboot 2>&1) || rc=$?
[ "$rc" = 2 ] && [[ $out == *"fetch_user otter-no-such-user: no such user"* ]] \
  && ok "unknown fetch_user refused: $(tail -1 <<< "$out")" || bad "unknown fetch_user: rc=$rc $out"
[ ! -e "$work/held" ] && ok "nothing was fetched" || bad "it fetched anyway"
expect "the device is untouched" "$(fingerprint "$d")" "$before"

finish
