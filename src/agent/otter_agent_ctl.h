/* SPDX-License-Identifier: Apache-2.0 */
/* otter-agent's commands done by otter-agentd (otter_agent_ctl.c). */
#ifndef OTTER_AGENT_CTL_H
#define OTTER_AGENT_CTL_H

/* Runs the program `name` next to this one in place of this process as
   `name --config conf cmd argv[1..] (without argv[skip])`; returns 2 when it could not. */
int otter_agent_exec_sibling(const char *name, const char *conf, const char *cmd, int argc,
                             char **argv, int skip);

/*
 * cli (OTTER_CLI_*) through the running daemon's control socket, or with no daemon
 * listening otter-agentd's one-shot `sibling_cmd` (argv without argv[skip]). --json in argv:
 * JSON lines; on a terminal a bar. Returns the exit status.
 */
int otter_agent_through_daemon(const char *conf, int cli, int argc, char **argv,
                               const char *sibling_cmd, int skip);

/* `progress [--follow] [--json]`: the running daemon's state (none without it: 2). */
int otter_agent_progress(const char *conf, int argc, char **argv);

#endif
