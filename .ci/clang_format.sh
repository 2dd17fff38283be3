#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lint: every C source and header is formatted as .clang-format says (clang-format --dry-run
# --Werror prints each difference). CTest runs this (test lint_clang_format), so `make test`
# and .ci/run do; it fails when clang-format is missing. Format with:
#   git ls-files '*.c' '*.h' | xargs clang-format -i
# usage: .ci/clang_format.sh [SOURCE_DIR]
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$src"
command -v clang-format >/dev/null || { echo "clang-format is not installed (make deps)" >&2; exit 1; }
if git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -d '' files < <(git ls-files -z --cached --others --exclude-standard -- '*.c' '*.h')
else
  mapfile -d '' files < <(find src tests bench \( -name '*.c' -o -name '*.h' \) -print0)
fi
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
[ ${#existing[@]} -gt 0 ] || { echo "no C files found under $src" >&2; exit 1; }
echo "clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -1): ${#existing[@]} files"
clang-format --dry-run --Werror "${existing[@]}"
