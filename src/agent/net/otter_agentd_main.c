/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd: the device's network side (hawkBit DDI). It links libcurl;
 * the installer (otter-agent) does not, and is run as a child for installs
 * (by a root broker when the daemon drops to [server] daemon_user).
 * This first step answers `check`: what does the server offer this device?
 */
#include "otter_agent_conf.h"
#include "otter_ddi.h"
#include "otter_ddi_http.h"
#include "otter_daemon.h"
#include "otter_ddi_policy.h"

#include <time.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: otter-agentd [--config agent.conf] COMMAND [OPTIONS]\n"
    "\n"
    "The device's network side: talks hawkBit DDI to the server in [server] of\n"
    "agent.conf (TargetToken or GatewayToken, CA, pins) and runs otter-agent,\n"
    "which never links libcurl, for everything that writes slots.\n"
    "\n"
    "Commands:\n"
    "  check              ask the server once what it offers this device: the polling\n"
    "                     interval and, for a waiting deployment, its action id,\n"
    "                     download/update modes, maintenance window, release (name,\n"
    "                     version) and artifact (file, size, SHA-256, URL)\n"
    "  download [--json]  download and verify the offered package into [server] spool\n"
    "                     now, whatever the server's modes say; progress on stderr;\n"
    "                     the server is told \"downloaded\"\n"
    "  install [--no-reboot]  install the offered package (the spooled copy when it\n"
    "                     was downloaded already, else streaming), with progress;\n"
    "                     then reboot; boot-check commits and the next `run` reports\n"
    "                     the result. Refused while the maintenance window is closed.\n"
    "  run [--once]       the update daemon: report the last update's result once the\n"
    "                     server takes it, send configData, poll at the server's\n"
    "                     interval (+-10 % jitter; back-off 10 s .. 10 min on errors),\n"
    "                     follow download/update modes, maintenance windows and\n"
    "                     cancelAction, install, reboot. --once: one cycle.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  agent configuration (default /etc/otter/agent.conf)\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: 0 ok (offered or not); 1 refused (TLS verification, package,\n"
    "closed maintenance window); 2 other error. See docs/agent.md.\n";

static const char check_help[] =
    "usage: otter-agentd [--config agent.conf] check\n"
    "       otter-agent  [--config agent.conf] check\n"
    "\n"
    "Polls the DDI server in [server] once, as the daemon would, and prints what it\n"
    "offers this device; changes nothing on the device and sends nothing but the\n"
    "poll. For a waiting deployment: the action id; the download and update modes\n"
    "(forced, attempt, skip) and whether the maintenance window is closed; each\n"
    "chunk's name and version with its artifact (file name, size in bytes,\n"
    "SHA-256, download URL); and what `otter-agentd run` will do with it\n"
    "(download and install, download now and install later, wait, nothing).\n"
    "\n"
    "Exit status: 0 answered (offered or not); 1 TLS verification refused (pin,\n"
    "CA, expired certificate); 2 other error (unreachable, HTTP 401, ...).\n";

static const char run_help[] =
    "usage: otter-agentd [--config agent.conf] run [--once]\n"
    "       otter-agent  [--config agent.conf] run [--once]\n"
    "\n"
    "The over-the-air daemon. Each cycle: (1) report the result of the update\n"
    "installed before the last reboot (closed success/failure, once the health\n"
    "check decided; kept in <state dir>/ddi.json until the server takes it);\n"
    "(2) poll; send configData (product, model, slot, versions, counter) when\n"
    "asked, after a start and on any change; answer cancelAction (confirm unless\n"
    "the slot switch happened, then reject); (3) for an offered deployment, follow\n"
    "its download/update modes and maintenance window: download and install in\n"
    "one pass, download into [server] spool now and install when allowed, or\n"
    "wait. While installing it reports progress (every 5 % or 2 s), 'downloaded'\n"
    "when the package is verified, stops the installer cleanly when the action\n"
    "is canceled before the switch, then runs [reboot] command.\n"
    "It then sleeps the server's polling interval +-10 %, or backs off 10 s ..\n"
    "10 min after errors. --once: one cycle, then exit (0 ok, 1 TLS refused,\n"
    "2 other error). With [server] daemon_user and started as root (run,\n"
    "download, install), it forks a root installer broker that alone runs\n"
    "otter-agent, and runs as that user itself. See docs/agent.md.\n";

static const char ask_help[] =
    "usage: otter-agentd [--config agent.conf] download\n"
    "       otter-agentd [--config agent.conf] install [--no-reboot]\n"
    "       otter-agent  [--config agent.conf] download | install --from-server\n"
    "\n"
    "For a person at the device, whatever the server's download/update modes say.\n"
    "download: fetches the offered package and verifies it (signatures, model,\n"
    "security version, every image's SHA-256) into [server] spool, with progress\n"
    "on standard error; the server is told 'downloaded'.\n"
    "install: installs the offered package (the spooled copy when it is there,\n"
    "else streaming), with progress, then runs [reboot] command (--no-reboot:\n"
    "not); boot-check commits after the reboot and `otter-agentd run` reports the\n"
    "result. A closed maintenance window refuses the install (exit 1).\n"
    "\n"
    "Exit status: 0 done or nothing offered; 1 refused (package, TLS, window);\n"
    "2 other error.\n";

static const char *mode_name(int m)
{
    return m == OTTER_DDI_FORCED ? "forced" : m == OTTER_DDI_ATTEMPT ? "attempt" : "skip";
}

