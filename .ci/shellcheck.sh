#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lint: every shell script in the repository passes shellcheck (all severities). A shell script
# is a *.sh file or a file whose first line runs sh or bash. CTest runs this (test
# lint_shellcheck), so `make test` and .ci/run do; it fails when shellcheck is missing.
# usage: .ci/shellcheck.sh [SOURCE_DIR]
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$src"
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (make deps)" >&2; exit 1; }

# Candidate files: git's view when this is a checkout (tracked and new, not ignored), else the
# tree without build directories and node modules.
if git rev-parse --git-dir >/dev/null 2>&1; then
  list() { git ls-files -z --cached --others --exclude-standard; }
else
  list() {
    find . \( -name .git -o -name node_modules -o -name 'build*' -o -name Testing \) -prune -o \
      -type f -printf '%P\0'
  }
fi

scripts=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the work tree, still in the index
  case $f in
    *.sh) scripts+=("$f") ;;
    *) head -n1 "$f" 2>/dev/null | grep -qE '^#!.*([/ ]|env )(ba)?sh( |$)' && scripts+=("$f") ;;
  esac
done < <(list)

[ ${#scripts[@]} -gt 0 ] || { echo "no shell scripts found under $src" >&2; exit 1; }
echo "shellcheck: ${#scripts[@]} scripts"
shellcheck "${scripts[@]}"
