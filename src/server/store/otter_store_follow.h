/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store keeps so the dashboard can follow a campaign (issue #15,
 * docs/rollouts.md "Watching a rollout"): the devices a rollout left out
 * when it started because their model is not in the release's compatible
 * list (sql_follow.c). Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_FOLLOW_H
#define OTTER_STORE_FOLLOW_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

/* Records that rollout_id left incompatible devices out at its start. Quiet. */
int otter_store_rollout_skipped_set(otter_store *s, int64_t rollout_id, int64_t incompatible,
                                    otter_err *err);
/* The count recorded at start into *incompatible; *known 0 when none was (a draft). */
int otter_store_rollout_skipped_get(otter_store *s, int64_t rollout_id, int64_t *incompatible,
                                    int *known, otter_err *err);

#endif
