/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the daemon's files only: otter_daemon.c (the cycle: poll,
 * deploy, install through the broker) and otter_daemon_report.c (what the
 * device tells the server: feedback, configData, cancel answers).
 */
#ifndef OTTER_DAEMON_INTERNAL_H
#define OTTER_DAEMON_INTERNAL_H

#include "otter_broker.h"
#include "otter_control.h"
#include "otter_daemon.h"
#include "otter_daemon_status.h"
#include "otter_ddi.h"
#include "otter_ddi_http.h"
#include "otter_ddi_policy.h"

typedef struct daemon_ctx {
    const char *conf_path;
    const otter_agent_conf *conf;
    otter_broker *broker;   /* does what needs root: installs, spool, reboot, status */
    otter_daemon_status st; /* the device, read once per cycle (device_status) */
    int have_st;
    otter_ddi_conn c;
    char base[OTTER_DDI_MAX_URL];
    otter_daemon_record rec;
    long cancel_every; /* seconds between cancel checks while a child runs */
    int verbose;
    int show_progress; /* a person is watching: progress lines on stderr */
    int failed_rc;     /* the child's exit status when it failed or was stopped */
    char failed_why[512];
    int failed_user;         /* the failure was a user's cancel: the offer stays */
    otter_control *ctl;      /* the control API, NULL without [control] socket */
    otter_control_todo todo; /* what users asked, taken at the start of the cycle */
    int hold_reboot;         /* the user's Start said "no reboot": installed, not rebooted */
} daemon_ctx;

/* One log line on stderr (the journal, or the person at the device), when verbose. */
__attribute__((format(printf, 2, 3))) void daemon_say(const daemon_ctx *d, const char *fmt, ...);

int daemon_feedback_to(const daemon_ctx *d, const char *kind, const char *action,
                       const char *execution, const char *finished, unsigned cnt, unsigned of,
                       const char *detail, long *status, otter_err *err);
int daemon_feedback(const daemon_ctx *d, const char *action, const char *execution,
                    const char *finished, const char *detail, otter_err *err);
int daemon_result_done(long status);
int daemon_report_refusal(daemon_ctx *d, otter_err *err);
int daemon_device_status(daemon_ctx *d, otter_err *err);
int daemon_report_result(daemon_ctx *d, otter_err *err);
int daemon_send_config(daemon_ctx *d, const char *link, int *sent_once, otter_err *err);
int daemon_cancel_target(const daemon_ctx *d, const char *link, otter_ddi_cancel *c,
                         otter_err *err);
int daemon_answer_cancel(daemon_ctx *d, const char *link, otter_err *err);

/* otter_daemon_control.c: the control API's side of the cycle (no-ops when d->ctl is NULL). */
void daemon_ctl_begin(daemon_ctx *d, int poll_ret, const char *poll_error);
void daemon_ctl_offer(daemon_ctx *d, const char *body, size_t len);
void daemon_ctl_nothing(daemon_ctx *d);
void daemon_ctl_progress(daemon_ctx *d, int download_only, int percent);
int daemon_ctl_cancel_asked(daemon_ctx *d, const char *action);
int daemon_ctl_want(daemon_ctx *d, const otter_ddi_deployment *dep, int *want,
                    otter_ddi_situation *s);
void daemon_ctl_after(daemon_ctx *d, const otter_ddi_deployment *dep, int ret,
                      const otter_err *err);
void daemon_ctl_waiting(daemon_ctx *d, const otter_ddi_deployment *dep);
int daemon_ctl_consent(daemon_ctx *d, const char *link, otter_err *err);

#endif
