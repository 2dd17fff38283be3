#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every program and every command follows the command-line conventions (src/cli/otter_usage.h):
#   PROG --help, PROG --version, PROG COMMAND --help: exit 0, output on stdout only;
#   --version: "PROG X.Y.Z", plus "(git DESCRIBE)" when built from a git checkout;
#   COMMAND --help: that command's own usage ("usage: PROG [global options] COMMAND ...");
#   PROG --bogus, PROG bogus, PROG COMMAND --bogus: exit 2, nothing on stdout, and on stderr
#   'PROG[ COMMAND]: unknown option|unknown command "..."' naming the program, never its path.
# The commands are read from each program's own --help ("Commands:" section), so a new
# command is checked without touching this file.
# usage: conventions.sh OTTER OTTER-AGENT OTTER-AGENTD OTTER-FETCH OTTER-SERVER
set -euo pipefail
[ $# = 5 ] || { echo "usage: $0 OTTER OTTER-AGENT OTTER-AGENTD OTTER-FETCH OTTER-SERVER" >&2; exit 2; }
src=${OTTER_SOURCE_DIR:?}
mkdir -p "${OTTER_TEST_TMP:-/tmp}"
work=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }

# run PROG-PATH ARGS...: sets rc, out (stdout), err (stderr).
run() {
  rc=0
  "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# The commands a program lists under "Commands:" in its --help.
commands_of() {
  awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' \
    <<<"$1" | sort -u
}

in_git=0
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 && in_git=1

check_program() {
  local path=$1 prog
  prog=$(basename "$path")
  local dir
  dir=$(dirname "$path")

  run "$path" --help
  if [ "$rc" = 0 ] && [[ $out == "usage: $prog "* ]] && [ -z "$err" ]; then ok
  else bad "$prog --help: rc=$rc, stdout '${out%%$'\n'*}', stderr '$err'"; fi
  local main_help=$out

  run "$path" --version
  local want="^$prog [0-9]+\\.[0-9]+\\.[0-9]+\$"
  [ "$in_git" = 1 ] && want="^$prog [0-9]+\\.[0-9]+\\.[0-9]+ \\(git [0-9a-zA-Z._-]+\\)\$"
  if [ "$rc" = 0 ] && [[ $out =~ $want ]] && [ -z "$err" ]; then ok
  else bad "$prog --version: rc=$rc, stdout '$out' (want /$want/), stderr '$err'"; fi

  run "$path" --frobnicate
  if [ "$rc" = 2 ] && [ -z "$out" ] && [[ $err == "$prog: unknown option \"--frobnicate\""* ]] \
     && [[ $err != *"$dir/"* ]]; then ok
  else bad "$prog --frobnicate: rc=$rc, stdout '$out', stderr '$err'"; fi

  local cmds
  cmds=$(commands_of "$main_help")
  if [ "$prog" = otter-fetch ]; then
    if [ -z "$cmds" ]; then ok; else bad "otter-fetch lists commands: $cmds"; fi
    return
  fi
  if [ -n "$cmds" ]; then ok; else bad "$prog --help lists no commands"; fi

  run "$path" frobnicate
  if [ "$rc" = 2 ] && [ -z "$out" ] && [[ $err == "$prog: unknown command \"frobnicate\""* ]]; then ok
  else bad "$prog frobnicate: rc=$rc, stdout '$out', stderr '$err'"; fi

  local cmd
  for cmd in $cmds; do
    run "$path" "$cmd" --help
    # The command's own usage: "usage: PROG [--global options] CMD ...".
    local first=${out%%$'\n'*}
    local pattern="^usage: $prog( \\[[^]]*\\])* $cmd( |\$)"
    if [ "$rc" = 0 ] && [[ $first =~ $pattern ]] && [ -z "$err" ] && [ "$out" != "$main_help" ]; then ok
    else bad "$prog $cmd --help: rc=$rc, first line '$first' (want /$pattern/), stderr '$err'"; fi

    run "$path" "$cmd" --frobnicate
    # otter-agent check and run are otter-agentd's (otter-agent execs it): it answers.
    local who="$prog $cmd"
    [ "$prog" = otter-agent ] && { [ "$cmd" = check ] || [ "$cmd" = run ]; } && who="otter-agentd $cmd"
    if [ "$rc" = 2 ] && [ -z "$out" ] && [[ $err == "$who: unknown option \"--frobnicate\""* ]] \
       && [[ $err != *"$dir/"* ]]; then ok
    else bad "$prog $cmd --frobnicate: rc=$rc, stdout '$out', stderr '$err'"; fi
  done
}

for p in "$@"; do
  check_program "$p"
done
echo "cli conventions: $checks checks, $fails failed"
[ "$fails" = 0 ]
