#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device refuses what the server sends it (issue #18): a real
# otter-server rolls releases out to otter-agentd devices on 127.0.0.1, and
# each device refuses one of them:
#  a. a release with a security version below the device's counter;
#  b. a release built for another hardware model;
#  c. a package with fewer signatures than the device's trust root needs
#     (the server's root needs 2 of r1..r3, the device's 3: the server
#     takes r1+r2, the device refuses it; r1 alone the server refuses at
#     upload, so it never reaches a device);
#  d. a truncated download: the artifact the server serves is cut short
#     (its stored file lost its second half), over real HTTP.
# Each time the slot files, the state file, the anti-rollback counter and
# the boot variables are byte for byte what they were, the action is
# error/failure with the reason in its closed feedback, and the rollout's
# stats count one failure.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"

keys="${OTTER_TEST_TMP:-/tmp}/ddi-refusals-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
proxy_pids=()
trap 'ddi_cleanup' EXIT
for k in r1 r2 r3; do "$otter" keygen --out "$keys/$k" >/dev/null; done
# The device's root (ddi_device writes it into agent.conf) needs all three signatures,
# the server's two: a package the server accepts can still be short for the device.
"$otter" root new --pubkey "$keys/r1.pub" --pubkey "$keys/r2.pub" --pubkey "$keys/r3.pub" \
  --threshold 3 -o "$keys/root.json" >/dev/null
"$otter" root new --pubkey "$keys/r1.pub" --pubkey "$keys/r2.pub" --pubkey "$keys/r3.pub" \
  --threshold 2 -o "$keys/server-root.json" >/dev/null

# pkg VERSION SECVER MODEL KEYS...: $keys/VERSION.zip with a 1.5 MB image, signed by KEYS.
pkg() {
  local v=$1 sv=$2 model=$3; shift 3
  local lib; lib=$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')
  { echo "version $v"; head -c 1500000 "$lib"; } | head -c 1500000 > "$keys/$v.img"
  local signers=(); for k in "$@"; do signers+=(--key "$keys/$k.key"); done
  "$otter" pack --product gw --compatible "$model" --version "$v" --security-version "$sv" \
    --image rootfs="$keys/$v.img" "${signers[@]}" -o "$keys/$v.zip" >/dev/null
}
pkg 1.0 1 gw-a r1 r2 r3       # factory
pkg 3.0 3 gw-a r1 r2 r3       # raises the counter of device a to 3
pkg 2.0 2 gw-a r1 r2 r3       # a: below the counter
pkg 4.0 4 gw-z r1 r2 r3       # b: another model
pkg 5.0 5 gw-a r1 r2          # c: 2 of 3 signatures (the server's threshold, not the device's)
pkg 5.1 5 gw-a r1             # c: 1 signature (below the server's threshold too)
pkg 6.0 6 gw-a r1 r2 r3       # d: served truncated

start_server ddi-refusals "[trust]
root = $keys/server-root.json
[ddi]
polling = 1s"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null

# print DIR: sha256 of everything a refused update must leave alone, one line per file.
print() {
  local f
  for f in a b state/state.json state/counter bootenv cmdline; do
    if [ -e "$1/$f" ]; then echo "$f $(sha256sum < "$1/$f" | cut -d' ' -f1)"; else echo "$f absent"; fi
  done
}

# rollout_to GROUP VERSION: a started one-stage rollout of VERSION to the device group GROUP
# (failure_threshold 0: it does not pause on the failure it is about to see); prints its id.
rollout_to() {
  local rel; rel=$(release "$2")
  jreq POST /api/v1/tenants/acme/rollouts "$A" \
    "{\"name\":\"$1\",\"release\":$rel,\"filter\":{\"groups\":[\"$1\"]},\"stages\":[{\"percent\":100,\"success_threshold\":0,\"failure_threshold\":0}]}" >/dev/null
  local ro; ro=$(body .id)
  jreq POST "/api/v1/tenants/acme/rollouts/$ro/start" "$A" '{}' >/dev/null
  echo "$ro"
}

