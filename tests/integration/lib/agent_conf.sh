#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent.conf of a simulated device (a directory), written once for every shell test.
# agent_conf DIR ROOT SLOT_A SLOT_B [HANDLER] [HEALTH_COMMAND]: DIR/agent.conf for a device
# trusting ROOT (root.json) with its state, counter, file boot environment and reboot marker in
# DIR. Callers that talk to a server append a [server] section (agent_conf_server).
agent_conf() {
  local d=$1 root=$2 a=$3 b=$4 handler=${5:-raw} health=${6:-}
  mkdir -p "$d/state"
  cat > "$d/agent.conf" <<CONF
[device]
product = gw
model = gw-a
[trust]
root = $root
[state]
dir = $d/state
[rollback]
path = $d/state/counter
[boot]
backend = file
path = $d/bootenv
cmdline = $d/cmdline
tries = 3
[health]
command = $health
timeout = 10
[reboot]
command = touch $d/reboot-requested
[slot.rootfs]
a = $a
b = $b
handler = $handler
CONF
}

# agent_conf_server DIR URL CONTROLLER CREDENTIAL_KEY CREDENTIAL [EXTRA_LINES]: the [server]
# section (tenant acme, spool DIR/spool; CREDENTIAL_KEY is target_token or gateway_token).
agent_conf_server() {
  cat >> "$1/agent.conf" <<CONF
[server]
url = $2
tenant = acme
controller_id = $3
$4 = $5
spool = $1/spool
${6:-}
CONF
}
