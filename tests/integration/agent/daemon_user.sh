#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Privilege separation of otter-agentd ([server] daemon_user = nobody) against
# a real otter-server on 127.0.0.1: the daemon forks its root installer broker
# and drops to nobody before its first request. An HTTP proxy in front of the
# server holds the artifact download half-way until the test has read
# /proc/PID/status: the daemon (polls, feedback, the server's JSON) is nobody
# (uid, gid, no supplementary groups), the broker and the installer child
# (otter-agent, which writes the slot) are root. Then the install completes,
# the reboot command runs (as root), ddi.json is nobody's in <state>/daemon,
# the boot simulator commits and the next cycle, nobody again, reads the state
# through the broker and reports finished/success; configData follows. A
# cancel during a held download: the broker stops the root installer (the
# daemon could not signal it), nothing switches.
# A root daemon's record (a pending result) moves into the daemon's directory
# when daemon_user is turned on. A daemon_user that does not exist, or root,
# is refused before any request.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
if [ "$(id -u)" != 0 ]; then # switching users needs root; CI runs as root
  echo "daemon_user: needs root to switch users"; [ "${CI:-}" = true ] && exit 1; exit 77
fi
nobody_uid=$(id -u nobody); nobody_gid=$(id -g nobody)
ddi_setup ddi-daemon-user
# nobody must reach the device's state dir: the build tree may sit in a 0700 home.
d=$(mktemp -d /tmp/otter-daemon-user.XXXXXX); chmod 755 "$d"
trap 'ddi_cleanup; rm -rf "$d"' EXIT
ddi_pkg 2.0 2 3000000
ddi_pkg 3.0 3 3000000
ddi_pkg 4.0 4 300000
release 2.0 >/dev/null; release 3.0 >/dev/null; release 4.0 >/dev/null
# stall_timeout: otter-fetch waits out the held body instead of reconnecting.
ddi_device "$d" gw-0001 "$URL" "daemon_user = nobody
stall_timeout = 3600"
# The reboot command records what the broker gives it (OTTER_SLOT: the slot it installed).
sed -i "s|^command = touch .*/reboot-requested|command = echo \"slot=\$OTTER_SLOT version=\$OTTER_VERSION\" > $d/reboot-requested|" \
  "$d/agent.conf"

