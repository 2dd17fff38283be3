/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_daemon.h"
#include "otter_daemon_internal.h"
#include "otter_ddi_roots.h"
#include "otter_broker.h"
#include "otter_crash.h"
#include "otter_daemon_child.h"
#include "otter_ddi.h"
#include "otter_ddi_delta.h"
#include "otter_ddi_http.h"
#include "otter_ddi_policy.h"
#include "otter_digest.h"
#include "otter_origin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Following one child (install or download) of one action. */
typedef struct run_ctx {
    daemon_ctx *d;
    const char *action;
    int percent, last_tick_s;
    long last_sent, last_check;
    char cancel_id[OTTER_DDI_MAX_NAME + 1]; /* set when a cancel stopped us */
    int download_only;
    int from_spool; /* "downloaded" was reported when the spool got the package */
} run_ctx;

static long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec;
}

/* Progress to the server: once per 5 % or every 2 s, whichever comes first. */
static void on_progress(void *ctx, const char *image, uint64_t done, uint64_t total)
{
    run_ctx *r = ctx;
    int percent = total ? (int)(done * 100 / total) : 100;
    long now = mono_s();
    if (percent == r->percent || (percent < r->percent + 5 && now - r->last_sent < 2))
        return;
    r->percent = percent;
    r->last_sent = now;
    daemon_ctl_progress(r->d, r->download_only, percent);
    if (r->d->show_progress)
        fprintf(stderr, "%s %s: %d%%\n", r->download_only ? "downloading" : "installing", image,
                percent);
    char detail[OTTER_DDI_MAX_NAME + 64];
    snprintf(detail, sizeof detail, "%s %s: %d%%", r->download_only ? "downloading" : "installing",
             image, percent);
    long st = 0;
    otter_err err;
    /* Lost progress is not worth a retry: the next step says more. */
    daemon_feedback_to(r->d, "deploymentBase", r->action, "proceeding", "none", (unsigned)percent,
                       100, detail, &st, &err);
}

/* Polls for a cancelAction aimed at our action; 1 when there is one. */
static int cancel_requested(run_ctx *r)
{
    otter_err err;
    char *body = NULL;
    size_t len = 0;
    otter_ddi_base b;
    int hit = 0;
    if (otter_ddi_get(&r->d->c, r->d->base, &body, &len, &err) == 0 &&
        otter_ddi_parse_base(body, len, &b, &err) == 0 && b.cancel[0]) {
        otter_ddi_cancel c;
        if (daemon_cancel_target(r->d, b.cancel, &c, &err) == 0 &&
            strcmp(c.stop_id, r->action) == 0) {
            snprintf(r->cancel_id, sizeof r->cancel_id, "%s", c.id);
            hit = 1;
        }
    }
    free(body);
    return hit;
}

static int on_tick(void *ctx)
{
    run_ctx *r = ctx;
    long now = mono_s();
    if (daemon_ctl_cancel_asked(r->d, r->action))
        return r->d->failed_user = 1;
    if (now - r->last_check < r->d->cancel_every)
        return 0;
    r->last_check = now;
    return cancel_requested(r);
}

/* The package is verified, nothing switched yet: report it, and look for a cancel one last time. */
static int on_verified(void *ctx, const char *version)
{
    run_ctx *r = ctx;
    otter_err err;
    char detail[OTTER_DDI_MAX_NAME + 64];
    snprintf(detail, sizeof detail, "version %s downloaded and verified", version);
    if (!r->from_spool)
        daemon_feedback(r->d, r->action, "downloaded", "none", detail, &err);
    if (cancel_requested(r)) {
        daemon_say(r->d, "action %s: cancel found after verification, before the switch",
                   r->action);
        return 0;
    }
    if (r->download_only)
        return 1;
    /*
     * Recorded before the child switches: a daemon that dies between the
     * switch and its own record (power cut, OOM, systemctl stop) would
     * otherwise offer the action to the installer again after the restart,
     * which refuses it ("already running") and reports a failure. If the
     * switch then does not happen, report_result drops this record.
     */
    snprintf(r->d->rec.action, sizeof r->d->rec.action, "%s", r->action);
    snprintf(r->d->rec.version, sizeof r->d->rec.version, "%s", version);
    if (otter_daemon_record_save(r->d->conf, &r->d->rec, &err) != 0)
        daemon_say(r->d, "action %s: cannot record the switch ahead: %s", r->action, err.msg);
    return 1;
}