# refused CASE CONTROLLER VERSION REASON: device CONTROLLER in group CASE gets VERSION by a
# rollout, refuses it with REASON (a substring of the daemon's log and of the feedback),
# changes nothing, and the server records the failure.
refused() {
  local case=$1 id=$2 v=$3 reason=$4 d="$work/$2"
  jreq POST /api/v1/tenants/acme/groups "$A" "{\"name\":\"$case\"}" >/dev/null
  expect "$case: $id joins group $case" "$(req PUT "/api/v1/tenants/acme/groups/$case/devices/$id" "$A")" 204
  local ro; ro=$(rollout_to "$case" "$v")
  local before; before=$(print "$d")
  cycle "$d" >/dev/null
  grep -qF "$reason" "$work/cycle.log" && ok "$case: the device refuses $v: $reason" \
    || bad "$case: no refusal '$reason' in: $(cat "$work/cycle.log")"
  expect "$case: slots, state, counter and boot variables unchanged" "$(print "$d")" "$before"
  req GET "/api/v1/tenants/acme/devices/$id/history" "$A" >/dev/null
  local act; act=$(body '[.actions[] | select(.rollout == '"$ro"')][0].id')
  expect "$case: the rollout's action is error/failure" "$(action "$act" '.status + "/" + .result')" error/failure
  local detail; detail=$(action "$act" '[.feedback[] | select(.execution == "closed")][0].details | join(" ")')
  [[ $detail == *"$reason"* ]] && ok "$case: the server has the reason: $detail" \
    || bad "$case: closed feedback without '$reason': $detail"
  req GET "/api/v1/tenants/acme/rollouts/$ro/stats" "$A" >/dev/null
  expect "$case: the rollout counts one failure, no success" "$(body '"\(.total.failure)/\(.total.success)"')" 1/0
}

# a. Below the counter: device a commits 3.0 first (counter 3), then gets 2.0.
ddi_device "$work/dev-a" dev-a
act=$(deploy 3.0 dev-a)
expect "a: 3.0 installs" "$(cycle "$work/dev-a")" 0
"$agent" bootsim --root "$work/dev-a" >/dev/null
cycle "$work/dev-a" >/dev/null
expect "a: 3.0 committed: finished/success" "$(action "$act" '.status + "/" + .result')" finished/success
expect "a: the counter is 3" "$(cat "$work/dev-a/state/counter")" 3
refused rollback dev-a 2.0 "security version 2 is below the device's counter 3"

# b. Another model. The server offers a release only to compatible models (docs/rollouts.md), so
#    it is made to believe the wrong one: registered as gw-z, the device (really gw-a) is targeted
#    before its first poll reports its model; the agent is the last line of defence.
DDI_MODEL=gw-z ddi_device "$work/dev-b" dev-b
refused model dev-b 4.0 'model "gw-a" is not in compatible'

# c. Signatures: r1 alone is refused at upload (the server's root needs 2) and leaves no release;
# r1+r2 passes the server and is refused by the device (its root needs 3).
n0=$(req GET /api/v1/tenants/acme/releases "$A" >/dev/null; body '.releases | length')
st=$(req POST /api/v1/tenants/acme/releases "$A" --data-binary @"$keys/5.1.zip")
[[ $st == 4* ]] && [[ $(body .error.message) == *"1 of 2 required signatures"* ]] \
  && ok "c: the server refuses a package with 1 of 2 signatures at upload ($st): $(body .error.message)" \
  || bad "c: upload with one signature: $st $(head -c 300 "$work/body")"
expect "c: the refused upload left no release" \
  "$(req GET /api/v1/tenants/acme/releases "$A" >/dev/null; body '.releases | length')" "$n0"
ddi_device "$work/dev-c" dev-c
refused threshold dev-c 5.0 "2 of 3 required signatures valid"

# d. Truncated download: the stored artifact of 6.0 loses its second half after the upload,
# so the server answers the device's download with a body cut short.
release 6.0 >/dev/null
sha=$(sha256sum < "$keys/6.0.zip" | cut -d' ' -f1)
stored="$work/artifacts/$sha"   # content-addressed: the file is named by its SHA-256
[ -f "$stored" ] && ok "d: 6.0's artifact is in the server's store" || bad "d: no stored artifact $stored"
chmod u+w "$stored"; truncate -s $(($(stat -c %s "$stored") / 2)) "$stored"
ddi_device "$work/dev-d" dev-d
refused truncated dev-d 6.0 "truncated"

stop_server
finish
