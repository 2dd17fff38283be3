/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's campaign controls (issue #15, docs/rollouts.md "Maintenance
 * schedules" and "Deferrals"), included by otter_store.h: a rollout's
 * schedule and deferral limits, a device group's schedule, how many times
 * an action was postponed (sql_windows.c). Schedules are stored as the
 * canonical JSON text of otter_window.h; the store does not read them.
 * Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_WINDOWS_H
#define OTTER_STORE_WINDOWS_H

#include <stdint.h>

#include "otter_err.h"

#define OTTER_STORE_SCHEDULE_MAX 4096 /* = OTTER_SCHEDULE_TEXT_MAX */

typedef struct otter_campaign {
    char schedule[OTTER_STORE_SCHEDULE_MAX + 1]; /* "" = none */
    int64_t deferral_max;                        /* postponements per action; -1 = no limit */
    int64_t deferral_seconds;                    /* longest postponement; 0 = the device's own */
    int urgent;                                  /* 1: no postponement at all */
} otter_campaign;

/* What a rollout without a row has: no schedule, no limits. */
#define OTTER_CAMPAIGN_NONE                                                                        \
    (otter_campaign)                                                                               \
    {                                                                                              \
        .deferral_max = -1                                                                         \
    }

/* Sets (replacing) the rollout's campaign controls. */
int otter_store_campaign_set(otter_store *s, int64_t rollout_id, const otter_campaign *c,
                             otter_err *err);
/* The rollout's controls; OTTER_CAMPAIGN_NONE (and *found = 0) when it has none. */
int otter_store_campaign_get(otter_store *s, int64_t rollout_id, otter_campaign *out, int *found,
                             otter_err *err);

/* Sets the group's schedule (canonical JSON text); "" removes it. */
int otter_store_group_schedule_set(otter_store *s, int64_t group_id, const char *schedule,
                                   otter_err *err);
/* The group's schedule into buf (OTTER_STORE_SCHEDULE_MAX + 1 bytes), "" when none. */
int otter_store_group_schedule_get(otter_store *s, int64_t group_id, char *buf, size_t size,
                                   otter_err *err);
/* cb(ctx, group name, schedule text) for each group of the device that has a schedule. */
typedef int (*otter_store_schedule_cb)(void *ctx, const char *group, const char *schedule);
int otter_store_device_schedules(otter_store *s, int64_t device_id, otter_store_schedule_cb cb,
                                 void *ctx, otter_err *err);

/* How many times the action was postponed. */
int otter_store_action_deferrals(otter_store *s, int64_t action_id, int64_t *out, otter_err *err);
/* Counts one more postponement of the action. */
int otter_store_action_defer(otter_store *s, int64_t action_id, otter_err *err);
/*
 * The rollout's postponements: *total over its actions, *exhausted the
 * open actions that used every one allowed (deferral_max >= 0).
 */
int otter_store_rollout_deferrals(otter_store *s, int64_t rollout_id, int64_t deferral_max,
                                  int64_t *total, int64_t *exhausted, otter_err *err);

#endif
