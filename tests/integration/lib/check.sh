#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by every shell test (through server/lib.sh, agent/device_fixture.sh or
# directly): counted checks and fixture failures, written once.
#   ok NAME / bad NAME        count a passed / failed check
#   expect NAME ACTUAL WANT   ok when ACTUAL = WANT, else bad (shows $work/body if any)
#   finish                    prints the counts; returns 1 when a check failed
#   die MESSAGE               a fixture step failed: stops the whole test there, with the
#                             message and the caller's place, even from inside $(...)
fails=${fails:-0}
passes=${passes:-0}

ok() { echo "ok   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() {
  if [ "$2" = "$3" ]; then ok "$1"; return 0; fi
  bad "$1: got '$2', want '$3'"
  if [ -s "${work:-/nonexistent}/body" ]; then head -c 600 "$work/body"; echo; fi
}
finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" = 0 ]
}

# A die in a subshell ($(...), a pipeline) cannot exit the test itself: it signals the
# test's shell ($$), whose trap exits once the subshell is done (EXIT traps still run).
trap 'fails=$((fails + 1)); echo "stopped by a fixture failure" >&2; exit 1' USR1
die() {
  echo "FIXTURE FAILURE: $* (${FUNCNAME[1]:-main} at ${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]}," \
    "called from ${BASH_SOURCE[2]:-?}:${BASH_LINENO[1]:-?})" >&2
  fails=$((fails + 1))
  [ "$BASHPID" = "$$" ] || kill -USR1 "$$"
  exit 1
}
