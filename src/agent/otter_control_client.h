/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agent as a client of otter-agentd's control socket (docs/device-ui.md):
 * while the daemon runs, `check`, `download`, `install --from-server`,
 * `status` and `progress` go through it, so there is one state machine and
 * a person's install never races the daemon's poll. Without a daemon (no
 * [control] socket configured, no socket file, nobody listening) the
 * caller does the work alone, as on a device updated from an SD card.
 */
#ifndef OTTER_CONTROL_CLIENT_H
#define OTTER_CONTROL_CLIENT_H

enum {
    OTTER_CLI_STATUS = 1, /* the daemon's update state, added to `status` */
    OTTER_CLI_PROGRESS,   /* `progress [--follow]` */
    OTTER_CLI_CHECK,      /* `check` (poll now and show the offer) */
    OTTER_CLI_VERIFY,     /* `check --verify` (the connection, named failure) */
    OTTER_CLI_DOWNLOAD,   /* `download` (into the spool) */
    OTTER_CLI_START,      /* `install --from-server` */
};

typedef struct otter_cli_opts {
    int follow;    /* progress: until nothing runs */
    int json;      /* JSON lines instead of text */
    int tty;       /* standard output is a terminal: a progress bar */
    int no_reboot; /* install --from-server --no-reboot: Start without the reboot */
} otter_cli_opts;

/*
 * Runs cmd through the daemon; returns the command's exit status (0 ok,
 * 1 refused, 2 trouble). *handled is 0 when no daemon listens: nothing was
 * done and the caller goes on alone. A socket it may not use (another
 * user) is an error, not a fallback: the daemon runs.
 */
int otter_control_cli(const char *conf_path, int cmd, const otter_cli_opts *o, int *handled);

#endif
