/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd: the device's network side (hawkBit DDI). It links libcurl;
 * the installer (otter-agent) does not, and is run as a child for installs.
 * This first step answers `check`: what does the server offer this device?
 */
#include "otter_agent_conf.h"
#include "otter_ddi.h"
#include "otter_ddi_http.h"
#include "otter_daemon.h"

#include <time.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: otter-agentd [--config agent.conf] check | run [--once]\n"
    "\n"
    "  check   poll the server in [server] once and show what it offers this\n"
    "          device: the polling interval and, when a deployment is waiting,\n"
    "          its action id, download/update modes and artifacts.\n"
    "  run     the update daemon: report the result of the last update once the\n"
    "          server takes it, poll at the server's interval (with jitter;\n"
    "          exponential back-off up to 10 min on errors), install offered\n"
    "          deployments through otter-agent and reboot. --once: one cycle.\n"
    "\n"
    "Exit status: 0 ok (offered or not); 1 TLS verification refused; 2 other error.\n";

static const char *mode_name(int m)
{
    return m == OTTER_DDI_FORCED ? "forced" : m == OTTER_DDI_ATTEMPT ? "attempt" : "skip";
}

static int check(const otter_agent_conf *conf, otter_err *err)
{
    otter_ddi_conn c = {.url = conf->server_url, .tenant = conf->server_tenant,
                        .controller = conf->server_controller, .token = conf->server_token,
                        .ca_file = conf->server_ca, .pin = conf->server_pin};
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

static int run(const char *conf_path, const otter_agent_conf *conf, int once, otter_err *err)
{
    long backoff = 10;
    srand((unsigned)(time(NULL) ^ getpid()));
    for (;;) {
        long interval = -1;
        int ret = otter_daemon_cycle(conf_path, conf, &interval, err);
        if (once)
            return ret;
        if (ret) {
            fprintf(stderr, "otter-agentd: %s (retrying in %ld s)\n", err->msg, backoff);
            sleep_s(backoff);
            backoff = backoff * 2 > 600 ? 600 : backoff * 2;
            continue;
        }
        backoff = 10;
        if (interval <= 0)
            interval = 300;
        /* +-10 % so a fleet that rebooted together does not poll together. */
        long jitter = interval / 10 > 0 ? rand() % (interval / 5 + 1) - interval / 10 : 0;
        sleep_s(interval + jitter);
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
    int is_check = i + 1 == argc && strcmp(argv[i], "check") == 0;
    int is_run = i < argc && strcmp(argv[i], "run") == 0 &&
                 (i + 1 == argc || (i + 2 == argc && strcmp(argv[i + 1], "--once") == 0));
    if (!is_check && !is_run) {
        fputs(usage, stderr);
        return 2;
    }
    otter_err err;
    otter_agent_conf *conf = NULL;
    int ret = otter_agent_conf_parse_file(conf_path, &conf, &err);
    if (!ret && is_check)
        ret = check(conf, &err);
    else if (!ret)
        ret = run(conf_path, conf, i + 2 == argc, &err);
    otter_agent_conf_free(conf);
    if (ret) {
        fprintf(stderr, "otter-agentd: %s\n", err.msg);
        return ret == OTTER_ESIG ? 1 : 2;
    }
    return 0;
}