/* The child did not switch after all (failed or canceled): no update waits for a reboot. */
static int unrecord_switch(daemon_ctx *d, const char *action, otter_err *err)
{
    if (strcmp(d->rec.action, action) != 0)
        return 0;
    d->rec.action[0] = d->rec.version[0] = '\0';
    return otter_daemon_record_save(d->conf, &d->rec, err);
}

/*
 * Runs otter-agent for req (an install or a download of action) through
 * the broker; returns its exit status. A cancel that stopped it is
 * confirmed to the server here (*canceled set). The broker decides by the
 * URL's origin whether the server's CA, pin, client certificate and token
 * go with the download; an artifact origin (a CDN) gets none of them (the
 * package signature is what protects its bytes).
 */
static int run_agent(daemon_ctx *d, const char *action, const otter_broker_req *req, char *why,
                     size_t why_len, int *canceled, otter_err *err)
{
    int download_only = req->op == OTTER_BROKER_DOWNLOAD, from_spool = req->from_spool;
    run_ctx r = {.d = d,
                 .action = action,
                 .percent = -1,
                 .last_check = mono_s(),
                 .download_only = download_only,
                 .from_spool = from_spool};
    otter_daemon_child_ops ops = {on_progress, on_verified, on_tick, &r};
    int stopped = 0;
    daemon_ctl_progress(d, download_only, -1); /* a UI shows it before the first byte */
    int rc = otter_daemon_child_run(d->broker, req, &ops, why, why_len, &stopped);
    *canceled = stopped && rc != 0;
    if (rc != 0) {
        d->failed_rc = rc;
        snprintf(d->failed_why, sizeof d->failed_why, "%s",
                 *canceled ? (d->failed_user ? "canceled by the user" : "canceled by the server")
                           : why);
    }
    if (*canceled && r.cancel_id[0]) {
        long st = 0;
        daemon_say(d, "action %s canceled before the slot switch", action);
        daemon_feedback_to(d, "cancelAction", r.cancel_id, "closed", "success", 0, 0,
                           "canceled before the slot switch; nothing installed", &st, err);
    }
    return rc;
}

/*
 * The child failed. A refusal (exit 1: signature, digest, model, TLS) closes
 * the action at once (report_refusal: kept and sent until the server took
 * it); a network or I/O failure (exit 2: the download gave up after its own
 * resumes) is tried again in later cycles, up to
 * OTTER_DAEMON_MAX_TRIES, because a device on a bad link should not fail
 * an update an hour of better signal would have finished.
 */
static int child_failed(daemon_ctx *d, const char *action, int rc, const char *why, otter_err *err)
{
    if (rc == 2 && otter_daemon_record_failed(&d->rec, action)) {
        char detail[600];
        snprintf(detail, sizeof detail, "attempt %ld of %d failed, trying again: %s",
                 d->rec.retries, OTTER_DAEMON_MAX_TRIES, why);
        int ret = otter_daemon_record_save(d->conf, &d->rec, err);
        if (ret)
            return ret;
        otter_err ferr; /* the server may be what failed: the record counts anyway */
        daemon_feedback(d, action, "proceeding", "none", detail, &ferr);
        return otter_err_set(err, OTTER_EIO, "action %s: %s", action, detail);
    }
    if (d->rec.retry[0] && strcmp(d->rec.retry, action) == 0) {
        d->rec.retry[0] = '\0';
        d->rec.retries = 0;
    }
    /* Kept before it is sent: an outage now must not lose the result. */
    snprintf(d->rec.refused, sizeof d->rec.refused, "%s", action);
    snprintf(d->rec.refusal, sizeof d->rec.refusal, "%s", why);
    int ret = otter_daemon_record_save(d->conf, &d->rec, err);
    return ret ? ret : daemon_report_refusal(d, err);
}

