#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs campaign.test.mjs (the dashboard follows a campaign, issue #15): a real
# mosquitto on 127.0.0.1 (a free port, plain MQTT, anonymous: only this test's
# server and no device talk to it), then dashboard.sh with the server's
# [push] broker pointing at it. The broker is stopped on exit.
set -euo pipefail
: "${OTTER_BUILD_DIR:?}" "${OTTER_SOURCE_DIR:?}"
command -v mosquitto >/dev/null || { echo "campaign: mosquitto is missing (Debian package mosquitto)" >&2; exit 1; }
DIR=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/web_campaign_mq.XXXXXX")
MQ_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$MQ_PID" ]; then
    kill "$MQ_PID" 2>/dev/null || true
    wait "$MQ_PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# A free port: bound by the kernel and released; mosquitto takes it at once (a clash fails loudly).
MQ_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$DIR/mosquitto.conf" <<CONF
listener $MQ_PORT 127.0.0.1
allow_anonymous true
persistence false
CONF
mosquitto -c "$DIR/mosquitto.conf" 2>"$DIR/log" &
MQ_PID=$!
# Ready when the port accepts a connection (bounded: 20 s).
for _ in $(seq 1 200); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $MQ_PORT), 0.5)" 2>/dev/null && break
  kill -0 "$MQ_PID" 2>/dev/null || { cat "$DIR/log" >&2; exit 1; }
  sleep 0.1
done
python3 -c "import socket; socket.create_connection(('127.0.0.1', $MQ_PORT), 0.5)" ||
  { echo "campaign: mosquitto did not listen on $MQ_PORT" >&2; cat "$DIR/log" >&2; exit 1; }

status=0
OTTER_WEB_SERVER_CONF="[push]
broker = 127.0.0.1:$MQ_PORT" bash "$OTTER_SOURCE_DIR/tests/integration/web/dashboard.sh" campaign || status=$?
exit "$status"
