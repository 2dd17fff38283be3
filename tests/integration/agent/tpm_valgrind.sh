#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The TPM back-ends under valgrind memcheck (plain build only, label no-asan): a counter
# raise and read through tpm2-tss (otter-agent tpm provision, factory and status with
# [rollback] backend = tpm).
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
printf '[tpm]\ntcti = %s\n' "$swtpm_tcti" >> "$d/agent.conf"
rc=0
vg "$agent" -c "$d/agent.conf" tpm provision >/dev/null 2>"$work/vg.log" || rc=$?
vg "$agent" -c "$d/agent.conf" factory "$work/v1.zip" >/dev/null 2>>"$work/vg.log" || rc=$?
"$agent" bootsim --root "$d" >/dev/null
out=$(vg "$agent" -c "$d/agent.conf" status --json 2>>"$work/vg.log") || rc=$?
expect "valgrind: TPM provision, raise to 4 and read are clean" "$rc $(jq .counter <<<"$out")" "0 4"
[ "$rc" = 0 ] || cat "$work/vg.log"
finish
