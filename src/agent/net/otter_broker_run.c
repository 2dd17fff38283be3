/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting otter-agent for a broker request: its arguments and environment
 * are built here from agent.conf alone; the request gives the operation and
 * the URL. Used by the root broker, and by a daemon that stays root.
 */
#include "otter_broker_run.h"
#include "otter_ddi_http.h"
#include "otter_origin.h"
#include "otter_source.h"
#include "otter_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define AUTH_ENV "OTTER_DDI_AUTHORIZATION"
#define MAX_ARGV 24

typedef struct launch {
    char agent[PATH_MAX], spool[PATH_MAX], max[24];
    char auth[OTTER_DDI_MAX_AUTH + sizeof AUTH_ENV + 1];
    const char *argv[MAX_ARGV];
    size_t argc;
    char **envp;
    int upload_fd; /* install upload: the opened (and already unlinked) file, else -1 */
} launch;

/* The installer reads an upload as this descriptor (a path in its argv, reopened by name). */
#define UPLOAD_FD 3
#define UPLOAD_ARG "/dev/fd/3"

int otter_broker_run_drop_upload(const otter_agent_conf *conf, const char *name, otter_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", conf->ui_upload_dir, name) >= (int)sizeof path)
        return otter_err_set(err, OTTER_EFORMAT, "[ui] upload_dir: path too long");
    if (unlink(path) != 0 && errno != ENOENT)
        return otter_err_sys(err, OTTER_EIO, errno, "removing the upload %s", path);
    return 0;
}

/*
 * The upload NAME in [ui] upload_dir, opened without following a link and
 * unlinked at once: whatever happens next (a refusal, a crash), the file
 * is gone from the directory, and the installer reads the bytes the front
 * wrote, which nobody can swap any more. Only a regular file is taken.
 */
static int open_upload(launch *l, const otter_agent_conf *conf, const char *name, otter_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", conf->ui_upload_dir, name) >= (int)sizeof path)
        return otter_err_set(err, OTTER_EFORMAT, "[ui] upload_dir: path too long");
    l->upload_fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    unlink(path);
    if (l->upload_fd < 0)
        return otter_err_sys(err, OTTER_EFORMAT, e, "the upload %s", path);
    struct stat st;
    if (fstat(l->upload_fd, &st) != 0 || !S_ISREG(st.st_mode))
        return otter_err_set(err, OTTER_EFORMAT, "the upload %s: not a regular file", path);
    return 0;
}

static void arg(launch *l, const char *a)
{
    if (l->argc < MAX_ARGV - 1)
        l->argv[l->argc++] = a;
    l->argv[l->argc] = NULL;
}

/* --ca, --pin, --cert, --key: the download goes to the server, trusted the same way. */
static void server_trust(launch *l, const otter_agent_conf *conf)
{
    if (conf->server_ca[0]) {
        arg(l, "--ca");
        arg(l, conf->server_ca);
    }
    if (conf->server_pin[0]) {
        arg(l, "--pin");
        arg(l, conf->server_pin);
    }
    if (conf->server_cert[0] && conf->server_key[0]) {
        arg(l, "--cert");
        arg(l, conf->server_cert);
        arg(l, "--key");
        arg(l, conf->server_key);
    }
}

/*
 * The environment of the child: ours without any Authorization line, plus
 * the server's when the download goes to the server. The token is never an
 * argument (readable by every local user in /proc/PID/cmdline).
 */
static int build_env(launch *l, const otter_agent_conf *conf, int to_server, otter_err *err)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    l->envp = calloc(n + 2, sizeof *l->envp);
    if (!l->envp)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], AUTH_ENV "=", sizeof AUTH_ENV) != 0)
            l->envp[k++] = environ[i];
    if (!to_server)
        return 0;
    otter_ddi_conn c = {.token = conf->server_token, .gateway_token = conf->server_gateway_token};
    char header[OTTER_DDI_MAX_AUTH];
    int ret = otter_ddi_auth_header(&c, header, sizeof header, err);
    if (ret || !header[0])
        return ret;
    snprintf(l->auth, sizeof l->auth, "%s=%s", AUTH_ENV, header);
    l->envp[k] = l->auth;
    return 0;
}

