/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's part of the user's consent (issue #17, docs/ddi.md "User
 * consent"), included by otter_store.h: an action's confirmation and its
 * user's last choice, a device's hawkBit auto-confirm, a rollout's counts
 * of the users' choices (sql_consent.c). Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_CONSENT_H
#define OTTER_STORE_CONSENT_H

#include <stdint.h>

#include "otter_err.h"

/* Sets the action's confirmation: waiting, confirmed or denied. */
int otter_store_action_set_confirm(otter_store *s, int64_t id, const char *confirm, int64_t now,
                                   otter_err *err);
/* Records the user's choice (waiting, postponed, started, declined) and until (0 = none). */
int otter_store_action_set_user(otter_store *s, int64_t id, const char *choice, int64_t until,
                                int64_t now, otter_err *err);

/* hawkBit's auto-confirm of a device: active when a row exists. */
typedef struct otter_autoconfirm {
    char initiator[OTTER_STORE_LABEL_MAX + 1];
    char remark[OTTER_STORE_COMMENT_MAX + 1];
    int64_t activated_at;
} otter_autoconfirm;
int otter_store_autoconfirm_get(otter_store *s, int64_t device_id, otter_autoconfirm *out,
                                int *found, otter_err *err);
/* Activates (replacing a previous activation); actions waiting or denied become confirmed. */
int otter_store_autoconfirm_set(otter_store *s, int64_t device_id, const otter_autoconfirm *a,
                                int64_t now, otter_err *err);
int otter_store_autoconfirm_delete(otter_store *s, int64_t device_id, otter_err *err);

/*
 * The rollout's users' choices: open actions waiting for the user (asked
 * and offered, or downloaded and waiting for Start), postponed, declined
 * (denied); started counts every action whose user started it. Superseded
 * actions are left out.
 */
typedef struct otter_rollout_user_counts {
    int64_t waiting, postponed, declined, started;
} otter_rollout_user_counts;
int otter_store_rollout_user_counts(otter_store *s, int64_t rollout_id,
                                    otter_rollout_user_counts *out, otter_err *err);

#endif
