#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Root rotation over the air (issue #13, docs/keys.md "Rotating the root"), otter-agentd
# against a real otter-server on 127.0.0.1. Tenant acme's root goes 1 (key r1) -> 2 (r2)
# -> 3 (r3): r1 is the compromised key rotated away.
#   1. The server keeps the chain: one-sided signatures and skipped versions are refused
#      (422 / 400); after the rotation an upload signed by r1 is refused, r3's accepted.
#   2. An online device adopts 2, then 3, one poll after each rotation; a release signed by
#      r1 (uploaded before the rotation) is then refused by it, nothing changed.
#   3. A device offline during both rotations walks 1 -> 2 -> 3 on its next poll before it
#      looks at the package: the r1 release is refused.
#   4. Another offline device installs 2.0 signed by r3 only: accepted after the walk.
#   5. Without the chain (version 3 alone) a device cannot jump: the walk and the package
#      are refused. A chain of older roots is refused (freeze).
#   6. Release metadata older than the device installed (manifest created time) is refused.
#   7. A power cut (SIGKILL at each step of the atomic write) leaves root 1 or root 3, whole.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
need_packages unzip

ddi_setup root-rotation
for k in r2 r3; do "$otter" keygen --out "$keys/$k" >/dev/null; done
"$otter" root sign "$keys/root.json" --key "$keys/r1.key" >/dev/null
mkdir -p "$keys/v2" "$keys/v3" "$keys/v2old" "$keys/v2new"
"$otter" root new --pubkey "$keys/r2.pub" --version 2 -o "$keys/v2/root.json" >/dev/null
"$otter" root sign "$keys/v2/root.json" --key "$keys/r1.key" --key "$keys/r2.key" >/dev/null
"$otter" root new --pubkey "$keys/r3.pub" --version 3 -o "$keys/v3/root.json" >/dev/null
"$otter" root sign "$keys/v3/root.json" --key "$keys/r2.key" --key "$keys/r3.key" >/dev/null
for side in old new; do # version 2 signed by one side only
  cp "$keys/v2/root.json" "$keys/v2$side/root.json"
  "$otter" root sign "$keys/v2$side/root.json" --key "$keys/$([ $side = old ] && echo r1 || echo r2).key" >/dev/null
done
chain() { local out=$1; shift; "$otter" root chain "$@" -o "$out" >/dev/null; }
# rawchain OUT ROOT...: roots.json without the tool's link checks (what an attacker may send).
rawchain() {
  local out=$1; shift
  local items=() r v
  for r in "$@"; do
    v=$(jq .version "$r")
    items+=("$(jq -n --rawfile r "$r" --rawfile s "$r.sig" --argjson v "$v" '{version:$v, root:$r, signatures:$s}')")
  done
  printf '%s\n' "${items[@]}" | jq -s '{type:"otter-root-chain", roots:.}' > "$out"
}
post_roots() { req POST /api/v1/tenants/acme/roots "$A" -H 'Content-Type: application/json' --data-binary @"$1"; }
version_of() { jq .version "$1/root.json"; }
# rooted_device DIR ID: ddi_device with its own copy of root.json (adoption rewrites it).
rooted_device() {
  ddi_device "$1" "$2"
  cp "$keys/root.json" "$1/root.json"
  sed -i "s|^root = .*|root = $1/root.json|" "$1/agent.conf"
}

# A release signed by r1 while r1 is trusted, the new one by r3 only.
ddi_pkg 1.5 1 200000
release 1.5 >/dev/null
# 1.9 (r3) is older release metadata than 2.0: packed a clock second before it.
ddi_pkg 1.9 2 200000
rm -f "$keys/1.9.zip"
"$otter" pack --product gw --compatible gw-a --version 1.9 --security-version 2 \
  --image rootfs="$keys/1.9.img" --key "$keys/r3.key" -o "$keys/1.9.zip" >/dev/null
