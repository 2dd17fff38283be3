/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The over-the-air cycle of otter-agentd, one step at a time:
 *   1. a result waiting to be reported (the update installed before the
 *      last reboot either committed or failed, as boot-check recorded it)
 *      is sent as closed/success|failure; it stays in ddi.json until the
 *      server took it, so it is sent after any reboot or outage, once;
 *   2. poll; send configData when the server asks for it;
 *   3. an offered deployment: feedback proceeding, install through
 *      `otter-agent install URL` (a child: this process never writes
 *      slots), then remember the action and reboot.
 */
#ifndef OTTER_DAEMON_H
#define OTTER_DAEMON_H

#include "otter_agent_conf.h"
#include "otter_err.h"

/* One cycle; *sleep_seconds gets the server's polling interval (or -1). */
int otter_daemon_cycle(const char *conf_path, const otter_agent_conf *conf, long *sleep_seconds,
                       otter_err *err);

#endif
