/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's side of the control API (otter_control.h): what the cycle
 * publishes (offer, phase, progress) and what it takes from users (check,
 * download, start, postpone, cancel) between its own steps. Every call is
 * a no-op without [control] socket (d->ctl NULL): an unattended device
 * behaves as before.
 */
#include "otter_daemon_internal.h"
#include "otter_daemon_upload.h"
#include "otter_control.h"
#include "otter_control_offer.h"
#include "otter_control_pre.h"
#include "otter_control_verify.h"
#include "otter_ddi_policy.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The action whose download a user canceled: not downloaded again until asked (in memory). */
static char held[OTTER_DDI_MAX_NAME + 1];

void daemon_ctl_begin(daemon_ctx *d, int poll_ret, const char *poll_error)
{
    if (!d->ctl)
        return;
    otter_control_take(d->ctl, &d->todo);
    otter_control_set_checked(d->ctl, poll_ret ? poll_error : NULL);
    if (d->todo.verify) {
        char failure[24], message[OTTER_CONTROL_MAX_TEXT];
        otter_control_verify(d->conf, &d->c, failure, sizeof failure, message, sizeof message);
        otter_control_set_verified(d->ctl, failure, message);
    }
}

void daemon_ctl_offer(daemon_ctx *d, const char *body, size_t len)
{
    if (!d->ctl)
        return;
    otter_control_offer o = {0};
    otter_err err;
    if (otter_control_offer_parse(body, len, "deployment", &o, &err) != 0)
        daemon_say(d, "the offer's details: %s", err.msg);
    else
        otter_control_set_offer(d->ctl, &o);
    otter_control_offer_clear(&o);
}

void daemon_ctl_nothing(daemon_ctx *d)
{
    if (!d->ctl)
        return;
    otter_control_set_offer(d->ctl, NULL);
    int reboot = d->rec.action[0] || otter_daemon_upload_switched();
    otter_control_set_phase(d->ctl, reboot ? OTTER_CONTROL_REBOOT : OTTER_CONTROL_IDLE, -1, NULL);
}

void daemon_ctl_progress(daemon_ctx *d, int download_only, int percent)
{
    if (d->ctl)
        otter_control_set_phase(
            d->ctl, download_only ? OTTER_CONTROL_DOWNLOADING : OTTER_CONTROL_INSTALLING, percent,
            NULL);
}

int daemon_ctl_cancel_asked(daemon_ctx *d, const char *action)
{
    if (!d->ctl || !otter_control_cancel_asked(d->ctl))
        return 0;
    snprintf(held, sizeof held, "%s", action);
    daemon_say(d, "action %s: the user canceled the download", action);
    return 1;
}

/* A user's choice as deploymentBase feedback: proceeding, one details entry otter.user=... */
static void tell(daemon_ctx *d, const char *action, const char *what)
{
    otter_err err;
    if (daemon_feedback(d, action, "proceeding", "none", what, &err) != 0)
        daemon_say(d, "action %s: %s not sent: %s", action, what, err.msg);
}

/* Start: the preconditions once more, the health command included; 1 when they hold. */
static int start_allowed(daemon_ctx *d, const otter_ddi_deployment *dep)
{
    otter_control_state st = {0};
    otter_control_get(d->ctl, &st);
    uint64_t size = st.have_offer ? st.offer.size : 0;
    otter_control_offer_clear(&st.offer);
    int what = OTTER_CONTROL_PRE_START | OTTER_CONTROL_PRE_HEALTH;
    size_t n = otter_control_pre_check(d->conf, size, what, &st);
    otter_control_set_blockers(d->ctl, &st);
    if (n)
        daemon_say(d, "action %s: start refused: %s", dep->id, st.blocker_why[0]);
    if (n)
        otter_control_set_refused(d->ctl, st.blocker_why[0]);
    return n == 0;
}

