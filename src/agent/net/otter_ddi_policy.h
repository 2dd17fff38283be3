/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What otter-agentd does with an offered deployment, as pure functions of
 * what the server said and what the device has done so far. Kept apart
 * from the network and process code so every combination of DDI's
 * download/update modes (skip, attempt, forced), maintenance window and
 * cancel requests is a unit test.
 *
 * The rules (docs/agent.md, "What the daemon does with a deployment"):
 *   - "attempt" means what [server] attempt says (forced: go ahead; skip:
 *     wait, e.g. for a person running `otter-agent install --from-server`);
 *   - download skip: nothing is downloaded;
 *   - update skip or maintenance window unavailable: the package is
 *     downloaded and verified into the spool now, installed when allowed;
 *   - otherwise download and install in one streaming pass (no copy);
 *   - a cancel is confirmed while the slot switch has not happened, and
 *     rejected once it has;
 *   - between cycles the daemon sleeps the server's polling interval +-10 %
 *     after a good cycle, and backs off 10 s, 20 s, ... at most 600 s after
 *     errors in a row (otter_ddi_next_sleep).
 */
#ifndef OTTER_DDI_POLICY_H
#define OTTER_DDI_POLICY_H

typedef struct otter_ddi_situation {
    int download;              /* enum otter_ddi_mode, as the server sent it */
    int update;                /* enum otter_ddi_mode */
    int maintenance_available; /* 0 when maintenanceWindow is "unavailable" */
    int attempt;               /* what "attempt" means here: OTTER_DDI_FORCED or OTTER_DDI_SKIP */
    int spooled;               /* this action's package is verified in the spool */
    int switched;              /* this action was installed and switched to (awaiting reboot) */
} otter_ddi_situation;

enum otter_ddi_step {
    OTTER_DDI_STEP_NONE = 0,       /* nothing to do (switched already, or download skipped) */
    OTTER_DDI_STEP_DOWNLOAD,       /* download and verify into the spool; install later */
    OTTER_DDI_STEP_WAIT,           /* spooled; waiting for update/maintenance to allow it */
    OTTER_DDI_STEP_INSTALL_STREAM, /* download and install in one pass */
    OTTER_DDI_STEP_INSTALL_SPOOL,  /* install the spooled package */
};

/* The next step for the offered deployment described by s. */
int otter_ddi_decide(const otter_ddi_situation *s);

enum otter_ddi_cancel_answer {
    OTTER_DDI_CANCEL_CONFIRM = 0, /* feedback closed/success: stopped (or never started) */
    OTTER_DDI_CANCEL_REJECT,      /* feedback rejected: the slot switch already happened */
};

/*
 * The answer to a cancelAction for stop_id, given the action this device
 * switched to and awaits a reboot verdict for ("" when none).
 */
int otter_ddi_decide_cancel(const char *stop_id, const char *switched_action);

#define OTTER_DDI_POLL_DEFAULT 300 /* s: when the server named no interval */
#define OTTER_DDI_POLL_MAX 359999  /* s: 99:59:59, the most polling.sleep can say */
#define OTTER_DDI_BACKOFF_MIN 10   /* s: the first wait after an error */
#define OTTER_DDI_BACKOFF_MAX 600  /* s: the longest */

/* The daemon's pacing between cycles; zero-initialised it is at the start. */
typedef struct otter_ddi_pacing {
    long backoff; /* the wait after the next error; 0: OTTER_DDI_BACKOFF_MIN */
} otter_ddi_pacing;

/*
 * Seconds to sleep after a cycle, and p updated for the next one. ok: the
 * cycle succeeded; interval: the server's polling.sleep in seconds (<= 0:
 * OTTER_DDI_POLL_DEFAULT; above OTTER_DDI_POLL_MAX: that); rnd: any random
 * number, it picks the jitter.
 *   ok:  interval +- interval / 10 (whole seconds, so none below 10 s),
 *        uniform over that range, and the back-off starts over;
 *   !ok: the back-off (OTTER_DDI_BACKOFF_MIN, doubled after each error in
 *        a row, at most OTTER_DDI_BACKOFF_MAX), +- a tenth of it likewise.
 * The jitter spreads a fleet that rebooted or lost the server together;
 * the back-off spares a server that is down or overloaded.
 */
long otter_ddi_next_sleep(otter_ddi_pacing *p, int ok, long interval, unsigned long rnd);

/* A short human phrase for a step ("downloading now, installing later"). */
const char *otter_ddi_step_name(int step);

#endif
