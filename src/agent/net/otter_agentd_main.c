/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd: the device's network side (hawkBit DDI). It links libcurl;
 * the installer (otter-agent) does not, and is run as a child for installs
 * (by a root broker when the daemon drops to [server] daemon_user).
 * This first step answers `check`: what does the server offer this device?
 */
#include "otter_agent_conf.h"
#include "otter_ddi.h"
#include "otter_ddi_delta.h"
#include "otter_ddi_http.h"
#include "otter_control.h"
#include "otter_control_verify.h"
#include "otter_daemon.h"
#include "otter_ddi_policy.h"
#include "otter_help_otter_agentd.h"
#include "otter_daemon_upload.h"
#include "otter_push.h"
#include "otter_ui.h"
#include "otter_usage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "otter-agentd"

static const char *mode_name(int m)
{
    return m == OTTER_DDI_FORCED ? "forced" : m == OTTER_DDI_ATTEMPT ? "attempt" : "skip";
}

static int check(const otter_agent_conf *conf, otter_err *err)
{
    otter_ddi_conn c = {.url = conf->server_url,
                        .tenant = conf->server_tenant,
                        .controller = conf->server_controller,
                        .token = conf->server_token,
                        .gateway_token = conf->server_gateway_token,
                        .ca_file = conf->server_ca,
                        .pin = conf->server_pin,
                        .cert = conf->server_cert,
                        .key = conf->server_key,
                        .tcti = conf->tpm_tcti,
                        .proxy = conf->server_proxy};
    char base_url[OTTER_DDI_MAX_URL];
    char *body = NULL;
    size_t len = 0;
    otter_ddi_base base;
    otter_ddi_deployment *dep = NULL;
    int ret = otter_ddi_base_url(&c, base_url, sizeof base_url, err);
    if (!ret)
        ret = otter_ddi_get(&c, base_url, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_base(body, len, &base, err);
    free(body);
    body = NULL;
    if (ret)
        return ret;
    printf("server: %s (poll every %ld s)\n", base_url, base.sleep_seconds);
    if (!base.deployment[0]) {
        printf("no update offered\n");
        return 0;
    }
    dep = calloc(1, sizeof *dep);
    if (!dep)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    ret = otter_ddi_get(&c, base.deployment, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_deployment(body, len, dep, err);
    if (!ret) {
        printf("action %s: download %s, update %s%s\n", dep->id, mode_name(dep->download),
               mode_name(dep->update),
               dep->maintenance_available ? "" : ", maintenance window closed");
        otter_daemon_record rec;
        otter_err rerr;
        int have = otter_daemon_record_load(conf, &rec, &rerr) == 0;
        otter_ddi_situation s = {.download = dep->download,
                                 .update = dep->update,
                                 .maintenance_available = dep->maintenance_available,
                                 .attempt = strcmp(conf->server_attempt, "skip") == 0
                                                ? OTTER_DDI_SKIP
                                                : OTTER_DDI_FORCED,
                                 .spooled = have && strcmp(rec.spooled, dep->id) == 0,
                                 .switched = have && strcmp(rec.action, dep->id) == 0};
        int refused = have && strcmp(rec.refused, dep->id) == 0;
        printf("daemon: %s\n", s.switched ? "installed; waiting for the reboot's verdict"
                               : refused  ? "refused; the failure waits to be sent"
                                          : otter_ddi_step_name(otter_ddi_decide(&s)));
        for (size_t i = 0; i < dep->n_chunks; i++)
            for (size_t j = 0; j < dep->chunks[i].n_artifacts; j++) {
                const otter_ddi_artifact *a = &dep->chunks[i].artifacts[j];
                printf("  %s %s: %s, %llu bytes, sha256 %s\n  from %s\n", dep->chunks[i].name,
                       dep->chunks[i].version, a->filename, (unsigned long long)a->size,
                       a->sha256[0] ? a->sha256 : "(none)", a->download);
            }
        otter_ddi_pick pick;
        otter_err perr;
        if (otter_ddi_pick_artifacts(dep, &pick, &perr) != 0)
            printf("daemon refuses the offer: %s\n", perr.msg);
        else if (pick.delta)
            printf("daemon takes the delta %s (the full package when this device's running slot "
                   "is not its base)\n",
                   pick.delta->filename);
    }
    free(body);
    free(dep);
    return ret;
}

/* `check --verify`: the connection to the server, its failure named (otter_control_verify.h). */
static int verify(const otter_agent_conf *conf, otter_err *err)
{
    otter_ddi_conn c = {.url = conf->server_url,
                        .tenant = conf->server_tenant,
                        .controller = conf->server_controller,
                        .token = conf->server_token,
                        .gateway_token = conf->server_gateway_token,
                        .ca_file = conf->server_ca,
                        .pin = conf->server_pin,
                        .cert = conf->server_cert,
                        .key = conf->server_key,
                        .proxy = conf->server_proxy};
    char failure[24], message[OTTER_CONTROL_MAX_TEXT];
    otter_control_verify(conf, &c, failure, sizeof failure, message, sizeof message);
    printf("connection: %s%s%s\n", failure[0] ? failure : "ok", failure[0] ? ": " : "",
           failure[0] ? message : "");
    return failure[0] ? otter_err_set(err, OTTER_ESTATE, "the connection failed (%s)", failure) : 0;
}

static void sleep_s(long s)
{
    struct timespec ts = {s, 0};
    nanosleep(&ts, NULL);
}

/* Push wake-up with the control API: its condition variable is what the loop waits on. */
static void check_now(void *ctl)
{
    otter_control_check_now(ctl);
}

/* Until the next poll: s seconds, a user's request or a push wake-up (otter_push.h). */
static void wait_next(otter_control *ctl, otter_push *push, long s)
{
    if (ctl) {
        otter_control_wait(ctl, s);
    } else if (push) {
        struct pollfd pfd = {otter_push_fd(push), POLLIN, 0};
        poll(&pfd, 1, s > INT_MAX / 1000 ? INT_MAX : (int)(s * 1000));
    } else {
        sleep_s(s);
    }
    if (otter_push_take(push))
        fprintf(stderr, "otter-agentd: push: polling now\n");
}

static int run(const char *conf_path, const otter_agent_conf *conf, otter_broker *broker,
               otter_control *ctl, int once, otter_err *err)
{
    otter_push *push = NULL;
    if (ctl && otter_control_start(ctl, err) != 0)
        return err->code;
    if (!once && otter_push_start(conf, ctl ? check_now : NULL, ctl, &push, err) != 0)
        return err->code;
    otter_ddi_pacing pace = {0};
    srand((unsigned)(time(NULL) ^ getpid()));
    for (;;) {
        long interval = -1;
        /* An upload from the local page first: an offline update needs no server. */
        otter_daemon_upload(conf, broker, ctl);
        int ret = otter_daemon_cycle(conf_path, conf, broker, ctl, &interval, err);
        if (once)
            return ret;
        /* Without its root broker the daemon can never install: exit, and be restarted whole. */
        if (!otter_broker_alive(broker)) {
            otter_push_free(push);
            return otter_err_set(err, OTTER_EIO, "the installer broker is gone");
        }
        long s = otter_ddi_next_sleep(&pace, ret == 0, interval, (unsigned long)rand());
        if (ret)
            fprintf(stderr, "otter-agentd: %s (retrying in %ld s)\n", err->msg, s);
        /* A user's request (check now, download, start ...) or a push ends the wait early. */
        wait_next(ctl, push, s);
    }
}

/* The command's --help text (src/cli/help/otter-agentd.CMD.txt); NULL for no such command. */
static const char *help_of(const char *cmd)
{
    return !strcmp(cmd, "check")      ? otter_help_otter_agentd_check
           : !strcmp(cmd, "run")      ? otter_help_otter_agentd_run
           : !strcmp(cmd, "download") ? otter_help_otter_agentd_download
           : !strcmp(cmd, "install")  ? otter_help_otter_agentd_install
           : !strcmp(cmd, "broker")   ? otter_help_otter_agentd_broker
           : !strcmp(cmd, "ui")       ? otter_help_otter_agentd_ui
                                      : NULL;
}

/* `broker`: the connection on standard input is the daemon's; stdin and stdout become
   /dev/null so that nothing but the broker's answers reaches the socket. */
static int serve_broker(const char *conf_path, const otter_agent_conf *conf, otter_err *err)
{
    int sock = fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (sock < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "broker: no connection on standard input");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0) {
        int e = errno;
        close(sock);
        return otter_err_sys(err, OTTER_EIO, e, "/dev/null");
    }
    close(null);
    int ret = otter_broker_serve_peer(sock, conf_path, conf, err);
    close(sock);
    return ret;
}

/* The services that run without the daemon's loop: the broker and the local page's front. */
static int serve_alone(const char *cmd, const char *conf_path, const otter_agent_conf *conf,
                       otter_err *err)
{
    return !strcmp(cmd, "ui") ? otter_ui_serve(conf_path, conf, err)
                              : serve_broker(conf_path, conf, err);
}

/* One state machine: while the daemon runs, a person's install or download is a request to it
   (otter-agent's), never a second cycle beside it. */
static int refuse_beside_daemon(const otter_agent_conf *conf, const char *cmd, int ask,
                                otter_err *err)
{
    if (!ask || !otter_control_listening(conf->control_socket))
        return 0;
    return otter_err_set(err, OTTER_ESTATE,
                         "%s: the update daemon runs (its control socket %s answers): ask it "
                         "(otter-agent %s)",
                         cmd, conf->control_socket,
                         ask == OTTER_DAEMON_ASK_INSTALL ? "install --from-server" : "download");
}

/* `ui --hash-password`: no configuration needed (it prints the value to put in it). */
static int hash_password(void)
{
    otter_err err;
    if (otter_ui_hash_password(&err) == 0)
        return 0;
    fprintf(stderr, "otter-agentd: %s\n", err.msg);
    return 2;
}

int main(int argc, char **argv)
{
    const char *conf_path = "/etc/otter/agent.conf";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
            if (i + 1 == argc)
                return otter_usage_error(PROG, NULL, "option \"%s\" needs a value", argv[i]);
            conf_path = argv[++i];
        } else if (otter_usage_is_help(argv[i])) {
            fputs(otter_help_otter_agentd, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            return otter_usage_version(PROG);
        } else {
            return otter_usage_error(PROG, NULL, "unknown option \"%s\"", argv[i]);
        }
    }
    if (i == argc) {
        fputs(otter_help_otter_agentd, stderr);
        return 2;
    }
    const char *cmd = argv[i];
    if (!help_of(cmd))
        return otter_usage_error(PROG, NULL, "unknown command \"%s\"", cmd);
    int once = 0, no_reboot = 0, want_verify = 0;
    for (int j = i + 1; j < argc; j++) {
        if (otter_usage_is_help(argv[j])) {
            fputs(help_of(cmd), stdout);
            return 0;
        } else if (!strcmp(argv[j], "--verify") && !strcmp(cmd, "check"))
            want_verify = 1;
        else if (!strcmp(argv[j], "--hash-password") && !strcmp(cmd, "ui"))
            return hash_password();
        else if (!strcmp(argv[j], "--once") && !strcmp(cmd, "run"))
            once = 1;
        else if (!strcmp(argv[j], "--no-reboot") && !strcmp(cmd, "install"))
            no_reboot = 1;
        else if (!strcmp(argv[j], "--json") &&
                 (!strcmp(cmd, "install") || !strcmp(cmd, "download")))
            ; /* progress is already one line per step, readable by a UI */
        else
            return otter_usage_error(PROG, cmd,
                                     argv[j][0] == '-' ? "unknown option \"%s\""
                                                       : "unexpected argument \"%s\"",
                                     argv[j]);
    }
    int ask = !strcmp(cmd, "download")  ? OTTER_DAEMON_ASK_DOWNLOAD
              : !strcmp(cmd, "install") ? OTTER_DAEMON_ASK_INSTALL
                                        : 0;
    otter_err err;
    otter_agent_conf *conf = NULL;
    otter_broker *broker = NULL;
    otter_control *ctl = NULL;
    int offered = 1;
    int ret = otter_agent_conf_parse_file(conf_path, &conf, &err);
    if (!ret && !strcmp(cmd, "check"))
        ret = want_verify ? verify(conf, &err) : check(conf, &err);
    else if (!ret && (!strcmp(cmd, "broker") || !strcmp(cmd, "ui")))
        ret = serve_alone(cmd, conf_path, conf, &err);
    /* From here on, with [server] daemon_user, this process is that user; root is the broker. */
    /* The socket is made (owner, group, mode) before the daemon drops its privileges. */
    else if (!ret && !ask && conf->control_socket[0] &&
             (ret = otter_control_open(conf, &ctl, &err)) != 0)
        ;
    else if (!ret && !(ret = refuse_beside_daemon(conf, cmd, ask, &err)) &&
             !(ret = otter_broker_open(conf_path, conf, &broker, &err)) && ask)
        ret = otter_daemon_ask(conf_path, conf, broker, ask, no_reboot, &offered, &err);
    else if (!ret)
        ret = run(conf_path, conf, broker, ctl, once, &err);
    if (!ret && !offered)
        printf("no update offered\n");
    otter_control_free(ctl);
    otter_broker_free(broker);
    otter_agent_conf_free(conf);
    if (ret) {
        fprintf(stderr, "otter-agentd: %s\n", err.msg);
        return otter_err_is_refusal(ret) || ret == OTTER_ESTATE ? 1 : 2;
    }
    return 0;
}
