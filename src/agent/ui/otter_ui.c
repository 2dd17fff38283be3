/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local page's HTTP front (otter_ui.h). Routes:
 *   GET  /, /app.js, /style.css      the page (web/device/), no session needed
 *   POST /api/login {"password"}     -> session cookie + {"csrf": token}
 *   GET  /api/session                -> {"csrf": token} while the cookie is good
 *   GET  /api/status                 -> the control API's state object
 *   POST /api/{check,download,start,cancel,decline,verify,postpone}  -> the control answer
 *   POST /api/logout
 * Every POST but login carries X-CSRF-Token; every POST with an Origin must
 * come from this front's own origin; bodies are bounded.
 */
#include "otter_daemon_status.h"
#include "otter_ui.h"
#include "otter_ui_http.h"
#include "otter_ui_sess.h"
#include "otter_ui_upload.h"

#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_listen(const char *listen, struct sockaddr_storage *sa, otter_err *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    const char *h = listen;
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (hl && listen[0] == '[' && listen[hl - 1] == ']') { /* [::1]:8480 */
        h++;
        hl -= 2;
    }
    if (!colon || !hl || hl >= sizeof host || !colon[1])
        return otter_err_set(err, OTTER_EFORMAT,
                             "[ui] listen \"%s\": want ADDRESS:PORT (e.g. 127.0.0.1:8480)", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0)
        return otter_err_set(err, OTTER_EFORMAT, "[ui] listen \"%s\": %s", listen,
                             gai_strerror(rc));
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static void print_bound(struct MHD_Daemon *d, const struct sockaddr_storage *sa)
{
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN] = "?";
    getnameinfo((const struct sockaddr *)sa, sizeof *sa, host, sizeof host, NULL, 0,
                NI_NUMERICHOST);
    int v6 = sa->ss_family == AF_INET6;
    printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "",
           pi ? pi->port : 0);
    fflush(stdout);
}

int otter_ui_serve(const char *conf_path, const otter_agent_conf *conf, otter_err *err)
{
    if (!conf->ui_password_hash[0] || conf->ui_password_hash[0] != '$')
        return otter_err_set(err, OTTER_EFORMAT,
                             "[ui] password_hash: required (a crypt(3) hash: `otter-agentd ui "
                             "--hash-password` prints one)");
    if (!conf->control_socket[0])
        return otter_err_set(err, OTTER_EFORMAT,
                             "[control] socket: required (the page talks to the daemon there)");
    struct sockaddr_storage sa = {0};
    int ret = parse_listen(conf->ui_listen, &sa, err);
    if (ret)
        return ret;
    otter_ui_front *f = calloc(1, sizeof *f);
    if (!f)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    f->conf = conf;
    otter_daemon_status *st = calloc(1, sizeof *st);
    if (st) {
        otter_daemon_status_read(conf_path, conf, st);
        if (!st->config_err.code)
            snprintf(f->installed, sizeof f->installed, "%s", st->config[3]); /* "version" */
        free(st);
    }
    otter_ui_upload_prepare(conf);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before MHD's thread starts, so that it inherits the mask and sigwait gets them. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = otter_ui_http_start(f, (struct sockaddr *)&sa);
    if (!d) {
        free(f);
        return otter_err_set(err, OTTER_EIO, "[ui] listen %s: cannot listen there",
                             conf->ui_listen);
    }
    print_bound(d, &sa);
    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    free(f);
    return 0;
}
