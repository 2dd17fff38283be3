#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One state machine (#17): while otter-agentd runs with a control socket, the one-shot
# commands are requests to it, never a second cycle beside it. Against a real otter-server
# on 127.0.0.1, a "download then ask" deployment waits in the daemon's spool; then
#  - `otter-agentd install` and `download` run directly are refused (the daemon runs), and a
#    second `otter-agentd run --once` does not take the running daemon's socket;
#  - `otter-agent run --once` is the daemon's poll, now (its checks grow);
#  - `otter-agent install --from-server --no-reboot` is the user's Start without the reboot:
#    the daemon installs it (its log, otter.user=started on the server, one install only),
#    no reboot is asked for, the daemon's state says "reboot";
# and without a daemon (its socket configured but nobody listening) the same command
# installs alone, again without the reboot.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages python3
ddi_setup control-oneshot
ddi_pkg 2.0 2 600000
release 2.0 >/dev/null
d="$work/dev"
ddi_device "$d" gw-0001
sock=$work/control.sock
printf '[control]\nsocket = %s\n' "$sock" >> "$d/agent.conf"
cc() { "$OTTER_SOURCE_DIR/tests/integration/lib/control_client.py" "$@"; }
before=$(device_print "$d")
act=$(deploy 2.0 gw-0001 '"update":"attempt"')
setsid "$agentd" -c "$d/agent.conf" run > "$work/daemon.log" 2>&1 & daemon_pgid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { bad "the control socket did not appear: $(tail -3 "$work/daemon.log")"; finish; }
st=$(cc "$sock" --until "s['state'] in ('ready', 'failed')") || bad "no ready state: $(tail -5 "$work/daemon.log")"
expect "the daemon downloaded the offer and waits for Start" "$(jq -r .state <<< "$st")" ready

# otter-agentd's one-shot commands, run directly beside the daemon: refused, nothing done.
rc=0; out=$("$agentd" -c "$d/agent.conf" install --no-reboot 2>&1) || rc=$?
expect "otter-agentd install beside the daemon: refused (exit 1)" "$rc" 1
expect "... saying the daemon runs" "$(grep -c "the update daemon runs (its control socket $sock answers)" <<< "$out")" 1
rc=0; out=$("$agentd" -c "$d/agent.conf" download 2>&1) || rc=$?
expect "otter-agentd download beside the daemon: refused (exit 1)" "$rc" 1
expect "... nothing installed" "$(device_print "$d")" "$before"
rc=0; out=$("$agentd" -c "$d/agent.conf" run --once 2>&1) || rc=$?
expect "a second otter-agentd run --once: refused (exit 1)" "$rc" 1
expect "... naming the running daemon" "$(grep -c "another otter-agentd runs and answers on it" <<< "$out")" 1
expect "the daemon still answers on its socket" "$(cc "$sock" '{"id":1,"method":"status"}' | jq -r .result.state)" ready

# otter-agent run --once: the daemon polls now.
n=$(cc "$sock" '{"id":2,"method":"status"}' | jq .result.checks)
rc=0; out=$("$agent" -c "$d/agent.conf" run --once 2>&1) || rc=$?
expect "otter-agent run --once through the daemon: exit 0 ($(tail -1 <<< "$out"))" "$rc" 0
expect "... the daemon polled for it" "$(cc "$sock" '{"id":3,"method":"status"}' | jq ".result.checks > $n")" true
expect "... still nothing installed" "$(device_print "$d")" "$before"

# install --from-server --no-reboot: the daemon's Start, without the reboot.
rc=0; out=$("$agent" -c "$d/agent.conf" install --from-server --no-reboot 2>&1) || rc=$?
expect "install --from-server --no-reboot through the daemon: $(tail -1 <<< "$out")" "$rc" 0
expect "its last line: reboot (needed)" "$(tail -1 <<< "$out")" "update: reboot"
expect "slot B holds 2.0" "$(head -c 11 "$d/b")" "version 2.0"
expect "no reboot was asked for" "$([ -e "$d/reboot-requested" ] && echo yes || echo no)" no
expect "the daemon installed it" "$(grep -c "action $act: installing the spooled package" "$work/daemon.log")" 1
expect "... and left the reboot to the user" "$(grep -c "action $act: installed; the user reboots later" "$work/daemon.log")" 1
expect "the server heard otter.user=started" \
  "$(action "$act" '[.feedback[] | select(.details[0] == "otter.user=started")] | length')" 1
# Two more polls of the daemon: still one install, the state says reboot.
n=$(cc "$sock" '{"id":4,"method":"status"}' | jq .result.checks)
st=$(cc "$sock" --until "s['checks'] > $n + 1")
expect "two polls later: state reboot" "$(jq -r .state <<< "$st")" reboot
expect "one install on the server" \
  "$(action "$act" '[.feedback[] | select(.details[0] == "installing the downloaded package" or .details[0] == "downloading and installing")] | length')" 1
expect "one install in the daemon's log" "$(grep -c "action $act: installing" "$work/daemon.log")" 1
kill -TERM -- "-$daemon_pgid"; wait "$daemon_pgid" 2>/dev/null || true; daemon_pgid=
"$agent" bootsim --root "$d" >/dev/null
expect "boot-check commits 2.0 on slot B" "$(booted "$d")" B

# No daemon: the socket is configured, nobody listens. The command works alone.
d2="$work/dev2"
ddi_device "$d2" gw-0002
printf '[control]\nsocket = %s\n' "$work/control2.sock" >> "$d2/agent.conf"
act2=$(deploy 2.0 gw-0002 '"update":"attempt"')
rc=0; out=$("$agent" -c "$d2/agent.conf" install --from-server --no-reboot 2>&1) || rc=$?
expect "no daemon: install --from-server --no-reboot installs alone: $(tail -1 <<< "$out")" "$rc" 0
expect "... slot B holds 2.0" "$(head -c 11 "$d2/b")" "version 2.0"
expect "... no reboot asked for" "$([ -e "$d2/reboot-requested" ] && echo yes || echo no)" no
"$agent" bootsim --root "$d2" >/dev/null
expect "... the next cycle reports finished/success" "$(cycle "$d2")" 0
expect "... the action finished" "$(action "$act2" '.status + "/" + .result')" finished/success
finish
