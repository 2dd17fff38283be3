#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Each program given must exist and carry no test hook: neither the OTTER_CRASH_AT variable
# that makes it SIGKILL itself (otter_crash.c) nor a crash point function. (The names of the
# empty inline stand-ins may sit in debug info, so functions are looked for as symbols.)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: no_test_hooks.sh PROGRAM..."; exit 2; }
failed=0
for prog in "$@"; do
  if [ ! -s "$prog" ]; then
    echo "FAIL $prog: missing"; failed=1
  elif grep -a -q OTTER_CRASH_AT "$prog"; then
    echo "FAIL $prog: reads OTTER_CRASH_AT (built with OTTER_TEST_HOOKS?)"; failed=1
  elif grep -a -q OTTER_TEST_NOW_FILE "$prog"; then
    echo "FAIL $prog: reads OTTER_TEST_NOW_FILE, the schedules' test clock (OTTER_TEST_HOOKS?)"; failed=1
  elif grep -a -q OTTER_TEST_UBI_ROOT "$prog"; then
    echo "FAIL $prog: reads OTTER_TEST_UBI_ROOT, the ubi handler's test sysfs (OTTER_TEST_HOOKS?)"; failed=1
  elif nm --defined-only "$prog" | grep -q ' otter_crash_'; then
    echo "FAIL $prog: defines otter_crash_* (built with OTTER_TEST_HOOKS?)"; failed=1
  else
    echo "ok   $prog: no crash hook"
  fi
done
exit $failed
