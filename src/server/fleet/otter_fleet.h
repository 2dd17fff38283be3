/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet's domain rules in one place (docs/architecture.md, "Fleet
 * domain layer"): the lifecycles of a deployment action, of a release's
 * approval in its tenant and of a staged rollout, each a state machine
 * over an enum with named events; the one mapping between those enums
 * and the words the store keeps (and the APIs show); and the automatic
 * rollout rule (pause on failures, advance, finish) as a verdict over
 * counts. No HTTP and no store calls: the DDI handler, the management
 * API and the rollout module ask here what an event does, then write
 * the words this module hands them.
 *
 * An event a state does not take is refused with OTTER_ESTATE and a
 * message naming the object and its state; callers map that to the
 * status they answer (409 in the management API, 410 in DDI feedback).
 */
#ifndef OTTER_FLEET_H
#define OTTER_FLEET_H

#include "otter_err.h"
#include "otter_rollout.h"
#include "otter_store.h"

/* ---- actions ---- */

typedef enum otter_action_state {
    OTTER_ACTION_SCHEDULED, /* offered, the device has not started it */
    OTTER_ACTION_RUNNING,   /* the device read its deployment or reported on it */
    OTTER_ACTION_CANCELING, /* the device is being told to stop */
    OTTER_ACTION_FINISHED,  /* closed; result success */
    OTTER_ACTION_ERROR,     /* closed; result failure */
    OTTER_ACTION_CANCELED,  /* closed without an install */
    OTTER_ACTION_UNKNOWN    /* a stored word this build does not know: takes no event */
} otter_action_state;

typedef enum otter_action_result {
    OTTER_RESULT_NONE,
    OTTER_RESULT_SUCCESS,
    OTTER_RESULT_FAILURE
} otter_action_result;

typedef enum otter_action_event {
    OTTER_ACTION_EV_DEPLOYMENT_READ,   /* DDI deploymentBase fetched */
    OTTER_ACTION_EV_FEEDBACK_PROGRESS, /* deployment feedback that does not close it */
    OTTER_ACTION_EV_FEEDBACK_SUCCESS,  /* closed with success (or without a result) */
    OTTER_ACTION_EV_FEEDBACK_FAILURE,  /* closed with failure */
    OTTER_ACTION_EV_FEEDBACK_CANCELED, /* the device canceled it on its own */
    OTTER_ACTION_EV_CANCEL,            /* an operator cancels it */
    OTTER_ACTION_EV_CANCEL_PROGRESS,   /* cancelAction feedback that decides nothing yet */
    OTTER_ACTION_EV_CANCEL_CONFIRMED,  /* the device stopped */
    OTTER_ACTION_EV_CANCEL_REJECTED,   /* the device refused to stop: it runs on */
    OTTER_ACTION_EV_CANCEL_FAILED,     /* the device could not stop: error */
    OTTER_ACTION_EVENTS
} otter_action_event;

/* The stored word of s ("scheduled", ...); of result r ("none", ...). Static strings. */
const char *otter_action_state_word(otter_action_state s);
const char *otter_action_result_word(otter_action_result r);
/* The state a stored word names; OTTER_ACTION_UNKNOWN for any other word. */
otter_action_state otter_action_state_parse(const char *word);
/* a's state (its status word parsed). */
otter_action_state otter_action_state_of(const otter_action *a);

/*
 * The transition table: *to is the state ev leads to from from. Returns 0,
 * or OTTER_ESTATE when from does not take ev (err says so, naming nothing:
 * otter_action_step names the action).
 */
int otter_action_next(otter_action_state from, otter_action_event ev, otter_action_state *to,
                      otter_err *err);
/* The result an action has after ev: success, failure, or none. */
otter_action_result otter_action_event_result(otter_action_event ev);

/*
 * Applies ev to action a: *to and *result are what to store. a is not
 * changed. OTTER_ESTATE with "action N is STATE: ..." when refused.
 * *moved = 1 when status or result differ from a's.
 */
int otter_action_step(const otter_action *a, otter_action_event ev, otter_action_state *to,
                      otter_action_result *result, int *moved, otter_err *err);

/*
 * The event a DDI feedback message is (hawkBit's rules): on
 * deploymentBase, "closed" closes with its result (none counts as
 * success) and "canceled" cancels, anything else is progress; on
 * cancelAction, "rejected" refuses the cancel, "closed" with failure
 * fails, "closed" or "canceled" confirm, anything else is progress.
 */
otter_action_event otter_action_feedback_event(int cancel, const char *execution,
                                               const char *finished);

/*
 * DDI feedback's vocabulary (hawkBit's): status.execution is closed,
 * proceeding, canceled, scheduled, rejected, resumed, downloaded or
 * download; status.result.finished is a result word (success, failure,
 * none).
 */
int otter_action_execution_known(const char *word);
int otter_action_finished_known(const char *word);

/* Open: scheduled, running or canceling (the device still has work). */
int otter_action_is_open(otter_action_state s);
/* Started by the device: neither scheduled nor canceled before it began. */
int otter_action_is_started(otter_action_state s);
/* Being or been canceled. */
int otter_action_is_canceled(otter_action_state s);