static int forget_spool(daemon_ctx *d, otter_err *err)
{
    if (!d->rec.spooled[0])
        return 0;
    d->rec.spooled[0] = '\0';
    int ret = otter_broker_clear_spool(d->broker, err);
    return ret ? ret : otter_daemon_record_save(d->conf, &d->rec, err);
}

static int fetch_deployment(daemon_ctx *d, const char *url, otter_ddi_deployment *dep,
                            otter_err *err)
{
    char *body = NULL;
    size_t len = 0;
    int ret = otter_ddi_get(&d->c, url, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_deployment(body, len, dep, err);
    if (!ret)
        daemon_ctl_offer(d, body, len);
    free(body);
    return ret;
}

/*
 * Has the installer take art (or the spool's package), and, when that was
 * a delta whose base is not the running slot (nothing written), the full
 * artifact instead: *note then says so for the feedback. The child's exit
 * status; why its last message.
 */
static int run_pick(daemon_ctx *d, const char *action, const otter_ddi_pick *pick, int op,
                    int from_spool, char *why, size_t why_len, int *canceled, char *note,
                    size_t note_len, otter_err *err)
{
    const otter_ddi_artifact *art = from_spool ? pick->delta : otter_ddi_first_artifact(pick);
    otter_broker_req req = {.op = op, .from_spool = from_spool, .max_size = art ? art->size : 0};
    if (!from_spool)
        snprintf(req.url, sizeof req.url, "%s", art->download);
    int rc = run_agent(d, action, &req, why, why_len, canceled, err);
    if (*canceled || !otter_ddi_falls_back(pick, art, rc))
        return rc;
    int spool = op == OTTER_BROKER_DOWNLOAD;
    otter_ddi_fallback_detail(note, note_len, why,
                              spool ? "downloaded the full package" : "installed the full package");
    daemon_say(d, "action %s: delta refused (%s); taking the full package %s", action, why,
               pick->full->filename);
    d->failed_rc = 0;
    req = (otter_broker_req){.op = op, .max_size = pick->full->size};
    snprintf(req.url, sizeof req.url, "%s", pick->full->download);
    return run_agent(d, action, &req, why, why_len, canceled, err);
}

/* Installs (streaming or from the spool) and switches; then record, report, reboot. */
static int install(daemon_ctx *d, const otter_ddi_deployment *dep, const otter_ddi_pick *pick,
                   int from_spool, int reboot, otter_err *err)
{
    char why[512], note[700] = "installed; rebooting into it";
    int canceled = 0;
    int ret = daemon_feedback(
        d, dep->id, "proceeding", "none",
        from_spool ? "installing the downloaded package" : "downloading and installing", err);
    if (ret)
        return ret;
    if (from_spool)
        daemon_say(d, "action %s: installing the spooled package", dep->id);
    else
        daemon_say(d, "action %s: installing %s", dep->id,
                   otter_ddi_first_artifact(pick)->filename);
    /* A delta in the spool that no longer fits is dropped; the full one streams in. */
    int rc = run_pick(d, dep->id, pick, OTTER_BROKER_INSTALL, from_spool, why, sizeof why,
                      &canceled, note, sizeof note, err);
    /* Test builds: a daemon killed once its installer switched, before its own record below. */
    if (rc == 0 && !canceled)
        otter_crash_point("daemon-installed");
    if ((canceled || rc != 0) && (ret = unrecord_switch(d, dep->id, err)) != 0)
        return ret;
    if (canceled)
        return forget_spool(d, err);
    if (rc != 0) {
        daemon_say(d, "install refused: %s", why);
        /* A spooled package that does not install is dropped: the next try downloads afresh. */
        if (from_spool && (ret = forget_spool(d, err)) != 0)
            return ret;
        return child_failed(d, dep->id, rc, why, err);
    }
    snprintf(d->rec.action, sizeof d->rec.action, "%s", dep->id);
    snprintf(d->rec.version, sizeof d->rec.version, "%s", dep->chunks[0].version);
    d->rec.spooled[0] = '\0';
    d->rec.retry[0] = '\0';
    d->rec.retries = 0;
    /* Only a spool we used is emptied: a streaming install never touches it. */
    ret = from_spool ? otter_broker_clear_spool(d->broker, err) : 0;
    if (!ret)
        ret = otter_daemon_record_save(d->conf, &d->rec, err);
    if (!ret)
        ret = daemon_feedback(d, dep->id, "proceeding", "none", note, err);
    if (!ret && reboot && !d->hold_reboot && d->conf->reboot_command[0])
        otter_broker_reboot(d->broker, d->rec.version);
    if (!ret && d->hold_reboot)
        daemon_say(d, "action %s: installed; the user reboots later", dep->id);
    return ret;
}

/* Downloads and verifies into the spool; the install waits for the server's go. */
static int download(daemon_ctx *d, const otter_ddi_deployment *dep, const otter_ddi_pick *pick,
                    const char *why_waiting, otter_err *err)
{
    char why[512], note[700] = "downloaded and verified";
    int canceled = 0;
    int ret =
        daemon_feedback(d, dep->id, "proceeding", "none", "downloading; the install waits", err);
    if (ret)
        return ret;
    daemon_say(d, "action %s: downloading %s into the spool (%s)", dep->id,
               otter_ddi_first_artifact(pick)->filename, why_waiting);
    /* The server said how big the artifact is: a longer body is refused. */
    int rc = run_pick(d, dep->id, pick, OTTER_BROKER_DOWNLOAD, 0, why, sizeof why, &canceled, note,
                      sizeof note, err);
    if (canceled)
        return 0;
    if (rc != 0)
        return child_failed(d, dep->id, rc, why, err);
    snprintf(d->rec.spooled, sizeof d->rec.spooled, "%s", dep->id);
    d->rec.retry[0] = '\0';
    d->rec.retries = 0;
    ret = otter_daemon_record_save(d->conf, &d->rec, err);
    if (!ret) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s; installing when %s", note, why_waiting);
        ret = daemon_feedback(d, dep->id, "downloaded", "none", detail, err);
    }
    if (!ret)
        daemon_ctl_waiting(d, dep);
    return ret;
}

