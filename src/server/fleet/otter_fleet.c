/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_fleet.h"

#include <stdio.h>
#include <string.h>

#define NONE (-1) /* a table cell for an event the state does not take */

/* The one place the stored words are written down. */
static const char *const action_words[] = {
    [OTTER_ACTION_SCHEDULED] = "scheduled", [OTTER_ACTION_RUNNING] = "running",
    [OTTER_ACTION_CANCELING] = "canceling", [OTTER_ACTION_FINISHED] = "finished",
    [OTTER_ACTION_ERROR] = "error",         [OTTER_ACTION_CANCELED] = "canceled",
    [OTTER_ACTION_UNKNOWN] = "unknown"};
static const char *const result_words[] = {[OTTER_RESULT_NONE] = "none",
                                           [OTTER_RESULT_SUCCESS] = "success",
                                           [OTTER_RESULT_FAILURE] = "failure"};
static const char *const approval_words[] = {[OTTER_APPROVAL_PENDING] = "pending",
                                             [OTTER_APPROVAL_APPROVED] = "approved",
                                             [OTTER_APPROVAL_REJECTED] = "rejected",
                                             [OTTER_APPROVAL_REVOKED] = "revoked",
                                             [OTTER_APPROVAL_UNKNOWN] = "unknown"};
static const char *const rollout_words[] = {
    [OTTER_ROLLOUT_DRAFT] = "draft",       [OTTER_ROLLOUT_RUNNING] = "running",
    [OTTER_ROLLOUT_PAUSED] = "paused",     [OTTER_ROLLOUT_FINISHED] = "finished",
    [OTTER_ROLLOUT_CANCELED] = "canceled", [OTTER_ROLLOUT_UNKNOWN] = "unknown"};