int daemon_ctl_want(daemon_ctx *d, const otter_ddi_deployment *dep, int *want,
                    otter_ddi_situation *s)
{
    if (!d->ctl)
        return 0;
    /* "attempt" is the user's to decide on a device with a UI. */
    s->attempt = OTTER_DDI_SKIP;
    if (otter_daemon_upload_switched()) { /* an uploaded update waits for its reboot */
        s->download = s->update = OTTER_DDI_SKIP;
        *want = -1;
        return 0;
    }
    const otter_control_todo *t = &d->todo;
    int mine = strcmp(t->action, dep->id) == 0;
    if (strcmp(held, dep->id) == 0)
        s->download = OTTER_DDI_SKIP;
    if (mine && t->postpone) {
        char until[64], detail[96];
        time_t u = time(NULL) + t->postpone;
        struct tm tm;
        gmtime_r(&u, &tm);
        strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(detail, sizeof detail, "otter.user=postponed;until=%s", until);
        tell(d, dep->id, detail);
    }
    if (mine && t->start && *want < 0 && start_allowed(d, dep)) {
        held[0] = '\0';
        d->hold_reboot = t->no_reboot;
        tell(d, dep->id, "otter.user=started");
        *want = OTTER_DDI_STEP_INSTALL_STREAM;
    } else if (mine && t->download && *want < 0) {
        held[0] = '\0';
        *want = OTTER_DDI_STEP_DOWNLOAD;
    }
    return 0;
}

void daemon_ctl_after(daemon_ctx *d, const otter_ddi_deployment *dep, int ret, const otter_err *err)
{
    if (!d->ctl)
        return;
    /* A user's request that ended in an error before any child ran (a closed window). */
    if (ret && (d->todo.start || d->todo.download))
        otter_control_set_refused(d->ctl, err->msg);
    if (strcmp(d->rec.action, dep->id) == 0 || otter_daemon_upload_switched())
        otter_control_set_phase(d->ctl, OTTER_CONTROL_REBOOT, -1, NULL);
    else if (d->failed_rc && !d->failed_user)
        otter_control_set_phase(d->ctl, OTTER_CONTROL_FAILED, -1, d->failed_why);
    else if (strcmp(d->rec.spooled, dep->id) == 0)
        otter_control_set_phase(d->ctl, OTTER_CONTROL_READY, -1, NULL);
    else if (strcmp(d->rec.refused, dep->id) == 0)
        otter_control_set_phase(d->ctl, OTTER_CONTROL_FAILED, -1, d->rec.refusal);
    else /* a network error: still offered; check_error says what failed */
        otter_control_set_phase(d->ctl, OTTER_CONTROL_AVAILABLE, -1, NULL);
}

/* Downloaded into the spool and waiting for the user's Start: the server hears it once. */
void daemon_ctl_waiting(daemon_ctx *d, const otter_ddi_deployment *dep)
{
    if (d->ctl && dep->update != OTTER_DDI_FORCED)
        tell(d, dep->id, "otter.user=waiting");
}

/* Sends the user's answer to the confirmation link; 0, or the error of sending it. */
static int answer_consent(daemon_ctx *d, const char *link, int yes, otter_err *err)
{
    char url[OTTER_DDI_MAX_URL + 16];
    snprintf(url, sizeof url, "%s/feedback", link);
    char *body =
        otter_control_confirmation_new(yes, yes ? "otter.user=confirmed" : "otter.user=declined");
    long status = 0;
    int ret = body ? otter_ddi_send(&d->c, "POST", url, body, &status, err)
                   : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    free(body);
    if (!ret && (status < 200 || status > 299))
        ret = otter_err_set(err, OTTER_EIO, "%s: HTTP %ld", url, status);
    return ret;
}

int daemon_ctl_consent(daemon_ctx *d, const char *link, otter_err *err)
{
    if (!d->ctl) {
        daemon_say(d, "an update waits for a user's consent; this device has no [control] socket");
        return 0;
    }
    char *body = NULL;
    size_t len = 0;
    otter_control_offer o = {0};
    int ret = otter_ddi_get(&d->c, link, &body, &len, err);
    if (!ret)
        ret = otter_control_offer_parse(body, len, "confirmation", &o, err);
    free(body);
    if (ret)
        return ret;
    otter_control_set_offer(d->ctl, &o);
    const otter_control_todo *t = &d->todo;
    int answer =
        otter_control_consent_answer(t->action, t->download, t->start, t->decline, o.action);
    if (answer)
        ret = answer_consent(d, link, answer > 0, err);
    if (!ret && answer < 0)
        otter_control_set_offer(d->ctl, NULL);
    if (!ret && answer)
        daemon_say(d, "action %s: the user %s", o.action, answer > 0 ? "agreed" : "declined");
    otter_control_set_phase(
        d->ctl, answer < 0 && !ret ? OTTER_CONTROL_IDLE : OTTER_CONTROL_AVAILABLE, -1, NULL);
    otter_control_offer_clear(&o);
    return ret;
}
