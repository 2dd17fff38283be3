/* SPDX-License-Identifier: Apache-2.0 */
/* otter-agent's commands that another program does: otter-agentd, running (its control
   socket) or run for the one command. */
#include "otter_agent_ctl.h"
#include "otter_control_client.h"
#include "otter_help_otter_agent.h"
#include "otter_source.h"
#include "otter_usage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs the program next to this one in place of this process (never returns on success). */
int otter_agent_exec_sibling(const char *name, const char *conf, const char *cmd, int argc,
                             char **argv, int skip)
{
    char path[PATH_MAX];
    otter_err err;
    if (otter_source_sibling(name, path, sizeof path, &err) != 0) {
        fprintf(stderr, "otter-agent: %s\n", err.msg);
        return 2;
    }
    char **args = calloc((size_t)argc + 5, sizeof *args);
    if (!args)
        return 2;
    size_t n = 0;
    args[n++] = path;
    args[n++] = "--config";
    args[n++] = (char *)conf;
    args[n++] = (char *)cmd;
    for (int i = 1; i < argc; i++)
        if (i != skip)
            args[n++] = argv[i];
    execv(path, args);
    fprintf(stderr, "otter-agent: cannot run %s: %s\n", path, strerror(errno));
    free(args);
    return 2;
}

/*
 * A command the running daemon does for us (otter_control_client.h), or,
 * with no daemon listening, otter-agentd's one-shot command `sibling_cmd`
 * (argv without argv[skip]). --json lines and, on a terminal, a bar.
 */
int otter_agent_through_daemon(const char *conf, int cli, int argc, char **argv,
                               const char *sibling_cmd, int skip)
{
    otter_cli_opts o = {.tty = isatty(1)};
    for (int i = 1; i < argc; i++) {
        o.json |= strcmp(argv[i], "--json") == 0;
        /* Start without the reboot: the daemon does it too (params.reboot false), so a
           person's install never runs beside the daemon's own state machine. */
        if (cli == OTTER_CLI_START && strcmp(argv[i], "--no-reboot") == 0) {
            o.no_reboot = 1;
            continue;
        }
        /* `run --once` while the daemon runs: its poll, now (one state machine). */
        if (strcmp(argv[i], "--once") == 0 && strcmp(sibling_cmd, "run") == 0)
            continue;
        /* Anything else (a typo) is otter-agentd's to take or refuse. */
        if (i != skip && strcmp(argv[i], "--json") && strcmp(argv[i], "--verify"))
            return otter_agent_exec_sibling("otter-agentd", conf, sibling_cmd, argc, argv, skip);
    }
    int handled = 0;
    int rc = otter_control_cli(conf, cli, &o, &handled);
    if (handled)
        return rc;
    return otter_agent_exec_sibling("otter-agentd", conf, sibling_cmd, argc, argv, skip);
}

/* `progress [--follow] [--json]`: the running daemon's state; there is none without it. */
int otter_agent_progress(const char *conf, int argc, char **argv)
{
    otter_cli_opts o = {.tty = isatty(1)};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
            o.follow = 1;
        else if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agent_progress, stdout);
            return 0;
        } else
            return otter_usage_error("otter-agent", "progress",
                                     argv[i][0] == '-' ? "unknown option \"%s\""
                                                       : "unexpected argument \"%s\"",
                                     argv[i]);
    }
    o.tty = o.tty && !o.json;
    int handled = 0;
    int rc = otter_control_cli(conf, OTTER_CLI_PROGRESS, &o, &handled);
    if (handled)
        return rc;
    fprintf(stderr, "otter-agent: progress: no update daemon listens ([control] socket in %s)\n",
            conf);
    return 2;
}