static int word_index(const char *const *words, int n, const char *word, int unknown)
{
    for (int i = 0; word && i < n; i++)
        if (i != unknown && strcmp(words[i], word) == 0)
            return i;
    return unknown;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* ---- actions ---- */

#define S OTTER_ACTION_SCHEDULED
#define R OTTER_ACTION_RUNNING
#define CI OTTER_ACTION_CANCELING
#define F OTTER_ACTION_FINISHED
#define E OTTER_ACTION_ERROR
#define CD OTTER_ACTION_CANCELED

/* next[event][from]; columns: scheduled, running, canceling, finished, error, canceled. */
static const int action_next[OTTER_ACTION_EVENTS][OTTER_ACTION_UNKNOWN] = {
    /* hawkBit: deploymentBase of any action not being canceled; the first read starts it. */
    [OTTER_ACTION_EV_DEPLOYMENT_READ] = {R, R, NONE, F, E, NONE},
    [OTTER_ACTION_EV_FEEDBACK_PROGRESS] = {R, R, CI, NONE, NONE, NONE},
    [OTTER_ACTION_EV_FEEDBACK_SUCCESS] = {F, F, F, NONE, NONE, NONE},
    [OTTER_ACTION_EV_FEEDBACK_FAILURE] = {E, E, E, NONE, NONE, NONE},
    [OTTER_ACTION_EV_FEEDBACK_CANCELED] = {CD, CD, CD, NONE, NONE, NONE},
    /* Not seen by the device yet: canceled at once; running: the device is told to stop. */
    [OTTER_ACTION_EV_CANCEL] = {CD, CI, NONE, NONE, NONE, NONE},
    [OTTER_ACTION_EV_CANCEL_PROGRESS] = {NONE, NONE, CI, NONE, NONE, NONE},
    [OTTER_ACTION_EV_CANCEL_CONFIRMED] = {NONE, NONE, CD, NONE, NONE, NONE},
    [OTTER_ACTION_EV_CANCEL_REJECTED] = {NONE, NONE, R, NONE, NONE, NONE},
    [OTTER_ACTION_EV_CANCEL_FAILED] = {NONE, NONE, E, NONE, NONE, NONE},
};

#undef S
#undef R
#undef CI
#undef F
#undef E
#undef CD

const char *otter_action_state_word(otter_action_state s)
{
    return (int)s >= 0 && (int)s < COUNT(action_words) ? action_words[s] : "unknown";
}

const char *otter_action_result_word(otter_action_result r)
{
    return (int)r >= 0 && (int)r < COUNT(result_words) ? result_words[r] : "none";
}

otter_action_state otter_action_state_parse(const char *word)
{
    return (otter_action_state)word_index(action_words, COUNT(action_words), word,
                                          OTTER_ACTION_UNKNOWN);
}

otter_action_state otter_action_state_of(const otter_action *a)
{
    return otter_action_state_parse(a->status);
}

int otter_action_next(otter_action_state from, otter_action_event ev, otter_action_state *to,
                      otter_err *err)
{
    int next =
        (int)ev >= 0 && ev < OTTER_ACTION_EVENTS && (int)from >= 0 && from < OTTER_ACTION_UNKNOWN
            ? action_next[ev][from]
            : NONE;
    if (next == NONE)
        return otter_err_set(err, OTTER_ESTATE, "%s", otter_action_state_word(from));
    *to = (otter_action_state)next;
    return 0;
}

otter_action_result otter_action_event_result(otter_action_event ev)
{
    switch (ev) {
    case OTTER_ACTION_EV_FEEDBACK_SUCCESS:
        return OTTER_RESULT_SUCCESS;
    case OTTER_ACTION_EV_FEEDBACK_FAILURE:
    case OTTER_ACTION_EV_CANCEL_FAILED:
        return OTTER_RESULT_FAILURE;
    default:
        return OTTER_RESULT_NONE;
    }
}

int otter_action_step(const otter_action *a, otter_action_event ev, otter_action_state *to,
                      otter_action_result *result, int *moved, otter_err *err)
{
    otter_action_state from = otter_action_state_of(a);
    long long id = (long long)a->id;
    if (otter_action_next(from, ev, to, err) < 0) {
        if (ev == OTTER_ACTION_EV_CANCEL)
            return otter_err_set(err, OTTER_ESTATE, "action %lld is %s and cannot be canceled", id,
                                 a->status);
        if (ev >= OTTER_ACTION_EV_CANCEL_PROGRESS && otter_action_is_open(from))
            return otter_err_set(err, OTTER_ESTATE, "action %lld is not being canceled", id);
        if (from == OTTER_ACTION_CANCELING)
            return otter_err_set(err, OTTER_ESTATE, "action %lld is being canceled", id);
        return otter_err_set(err, OTTER_ESTATE, "action %lld is %s", id, a->status);
    }
    /* A read of a closed action's deployment keeps its result; every other move sets it. */
    *result = ev == OTTER_ACTION_EV_DEPLOYMENT_READ && !otter_action_is_open(from)
                  ? (otter_action_result)word_index(result_words, COUNT(result_words), a->result,
                                                    OTTER_RESULT_NONE)
                  : otter_action_event_result(ev);
    *moved = strcmp(otter_action_state_word(*to), a->status) != 0 ||
             strcmp(otter_action_result_word(*result), a->result) != 0;
    return 0;
}

static const char *const executions[] = {"closed",   "proceeding", "canceled",   "scheduled",
                                         "rejected", "resumed",    "downloaded", "download"};

int otter_action_execution_known(const char *word)
{
    return word_index(executions, COUNT(executions), word, -1) >= 0;
}

int otter_action_finished_known(const char *word)
{
    return word_index(result_words, COUNT(result_words), word, -1) >= 0;
}

otter_action_event otter_action_feedback_event(int cancel, const char *execution,
                                               const char *finished)
{
    int closed = strcmp(execution, "closed") == 0, failed = strcmp(finished, "failure") == 0;
    int canceled = strcmp(execution, "canceled") == 0;
    if (!cancel)
        return closed
                   ? (failed ? OTTER_ACTION_EV_FEEDBACK_FAILURE : OTTER_ACTION_EV_FEEDBACK_SUCCESS)
               : canceled ? OTTER_ACTION_EV_FEEDBACK_CANCELED
                          : OTTER_ACTION_EV_FEEDBACK_PROGRESS;
    if (strcmp(execution, "rejected") == 0)
        return OTTER_ACTION_EV_CANCEL_REJECTED;
    if (closed && failed)
        return OTTER_ACTION_EV_CANCEL_FAILED;
    return closed || canceled ? OTTER_ACTION_EV_CANCEL_CONFIRMED : OTTER_ACTION_EV_CANCEL_PROGRESS;
}

int otter_action_is_open(otter_action_state s)
{
    return s == OTTER_ACTION_SCHEDULED || s == OTTER_ACTION_RUNNING || s == OTTER_ACTION_CANCELING;
}

int otter_action_is_started(otter_action_state s)
{
    return s != OTTER_ACTION_SCHEDULED && s != OTTER_ACTION_CANCELED;
}

int otter_action_is_canceled(otter_action_state s)
{
    return s == OTTER_ACTION_CANCELING || s == OTTER_ACTION_CANCELED;
}

otter_action_tally otter_action_tally_of(const char *status, const char *result, int reached)
{
    switch (otter_action_state_parse(status)) {
    case OTTER_ACTION_SCHEDULED:
        return reached ? OTTER_TALLY_SCHEDULED : OTTER_TALLY_WAITING;
    case OTTER_ACTION_RUNNING:
    case OTTER_ACTION_CANCELING:
        return OTTER_TALLY_RUNNING;
    case OTTER_ACTION_FINISHED:
        return strcmp(result, result_words[OTTER_RESULT_FAILURE]) == 0 ? OTTER_TALLY_FAILURE
                                                                       : OTTER_TALLY_SUCCESS;
    case OTTER_ACTION_ERROR:
        return OTTER_TALLY_FAILURE;
    default:
        return OTTER_TALLY_CANCELED;
    }
}

/* ---- approvals ---- */

#define P OTTER_APPROVAL_PENDING
#define A OTTER_APPROVAL_APPROVED
#define RJ OTTER_APPROVAL_REJECTED
#define RV OTTER_APPROVAL_REVOKED

/* next[event][from]; columns: pending, approved, rejected, revoked. */
static const int approval_next[OTTER_APPROVAL_EVENTS][OTTER_APPROVAL_UNKNOWN] = {
    [OTTER_APPROVAL_EV_APPROVE] = {A, NONE, A, A},
    [OTTER_APPROVAL_EV_REJECT] = {RJ, RJ, NONE, RJ},
    [OTTER_APPROVAL_EV_REVOKE] = {NONE, RV, NONE, NONE},
};

#undef P
#undef A
#undef RJ
#undef RV

static const char *const approval_verbs[] = {[OTTER_APPROVAL_EV_APPROVE] = "approve",
                                             [OTTER_APPROVAL_EV_REJECT] = "reject",
                                             [OTTER_APPROVAL_EV_REVOKE] = "revoke"};

const char *otter_approval_state_word(otter_approval_state s)
{
    return (int)s >= 0 && (int)s < COUNT(approval_words) ? approval_words[s] : "unknown";
}

otter_approval_state otter_approval_state_parse(const char *word)
{
    return (otter_approval_state)word_index(approval_words, COUNT(approval_words), word,
                                            OTTER_APPROVAL_UNKNOWN);
}

otter_approval_state otter_approval_state_of(const otter_approval *a)
{
    return otter_approval_state_parse(a->state);
}

const char *otter_approval_event_verb(otter_approval_event ev)
{
    return (int)ev >= 0 && ev < OTTER_APPROVAL_EVENTS ? approval_verbs[ev] : "decide";
}

int otter_approval_next(otter_approval_state from, otter_approval_event ev,
                        otter_approval_state *to, otter_err *err)
{
    int next = (int)ev >= 0 && ev < OTTER_APPROVAL_EVENTS && (int)from >= 0 &&
                       from < OTTER_APPROVAL_UNKNOWN
                   ? approval_next[ev][from]
                   : NONE;
    if (next == NONE)
        return otter_err_set(err, OTTER_ESTATE, "%s", otter_approval_state_word(from));
    *to = (otter_approval_state)next;
    return 0;
}

int otter_approval_decide(int64_t release_id, otter_approval *a, otter_approval_event ev,
                          otter_err *err)
{
    otter_approval_state to = OTTER_APPROVAL_UNKNOWN;
    if (otter_approval_next(otter_approval_state_of(a), ev, &to, err) < 0)
        return ev == OTTER_APPROVAL_EV_REVOKE
                   ? otter_err_set(err, OTTER_ESTATE,
                                   "release %lld is %s: only an approval can be revoked",
                                   (long long)release_id, a->state)
                   : otter_err_set(err, OTTER_ESTATE, "release %lld is already %s",
                                   (long long)release_id, a->state);
    snprintf(a->state, sizeof a->state, "%s", otter_approval_state_word(to));
    return 0;
}

int otter_approval_allows_rollout(otter_approval_state s)
{
    return s == OTTER_APPROVAL_APPROVED;
}

/* ---- rollouts ---- */

#define D OTTER_ROLLOUT_DRAFT
#define R OTTER_ROLLOUT_RUNNING
#define P OTTER_ROLLOUT_PAUSED
#define F OTTER_ROLLOUT_FINISHED
#define C OTTER_ROLLOUT_CANCELED

/* next[event][from]; columns: draft, running, paused, finished, canceled. */
static const int rollout_next[OTTER_ROLLOUT_EVENTS][OTTER_ROLLOUT_UNKNOWN] = {
    [OTTER_ROLLOUT_EV_START] = {R, NONE, NONE, NONE, NONE},
    [OTTER_ROLLOUT_EV_PAUSE] = {NONE, P, NONE, NONE, NONE},
    [OTTER_ROLLOUT_EV_RESUME] = {NONE, NONE, R, NONE, NONE},
    [OTTER_ROLLOUT_EV_ADVANCE] = {NONE, R, P, NONE, NONE},
    [OTTER_ROLLOUT_EV_CANCEL] = {C, C, C, NONE, NONE},
    [OTTER_ROLLOUT_EV_FAILURES] = {NONE, P, NONE, NONE, NONE},
    [OTTER_ROLLOUT_EV_STAGE_PASSED] = {NONE, R, NONE, NONE, NONE},
    [OTTER_ROLLOUT_EV_COMPLETE] = {NONE, F, NONE, NONE, NONE},
    [OTTER_ROLLOUT_EV_APPROVAL_REVOKED] = {NONE, P, NONE, NONE, NONE},
};

#undef D
#undef R
#undef P
#undef F
#undef C

static const char *const rollout_verbs[] = {
    [OTTER_ROLLOUT_EV_START] = "start",
    [OTTER_ROLLOUT_EV_PAUSE] = "pause",
    [OTTER_ROLLOUT_EV_RESUME] = "resume",
    [OTTER_ROLLOUT_EV_ADVANCE] = "advance",
    [OTTER_ROLLOUT_EV_CANCEL] = "cancel",
    [OTTER_ROLLOUT_EV_FAILURES] = "pause on failures",
    [OTTER_ROLLOUT_EV_STAGE_PASSED] = "advance",
    [OTTER_ROLLOUT_EV_COMPLETE] = "finish",
    [OTTER_ROLLOUT_EV_APPROVAL_REVOKED] = "pause",
};

const char *otter_rollout_state_word(otter_rollout_state s)
{
    return (int)s >= 0 && (int)s < COUNT(rollout_words) ? rollout_words[s] : "unknown";
}

otter_rollout_state otter_rollout_state_parse(const char *word)
{
    return (otter_rollout_state)word_index(rollout_words, COUNT(rollout_words), word,
                                           OTTER_ROLLOUT_UNKNOWN);
}

otter_rollout_state otter_rollout_state_of(const otter_rollout *r)
{
    return otter_rollout_state_parse(r->state);
}

const char *otter_rollout_event_verb(otter_rollout_event ev)
{
    return (int)ev >= 0 && ev < OTTER_ROLLOUT_EVENTS ? rollout_verbs[ev] : "steer";
}

int otter_rollout_next(otter_rollout_state from, otter_rollout_event ev, otter_rollout_state *to,
                       otter_err *err)
{
    int next =
        (int)ev >= 0 && ev < OTTER_ROLLOUT_EVENTS && (int)from >= 0 && from < OTTER_ROLLOUT_UNKNOWN
            ? rollout_next[ev][from]
            : NONE;
    if (next == NONE)
        return otter_err_set(err, OTTER_ESTATE, "%s", otter_rollout_state_word(from));
    *to = (otter_rollout_state)next;
    return 0;
}

int otter_rollout_apply(otter_rollout *r, otter_rollout_event ev, const char *reason,
                        otter_err *err)
{
    otter_rollout_state to = OTTER_ROLLOUT_UNKNOWN;
    int opens_stage = ev == OTTER_ROLLOUT_EV_ADVANCE || ev == OTTER_ROLLOUT_EV_STAGE_PASSED;
    if (otter_rollout_next(otter_rollout_state_of(r), ev, &to, err) < 0)
        return otter_err_set(err, OTTER_ESTATE, "rollout %lld is %s: cannot %s it",
                             (long long)r->id, r->state, otter_rollout_event_verb(ev));
    if (opens_stage && (r->current_stage < 0 || (size_t)r->current_stage + 1 >= r->n_stages))
        return otter_err_set(err, OTTER_ESTATE, "rollout %lld is at its last stage (%s)",
                             (long long)r->id, r->state);
    if (opens_stage)
        r->current_stage++;
    if (to == OTTER_ROLLOUT_PAUSED && !opens_stage)
        snprintf(r->pause_reason, sizeof r->pause_reason, "%s", reason ? reason : "");
    if (ev == OTTER_ROLLOUT_EV_RESUME)
        r->pause_reason[0] = '\0';
    snprintf(r->state, sizeof r->state, "%s", otter_rollout_state_word(to));
    return 0;
}

/* ---- the automatic rules ---- */

static int64_t sample_of(const otter_rollout_stage *g, int64_t size)
{
    return g->min_devices > 0 && g->min_devices < size ? g->min_devices : size;
}

static int stage_failing(const otter_rollout_stage *g, const otter_rollout_tally *t)
{
    int64_t done = t->success + t->failure;
    int64_t base = done > sample_of(g, t->devices) ? done : sample_of(g, t->devices);
    return g->failure_threshold > 0 && t->failure > 0 &&
           t->failure * 100 >= (int64_t)g->failure_threshold * base;
}

static int stage_passed(const otter_rollout_stage *g, const otter_rollout_tally *t)
{
    int64_t done = t->success + t->failure;
    return done >= sample_of(g, t->devices) &&
           t->success * 100 >= (int64_t)g->success_threshold * done;
}

int otter_rollout_judge(const otter_rollout *r, const otter_rollout_stats *st,
                        otter_rollout_event *ev, char reason[OTTER_FLEET_REASON_MAX])
{
    reason[0] = '\0';
    if (otter_rollout_state_of(r) != OTTER_ROLLOUT_RUNNING || r->n_stages == 0 ||
        r->current_stage < 0 || (size_t)r->current_stage >= r->n_stages)
        return 0;
    /* Failures an operator resumed past do not pause again; a new one re-checks. */
    int64_t new_failures = st->total.failure - r->accepted_failures;
    for (int64_t i = 0; new_failures > 0 && i <= r->current_stage; i++) {
        const otter_rollout_tally *t = &st->stage[i];
        if (stage_failing(&r->stages[i], t)) {
            snprintf(reason, OTTER_FLEET_REASON_MAX,
                     "failure threshold of stage %lld reached (%lld of %lld devices failed)",
                     (long long)i + 1, (long long)t->failure, (long long)t->devices);
            *ev = OTTER_ROLLOUT_EV_FAILURES;
            return 1;
        }
    }
    int last = (size_t)r->current_stage + 1 >= r->n_stages;
    if (!last && stage_passed(&r->stages[r->current_stage], &st->stage[r->current_stage])) {
        *ev = OTTER_ROLLOUT_EV_STAGE_PASSED;
        return 1;
    }
    if (last && st->total.waiting + st->total.scheduled + st->total.running == 0) {
        *ev = OTTER_ROLLOUT_EV_COMPLETE;
        return 1;
    }
    return 0;
}

/* ---- consent (issue #17) ---- */

int otter_fleet_consent(const char *consent, int modes_given, char consent_out[24],
                        char download[16], char update[16], otter_err *err)
{
    if (!consent || !*consent)
        consent = "auto";
    if (strcmp(consent, "auto") != 0 && strcmp(consent, "download_then_ask") != 0 &&
        strcmp(consent, "ask") != 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "consent: '%.24s' is not auto, download_then_ask or ask", consent);
    if (strcmp(consent, "download_then_ask") == 0) {
        /* The device downloads, then the user's Start installs: hawkBit's soft action. */
        if (modes_given && (strcmp(download, "forced") != 0 || strcmp(update, "attempt") != 0))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "consent: download_then_ask means download forced and update "
                                 "attempt; leave download and update out");
        snprintf(download, 16, "forced");
        snprintf(update, 16, "attempt");
    }
    snprintf(consent_out, 24, "%s", consent);
    return 0;
}
