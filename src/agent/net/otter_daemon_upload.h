/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An offline update through the local page (docs/device-ui.md "Upload
 * update.zip"): the control API's install_file names a file the front
 * wrote into [ui] upload_dir; the daemon's thread has the root broker run
 * `otter-agent install` on it, the SD-card path: signature, product and
 * model, anti-rollback counter and every SHA-256 are checked before a byte
 * reaches a slot. It needs no server: it runs before each cycle's poll.
 */
#ifndef OTTER_DAEMON_UPLOAD_H
#define OTTER_DAEMON_UPLOAD_H

#include "otter_agent_conf.h"
#include "otter_broker.h"
#include "otter_control.h"

/*
 * Installs the upload a client asked for, if any (ctl NULL: none): the
 * preconditions once more (the health command too), then the install,
 * its progress as "installing" n %, its end as "reboot" (and [reboot]
 * command), or "failed" with the installer's reason (refusals grows).
 * The file is removed in every case (the broker unlinks it as it opens it,
 * or drops it when it is not installed). Returns 1 when there was one.
 */
int otter_daemon_upload(const otter_agent_conf *conf, otter_broker *broker, otter_control *ctl);

/* 1 once an upload was installed by this daemon: the state stays "reboot". */
int otter_daemon_upload_switched(void);

#endif