static int build(launch *l, const char *conf_path, const otter_agent_conf *conf,
                 const otter_broker_req *req, otter_err *err)
{
    int to_server = 0, kind = 0;
    int ret = otter_source_sibling("otter-agent", l->agent, sizeof l->agent, err);
    if (ret)
        return ret;
    if (req->op != OTTER_BROKER_INSTALL && req->op != OTTER_BROKER_DOWNLOAD)
        return otter_err_set(err, OTTER_EFORMAT, "not an install or a download");
    if (req->upload[0] && req->op == OTTER_BROKER_INSTALL) {
        ret = open_upload(l, conf, req->upload, err);
    } else if (req->from_spool && req->op == OTTER_BROKER_INSTALL) {
        ret = otter_spool_path(conf->server_spool, l->spool, sizeof l->spool, err);
    } else {
        /* Our own check of the link decides whether the token and the trust go with it. */
        ret = otter_origin_check_link(conf->server_url, conf->server_artifact_origins, req->url,
                                      &kind, err);
        to_server = kind == OTTER_LINK_SERVER;
    }
    if (ret)
        return ret;
    arg(l, l->agent);
    arg(l, "--config");
    arg(l, conf_path);
    arg(l, req->op == OTTER_BROKER_INSTALL ? "install" : "download");
    if (to_server)
        server_trust(l, conf);
    arg(l, "--json");
    if (req->op == OTTER_BROKER_INSTALL) {
        arg(l, "--no-reboot");
        arg(l, "--confirm-switch");
    } else {
        snprintf(l->max, sizeof l->max, "%llu", (unsigned long long)req->max_size);
        arg(l, "--max-size");
        arg(l, l->max);
    }
    /* A device whose certificate is its only credential has no header to send
     * (otter-fetch refuses an empty --header-env). */
    if (to_server && (conf->server_token[0] || conf->server_gateway_token[0])) {
        arg(l, "--header-env");
        arg(l, AUTH_ENV);
    }
    arg(l, req->upload[0] ? UPLOAD_ARG : req->from_spool ? l->spool : req->url);
    return build_env(l, conf, to_server, err);
}

int otter_broker_run_agent(const char *conf_path, const otter_agent_conf *conf,
                           const otter_broker_req *req, int in_fd, int out_fd, pid_t *pid,
                           otter_err *err)
{
    launch *l = calloc(1, sizeof *l);
    if (!l) {
        if (req->upload[0])
            otter_broker_run_drop_upload(conf, req->upload, NULL);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    l->upload_fd = -1;
    int ret = build(l, conf_path, conf, req, err);
    if (ret)
        goto out;
    fflush(NULL);
    *pid = fork();
    if (*pid < 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "fork");
        goto out;
    }
    if (*pid == 0) {
        /* Messages and JSON lines share one pipe: JSON lines start with '{'. A
         * daemon gone away ends the installer as it always did (the broker ignores SIGPIPE). */
        signal(SIGPIPE, SIG_DFL);
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        if (l->upload_fd >= 0)
            dup2(l->upload_fd, UPLOAD_FD); /* without O_CLOEXEC: the installer inherits it */
        execve(l->agent, (char *const *)l->argv, l->envp);
        fprintf(stderr, "cannot run %s: %s\n", l->agent, strerror(errno));
        _exit(2);
    }
out:
    /* An upload is removed in every case (open_upload did already when it got that far). */
    if (req->upload[0] && l->upload_fd < 0)
        otter_broker_run_drop_upload(conf, req->upload, NULL);
    if (l->upload_fd >= 0)
        close(l->upload_fd);
    if (l->envp)
        free(l->envp);
    explicit_bzero(l->auth, sizeof l->auth);
    free(l);
    return ret;
}
