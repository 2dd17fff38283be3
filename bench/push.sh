#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push wake-up at fleet size (issue #15): now a mode of bench/fleet.sh, which has the set-up
# (otter-server, provisioning) and whose simulator has an MQTT mode (one broker connection per
# simulated device): see its header.
#   bench/push.sh [DEVICES] [POLL_S] [WINDOW_S]  =  bench/fleet.sh push [DEVICES] [POLL_S] [WINDOW_S]
exec "$(dirname "$0")/fleet.sh" push "$@"
