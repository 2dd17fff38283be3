/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_agent_tpm_cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "otter_agent_conf.h"
#include "otter_help_otter_agent.h"
#include "otter_tpm.h"
#include "otter_usage.h"

#define PROG "otter-agent"

static int fail(const char *cmd, const otter_err *err)
{
    fprintf(stderr, "%s %s: %s\n", PROG, cmd, err->msg);
    return otter_err_is_refusal(err->code) || err->code == OTTER_ESTATE ? 1 : 2;
}

/* tpm provision: the factory step that defines the rollback counter (needs the owner
 * hierarchy, so not the agent's job at run time: an index that vanished in the field
 * is an error, never a new start). Idempotent. */
static int tpm_provision(const otter_agent_conf *c, otter_err *err)
{
    uint32_t index;
    uint64_t counter = 0, level = 0;
    otter_tpm *t = NULL;
    int ret = otter_tpm_parse_index(c->tpm_nv_index, &index, err);
    if (!ret)
        ret = otter_tpm_open(c->tpm_tcti, &t, err);
    if (!ret)
        ret = otter_tpm_counter_provision(t, index, &counter, err);
    if (!ret)
        ret = otter_tpm_level_of(counter, &level, err);
    otter_tpm_free(t);
    if (!ret)
        printf("TPM NV counter 0x%08" PRIx32 ": value %" PRIu64 ", security level %" PRIu64 "\n",
               index, counter, level);
    return ret;
}

int otter_agent_cmd_tpm(const char *conf, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agent_tpm, stdout);
            return 0;
        }
    if (argc != 2 || strcmp(argv[1], "provision") != 0)
        return otter_usage_error(
            PROG, "tpm", argc < 2 ? "missing subcommand (provision)" : "unknown subcommand \"%s\"",
            argv[argc < 2 ? 0 : 1]);
    otter_agent_conf *c = NULL;
    otter_err err;
    int ret = otter_agent_conf_parse_file(conf, &c, &err);
    if (!ret)
        ret = tpm_provision(c, &err);
    otter_agent_conf_free(c);
    return ret ? fail("tpm", &err) : 0;
}
