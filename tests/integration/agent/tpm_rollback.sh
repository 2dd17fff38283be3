#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Anti-rollback on a TPM 2.0 NV counter (issue 13, [rollback] backend = tpm), against
# swtpm whose NVRAM directory is outside the device:
#  1. Not provisioned: the agent refuses to install (never reads a missing counter as 0).
#  2. `tpm provision` defines the counter (level 0); factory 1.0 and a committed 3.0
#     raise it to 3 (read back with tpm2_nvread: counter 4 = level 3).
#  3. The whole state directory deleted: the install of 2.0 (security version 2) is
#     still refused, slots, state and counter untouched (the file back-end accepts it:
#     its counter was in that directory).
#  4. swtpm restarted: the counter is still 3, 2.0 still refused.
#  5. The index undefined (empty owner authorization) and provisioned again: the new
#     counter starts above every counter this TPM had, so level >= 3 and 2.0 is refused;
#     while undefined the agent refused too. An index of another type is never taken.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/tpm-rollback.$$"
rm -rf "$work"; mkdir -p "$work"
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/tpm_fixture.sh"
need_tpm_tools tpm2_nvread tpm2_nvundefine tpm2_nvdefine
trap 'swtpm_stop; [ "$fails" = 0 ] && rm -rf "$work"' EXIT
make_keys
for v in 1 2 3; do make_content "$work/v$v.img" 100000 "$v"; done
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw
make_pkg "$work/v2.zip" 2.0 2 "$work/v2.img" raw
make_pkg "$work/v3.zip" 3.0 3 "$work/v3.img" raw

swtpm_start "$work/tpm-nv"
d="$work/dev"
make_device "$d" raw
sed -i 's/^\[rollback\]$/[rollback]\nbackend = tpm/' "$d/agent.conf"
printf '[tpm]\ntcti = %s\n' "$swtpm_tcti" >> "$d/agent.conf"
set_tcti() { sed -i "s/^tcti = .*/tcti = $swtpm_tcti/" "$d/agent.conf"; }
# The counter as the TPM itself says it (tpm2-tools, not the agent): 8 bytes big-endian.
nv_counter() { TPM2TOOLS_TCTI=$swtpm_tcti tpm2_nvread -s 8 0x01800a00 | od -An -tx1 | tr -d ' \n' | sed 's/^0*//'; }
run() { local rc=0 out; out=$("$agent" -c "$d/agent.conf" "$@" 2>&1) || rc=$?; echo "$rc $out"; }

# 1. Not provisioned.
out=$(run factory "$work/v1.zip")
[[ $out == "1 "*"not provisioned: run 'otter-agent tpm provision'"* ]] \
  && ok "no counter in the TPM: install refused" || bad "unprovisioned TPM: $out"

# 2. Provision, factory, update.
expect "provision" "$(run tpm provision)" "0 TPM NV counter 0x01800a00: value 1, security level 0"
expect "provision again changes nothing" "$(run tpm provision)" \
  "0 TPM NV counter 0x01800a00: value 1, security level 0"
"$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>&1 || die "factory 1.0"
"$agent" bootsim --root "$d" >/dev/null
expect "factory 1.0: the TPM counter stands for level 1" "$(nv_counter)" 2
"$agent" -c "$d/agent.conf" install "$work/v3.zip" --no-reboot >/dev/null 2>&1 || die "install 3.0"
expect "3.0 committed" "$("$agent" bootsim --root "$d" 2>&1)" "booted slot B: update committed"
expect "the TPM counter stands for level 3" "$(nv_counter)" 4
expect "status reads the TPM" "$("$agent" -c "$d/agent.conf" status --json | jq .counter)" 3

# 3. The whole state directory deleted: nothing on the disk holds the counter.
rm -rf "$d/state"
mkdir "$d/state"
before=$(fingerprint "$d")
out=$(run install "$work/v2.zip" --no-reboot)
[[ $out == "1 "*"security version 2 is below the device's counter 3"* ]] \
  && ok "state deleted: 2.0 refused" || bad "state deleted, 2.0: $out"
expect "nothing written" "$(fingerprint "$d")" "$before"
expect "inactive slot untouched" "$(sha256sum < "$d/slots/rootfs-a")" "$(sha256sum < "$work/v1.img")"
expect "counter untouched" "$(nv_counter)" 4

# 4. swtpm restarted on its NVRAM.
swtpm_stop
swtpm_start "$work/tpm-nv"
set_tcti
expect "after a swtpm restart: level 3" "$("$agent" -c "$d/agent.conf" status --json | jq .counter)" 3
out=$(run install "$work/v2.zip" --no-reboot)
[[ $out == "1 "*"below the device's counter 3"* ]] && ok "after the restart: 2.0 refused" \
  || bad "after the restart, 2.0: $out"

# 5. Undefine and redefine: never lower.
TPM2TOOLS_TCTI=$swtpm_tcti tpm2_nvundefine 0x01800a00 >/dev/null
out=$(run install "$work/v2.zip" --no-reboot)
[[ $out == "1 "*"not provisioned"* ]] && ok "index undefined: refused, not read as 0" \
  || bad "undefined index: $out"
expect "nothing written while undefined" "$(fingerprint "$d")" "$before"
TPM2TOOLS_TCTI=$swtpm_tcti tpm2_nvdefine 0x01800a00 -C o -s 8 \
  -a "ownerread|ownerwrite|authread|authwrite" >/dev/null
out=$(run install "$work/v2.zip" --no-reboot)
[[ $out == "1 "*"is not a counter"* ]] && ok "an ordinary NV index there is not taken" \
  || bad "ordinary index: $out"
TPM2TOOLS_TCTI=$swtpm_tcti tpm2_nvundefine 0x01800a00 >/dev/null
out=$(run tpm provision)
level=$(sed -n 's/.*security level \([0-9]*\)$/\1/p' <<<"$out")
[ -n "$level" ] && [ "$level" -ge 3 ] && ok "redefined counter starts at level $level >= 3" \
  || bad "redefined counter: $out"
out=$(run install "$work/v2.zip" --no-reboot)
[[ $out == "1 "*"below the device's counter"* ]] && ok "after the redefinition: 2.0 refused" \
  || bad "after the redefinition, 2.0: $out"
expect "nothing written after all refusals" "$(fingerprint "$d")" "$before"
finish