t0=$(date -u +%s)
for _ in $(seq 30); do [ "$(date -u +%s)" != "$t0" ] && break; sleep 0.1; done
ddi_pkg 2.0 2 200000
rm -f "$keys/2.0.zip"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
  --image rootfs="$keys/2.0.img" --key "$keys/r3.key" -o "$keys/2.0.zip" >/dev/null
ddi_pkg 2.1 2 200000 # r1

# 1. The chain on the server.
chain "$keys/c1.json" "$keys/root.json"
expect "tenant acme's root version 1 is set" "$(post_roots "$keys/c1.json")" 201
rawchain "$keys/c3only.json" "$keys/v3/root.json"
expect "version 3 after 1 (a skipped version) is refused" "$(post_roots "$keys/c3only.json")" 400
grep -q "expected 2" "$work/body" && ok "... because 2 is expected" || bad "skip: $(cat "$work/body")"
for side in old new; do
  rawchain "$keys/c2$side.json" "$keys/v2$side/root.json"
  expect "version 2 signed by the $side keys only is refused" "$(post_roots "$keys/c2$side.json")" 422
done
a="$work/devA"; rooted_device "$a" gw-online
b="$work/devB"; rooted_device "$b" gw-offline
c="$work/devC"; rooted_device "$c" gw-offline2
for d in "$a" "$b" "$c"; do cycle "$d" >/dev/null; done # configData sent, still version 1
expect "devices trust version 1" "$(version_of "$a")$(version_of "$b")$(version_of "$c")" 111

chain "$keys/c2.json" "$keys/v2/root.json"
expect "rotation to version 2 (r1 + r2 signed)" "$(post_roots "$keys/c2.json")" 201
expect "the online device polls" "$(cycle "$a")" 0
expect "the online device adopted version 2" "$(version_of "$a")" 2
chain "$keys/c3.json" "$keys/v3/root.json"
expect "rotation to version 3 (r2 + r3 signed)" "$(post_roots "$keys/c3.json")" 201
expect "the online device polls again" "$(cycle "$a")" 0
expect "the online device adopted version 3" "$(version_of "$a")" 3
cmp -s "$a/root.json" "$keys/v3/root.json" && ok "its root.json is version 3 byte for byte" || bad "root.json differs"
req GET /api/v1/tenants/acme/roots "$A" >/dev/null
expect "GET roots lists versions 1..3" "$(body '[.roots[].version] | join(",")')" "1,2,3"
expect "an upload signed by r1 is refused after the rotation" \
  "$(req POST /api/v1/tenants/acme/releases "$A" --data-binary @"$keys/2.1.zip")" 422
release 2.0 >/dev/null && ok "an upload signed by r3 is accepted"

# 2. The online device refuses the release signed by the rotated-away key.
before=$(device_print "$a")
act=$(deploy 1.5 gw-online)
cycle "$a" >/dev/null
grep -q "is not in the trust root" "$work/cycle.log" && ok "online device: r1's package refused" \
  || bad "online device, r1 package: $(tail -5 "$work/cycle.log")"
expect "online device: nothing changed" "$(device_print "$a")" "$before"
expect "online device: the action failed" "$(action "$act" '.status + "/" + .result')" error/failure

# 3. Offline through both rotations: walks 1 -> 2 -> 3 before the package, refuses r1's.
before=$(device_print "$b")
act=$(deploy 1.5 gw-offline)
cycle "$b" >/dev/null
expect "offline device walked to version 3" "$(version_of "$b")" 3
grep -q "trust root version 3 adopted (was 1)" "$work/cycle.log" && ok "... in one poll (1 -> 3 through 2)" \
  || bad "offline walk log: $(cat "$work/cycle.log")"
grep -q "is not in the trust root" "$work/cycle.log" && ok "offline device: r1's package refused" \
  || bad "offline device, r1 package: $(tail -5 "$work/cycle.log")"
