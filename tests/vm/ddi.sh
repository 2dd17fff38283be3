#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2154 # A, work, console, run_off, VM_WAIT: set by the test that sources this
# The server side of a VM test (tests/vm/vm.sh, tests/vm/uboot.sh):
#   rollout ZIP NAME     uploads ZIP, starts a one-stage rollout of it to every device; its id
#   action_of ROLLOUT    vm1's action in that rollout (waits up to 60 s for the stage)
#   action_done ID       waits (VM_WAIT s) until the server closed action ID; "status result"
#   action_detail ID     the details of the action's closing feedback
#   device_version       the version the server has for vm1
#   device_attr_version  the version the daemon reports in its attributes (an install
#                        without an action: the SD card)
#   version_is V [FUNC]  waits (VM_WAIT s) until FUNC (device_version) prints V; prints it
#   booted_now           the last "booted" line since the VM started ("slot=B version=2.0")
# Needs lib.sh (db, req, jreq, body, upload, die) and machine.sh (console, run_off).
action_of() {
  local a start; start=$(date +%s)
  while :; do
    a=$(db "SELECT a.id FROM actions a JOIN devices d ON d.id = a.device_id WHERE a.rollout_id = $1 AND d.controller_id = 'vm1'")
    [ -n "$a" ] && { echo "$a"; return 0; }
    [ $(($(date +%s) - start)) -lt 60 ] || die "rollout $1 has no action for vm1 after 60 s"
    sleep 0.2
  done
}
action_done() {
  local start s; start=$(date +%s)
  while :; do
    s=$(db "SELECT status || ' ' || result FROM actions WHERE id = $1")
    case "$s" in finished*|error*|canceled*) echo "$s"; return 0 ;; esac
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || { echo "$s (not closed in $VM_WAIT s)"; return 0; }
    sleep 0.5
  done
}
action_detail() {
  req GET "/api/v1/tenants/acme/actions/$1" "$A" >/dev/null
  body '[.feedback[] | select(.execution == "closed")] | last | .details | tostring'
}
rollout() {
  local rel ro; rel=$(upload acme "$A" "$1")
  [ "$(jreq POST /api/v1/tenants/acme/rollouts "$A" \
    "{\"name\":\"$2\",\"release\":$rel,\"stages\":[{\"percent\":100}]}")" = 201 ] ||
    die "rollout $2: $(head -c 300 "$work/body")"
  ro=$(body .id)
  [ "$(jreq POST "/api/v1/tenants/acme/rollouts/$ro/start" "$A" '{}')" = 200 ] ||
    die "rollout $2 start: $(head -c 300 "$work/body")"
  echo "$ro"
}
device_version() { req GET /api/v1/tenants/acme/devices/vm1 "$A" >/dev/null; body .version; }
device_attr_version() { req GET /api/v1/tenants/acme/devices/vm1 "$A" >/dev/null; body .attributes.version; }
version_is() {
  local start v; start=$(date +%s)
  while :; do
    v=$(${2:-device_version})
    [ "$v" = "$1" ] && break
    [ $(($(date +%s) - start)) -lt "$VM_WAIT" ] || break
    sleep 1
  done
  echo "$v"
}
booted_now() {
  tail -c "+$((run_off + 1))" "$console" | tr -d '\r' | grep -aoE 'booted slot=[AB] version=[^ ]+' |
    tail -1 | sed 's/^booted //'
}
