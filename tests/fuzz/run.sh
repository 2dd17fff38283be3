#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from its
# seed corpus (copied, so the committed seeds stay small). Fails on a crash,
# and when a target that has a seed corpus (tests/fuzz/corpus/NAME) was not
# built or did not run: a run that fuzzed nothing must not pass.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-60}
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
ran=0
for corpus in "$src"/corpus/*/; do
  name=$(basename "$corpus")
  bin="$build/tests/fuzz/$name"
  if [ ! -x "$bin" ]; then
    echo "FUZZ FAILURE: $name has a corpus but no target $bin (build with make fuzz)"
    status=1
    continue
  fi
  mkdir -p "$work/$name"
  cp -r "$corpus." "$work/$name/"
  echo "== $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$src/crash-$name-" "$work/$name" 2>"$work/$name.log"; then
    tail -40 "$work/$name.log"
    echo "FUZZ FAILURE: $name (crasher saved under tests/fuzz/crash-$name-*)"
    status=1
  elif ! grep -E '^(#[0-9]+.*DONE|Done)' "$work/$name.log" | tail -1 | grep .; then
    tail -20 "$work/$name.log"
    echo "FUZZ FAILURE: $name exited 0 without libFuzzer's DONE line (not a libFuzzer build?)"
    status=1
  else
    ran=$((ran + 1))
  fi
done
if [ "$ran" = 0 ]; then
  echo "FUZZ FAILURE: nothing was fuzzed (no target ran in $build/tests/fuzz)"
  status=1
fi
echo "$ran targets fuzzed"
exit $status
