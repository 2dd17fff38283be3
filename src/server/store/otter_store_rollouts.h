/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's approvals and staged rollouts, included by otter_store.h
 * (split from it to keep files short). Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_ROLLOUTS_H
#define OTTER_STORE_ROLLOUTS_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_STORE_COMMENT_MAX 512
#define OTTER_STORE_REASON_MAX 128
#define OTTER_ROLLOUT_STAGES_MAX 16

/* The approval of a release in its tenant; no row = pending. */
typedef struct otter_approval {
    int64_t release_id;
    char state[OTTER_STORE_WORD_MAX + 1]; /* approved, rejected, revoked */
    int64_t decided_by;                   /* user id, 0 when that user is gone */
    char decided_by_name[OTTER_STORE_NAME_MAX + 1];
    int64_t decided_at;
    char comment[OTTER_STORE_COMMENT_MAX + 1];
} otter_approval;

typedef struct otter_rollout_stage {
    int percent;           /* cumulative share of the targeted devices, 1..100 */
    int success_threshold; /* % of the stage's sample that must succeed to advance */
    int failure_threshold; /* % of the stage's sample whose failure pauses (0 = never) */
    int64_t min_devices;   /* sample size to judge by; 0 = the whole stage */
} otter_rollout_stage;

typedef struct otter_rollout {
    int64_t id;
    int64_t tenant_id;
    int64_t release_id;
    char name[OTTER_STORE_NAME_MAX + 1];
    char state[OTTER_STORE_WORD_MAX + 1]; /* draft, running, paused, finished, canceled */
    char pause_reason[OTTER_STORE_REASON_MAX + 1];
    int64_t current_stage;
    char filter[OTTER_STORE_ATTR_MAX + 1]; /* JSON object text */
    char download[OTTER_STORE_WORD_MAX + 1];
    char update[OTTER_STORE_WORD_MAX + 1];
    char maintenance[OTTER_STORE_WORD_MAX + 1]; /* "", available, unavailable */
    char consent[OTTER_STORE_CONSENT_MAX + 1];  /* auto (""), download_then_ask, ask */
    int64_t devices;                            /* targeted when started */
    int64_t accepted_failures;                  /* failures so far when an operator last resumed */
    int64_t created_by;
    char created_by_name[OTTER_STORE_NAME_MAX + 1];
    int64_t created_at;
    int64_t updated_at;
    size_t n_stages;
    otter_rollout_stage stages[OTTER_ROLLOUT_STAGES_MAX];
} otter_rollout;

/* One group of a rollout's actions: how many are in (stage, status, result). */
typedef struct otter_rollout_count {
    int64_t stage;
    const char *status;
    const char *result;
    int64_t count;
} otter_rollout_count;

typedef int (*otter_store_rollout_cb)(void *ctx, const otter_rollout *r);
typedef int (*otter_store_rollout_count_cb)(void *ctx, const otter_rollout_count *c);

/* *found = 0 means pending (never decided). */
int otter_store_approval_get(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                             otter_err *err);
/* Records a decision (replacing the previous one): a's release, state, decided_*, comment. */
int otter_store_approval_set(otter_store *s, const otter_approval *a, otter_err *err);

/*
 * Creates a rollout in state draft with its stages: r's tenant, release,
 * name, filter, download, update, maintenance, created_by and stages.
 * OTTER_ESTATE when the tenant already has a rollout of that name.
 */
int otter_store_rollout_create(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                               otter_err *err);
/*
 * Rollouts with their stages, newest first: of tenant_id (0 = every
 * tenant), only rollout_id when it is not 0, only those of release_id when
 * it is not 0.
 */
int otter_store_rollout_list(otter_store *s, int64_t tenant_id, int64_t rollout_id,
                             int64_t release_id, otter_store_rollout_cb cb, void *ctx,
                             otter_err *err);
/* Sets state, pause reason, current stage, targeted device count and accepted failures. */
int otter_store_rollout_update(otter_store *s, const otter_rollout *r, int64_t now, otter_err *err);
/* The rollout's actions counted by (stage, status, result). */
int otter_store_rollout_counts(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                               void *ctx, otter_err *err);
/*
 * Cancels a rollout's open actions: those not started yet become canceled,
 * running ones canceling (the device is told through cancelAction).
 */
int otter_store_rollout_cancel_actions(otter_store *s, int64_t rollout_id, int64_t now,
                                       otter_err *err);
/*
 * Withdraws a release whose approval ended: its direct deployments' actions
 * that no device has started (scheduled) become canceled. A rollout's
 * scheduled actions stay: its pause holds them back until a new approval.
 * *withdrawn: how many were canceled.
 */
int otter_store_release_withdraw_actions(otter_store *s, int64_t release_id, int64_t now,
                                         int64_t *withdrawn, otter_err *err);
/*
 * Gives each device whose action in the rollout failed (stages up to
 * up_to_stage) a new scheduled action in the same stage, unless the device
 * already has an open action; the failed one keeps its history, points at
 * the new one (superseded_by) and leaves the rollout's counts. *retried:
 * how many devices got one.
 */
int otter_store_rollout_retry_failed(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                     int64_t created_by, int64_t now, int64_t *retried,
                                     otter_err *err);

#endif
