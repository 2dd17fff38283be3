/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The root side of otter-agentd's privilege separation: opening the
 * broker (fork, then the daemon drops to [server] daemon_user) and the
 * broker's loop, which answers only the requests otter_broker_req parses.
 */
#include "otter_broker.h"
#include "otter_broker_run.h"
#include "otter_broker_wire.h"
#include "otter_install.h"
#include "otter_spool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void answer(int sock, const char *kind, const char *text)
{
    size_t n = strlen(kind) + 1 + strlen(text) + 1;
    char *buf = malloc(n);
    if (!buf)
        return;
    snprintf(buf, n, "%s%s%s", kind, text[0] ? " " : "", text);
    /* A daemon gone away is the end of the loop's business, found by the next recv. */
    while (send(sock, buf, strlen(buf), MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
    free(buf);
}

static void answer_err(int sock, const otter_err *e)
{
    answer(sock, otter_err_is_refusal(e->code) ? "refused" : "error", e->msg);
}

static void answer_status(int sock, const char *conf_path, const otter_agent_conf *conf)
{
    otter_daemon_status *st = malloc(sizeof *st);
    char *json = NULL;
    if (st) {
        otter_daemon_status_read(conf_path, conf, st);
        json = otter_daemon_status_to_json(st);
    }
    if (json)
        answer(sock, "status", json);
    else
        answer(sock, "error", "out of memory");
    free(json);
    free(st);
}

/* The exit status of *child when it ended (sent to the daemon); *child becomes -1. */
static void reap(int sock, pid_t *child, int block)
{
    int status = 0;
    if (*child <= 0)
        return;
    pid_t r;
    while ((r = waitpid(*child, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r != *child)
        return;
    char rc[16];
    snprintf(rc, sizeof rc, "%d", WIFEXITED(status) ? WEXITSTATUS(status) : 2);
    answer(sock, "exit", rc);
    *child = -1;
}

/* One request: parsed, checked against what runs, done. fds are the record's, closed here. */
static void serve_one(int sock, const char *buf, size_t len, int *fds, int nfds, pid_t *child,
                      const char *conf_path, const otter_agent_conf *conf)
{
    otter_broker_req req;
    otter_err err;
    int spawn = 0;
    if (otter_broker_req_parse(buf, len, &req, &err) != 0) {
        fprintf(stderr, "otter-agentd broker: %s\n", err.msg);
        answer_err(sock, &err);
        goto out;
    }
    spawn = req.op == OTTER_BROKER_INSTALL || req.op == OTTER_BROKER_DOWNLOAD;
    if ((spawn && nfds != 2) || (!spawn && nfds != 0)) {
        answer(sock, "refused", "broker request refused: wrong number of descriptors");
        goto out;
    }
    if (*child > 0 && req.op != OTTER_BROKER_STOP && req.op != OTTER_BROKER_DROP_UPLOAD) {
        answer(sock, "error", "broker: an installer runs already");
        goto out;
    }
    switch (req.op) {
    case OTTER_BROKER_INSTALL:
    case OTTER_BROKER_DOWNLOAD:
        if (otter_broker_run_agent(conf_path, conf, &req, fds[0], fds[1], child, &err) != 0)
            answer_err(sock, &err);
        else
            answer(sock, "ok", "");
        break;
    case OTTER_BROKER_STOP:
        if (*child > 0)
            kill(*child, SIGTERM);
        break;
    case OTTER_BROKER_CLEAR_SPOOL:
        if (otter_spool_clear(conf->server_spool, &err) != 0)
            answer_err(sock, &err);
        else
            answer(sock, "ok", "");
        break;
    case OTTER_BROKER_REBOOT:
        if (conf->reboot_command[0])
            otter_install_run_reboot(conf, req.version);
        answer(sock, "ok", "");
        break;
    case OTTER_BROKER_STATUS:
        answer_status(sock, conf_path, conf);
        break;
    case OTTER_BROKER_DROP_UPLOAD:
        if (otter_broker_run_drop_upload(conf, req.upload, &err) != 0)
            answer_err(sock, &err);
        else
            answer(sock, "ok", "");
        break;
    }
out:
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
}

int otter_broker_serve(int sock, const char *conf_path, const otter_agent_conf *conf)
{
    char buf[OTTER_BROKER_MAX_REQ + 2];
    pid_t child = -1;
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        struct pollfd p = {sock, POLLIN, 0};
        /* A running child is looked at four times a second; otherwise wait for a request. */
        int r = poll(&p, 1, child > 0 ? 250 : -1);
        reap(sock, &child, 0);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        int fds[2], nfds = 0;
        /* One byte more than a request may have: a longer one is cut, and refused. */
        ssize_t n = otter_broker_wire_recv(sock, buf, sizeof buf, fds, &nfds);
        if (n == 0)
            break; /* the daemon is gone */
        if (n < 0 && errno != EMSGSIZE)
            break;
        if (n < 0) {
            answer(sock, "refused", "broker request refused: too long or unreadable");
            continue;
        }
        serve_one(sock, buf, (size_t)n, fds, nfds, &child, conf_path, conf);
    }
    /* An installer still running finishes (or stops at its switch question on its own). */
    reap(sock, &child, 1);
    return 0;
}
