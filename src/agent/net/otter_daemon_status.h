/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What otter-agentd needs to know about the device each cycle: the state
 * (is an update pending, what did boot-check decide) for the result it
 * reports, and the configData values (product, model, slot, versions,
 * counter). Read as root: by the daemon itself, or, when it runs as
 * [server] daemon_user, by its root broker, which sends it as JSON.
 */
#ifndef OTTER_DAEMON_STATUS_H
#define OTTER_DAEMON_STATUS_H

#include <stddef.h>

#include "otter_agent_conf.h"
#include "otter_err.h"

#define OTTER_DAEMON_STATUS_TEXT 1025
#define OTTER_DAEMON_N_CONFIG 8

/* The configData keys, in the order of otter_daemon_status.config. */
extern const char *const otter_daemon_config_keys[OTTER_DAEMON_N_CONFIG];

typedef struct otter_daemon_status {
    otter_err state_err;                         /* code 0: the state fields below were read */
    int pending;                                 /* an update waits for its reboot and boot-check */
    int last_success;                            /* the last result was a success */
    char last_version[OTTER_DAEMON_STATUS_TEXT]; /* "" : no result yet */
    char last_reason[OTTER_DAEMON_STATUS_TEXT];
    otter_err config_err; /* code 0: config[] was read */
    char config[OTTER_DAEMON_N_CONFIG][OTTER_DAEMON_STATUS_TEXT];
} otter_daemon_status;

/* Reads both parts (each part's failure in its own err; never fails as a whole). */
void otter_daemon_status_read(const char *conf_path, const otter_agent_conf *conf,
                              otter_daemon_status *st);

/* st as one line of JSON; caller frees. NULL when out of memory. */
char *otter_daemon_status_to_json(const otter_daemon_status *st);

/* The reverse; OTTER_EFORMAT for anything but what to_json writes. */
int otter_daemon_status_from_json(const char *buf, size_t len, otter_daemon_status *st,
                                  otter_err *err);

#endif
