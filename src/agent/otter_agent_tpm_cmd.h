/* SPDX-License-Identifier: Apache-2.0 */
/* otter-agent's TPM commands: `tpm provision` and `identity create|install`
 * (src/cli/help/otter-agent.tpm.txt, otter-agent.identity.txt). */
#ifndef OTTER_AGENT_TPM_CMD_H
#define OTTER_AGENT_TPM_CMD_H

/* argv[0] is the command ("tpm" or "identity"). Returns the exit status. */
int otter_agent_cmd_tpm(const char *conf, int argc, char **argv);
int otter_agent_cmd_identity(const char *conf, int argc, char **argv);

#endif
