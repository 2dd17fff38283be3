/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privilege separation of otter-agentd. With [server] daemon_user set and
 * started as root, otter-agentd forks a small root *installer broker* and
 * then drops to that user before its first network request; the broker
 * keeps only a socketpair to it and does, on requests it parses
 * (otter_broker_req.h), only what needs root:
 *   - run `otter-agent install|download ... --json` with its own --config,
 *     --ca, --pin, --cert, --key and token (by its own check of the URL's
 *     origin), the daemon's two pipe ends (SCM_RIGHTS) as the child's
 *     standard input and output; report its exit status; SIGTERM it on
 *     request;
 *   - clear the spool; run [reboot] command; read the device's status.
 * Without a daemon_user the same calls run in the daemon itself (a "local"
 * handle), as root, exactly as before: one code path for both.
 *
 * The broker may also be a service of its own (packaging/systemd:
 * otter-installer.socket and otter-installer@.service, `otter-agentd broker`
 * on each accepted connection), so that the daemon's unit never holds root:
 * a daemon started as daemon_user with OTTER_BROKER_SOCKET=PATH in its
 * environment connects there instead of forking.
 */
#ifndef OTTER_BROKER_H
#define OTTER_BROKER_H

#include "otter_agent_conf.h"
#include "otter_broker_req.h"
#include "otter_daemon_status.h"
#include "otter_err.h"

typedef struct otter_broker otter_broker;

/*
 * The daemon's handle, by agent.conf: with [server] daemon_user set and
 * euid 0, prepares the daemon's directory (<state dir>/daemon, owned by
 * that user; an older <state dir>/ddi.json moves in), forks the broker and
 * drops this process to the user (its group, no supplementary groups;
 * setuid(0) must fail afterwards). Otherwise a local handle. conf_path and
 * conf are borrowed for the handle's life. Free with otter_broker_free().
 * OTTER_EUSAGE: no such user, or root; OTTER_EIO: a system call failed.
 */
int otter_broker_open(const char *conf_path, const otter_agent_conf *conf, otter_broker **out,
                      otter_err *err);

/*
 * `otter-agentd broker`: checks that the peer on sock (an accepted connection on the
 * installer socket) is [server] daemon_user, then serves it (otter_broker_serve).
 * OTTER_EUSAGE: no daemon_user, or the peer is someone else; OTTER_EIO: no peer credentials.
 */
int otter_broker_serve_peer(int sock, const char *conf_path, const otter_agent_conf *conf,
                            otter_err *err);

/* Closes the socket (the broker exits once its child did) and frees; NULL is fine. */
void otter_broker_free(otter_broker *b);

/* 0 when the broker process has ended (the daemon can no longer install: it should exit). */
int otter_broker_alive(otter_broker *b);

/*
 * Starts otter-agent for req (OTTER_BROKER_INSTALL or _DOWNLOAD) with
 * in_fd as its standard input and out_fd as its standard output and error.
 * The caller keeps (and closes) its fds. One child at a time.
 * OTTER_EFORMAT: a refused request or link; OTTER_EIO otherwise.
 */
int otter_broker_spawn(otter_broker *b, const otter_broker_req *req, int in_fd, int out_fd,
                       otter_err *err);

/* SIGTERM to the running child (it stops cleanly before the switch). */
void otter_broker_stop(otter_broker *b);

/* Waits for the child; its exit status, 2 when it was killed or the broker is gone. */
int otter_broker_wait(otter_broker *b);

/* Empties [server] spool. */
int otter_broker_clear_spool(otter_broker *b, otter_err *err);

/* Removes the upload name from [ui] upload_dir (one the daemon will not install). */
int otter_broker_drop_upload(otter_broker *b, const char *name, otter_err *err);

/* Runs [reboot] command (when set) with OTTER_VERSION=version; waits up to 60 s. */
void otter_broker_reboot(otter_broker *b, const char *version);

/* The device's status (otter_daemon_status_read, as root). */
int otter_broker_status(otter_broker *b, otter_daemon_status *st, otter_err *err);

/*
 * The broker's loop on sock until the daemon closes it (then it waits for
 * a running child); returns the exit status for the broker process.
 * Exposed for tests.
 */
int otter_broker_serve(int sock, const char *conf_path, const otter_agent_conf *conf);

#endif
