/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_daemon.h"
#include "otter_bootchooser.h"
#include "otter_ddi.h"
#include "otter_ddi_http.h"
#include "otter_file.h"
#include "otter_install.h"
#include "otter_source.h"
#include "otter_state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ddi.json: the action whose result the server has not taken yet. */
typedef struct awaiting {
    char action[OTTER_DDI_MAX_NAME + 1];
    char version[OTTER_DDI_MAX_NAME + 1];
} awaiting;

static void awaiting_path(const otter_agent_conf *conf, char *out, size_t size)
{
    snprintf(out, size, "%s/ddi.json", conf->state_dir);
}

static int awaiting_load(const otter_agent_conf *conf, awaiting *a, otter_err *err)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    memset(a, 0, sizeof *a);
    awaiting_path(conf, path, sizeof path);
    if (access(path, F_OK) != 0)
        return 0;
    int ret = otter_file_read_all(path, 4096, &text, &len, err);
    if (ret)
        return ret;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    const char *action = NULL, *version = NULL;
    if (!root || json_unpack(root, "{s:s, s:s}", "action", &action, "version", &version) != 0 ||
        strlen(action) > OTTER_DDI_MAX_NAME || strlen(version) > OTTER_DDI_MAX_NAME) {
        json_decref(root);
        return otter_err_set(err, OTTER_EFORMAT, "%s: not a valid record", path);
    }
    snprintf(a->action, sizeof a->action, "%s", action);
    snprintf(a->version, sizeof a->version, "%s", version);
    json_decref(root);
    return 0;
}

static int awaiting_save(const otter_agent_conf *conf, const awaiting *a, otter_err *err)
{
    char path[PATH_MAX];
    awaiting_path(conf, path, sizeof path);
    if (!a->action[0]) {
        if (unlink(path) < 0 && errno != ENOENT)
            return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot remove", path);
        return otter_file_sync_dir_of(path, err);
    }
    json_t *root = json_pack("{s:s, s:s}", "action", a->action, "version", a->version);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = otter_file_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return ret;
}

static int feedback(const otter_ddi_conn *c, const char *base, const char *action,
                    const char *execution, const char *finished, const char *detail,
                    long *status, otter_err *err)
{
    const char *details[] = {detail, NULL};
    char *json = otter_ddi_feedback_new(action, execution, finished, 0, 0, detail ? details : NULL);
    char url[OTTER_DDI_MAX_URL + 64];
    snprintf(url, sizeof url, "%s/deploymentBase/%s/feedback", base, action);
    if (!json)
        return otter_err_set(err, OTTER_EUSAGE, "bad feedback values");
    int ret = otter_ddi_send(c, "POST", url, json, status, err);
    free(json);
    return ret;
}

/* Step 1: report what boot-check decided about the update we installed. */
static int report_result(const otter_agent_conf *conf, const otter_ddi_conn *c, const char *base,
                         otter_err *err)
{
    awaiting a;
    int ret = awaiting_load(conf, &a, err);
    if (ret || !a.action[0])
        return ret;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state.json", conf->state_dir);
    otter_state *s = NULL;
    ret = otter_state_load(path, &s, err);
    if (ret)
        return ret;
    /* Still pending: the reboot has not happened (or boot-check not run). */
    if (s->pending.present || !s->last.version || strcmp(s->last.version, a.version) != 0) {
        otter_state_free(s);
        return 0;
    }
    int success = s->last.status == OTTER_RESULT_SUCCESS;
    long status = 0;
    ret = feedback(c, base, a.action, "closed", success ? "success" : "failure",
                   success ? "update committed" : s->last.reason, &status, err);
    otter_state_free(s);
    if (ret)
        return ret; /* no answer: kept, sent next time */
    /* 200: taken; 410: the server closed it already (sent before a crash). */
    if (status == 200 || status == 410) {
        memset(&a, 0, sizeof a);
        return awaiting_save(conf, &a, err);
    }
    return otter_err_set(err, OTTER_EIO, "result feedback answered HTTP %ld; kept", status);
}