/*
 * 1 when the artifact link of action may be followed (*kind says with
 * what); otherwise the refusal closes the action as a failure, sent to the
 * server (kept until it is taken), and nothing is downloaded: returns 0 or
 * the error of keeping or sending it.
 */
static int refuse_link(daemon_ctx *d, const char *action, const char *url, int *kind,
                       otter_err *err)
{
    otter_err why;
    if (otter_origin_check_link(d->conf->server_url, d->conf->server_artifact_origins, url, kind,
                                &why) == 0)
        return 1;
    daemon_say(d, "action %s: %s", action, why.msg);
    d->failed_rc = 1;
    snprintf(d->failed_why, sizeof d->failed_why, "%s", why.msg);
    return child_failed(d, action, 1, why.msg, err);
}

/*
 * What to do with an offered deployment (otter_ddi_decide over the server's
 * modes, the window and what this device holds); want as for deploy().
 * 0 and *step; 1 when there is nothing to do now (said why); or an error.
 */
static int decide_step(daemon_ctx *d, const otter_ddi_deployment *dep, int want, int *step,
                       int *switched, otter_err *err)
{
    otter_ddi_situation s = {
        .download = dep->download,
        .update = dep->update,
        .maintenance_available = dep->maintenance_available,
        .attempt = strcmp(d->conf->server_attempt, "skip") == 0 ? OTTER_DDI_SKIP : OTTER_DDI_FORCED,
        .spooled = d->rec.spooled[0] != '\0',
        .switched = strcmp(d->rec.action, dep->id) == 0,
    };
    daemon_ctl_want(d, dep, &want, &s);
    *step = otter_ddi_decide(&s);
    *switched = s.switched;
    if (want >= 0 && !s.switched) {
        /* A person at the device decides "attempt" and "skip"; a closed
         * maintenance window still holds the install back. */
        s.attempt = OTTER_DDI_FORCED;
        s.download = s.update = OTTER_DDI_FORCED;
        if (want == OTTER_DDI_STEP_DOWNLOAD)
            s.update = OTTER_DDI_SKIP;
        *step = otter_ddi_decide(&s);
        if (want == OTTER_DDI_STEP_DOWNLOAD && *step != OTTER_DDI_STEP_DOWNLOAD) {
            daemon_say(d, "action %s: %s", dep->id,
                       s.spooled ? "already downloaded" : "nothing to download");
            return 1;
        }
        if (want != OTTER_DDI_STEP_DOWNLOAD &&
            (*step == OTTER_DDI_STEP_DOWNLOAD || *step == OTTER_DDI_STEP_WAIT)) {
            return otter_err_set(err, OTTER_ESTATE,
                                 "the server's maintenance window is closed: download only "
                                 "(otter-agent download), install when it opens");
        }
    }
    return 0;
}

