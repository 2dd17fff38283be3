#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# otter-agentd's local control socket ([control], docs/device-ui.md) against a real
# otter-server on 127.0.0.1: malformed, oversized and unknown requests get an error naming
# what and where, and change nothing; a second client at once (one subscribed, one asking);
# the socket's mode keeps another user out (connect refused), and with the file opened wide
# the daemon's SO_PEERCRED check still refuses them; otter-agent's commands go through the
# running daemon (check, progress --json, status). Needs root to run a client as nobody.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
if [ "$(id -u)" != 0 ]; then
  echo "control_protocol: needs root to run a client as another user"
  [ "${CI:-}" = true ] && exit 1; exit 77
fi
need_packages util-linux python3
ddi_setup control-protocol
# nobody must reach the socket's directory and run the client: not in a 0700 home.
d=$(mktemp -d /tmp/otter-control.XXXXXX); chmod 755 "$d"
trap 'ddi_cleanup; rm -rf "$d"' EXIT
install -m 755 "$OTTER_SOURCE_DIR/tests/integration/lib/control_client.py" "$d/cc.py"
cc() { "$d/cc.py" "$@"; }
sock=$d/control.sock
ddi_device "$d/dev" gw-0001
cat >> "$d/dev/agent.conf" <<CONF
[control]
socket = $sock
mode = 0660
CONF
setsid "$agentd" -c "$d/dev/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { bad "the control socket did not appear: $(tail -3 "$work/daemon.log")"; finish; }
expect "the socket is root's, mode 0660" "$(stat -c '%U %a' "$sock")" "root 660"
first=$(cc "$sock" --until "s['checks'] >= 1")
expect "after the first poll: idle, nothing offered" "$(jq -r '.state + " " + (.offer|tostring)' <<< "$first")" "idle null"

# answer LINE JQ: the single answer to LINE, through jq.
answer() { cc "$sock" "$1" | jq -r "$2"; }
expect "status answers with the state" "$(answer '{"id":1,"method":"status"}' '"\(.id) \(.ok) \(.result.state)"')" "1 true idle"
expect "a string id is echoed" "$(answer '{"id":"ui-7","method":"status"}' .id)" ui-7
a=$(answer '{"id":2,"method":' '.error.code + ": " + .error.message')
case "$a" in "parse: request: not JSON at column "*) ok "malformed JSON: $a";; *) bad "malformed JSON: $a";; esac
expect "unknown method named" "$(answer '{"id":3,"method":"frob"}' '"\(.id) \(.error.code) \(.error.message)"' )" \
  '3 unknown_method request: field "method": unknown method "frob" (status, subscribe, check, download, start, postpone, cancel, decline, verify, install_file)'
expect "unknown field named" "$(answer '{"id":4,"method":"status","force":true}' '.error.message')" 'request: unknown field "force"'
expect "a missing id named" "$(answer '{"method":"status"}' '.error.code + ": " + .error.message')" 'bad_request: request: field "id": missing'
expect "postpone without seconds" "$(answer '{"id":5,"method":"postpone"}' '.error.message')" 'request: params.seconds: missing (postpone needs it)'
expect "params a method does not take" "$(answer '{"id":6,"method":"start","params":{"now":1}}' '.error.message')" 'request: params.now: start takes no such field'
expect "start with nothing offered: refused by the state" "$(answer '{"id":7,"method":"start"}' '.error.code + ": " + .error.message')" \
  'state: start: not possible while the update state is "idle"'
expect "cancel with nothing running" "$(answer '{"id":8,"method":"cancel"}' .error.code)" state
# An oversized line: one error, then the same connection still works.
big=$(printf '{"id":9,"method":"status","x":"%05000d"}' 0)
out=$(cc "$sock" "$big" '{"id":10,"method":"status"}')
expect "oversized line: too_long, then the next request answered" \
  "$(jq -rs '"\(.[0].error.code) \(.[0].id) | \(.[1].id) \(.[1].ok)"' <<< "$out")" "too_long null | 10 true"
after=$(answer '{"id":11,"method":"status"}' '.result | del(.checks, .last_check)')
expect "the bad requests changed nothing" "$after" "$(jq 'del(.checks, .last_check)' <<< "$first")"

# Two clients at once: one subscribed, the other asks for a check; the first sees the poll.
n=$(answer '{"id":12,"method":"status"}' .result.checks)
cc "$sock" --until "s['checks'] > $n" > "$work/sub.out" & sub=$!
for _ in $(seq 100); do [ -e "$work/sub.out" ] && break; sleep 0.05; done
expect "a second client's check is accepted" "$(answer '{"id":13,"method":"check"}' .result.accepted)" check
rc=0; wait "$sub" || rc=$?
expect "the subscribed client saw the poll the other one asked for" "$rc $(jq -r .state "$work/sub.out")" "0 idle"

# Another user: the file's mode keeps them out; opened wide, the daemon's peer check does.
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
expect "nobody cannot connect (mode 0660, root's)" "$(as_nobody "$d/cc.py" "$sock" '{"id":1,"method":"status"}' || true)" \
  "connect: Permission denied"
chmod 666 "$sock"
a=$(as_nobody "$d/cc.py" "$sock" --listen || true)
expect "nobody through a wide-open socket: forbidden by SO_PEERCRED" "$(jq -r .error.code <<< "$a")" forbidden
expect "... and nothing was queued for them" "$(answer '{"id":14,"method":"status"}' .result.state)" idle

# otter-agent while the daemon runs: its commands are the socket's clients.
n=$(answer '{"id":15,"method":"status"}' .result.checks)
out=$("$agent" -c "$d/dev/agent.conf" check 2>&1) || bad "otter-agent check: $out"
expect "otter-agent check goes through the daemon" "$(tail -1 <<< "$out")" "no update offered"
expect "... which polled for it" "$(answer '{"id":16,"method":"status"}' "(.result.checks > $n)")" true
expect "otter-agent progress --json is the daemon's state" "$("$agent" -c "$d/dev/agent.conf" progress --json | jq -r .state)" idle
expect "otter-agent status shows the daemon's state" "$("$agent" -c "$d/dev/agent.conf" status | tail -1)" "update: idle"
kill -TERM -- "-$daemon_pgid"; wait "$daemon_pgid" 2>/dev/null || true; daemon_pgid=
expect "without the daemon, progress says so" "$("$agent" -c "$d/dev/agent.conf" progress 2>&1 || true)" \
  "otter-agent: progress: no update daemon listens ([control] socket in $d/dev/agent.conf)"
finish
