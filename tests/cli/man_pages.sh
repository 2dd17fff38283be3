#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` puts a man page for every program into share/man/man1; each renders
# without a warning (groff -ww, man --warnings) and carries the same text as the program's
# --help and each of its commands' --help (one source: src/cli/help/*.txt).
# usage: man_pages.sh BUILD_DIR OTTER OTTER-AGENT OTTER-AGENTD OTTER-FETCH OTTER-SERVER
set -euo pipefail
[ $# = 6 ] || { echo "usage: $0 BUILD_DIR OTTER OTTER-AGENT OTTER-AGENTD OTTER-FETCH OTTER-SERVER" >&2; exit 2; }
build=$1
shift
mkdir -p "${OTTER_TEST_TMP:-/tmp}"
work=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/man.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; exit 1; }
mandir=$work/prefix/share/man/man1

for path in "$@"; do
  prog=$(basename "$path")
  page=$mandir/$prog.1
  if [ -f "$page" ]; then ok; else bad "$prog: no $page after cmake --install"; continue; fi

  rc=0; groff -man -Tutf8 -ww -z "$page" 2>"$work/groff.err" || rc=$?
  if [ "$rc" = 0 ] && [ ! -s "$work/groff.err" ]; then ok
  else bad "$prog.1: groff -ww: rc=$rc: $(cat "$work/groff.err")"; fi

  rc=0; MANWIDTH=80 man --warnings -l "$page" >"$work/man.out" 2>"$work/man.err" || rc=$?
  if [ "$rc" = 0 ] && [ ! -s "$work/man.err" ] && grep -q "^NAME" "$work/man.out"; then ok
  else bad "$prog.1: man -l: rc=$rc: $(cat "$work/man.err")"; fi

  # Same text: every line of PROG --help and of each PROG CMD --help is in the page.
  groff -man -Tascii -P-cbou "$page" 2>/dev/null | sed 's/^ *//' >"$work/page.txt"
  "$path" --help >"$work/help.txt"
  cmds=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' \
           "$work/help.txt" | sort -u)
  for cmd in "" $cmds; do
    if [ -n "$cmd" ]; then "$path" "$cmd" --help >"$work/help.txt"; fi
    missing=$(sed 's/^ *//' "$work/help.txt" | grep -v '^$' | grep -vxF -f "$work/page.txt" || true)
    if [ -z "$missing" ]; then ok
    else bad "$prog.1 lacks lines of \`$prog${cmd:+ $cmd} --help\`: $(head -3 <<<"$missing")"; fi
  done
done
echo "man pages: $checks checks, $fails failed"
[ "$fails" = 0 ]
