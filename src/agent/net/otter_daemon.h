/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The over-the-air cycle of otter-agentd, one step at a time:
 *   1. a result waiting to be reported (the update installed before the
 *      last reboot either committed or failed, as boot-check recorded it)
 *      is sent as closed/success|failure; it stays in ddi.json until the
 *      server took it, so it is sent after any reboot or outage, once; so
 *      is the closed/failure of an install the installer refused (digest,
 *      signature, TLS, model), and that action is not downloaded again
 *      while its refusal waits;
 *   2. poll; send configData when the server asks for it, after a start
 *      and whenever a value changed; answer a cancelAction (confirm it
 *      unless the slot switch happened, then reject it);
 *   3. an offered deployment, as otter_ddi_policy decides: download into
 *      the spool (maintenance window closed, update skip), install from
 *      the spool or streaming, or nothing (download skip). Installs run
 *      `otter-agent install --json --confirm-switch` as a child of the
 *      broker (otter_broker.h: root, when this process runs as [server]
 *      daemon_user; this process never writes slots): progress goes to the server as
 *      proceeding feedback, "downloaded" when the package is verified, a
 *      cancel stops the child before the switch; then the action is
 *      remembered in ddi.json and the device reboots.
 */
#ifndef OTTER_DAEMON_H
#define OTTER_DAEMON_H

#include "otter_agent_conf.h"
#include "otter_broker.h"
#include "otter_control.h"
#include "otter_ddi.h"
#include "otter_err.h"

/* The reason kept with a refused action (the installer's message, cut to fit). */
#define OTTER_DAEMON_MAX_REFUSAL 512

/* <state dir>/ddi.json: what the daemon must remember across reboots. */
typedef struct otter_daemon_record {
    char action[OTTER_DDI_MAX_NAME + 1];    /* switched to; result not yet taken by the server */
    char version[OTTER_DDI_MAX_NAME + 1];   /* its version */
    char spooled[OTTER_DDI_MAX_NAME + 1];   /* the action whose package waits in the spool */
    char config[65];                        /* SHA-256 of the configData the server last took */
    char retry[OTTER_DDI_MAX_NAME + 1];     /* the action whose download failed ... */
    long retries;                           /* ... this many times in a row (network, I/O) */
    char refused[OTTER_DDI_MAX_NAME + 1];   /* closed by a refusal the server has not taken yet */
    char refusal[OTTER_DAEMON_MAX_REFUSAL]; /* its reason: the detail of that closed/failure */
} otter_daemon_record;

/* Download or I/O failures of one action before it is closed as failed. */
#define OTTER_DAEMON_MAX_TRIES 3

/* Loads ddi.json (missing: all empty). OTTER_EFORMAT for a damaged file. */
int otter_daemon_record_load(const otter_agent_conf *conf, otter_daemon_record *r, otter_err *err);
/* Saves ddi.json atomically (removes it when everything is empty). */
int otter_daemon_record_save(const otter_agent_conf *conf, const otter_daemon_record *r,
                             otter_err *err);

/*
 * Counts a failed attempt at action (network or I/O: the child exited 2) in
 * r; returns 1 when it may be tried again, 0 when it used up its
 * OTTER_DAEMON_MAX_TRIES (the count is then cleared).
 */
int otter_daemon_record_failed(otter_daemon_record *r, const char *action);

/*
 * One cycle; *sleep_seconds gets the server's polling interval (or -1).
 * broker (borrowed) does what needs root: installs, the spool, the reboot,
 * reading the device's state (otter_broker.h). ctl (borrowed, NULL without
 * [control] socket): the control API; the cycle takes its users' requests
 * at the start and publishes its state as it goes, and DDI "attempt" waits
 * for the user's Download or Start instead of [server] attempt.
 */
int otter_daemon_cycle(const char *conf_path, const otter_agent_conf *conf, otter_broker *broker,
                       otter_control *ctl, long *sleep_seconds, otter_err *err);

enum { OTTER_DAEMON_ASK_DOWNLOAD = 1, OTTER_DAEMON_ASK_INSTALL = 2 };

/*
 * A person at the device: `download` (into the spool) or `install` (from
 * the spool, or streaming) of what the server offers now, whatever its
 * download/update modes say (a closed maintenance window still holds an
 * install back: OTTER_ESTATE). Progress on standard error. Feedback goes
 * to the server as in the daemon. *offered is 0 when nothing is offered.
 */
int otter_daemon_ask(const char *conf_path, const otter_agent_conf *conf, otter_broker *broker,
                     int what, int no_reboot, int *offered, otter_err *err);

#endif
