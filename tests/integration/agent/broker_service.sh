#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The installer broker as a service of its own (packaging/systemd/otter-installer.socket and
# otter-installer@.service), so that otter-agentd.service runs as daemon_user from the start
# and never holds root. systemd-socket-activate plays the socket unit: it listens on a
# SOCK_SEQPACKET socket and runs `otter-agentd broker` as root for each connection (the
# connection on standard input, as StandardInput=socket). The daemon, started as nobody with
# OTTER_BROKER_SOCKET, installs a deployment through it: the slot, the state and the reboot
# command are written by root, the daemon's directory is nobody's, the next cycle (nobody)
# reports finished/success. Another local user who connects is refused by the broker.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
if [ "$(id -u)" != 0 ]; then # switching users needs root; CI runs as root
  echo "broker_service: needs root to switch users"; [ "${CI:-}" = true ] && exit 1; exit 77
fi
need_packages util-linux systemd python3
[ -x /usr/bin/python3 ] || { echo "broker_service: needs /usr/bin/python3 (a stranger runs it)"; exit 1; }
nobody_gid=$(id -g nobody)
ddi_setup ddi-broker-service
# nobody must reach the device's directory: the build tree may sit in a 0700 home.
d=$(mktemp -d /tmp/otter-broker-service.XXXXXX); chmod 755 "$d"
sa_pid=
trap '[ -n "$sa_pid" ] && kill "$sa_pid" 2>/dev/null; ddi_cleanup; rm -rf "$d"' EXIT
ddi_pkg 2.0 2 300000
release 2.0 >/dev/null
ddi_device "$d" gw-0001 "$URL" "daemon_user = nobody"
# The daemon reads agent.conf itself (on a device: root:otter 0640, the unit's group), and its
# directory is its own from the start (the unit's StateDirectory=otter/daemon makes it).
chmod 644 "$d/agent.conf"
install -d -o nobody -g "$nobody_gid" -m 0700 "$d/state/daemon"

# The daemon is started as nobody (no root exec that drops later), so nobody must be able to
# run it: the build tree may sit in a 0700 home (a clean clone in /root), copy what it runs.
install -d -m 755 "$d/bin"
install -m 755 "$agentd" "$OTTER_BUILD_DIR/bin/otter-agent" "$OTTER_BUILD_DIR/bin/otter-fetch" "$d/bin/"
nobody_agentd=$d/bin/otter-agentd

sock=$d/installer.sock
systemd-socket-activate --seqpacket --accept --inetd -l "$sock" \
  "$agentd" -c "$d/agent.conf" broker 2>"$work/broker.log" &
sa_pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { bad "the installer socket did not appear"; finish; }
chmod 666 "$sock" # the socket unit's SocketMode/SocketGroup; the broker checks the peer itself

as_nobody() { setpriv --reuid=nobody --regid="$nobody_gid" --clear-groups "$@"; }

act=$(deploy 2.0 gw-0001)
rc=0
as_nobody env OTTER_BROKER_SOCKET="$sock" "$nobody_agentd" -c "$d/agent.conf" run --once \
  >"$work/daemon.log" 2>&1 || rc=$?
expect "the daemon (nobody) installs through the broker service: $(tail -1 "$work/daemon.log")" "$rc" 0
expect "slot B holds 2.0" "$(head -c 11 "$d/b")" "version 2.0"
expect "the slot and the state are root's" "$(stat -c %u "$d/b" "$d/state/state.json" | sort -u)" 0
expect "the reboot command ran, as root" "$(stat -c %u "$d/reboot-requested" 2>/dev/null)" 0
expect "the daemon's directory is nobody's" "$(stat -c '%U %a' "$d/state/daemon" 2>/dev/null)" "nobody 700"
"$agent" bootsim --root "$d" >/dev/null
expect "boot-check commits 2.0 on slot B" "$(booted "$d")" B
rc=0
as_nobody env OTTER_BROKER_SOCKET="$sock" "$nobody_agentd" -c "$d/agent.conf" run --once \
  >"$work/daemon.log" 2>&1 || rc=$?
expect "report cycle (nobody, status through the broker) exits 0" "$rc" 0
expect "finished/success after the reboot" "$(action "$act" '.status + "/" + .result')" finished/success

# Another local user connects and asks for the device's status: the broker hangs up.
answer=$(setpriv --reuid=1 --regid=1 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1]); s.send(b"status")
s.settimeout(30)
try:
    data = s.recv(4096)
except ConnectionResetError:
    data = b""
print("closed" if not data else repr(data))' "$sock" 2>&1) || true
expect "a stranger gets nothing from the broker (it hangs up)" "$answer" closed
for _ in $(seq 200); do grep -q "peer uid 1 is not daemon_user nobody" "$work/broker.log" && break; sleep 0.05; done
if grep -q "otter-agentd: broker: peer uid 1 is not daemon_user nobody" "$work/broker.log"; then
  ok "the broker says why it refused the stranger"
else
  bad "broker log: $(cat "$work/broker.log")"
fi
finish
