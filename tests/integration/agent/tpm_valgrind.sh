#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The TPM back-ends under valgrind memcheck (plain build only, label no-asan): a counter
# raise and read through tpm2-tss (otter-agent tpm provision, factory and status with
# [rollback] backend = tpm); the decryption key in the TPM (tpm crypt-key create, an
# install of an image encrypted for it: the content key unwrapped in the TPM).
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/tpm-valgrind.$$"
rm -rf "$work"; mkdir -p "$work"
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/tpm_fixture.sh"
need_tpm_tools valgrind
trap 'swtpm_stop; [ "$fails" = 0 ] && rm -rf "$work"' EXIT
vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"; }
swtpm_start "$work/tpm-nv"
make_keys
make_content "$work/v1.img" 50000 1
make_pkg "$work/v1.zip" 1.0 4 "$work/v1.img" raw
d="$work/dev"
make_device "$d" raw
sed -i 's/^\[rollback\]$/[rollback]\nbackend = tpm/' "$d/agent.conf"
printf '[tpm]\ntcti = %s\n[crypt]\nkey = handle:0x81000b00\n' "$swtpm_tcti" >> "$d/agent.conf"
rc=0
vg "$agent" -c "$d/agent.conf" tpm provision >/dev/null 2>"$work/vg.log" || rc=$?
vg "$agent" -c "$d/agent.conf" tpm crypt-key create >"$work/tpm.pub" 2>>"$work/vg.log" || rc=$?
vg "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>>"$work/vg.log" || rc=$?
"$agent" bootsim --root "$d" >/dev/null
out=$(vg "$agent" -c "$d/agent.conf" status --json 2>>"$work/vg.log") || rc=$?
expect "valgrind: TPM provision, raise to 4 and read are clean" "$rc $(jq .counter <<<"$out")" "0 4"
[ "$rc" = 0 ] || cat "$work/vg.log"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 5 \
  --image "rootfs=$work/v1.img" --key "$work/keys/r1.key" --key "$work/keys/r2.key" \
  --encrypt-for "$work/tpm.pub" -o "$work/v2.zip" >/dev/null
vg "$agent" -c "$d/agent.conf" install "$work/v2.zip" >/dev/null 2>>"$work/vg.log" || rc=$?
expect "valgrind: an install unwrapping the content key in the TPM is clean" \
  "$rc $("$agent" bootsim --root "$d" 2>&1)" "0 booted slot B: update committed"
[ "$rc" = 0 ] || cat "$work/vg.log"
finish