/* Where an action counts in its rollout's stage tally. */
typedef enum otter_action_tally {
    OTTER_TALLY_WAITING,   /* scheduled in a stage not reached yet */
    OTTER_TALLY_SCHEDULED, /* offered, not started */
    OTTER_TALLY_RUNNING,
    OTTER_TALLY_SUCCESS,
    OTTER_TALLY_FAILURE,
    OTTER_TALLY_CANCELED
} otter_action_tally;

/* The tally slot of stored (status, result) words; reached: its stage is open. */
otter_action_tally otter_action_tally_of(const char *status, const char *result, int reached);

/* ---- approvals ---- */

typedef enum otter_approval_state {
    OTTER_APPROVAL_PENDING, /* no decision yet (no row in the store) */
    OTTER_APPROVAL_APPROVED,
    OTTER_APPROVAL_REJECTED,
    OTTER_APPROVAL_REVOKED,
    OTTER_APPROVAL_UNKNOWN
} otter_approval_state;

typedef enum otter_approval_event {
    OTTER_APPROVAL_EV_APPROVE,
    OTTER_APPROVAL_EV_REJECT,
    OTTER_APPROVAL_EV_REVOKE,
    OTTER_APPROVAL_EVENTS
} otter_approval_event;

const char *otter_approval_state_word(otter_approval_state s);
otter_approval_state otter_approval_state_parse(const char *word);
otter_approval_state otter_approval_state_of(const otter_approval *a);
/* The verb of ev ("approve", ...), for audit entries. */
const char *otter_approval_event_verb(otter_approval_event ev);

int otter_approval_next(otter_approval_state from, otter_approval_event ev,
                        otter_approval_state *to, otter_err *err);

/*
 * Decides ev on release release_id's approval a: on success a->state
 * holds the new word. OTTER_ESTATE ("release N is already approved",
 * "release N is pending: only an approval can be revoked") when refused.
 */
int otter_approval_decide(int64_t release_id, otter_approval *a, otter_approval_event ev,
                          otter_err *err);

/* A release rolls out (rollouts, deployments, DDI offers) only while approved. */
int otter_approval_allows_rollout(otter_approval_state s);

/* ---- rollouts ---- */

typedef enum otter_rollout_state {
    OTTER_ROLLOUT_DRAFT,
    OTTER_ROLLOUT_RUNNING,
    OTTER_ROLLOUT_PAUSED,
    OTTER_ROLLOUT_FINISHED,
    OTTER_ROLLOUT_CANCELED,
    OTTER_ROLLOUT_UNKNOWN
} otter_rollout_state;

typedef enum otter_rollout_event {
    /* an operator's */
    OTTER_ROLLOUT_EV_START,
    OTTER_ROLLOUT_EV_PAUSE,
    OTTER_ROLLOUT_EV_RESUME,
    OTTER_ROLLOUT_EV_ADVANCE, /* opens the next stage; state unchanged */
    OTTER_ROLLOUT_EV_CANCEL,
    /* the automatic rules' and the approval's */
    OTTER_ROLLOUT_EV_FAILURES,         /* a stage reached its failure threshold: pause */
    OTTER_ROLLOUT_EV_STAGE_PASSED,     /* the current stage passed: open the next */
    OTTER_ROLLOUT_EV_COMPLETE,         /* last stage current, no action open: finish */
    OTTER_ROLLOUT_EV_APPROVAL_REVOKED, /* its release lost its approval: pause */
    OTTER_ROLLOUT_EVENTS
} otter_rollout_event;

const char *otter_rollout_state_word(otter_rollout_state s);
otter_rollout_state otter_rollout_state_parse(const char *word);
otter_rollout_state otter_rollout_state_of(const otter_rollout *r);
/* The verb of ev ("start", "pause", ...), for messages and audit entries. */
const char *otter_rollout_event_verb(otter_rollout_event ev);

int otter_rollout_next(otter_rollout_state from, otter_rollout_event ev, otter_rollout_state *to,
                       otter_err *err);

/*
 * Applies ev to r: its state word, its stage (advance, stage passed: the
 * next stage; refused at the last one) and its pause reason (set to
 * reason by the pausing events, cleared by resume). OTTER_ESTATE ("rollout
 * N is STATE: cannot VERB it", "rollout N is at its last stage (STATE)")
 * when refused; r is unchanged then.
 */
int otter_rollout_apply(otter_rollout *r, otter_rollout_event ev, const char *reason,
                        otter_err *err);

/*
 * The automatic rules' verdict on running rollout r with counts st
 * (otter_rollout.h): OTTER_ROLLOUT_EV_FAILURES (reason says which stage),
 * OTTER_ROLLOUT_EV_STAGE_PASSED or OTTER_ROLLOUT_EV_COMPLETE, with 1
 * returned; 0 when nothing is due.
 */
#define OTTER_FLEET_REASON_MAX 128
int otter_rollout_judge(const otter_rollout *r, const otter_rollout_stats *st,
                        otter_rollout_event *ev, char reason[OTTER_FLEET_REASON_MAX]);

/*
 * The operator's consent mode (docs/rollouts.md "Consent"): "auto" (or
 * NULL), "download_then_ask" or "ask", checked and applied to an action's
 * or rollout's DDI modes. download_then_ask is hawkBit's soft action:
 * download forced, update attempt; it refuses other modes given with it
 * (modes_given: the request named download or update). OTTER_EFORMAT with
 * a message naming the field otherwise.
 */
int otter_fleet_consent(const char *consent, int modes_given, char consent_out[24],
                        char download[16], char update[16], otter_err *err);

#endif
