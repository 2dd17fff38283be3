#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from its
# seed corpus (copied, so the committed seeds stay small). Fails on a crash.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-60}
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  mkdir -p "$work/$name"
  cp -r "$src/corpus/$name/." "$work/$name/" 2>/dev/null || true
  echo "== $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$src/crash-$name-" "$work/$name" 2>"$work/$name.log"; then
    tail -40 "$work/$name.log"
    echo "FUZZ FAILURE: $name (crasher saved under tests/fuzz/crash-$name-*)"
    status=1
  else
    grep -E '^(#[0-9]+.*DONE|Done)' "$work/$name.log" | tail -1 || true
  fi
done
exit $status