/*
 * Step 3: a deployment was offered. want: the step a person asked for
 * (OTTER_DDI_STEP_DOWNLOAD or _INSTALL_STREAM), or -1 for what the
 * server's modes and the policy decide.
 */
static int deploy(daemon_ctx *d, const char *deployment_url, int want, int reboot, otter_err *err)
{
    otter_ddi_deployment *dep = calloc(1, sizeof *dep);
    if (!dep)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = fetch_deployment(d, deployment_url, dep, err);
    if (ret)
        goto out;
    if (d->rec.spooled[0] && strcmp(d->rec.spooled, dep->id) != 0 &&
        (ret = forget_spool(d, err)) != 0) /* left by an action that is gone */
        goto out;
    if (strcmp(d->rec.refused, dep->id) == 0) {
        /* Refused already; offered again only because the server has not heard it yet. */
        daemon_say(d, "action %s: refused, the result waits to be sent", dep->id);
        goto out;
    }
    if (d->rec.action[0] && strcmp(d->rec.action, dep->id) != 0) {
        /* Another update is switched to and waits for its reboot: one at a time. */
        daemon_say(d, "action %s waits: action %s is installed and waits for the reboot", dep->id,
                   d->rec.action);
        goto out;
    }
    otter_ddi_pick pick;
    otter_err why;
    if (otter_ddi_pick_artifacts(dep, &pick, &why) != 0) {
        ret = daemon_feedback(d, dep->id, "closed", "failure", why.msg, err);
        goto out;
    }
    int step, switched;
    if ((ret = decide_step(d, dep, want, &step, &switched, err)) != 0) {
        ret = ret > 0 ? 0 : ret;
        goto out;
    }
    const char *waiting = !dep->maintenance_available ? "the maintenance window opens"
                                                      : "the server allows the update";
    int kind = 0;
    /* Both links before either is followed: the fallback may need the full one. */
    if (step == OTTER_DDI_STEP_DOWNLOAD || step == OTTER_DDI_STEP_INSTALL_STREAM ||
        (step == OTTER_DDI_STEP_INSTALL_SPOOL && pick.delta)) {
        if ((ret = refuse_link(d, dep->id, pick.full->download, &kind, err)) != 1)
            goto out;
        if (pick.delta && (ret = refuse_link(d, dep->id, pick.delta->download, &kind, err)) != 1)
            goto out;
    }
    ret = 0;
    switch (step) {
    case OTTER_DDI_STEP_DOWNLOAD:
        ret = download(d, dep, &pick, waiting, err);
        break;
    case OTTER_DDI_STEP_INSTALL_STREAM:
        ret = install(d, dep, &pick, 0, reboot, err);
        break;
    case OTTER_DDI_STEP_INSTALL_SPOOL:
        ret = install(d, dep, &pick, 1, reboot, err);
        break;
    default:
        if (!switched)
            daemon_say(d, "action %s: %s", dep->id, otter_ddi_step_name(step));
        break;
    }
out:
    if (dep->id[0])
        daemon_ctl_after(d, dep, ret, err);
    free(dep);
    return ret;
}

