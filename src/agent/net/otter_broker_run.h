/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OTTER_BROKER_RUN_H
#define OTTER_BROKER_RUN_H

#include <sys/types.h>

#include "otter_agent_conf.h"
#include "otter_broker_req.h"
#include "otter_err.h"

/*
 * Forks and runs `otter-agent --config conf_path install|download ...
 * --json` for req (the program next to ours) with in_fd as its standard
 * input and out_fd as its standard output and error; *pid gets the child.
 * Every option comes from conf: the server's CA, pin, client certificate
 * and token (in OTTER_DDI_AUTHORIZATION, --header-env) only when our own
 * check of req->url finds the server's origin; none of them for an
 * artifact origin or the spool. OTTER_EFORMAT (otter_origin's reason) for
 * a link that is neither; OTTER_EIO, OTTER_ENOMEM.
 */
int otter_broker_run_agent(const char *conf_path, const otter_agent_conf *conf,
                           const otter_broker_req *req, int in_fd, int out_fd, pid_t *pid,
                           otter_err *err);

/*
 * req->upload (install upload NAME): <[ui] upload_dir>/NAME is opened
 * without following links, unlinked at once (in every case, a refusal
 * too), and must be a regular file; the installer gets it as /dev/fd/3.
 */

/* Removes <[ui] upload_dir>/name (a missing one is fine). err may be NULL. OTTER_EIO. */
int otter_broker_run_drop_upload(const otter_agent_conf *conf, const char *name, otter_err *err);

#endif