static int check(const otter_agent_conf *conf, otter_err *err)
{
    otter_ddi_conn c = {.url = conf->server_url, .tenant = conf->server_tenant,
                        .controller = conf->server_controller, .token = conf->server_token,
                        .gateway_token = conf->server_gateway_token,
                        .ca_file = conf->server_ca, .pin = conf->server_pin,
                        .cert = conf->server_cert, .key = conf->server_key,
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
               mode_name(dep->update), dep->maintenance_available ? "" : ", maintenance window closed");
        otter_daemon_record rec;
        otter_err rerr;
        int have = otter_daemon_record_load(conf, &rec, &rerr) == 0;
        otter_ddi_situation s = {
            .download = dep->download, .update = dep->update,
            .maintenance_available = dep->maintenance_available,
            .attempt = strcmp(conf->server_attempt, "skip") == 0 ? OTTER_DDI_SKIP : OTTER_DDI_FORCED,
            .spooled = have && strcmp(rec.spooled, dep->id) == 0,
            .switched = have && strcmp(rec.action, dep->id) == 0};
        int refused = have && strcmp(rec.refused, dep->id) == 0;
        printf("daemon: %s\n", s.switched ? "installed; waiting for the reboot's verdict"
                                : refused ? "refused; the failure waits to be sent"
                                          : otter_ddi_step_name(otter_ddi_decide(&s)));
        for (size_t i = 0; i < dep->n_chunks; i++)
            for (size_t j = 0; j < dep->chunks[i].n_artifacts; j++) {
                const otter_ddi_artifact *a = &dep->chunks[i].artifacts[j];
                printf("  %s %s: %s, %llu bytes, sha256 %s\n  from %s\n", dep->chunks[i].name,
                       dep->chunks[i].version, a->filename, (unsigned long long)a->size,
                       a->sha256[0] ? a->sha256 : "(none)", a->download);
            }
    }
    free(body);
    free(dep);
    return ret;
}

static void sleep_s(long s)
{
    struct timespec ts = {s, 0};
    nanosleep(&ts, NULL);
}

static int run(const char *conf_path, const otter_agent_conf *conf, otter_broker *broker,
               int once, otter_err *err)
{
    otter_ddi_pacing pace = {0};
    srand((unsigned)(time(NULL) ^ getpid()));
    for (;;) {
        long interval = -1;
        int ret = otter_daemon_cycle(conf_path, conf, broker, &interval, err);
        if (once)
            return ret;
        /* Without its root broker the daemon can never install: exit, and be restarted whole. */
        if (!otter_broker_alive(broker))
            return otter_err_set(err, OTTER_EIO, "the installer broker is gone");
        long s = otter_ddi_next_sleep(&pace, ret == 0, interval, (unsigned long)rand());
        if (ret)
            fprintf(stderr, "otter-agentd: %s (retrying in %ld s)\n", err->msg, s);
        sleep_s(s);
    }
}

int main(int argc, char **argv)
{
    const char *conf_path = "/etc/otter/agent.conf";
    int i = 1;
    if (i + 1 < argc && (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c"))) {
        conf_path = argv[i + 1];
        i += 2;
    }
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (i == argc) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[i];
    int once = 0, no_reboot = 0;
    for (int j = i + 1; j < argc; j++) {
        if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
            fputs(!strcmp(cmd, "check") ? check_help : !strcmp(cmd, "run") ? run_help
                  : !strcmp(cmd, "download") || !strcmp(cmd, "install") ? ask_help : usage,
                  stdout);
            return 0;
        } else if (!strcmp(argv[j], "--once") && !strcmp(cmd, "run"))
            once = 1;
        else if (!strcmp(argv[j], "--no-reboot") && !strcmp(cmd, "install"))
            no_reboot = 1;
        else if (!strcmp(argv[j], "--json") && (!strcmp(cmd, "install") || !strcmp(cmd, "download")))
            ; /* progress is already one line per step, readable by a UI */
        else {
            fprintf(stderr, "otter-agentd %s: unexpected argument \"%s\"\n", cmd, argv[j]);
            return 2;
        }
    }
    int ask = !strcmp(cmd, "download") ? OTTER_DAEMON_ASK_DOWNLOAD
              : !strcmp(cmd, "install") ? OTTER_DAEMON_ASK_INSTALL : 0;
    if (!ask && strcmp(cmd, "check") != 0 && strcmp(cmd, "run") != 0) {
        fprintf(stderr, "otter-agentd: unknown command \"%s\"\n\n%s", cmd, usage);
        return 2;
    }
    otter_err err;
    otter_agent_conf *conf = NULL;
    otter_broker *broker = NULL;
    int offered = 1;
    int ret = otter_agent_conf_parse_file(conf_path, &conf, &err);
    if (!ret && !strcmp(cmd, "check"))
        ret = check(conf, &err);
    /* From here on, with [server] daemon_user, this process is that user; root is the broker. */
    else if (!ret && !(ret = otter_broker_open(conf_path, conf, &broker, &err)) && ask)
        ret = otter_daemon_ask(conf_path, conf, broker, ask, no_reboot, &offered, &err);
    else if (!ret)
        ret = run(conf_path, conf, broker, once, &err);
    if (!ret && !offered)
        printf("no update offered\n");
    otter_broker_free(broker);
    otter_agent_conf_free(conf);
    if (ret) {
        fprintf(stderr, "otter-agentd: %s\n", err.msg);
        return otter_err_is_refusal(ret) || ret == OTTER_ESTATE ? 1 : 2;
    }
    return 0;
}