/* Runs otter-agent install for url; returns its exit status, last stderr line in why. */
static int run_install(const char *conf_path, const char *url, const char *auth, char *why,
                       size_t why_len)
{
    char agent[PATH_MAX];
    otter_err err;
    if (otter_source_sibling("otter-agent", agent, sizeof agent, &err) != 0) {
        snprintf(why, why_len, "%s", err.msg);
        return 2;
    }
    int p[2];
    if (pipe(p) < 0) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        return 2;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execl(agent, agent, "--config", conf_path, "install", "--no-reboot", "--header", auth, url,
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[4096];
    size_t used = 0;
    ssize_t n;
    /* Keep the tail of what it says: the last line is the verdict. */
    while ((n = read(p[0], buf + used, sizeof buf - 1 - used)) > 0) {
        used += (size_t)n;
        if (used == sizeof buf - 1) {
            memmove(buf, buf + used / 2, used - used / 2);
            used -= used / 2;
        }
    }
    close(p[0]);
    buf[used] = '\0';
    while (used && buf[used - 1] == '\n')
        buf[--used] = '\0';
    const char *last = strrchr(buf, '\n');
    snprintf(why, why_len, "%s", last ? last + 1 : buf);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return 2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/* Step 3: a deployment was offered. */
static int deploy(const char *conf_path, const otter_agent_conf *conf, const otter_ddi_conn *c,
                  const char *base, const char *deployment_url, otter_err *err)
{
    awaiting a;
    int ret = awaiting_load(conf, &a, err);
    if (ret)
        return ret;
    char *body = NULL;
    size_t len = 0;
    otter_ddi_deployment *d = calloc(1, sizeof *d);
    if (!d)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    ret = otter_ddi_get(c, deployment_url, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_deployment(body, len, d, err);
    free(body);
    if (ret)
        goto out;
    /* Installed already, waiting for the reboot's verdict: nothing to do. */
    if (a.action[0] && strcmp(a.action, d->id) == 0)
        goto out;
    if (d->n_chunks != 1 || d->chunks[0].n_artifacts != 1) {
        long st;
        ret = feedback(c, base, d->id, "closed", "failure",
                       "an Otter device takes one update.zip per deployment", &st, err);
        goto out;
    }
    const otter_ddi_artifact *art = &d->chunks[0].artifacts[0];
    long st = 0;
    ret = feedback(c, base, d->id, "proceeding", "none", "downloading and installing", &st, err);
    if (ret)
        goto out;
    char auth[600], why[512];
    snprintf(auth, sizeof auth, "Authorization: TargetToken %s", c->token);
    int rc = run_install(conf_path, art->download, auth, why, sizeof why);
    if (rc != 0) {
        ret = feedback(c, base, d->id, "closed", "failure", why, &st, err);
        goto out;
    }
    snprintf(a.action, sizeof a.action, "%s", d->id);
    snprintf(a.version, sizeof a.version, "%s", d->chunks[0].version);
    ret = awaiting_save(conf, &a, err);
    if (!ret)
        ret = feedback(c, base, d->id, "proceeding", "none", "installed; rebooting into it", &st,
                       err);
    if (!ret && conf->reboot_command[0])
        otter_install_run_command(conf->reboot_command, 60, OTTER_SLOT_NONE, a.version);
out:
    free(d);
    return ret;
}

int otter_daemon_cycle(const char *conf_path, const otter_agent_conf *conf, long *sleep_seconds,
                       otter_err *err)
{
    otter_ddi_conn c = {.url = conf->server_url, .tenant = conf->server_tenant,
                        .controller = conf->server_controller, .token = conf->server_token,
                        .ca_file = conf->server_ca, .pin = conf->server_pin};
    char base_url[OTTER_DDI_MAX_URL];
    char *body = NULL;
    size_t len = 0;
    otter_ddi_base base;
    *sleep_seconds = -1;
    int ret = otter_ddi_base_url(&c, base_url, sizeof base_url, err);
    if (!ret)
        ret = report_result(conf, &c, base_url, err);
    if (!ret)
        ret = otter_ddi_get(&c, base_url, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_base(body, len, &base, err);
    free(body);
    if (ret)
        return ret;
    *sleep_seconds = base.sleep_seconds;
    if (base.config_data[0]) {
        const char *keys[] = {"product", "model"};
        const char *values[] = {conf->product, conf->model};
        char *json = otter_ddi_config_data_new(keys, values, 2);
        long st = 0;
        if (json)
            otter_ddi_send(&c, "PUT", base.config_data, json, &st, err);
        free(json);
    }
    if (base.deployment[0])
        ret = deploy(conf_path, conf, &c, base_url, base.deployment, err);
    return ret;
}
