#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lint of packaging/systemd: `systemd-analyze verify` accepts each unit (with
# ExecStart= pointing at the programs given, as /usr/bin has none in a build tree), and
# `systemd-analyze security --offline=yes` rates each at or below MAX_EXPOSURE (default 3.0;
# docs/operations.md lists the figures). CTest runs this (test lint_systemd_units).
# usage: .ci/systemd_units.sh SOURCE_DIR PROGRAM...
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SOURCE_DIR PROGRAM..." >&2; exit 2; }
src=$(cd "$1" && pwd)
shift
max=${MAX_EXPOSURE:-3.0}
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is not installed (make deps)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/units"
for p in "$@"; do ln -s "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")" "$work/bin/"; done

fails=0 units=0
# All units side by side first: verify finds a unit's dependencies (a socket) next to it.
for unit in "$src"/packaging/systemd/*.service "$src"/packaging/systemd/*.socket; do
  [ -e "$unit" ] || continue
  sed "s|/usr/bin/|$work/bin/|g" "$unit" >"$work/units/$(basename "$unit")"
done
for unit in "$work"/units/*; do
  name=$(basename "$unit")
  rc=0
  systemd-analyze verify --man=no "$unit" >"$work/verify.out" 2>&1 || rc=$?
  if [ "$rc" != 0 ] || [ -s "$work/verify.out" ]; then
    echo "FAIL: systemd-analyze verify $name (rc=$rc):" >&2
    cat "$work/verify.out" >&2
    fails=$((fails + 1))
  else
    echo "$name: systemd-analyze verify ok"
  fi
done

for unit in "$src"/packaging/systemd/*.service; do
  name=$(basename "$unit")
  units=$((units + 1))

  rc=0
  systemd-analyze security --offline=yes --no-pager "$unit" >"$work/security.out" 2>&1 || rc=$?
  level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\) .*/\1/p' "$work/security.out")
  if [ -z "$level" ]; then
    echo "FAIL: $name: no 'Overall exposure level' in systemd-analyze security (rc=$rc):" >&2
    cat "$work/security.out" >&2
    fails=$((fails + 1))
  elif awk -v l="$level" -v m="$max" 'BEGIN { exit !(l > m) }'; then
    echo "FAIL: $name: exposure $level > $max; what it allows:" >&2
    grep '✗' "$work/security.out" >&2 || true
    fails=$((fails + 1))
  else
    echo "$name: exposure $level (at most $max)"
  fi
done
[ "$units" -gt 0 ] || { echo "FAIL: no units under $src/packaging/systemd" >&2; exit 1; }
[ "$fails" = 0 ]