# The proxy: passes requests through (Host kept, so the server's links point at it);
# a body over 1 MiB is sent up to 1 MiB, then $work/held appears and the rest waits
# for $work/release (the test's go, bounded to a minute). Its port goes to $work/proxy.port.
cat > "$work/hold.py" <<'PY'
import http.client, http.server, os, sys, time
work, target = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def relay(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection("127.0.0.1", target, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse(); data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if len(data) <= 1 << 20:
            self.wfile.write(data); return
        self.wfile.write(data[:1 << 20]); self.wfile.flush()
        open(os.path.join(work, "held"), "w").close()
        for _ in range(1200):
            if os.path.exists(os.path.join(work, "release")): break
            time.sleep(0.05)
        self.wfile.write(data[1 << 20:])
    do_GET = do_POST = do_PUT = relay
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(work, "proxy.tmp"), "w") as f: f.write(str(s.server_address[1]))
os.rename(os.path.join(work, "proxy.tmp"), os.path.join(work, "proxy.port"))
s.serve_forever()
PY
python3 "$work/hold.py" "$work" "${HOSTPORT##*:}" & proxy_pids+=($!)
for _ in $(seq 200); do [ -s "$work/proxy.port" ] && break; sleep 0.05; done
ddi_url "$d" "http://127.0.0.1:$(cat "$work/proxy.port")"

act=$(deploy 2.0 gw-0001)
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$2/status"; }
"$agentd" -c "$d/agent.conf" run --once > "$work/daemon.log" 2>&1 & dpid=$!
for _ in $(seq 600); do [ -e "$work/held" ] && break; kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
if [ -e "$work/held" ]; then
  expect "otter-agentd runs as nobody (real, effective, saved, fs uid)" "$(field Uid "$dpid")" \
    "$nobody_uid $nobody_uid $nobody_uid $nobody_uid"
  expect "otter-agentd has nobody's group" "$(field Gid "$dpid")" \
    "$nobody_gid $nobody_gid $nobody_gid $nobody_gid"
  expect "otter-agentd has no supplementary groups" "$(field Groups "$dpid")" ""
  broker=$(pgrep -P "$dpid" || true)
  expect "one child of the daemon: its broker" "$(wc -w <<< "$broker")" 1
  expect "the broker is root" "$(field Uid "$broker" 2>/dev/null)" "0 0 0 0"
  expect "the broker is otter-agentd's fork" "$(cat "/proc/$broker/comm" 2>/dev/null)" otter-agentd
  inst=$(pgrep -P "$broker" -x otter-agent || true)
  if [ -n "$inst" ]; then
    expect "the installer child (otter-agent) runs as root" "$(field Uid "$inst")" "0 0 0 0"
    tr '\0' ' ' < "/proc/$inst/cmdline" > "$work/inst.cmdline"
    grep -q -- "--config $d/agent.conf install --json --no-reboot --confirm-switch --header-env OTTER_DDI_AUTHORIZATION http://127.0.0.1:" "$work/inst.cmdline" \
      && ok "the broker ran the install with its own config; no token in the arguments" \
      || bad "installer arguments: $(cat "$work/inst.cmdline")"
  else
    bad "no otter-agent child of the broker while the download is held"
  fi
else
  bad "the download never started: $(tail -3 "$work/daemon.log")"
fi
touch "$work/release"
rc=0; wait "$dpid" || rc=$?
expect "the cycle through the broker exits 0: $(tail -1 "$work/daemon.log")" "$rc" 0
expect "the reboot command ran, as root" "$(stat -c %u "$d/reboot-requested" 2>/dev/null)" 0
expect "the broker's reboot command gets the slot it installed (OTTER_SLOT)" \
  "$(cat "$d/reboot-requested" 2>/dev/null)" "slot=B version=2.0"
expect "ddi.json is nobody's, in the daemon's own directory" \
  "$(stat -c '%U %a' "$d/state/daemon" "$d/state/daemon/ddi.json" 2>/dev/null | tr '\n' ' ')" "nobody 700 nobody 600 "
[ ! -e "$d/state/ddi.json" ] && ok "no ddi.json in the root state dir" || bad "ddi.json in the root state dir"
expect "no closed feedback before the reboot" "$(closed_count "$act")" 0
"$agent" bootsim --root "$d" >/dev/null
expect "boot-check commits 2.0 on slot B" "$(booted "$d")" B
expect "report cycle (nobody again) exits 0" "$(cycle "$d")" 0
expect "finished/success after the reboot" "$(action "$act" '.status + "/" + .result')" finished/success
expect "configData read by the broker follows the new slot" \
  "$(req GET /api/v1/tenants/acme/devices/gw-0001 "$A" >/dev/null; body '.attributes.version + "/" + .attributes.slot')" "2.0/B"

# A cancel while the download is held: the daemon (nobody) cannot signal the root installer;
# its broker stops it. The daemon ends while the proxy still holds the body (no release).
rm -f "$work/held" "$work/release"
act=$(deploy 3.0 gw-0001)
before=$(device_print "$d")
"$agentd" -c "$d/agent.conf" run --once > "$work/cancel.log" 2>&1 & dpid=$!
for _ in $(seq 600); do [ -e "$work/held" ] && break; kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
inst=$(pgrep -P "$(pgrep -P "$dpid" | head -1)" -x otter-agent || true)
expect "operator cancels during the held download" \
  "$(req POST "/api/v1/tenants/acme/actions/$act/cancel" "$A")" 200
for _ in $(seq 600); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
[ ! -e "$work/release" ] && ! kill -0 "$dpid" 2>/dev/null \
  && ok "the daemon ended while the download was still held: its broker stopped the installer" \
  || bad "the daemon did not end before the download was released"
rc=0; wait "$dpid" || rc=$?
touch "$work/release"
[ -n "$inst" ] && ! kill -0 "$inst" 2>/dev/null && ok "the root installer is gone" || bad "installer: '$inst'"
grep -q "canceled before the slot switch" "$work/cancel.log" && ok "install stopped and cancel confirmed (rc=$rc)" \
  || bad "cancel: $(cat "$work/cancel.log")"
expect "action canceled on the server" "$(action "$act" .status)" canceled
expect "nothing switched, state untouched" "$(device_print "$d")" "$before"

# Turning daemon_user on under a pending result: a root daemon installs 4.0 and keeps the
# action in <state>/ddi.json; the next start as nobody moves it into <state>/daemon (over
# the older record there) and reports the result.
sed -i '/^daemon_user = /d' "$d/agent.conf"
act=$(deploy 4.0 gw-0001)
expect "a root daemon installs 4.0" "$(cycle "$d")" 0
[ -s "$d/state/ddi.json" ] && ok "the root daemon keeps its record in the state dir" || bad "no state/ddi.json"
echo "daemon_user = nobody" >> "$d/agent.conf"
"$agent" bootsim --root "$d" >/dev/null
expect "report cycle, nobody again" "$(cycle "$d")" 0
expect "4.0 reported finished/success" "$(action "$act" '.status + "/" + .result')" finished/success
[ ! -e "$d/state/ddi.json" ] && ok "the root daemon's record moved into the daemon's directory" \
  || bad "state/ddi.json still there"

# A daemon_user that does not exist, or root: refused before any request, nothing changes.
for u in otter-no-such-user root; do
  sed -i "s/^daemon_user = .*/daemon_user = $u/" "$d/agent.conf"
  rc=0; out=$("$agentd" -c "$d/agent.conf" run --once 2>&1) || rc=$?
  [ "$rc" = 2 ] && [[ $out == *"daemon_user $u: "* ]] && ok "daemon_user $u refused: $out" \
    || bad "daemon_user $u: rc=$rc $out"
done
finish
