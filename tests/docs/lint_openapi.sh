#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lint_openapi.sh SOURCE_DIR: Redocly CLI lints docs/api/openapi.yaml with the
# recommended-strict rules (tools/lint/redocly.yaml): any problem, warning or
# error, fails. The CLI is the version tools/lint/package-lock.json pins; npm ci
# installs it there when node_modules is missing or was installed from another
# lock file. No node or npm is a failure, not a skip: make deps installs them.
set -euo pipefail
src=${1:?usage: lint_openapi.sh SOURCE_DIR}
lint="$src/tools/lint"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (make deps installs it)"; exit 1; }
done
stamp="$lint/node_modules/.otter-lock"
if [ ! -x "$lint/node_modules/.bin/redocly" ] || ! cmp -s "$lint/package-lock.json" "$stamp"; then
  echo "npm ci in $lint"
  (cd "$lint" && npm ci --ignore-scripts --no-audit --no-fund)
  cp "$lint/package-lock.json" "$stamp"
fi
# No usage reports to Redocly, no update notices: the test talks to nobody.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$lint/node_modules/.bin/redocly" lint --config "$lint/redocly.yaml" --format stylish \
  "$src/docs/api/openapi.yaml"
