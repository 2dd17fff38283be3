# SPDX-License-Identifier: Apache-2.0
# The JSON a hawkBit DDI server sends to devices.
otter_fuzz_target(fuzz_ddi SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_ddi.c LIBS otter_net)
# What the unprivileged otter-agentd asks of its root installer broker.
otter_fuzz_target(fuzz_broker_req SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_broker_req.c LIBS otter_net)