expect "offline device: nothing changed" "$(device_print "$b")" "$before"

# 4. Offline through both rotations: r3's package is accepted after the walk.
act=$(deploy 2.0 gw-offline2)
expect "offline device installs 2.0 (signed by r3 only)" "$(cycle "$c")" 0
expect "... after walking to version 3" "$(version_of "$c")" 3
out=$("$agent" bootsim --root "$c")
[[ $out == "booted slot B: update committed" ]] && cmp -s "$keys/2.0.img" "$c/b" \
  && ok "2.0 committed, slot B byte for byte" || bad "after 2.0: $out"

# 6. Freshness of release metadata (the manifest's created time): after 2.0, the older 1.9
#    (same security version, signed by the current key) is refused as a replay.
release 1.9 >/dev/null
expect "devC noted 2.0's manifest time" "$(cat "$c/state/newest-manifest")" \
  "$(unzip -p "$keys/2.0.zip" manifest.json | jq -r .created)"
expect "devC reports the commit" "$(cycle "$c")" 0
before=$(device_print "$c")
act=$(deploy 1.9 gw-offline2)
cycle "$c" >/dev/null
grep -q "stale release metadata refused" "$work/cycle.log" && ok "older release metadata (1.9 after 2.0) refused" \
  || bad "freshness: $(tail -5 "$work/cycle.log")"
expect "devC: nothing changed" "$(device_print "$c")" "$before"

# 5. Local walks from a planted chain (the pending file is untrusted input).
e="$work/devE"; rooted_device "$e" gw-local
rawchain "$e/state/roots.json" "$keys/v3/root.json"
out=$("$agent" -c "$e/agent.conf" install --no-reboot "$keys/2.0.zip" 2>&1) && rc=0 || rc=$?
[[ $out == *"rotation refused"*"expected 2"* ]] && ok "version 3 without 2: the walk is refused" || bad "skip walk: $out"
[[ $rc != 0 && $out == *"is not in the trust root"* ]] && ok "... and r3's package with it" || bad "skip install ($rc): $out"
expect "the device still trusts version 1" "$(version_of "$e")" 1
rm -f "$e/state/roots.json"; ln -s "$keys/c2.json" "$e/state/roots.json"
out=$("$agent" -c "$e/agent.conf" status 2>&1) || true
[[ $out == *"rotation refused"*"cannot open"* ]] && expect "a symlink as pending chain is not followed" "$(version_of "$e")" 1 \
  || bad "symlinked pending chain: $out"
rm -f "$e/state/roots.json"
rawchain "$a/state/roots.json" "$keys/root.json" "$keys/v2/root.json"
out=$("$agent" -c "$a/agent.conf" status 2>&1) || true
[[ $out == *"stale root refused"* ]] && ok "a chain of older roots is refused (freeze)" || bad "stale: $out"
expect "the online device still trusts version 3" "$(version_of "$a")" 3
rm -f "$a/state/roots.json"

# 7. Power loss while adopting (the test build's crash points in the atomic write): the
#    device has root 1 or root 3, whole, never neither; the next run adopts 3.
p="$work/devP"; rooted_device "$p" gw-power
chain "$p/state/roots.json" "$keys/v2/root.json" "$keys/v3/root.json"
for point in atomic-written:1 atomic-synced:1 atomic-renamed:1; do
  rc=0; OTTER_CRASH_AT=$point "$agent" -c "$p/agent.conf" status >/dev/null 2>&1 || rc=$?
  v=$(version_of "$p" 2>/dev/null || echo broken)
  want=$([ "$point" = atomic-renamed:1 ] && echo 3 || echo 1)
  expect "killed at $point: exit 137, root version $want" "$rc $v" "137 $want"
  cp "$keys/root.json" "$p/root.json"
done
"$agent" -c "$p/agent.conf" status >/dev/null 2>&1 || true
expect "the next run adopts version 3" "$(version_of "$p")" 3
finish