/* Opens the context and reads ddi.json; then report and poll (steps 1 and 2). */
static int begin(daemon_ctx *d, const char *conf_path, const otter_agent_conf *conf,
                 otter_broker *broker, otter_control *ctl, otter_ddi_base *base, otter_err *err)
{
    memset(d, 0, sizeof *d);
    d->ctl = ctl;
    d->conf_path = conf_path;
    d->conf = conf;
    d->broker = broker;
    d->verbose = 1;
    d->c = (otter_ddi_conn){.url = conf->server_url,
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
    char *body = NULL;
    size_t len = 0;
    int ret = otter_ddi_base_url(&d->c, d->base, sizeof d->base, err);
    if (!ret)
        ret = otter_daemon_record_load(conf, &d->rec, err);
    if (!ret)
        ret = daemon_report_result(d, err);
    if (!ret)
        ret = otter_ddi_get(&d->c, d->base, &body, &len, err);
    if (!ret)
        ret = otter_ddi_parse_base(body, len, base, err);
    if (!ret)
        daemon_fetch_roots(d); /* before any deployment: issue #13 */
    free(body);
    daemon_ctl_begin(d, ret, ret ? err->msg : NULL);
    /* Look for a cancel as often as the server wants polls, within 2 s .. 1 min. */
    d->cancel_every = ret || base->sleep_seconds < 2 ? 2
                      : base->sleep_seconds > 60     ? 60
                                                     : base->sleep_seconds;
    return ret;
}

int otter_daemon_cycle(const char *conf_path, const otter_agent_conf *conf, otter_broker *broker,
                       otter_control *ctl, long *sleep_seconds, otter_err *err)
{
    static int config_sent; /* once per daemon start, i.e. per boot */
    daemon_ctx d;
    otter_ddi_base base;
    *sleep_seconds = -1;
    int ret = begin(&d, conf_path, conf, broker, ctl, &base, err);
    if (ret)
        return ret;
    if (!base.deployment[0] && !base.confirmation[0])
        daemon_ctl_nothing(&d);
    *sleep_seconds = base.sleep_seconds;
    otter_err cerr;
    if (daemon_send_config(&d, base.config_data, &config_sent, &cerr) != 0)
        fprintf(stderr, "otter-agentd: configData: %s (sent again next time)\n", cerr.msg);
    if (base.cancel[0])
        ret = daemon_answer_cancel(&d, base.cancel, err);
    if (!ret && base.deployment[0])
        ret = deploy(&d, base.deployment, -1, 1, err);
    else if (!ret && !base.cancel[0] && (d.rec.spooled[0] || d.rec.retry[0])) {
        /* The action is gone (canceled before we saw it, or closed): so are its leftovers. */
        d.rec.retry[0] = '\0';
        d.rec.retries = 0;
        ret =
            d.rec.spooled[0] ? forget_spool(&d, err) : otter_daemon_record_save(conf, &d.rec, err);
    }
    if (!ret && !base.deployment[0] && base.confirmation[0])
        ret = daemon_ctl_consent(&d, base.confirmation, err);
    return ret;
}

int otter_daemon_ask(const char *conf_path, const otter_agent_conf *conf, otter_broker *broker,
                     int what, int no_reboot, int *offered, otter_err *err)
{
    daemon_ctx d;
    otter_ddi_base base;
    *offered = 0;
    int ret = begin(&d, conf_path, conf, broker, NULL, &base, err);
    d.show_progress = 1;
    if (!ret && base.cancel[0])
        ret = daemon_answer_cancel(&d, base.cancel, err);
    if (ret || !base.deployment[0])
        return ret;
    *offered = 1;
    ret = deploy(&d, base.deployment,
                 what == OTTER_DAEMON_ASK_DOWNLOAD ? OTTER_DDI_STEP_DOWNLOAD
                                                   : OTTER_DDI_STEP_INSTALL_STREAM,
                 !no_reboot, err);
    if (!ret && d.failed_rc)
        ret = otter_err_set(err, d.failed_rc == 1 ? OTTER_EFORMAT : OTTER_EIO, "%s", d.failed_why);
    return ret;
}
