/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What otter-agentd tells the server: action feedback (progress, the result
 * of an install, a refusal), the device's configData, the answer to a
 * cancel request. Called by the cycle in otter_daemon.c; calls none of it.
 */
#include "otter_daemon_internal.h"
#include "otter_ddi_policy.h"
#include "otter_digest.h"
#include "otter_fmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void daemon_say(const daemon_ctx *d, const char *fmt, ...)
{
    if (!d->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("otter-agentd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int daemon_feedback_to(const daemon_ctx *d, const char *kind, const char *action,
                       const char *execution, const char *finished, unsigned cnt, unsigned of,
                       const char *detail, long *status, otter_err *err)
{
    const char *details[] = {detail, NULL};
    char *json =
        otter_ddi_feedback_new(action, execution, finished, cnt, of, detail ? details : NULL);
    char url[OTTER_DDI_MAX_URL + 256];
    if (!json)
        return otter_err_set(err, OTTER_EUSAGE, "bad feedback values");
    int ret =
        otter_fmt(url, sizeof url, err, "feedback URL", "%s/%s/%s/feedback", d->base, kind, action);
    if (!ret)
        ret = otter_ddi_send(&d->c, "POST", url, json, status, err);
    free(json);
    return ret;
}

int daemon_feedback(const daemon_ctx *d, const char *action, const char *execution,
                    const char *finished, const char *detail, otter_err *err)
{
    long st = 0;
    return daemon_feedback_to(d, "deploymentBase", action, execution, finished, 0, 0, detail, &st,
                              err);
}

/*
 * Whether a kept result is done with, by the server's answer to it: 200
 * taken; 410 the action is closed already (an earlier send arrived, its
 * answer did not); 404 the server knows no such action (deleted with its
 * device, or a server with another database): nobody is left to tell, and
 * keeping it would have the device resend it forever and never poll again.
 */
int daemon_result_done(long status)
{
    return status == 200 || status == 404 || status == 410;
}

/*
 * The closed/failure of an install the installer refused, kept in ddi.json
 * until the server is done with it (daemon_result_done()). Without an answer it
 * stays for the next cycle, which sends it before it polls.
 */
int daemon_report_refusal(daemon_ctx *d, otter_err *err)
{
    if (!d->rec.refused[0])
        return 0;
    long status = 0;
    int ret = daemon_feedback_to(d, "deploymentBase", d->rec.refused, "closed", "failure", 0, 0,
                                 d->rec.refusal[0] ? d->rec.refusal : "refused", &status, err);
    if (ret)
        return ret;
    if (daemon_result_done(status)) {
        d->rec.refused[0] = d->rec.refusal[0] = '\0';
        return otter_daemon_record_save(d->conf, &d->rec, err);
    }
    return otter_err_set(err, OTTER_EIO, "action %s: refusal feedback answered HTTP %ld; kept",
                         d->rec.refused, status);
}

/* The device's state and configData values, read as root (by the broker) once per cycle. */
int daemon_device_status(daemon_ctx *d, otter_err *err)
{
    if (d->have_st)
        return 0;
    int ret = otter_broker_status(d->broker, &d->st, err);
    d->have_st = ret == 0;
    return ret;
}

/* Step 1: report a refusal, and what boot-check decided about the update we switched to. */
int daemon_report_result(daemon_ctx *d, otter_err *err)
{
    int rret = daemon_report_refusal(d, err);
    if (rret)
        return rret;
    if (!d->rec.action[0])
        return 0;
    int ret = daemon_device_status(d, err);
    if (ret)
        return ret;
    if (d->st.state_err.code) {
        *err = d->st.state_err;
        return err->code;
    }
    /* Still pending: the reboot has not happened (or boot-check not run). */
    if (d->st.pending)
        return 0;
    if (strcmp(d->st.last_version, d->rec.version) != 0) {
        /*
         * Nothing pending and no result for it: the switch recorded ahead
         * never happened (the daemon died before its installer switched).
         * Forget it; the server still offers the action, so it is installed again.
         */
        daemon_say(d, "action %s: the switch to %s never happened; it is installed again",
                   d->rec.action, d->rec.version);
        d->rec.action[0] = d->rec.version[0] = '\0';
        return otter_daemon_record_save(d->conf, &d->rec, err);
    }
    int success = d->st.last_success;
    long status = 0;
    ret = daemon_feedback_to(d, "deploymentBase", d->rec.action, "closed",
                             success ? "success" : "failure", 0, 0,
                             success ? "update committed" : d->st.last_reason, &status, err);
    if (ret)
        return ret; /* no answer: kept, sent next time */
    if (daemon_result_done(status)) {
        d->rec.action[0] = d->rec.version[0] = '\0';
        return otter_daemon_record_save(d->conf, &d->rec, err);
    }
    return otter_err_set(err, OTTER_EIO, "result feedback answered HTTP %ld; kept", status);
}

/*
 * configData: what the operator sees about the device. Sent when the
 * server asks, after each start of the daemon (a boot), and whenever a
 * value changed (a new version, a switched slot, a raised counter).
 */
int daemon_send_config(daemon_ctx *d, const char *link, int *sent_once, otter_err *err)
{
    int ret = daemon_device_status(d, err);
    if (ret)
        return ret;
    if (d->st.config_err.code) {
        *err = d->st.config_err;
        return err->code;
    }
    const char *values[OTTER_DAEMON_N_CONFIG];
    for (int i = 0; i < OTTER_DAEMON_N_CONFIG; i++)
        values[i] = d->st.config[i];
    char *json = otter_ddi_config_data_new(otter_daemon_config_keys, values, OTTER_DAEMON_N_CONFIG);
    char digest[65] = "";
    if (json)
        otter_sha256_hex(json, strlen(json), digest);
    if (!json)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!link[0] && *sent_once && strcmp(digest, d->rec.config) == 0) {
        free(json);
        return 0;
    }
    char url[OTTER_DDI_MAX_URL + 16];
    long st = 0;
    ret = link[0] ? otter_fmt(url, sizeof url, err, "configData URL", "%s", link)
                  : otter_fmt(url, sizeof url, err, "configData URL", "%s/configData", d->base);
    if (!ret)
        ret = otter_ddi_send(&d->c, "PUT", url, json, &st, err);
    free(json);
    if (ret || st != 200)
        return ret; /* tried again next cycle */
    *sent_once = 1;
    snprintf(d->rec.config, sizeof d->rec.config, "%s", digest);
    return otter_daemon_record_save(d->conf, &d->rec, err);
}

/* The stopId of the cancelAction at link; 0 when found. */
int daemon_cancel_target(const daemon_ctx *d, const char *link, otter_ddi_cancel *c, otter_err *err)
{
    char *body = NULL;
    size_t len = 0;
    int ret = otter_ddi_get(&d->c, link, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_cancel(body, len, c, err);
    free(body);
    return ret;
}

/* A cancelAction seen while nothing of ours runs: confirm, or reject once switched. */
int daemon_answer_cancel(daemon_ctx *d, const char *link, otter_err *err)
{
    otter_ddi_cancel c;
    int ret = daemon_cancel_target(d, link, &c, err);
    if (ret)
        return ret;
    long st = 0;
    if (otter_ddi_decide_cancel(c.stop_id, d->rec.action) == OTTER_DDI_CANCEL_REJECT) {
        daemon_say(d, "cancel of action %s rejected: %s", c.stop_id,
                   "the slot switch already happened");
        return daemon_feedback_to(d, "cancelAction", c.id, "rejected", "none", 0, 0,
                                  "already installed and switched; waiting for the reboot", &st,
                                  err);
    }
    if (strcmp(d->rec.spooled, c.stop_id) == 0) {
        ret = otter_broker_clear_spool(d->broker, err);
        d->rec.spooled[0] = '\0';
        if (!ret)
            ret = otter_daemon_record_save(d->conf, &d->rec, err);
        if (ret)
            return ret;
    }
    daemon_say(d, "action %s canceled", c.stop_id);
    return daemon_feedback_to(d, "cancelAction", c.id, "closed", "success", 0, 0,
                              "canceled before the slot switch", &st, err);
}
