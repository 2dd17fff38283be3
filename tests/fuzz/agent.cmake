# SPDX-License-Identifier: Apache-2.0
# The device agent's parsers: agent.conf and the state file.
otter_fuzz_target(fuzz_agent_conf SOURCES fuzz_agent_conf.c LIBS otter_agent_lib)
otter_fuzz_target(fuzz_state SOURCES fuzz_state.c LIBS otter_agent_lib)
# The resume record an install keeps in the state directory while it writes.
otter_fuzz_target(fuzz_resume SOURCES fuzz_resume.c LIBS otter_agent_lib)
# A request line on otter-agentd's local control socket (docs/device-ui.md).
otter_fuzz_target(fuzz_control SOURCES fuzz_control.c LIBS otter_agent_lib)
