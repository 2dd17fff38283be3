/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store keeps so the dashboard can follow a campaign (issue #15,
 * docs/rollouts.md "Watching a rollout"): the devices a rollout left out
 * when it started because their model is not in the release's compatible
 * list, and samples of its counts over time (sql_follow.c). Conventions
 * as otter_store.h.
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

/*
 * A rollout's history (the dashboard's chart from the start): samples of its
 * counts, each a JSON text ({"total": {...}, "stages": [...]}, at most
 * OTTER_STORE_SAMPLE_MAX bytes) at a unix second. Adding one at a second
 * that has one replaces it; beyond OTTER_STORE_SAMPLES_MAX samples the
 * oldest after the first are dropped, so the start stays. Quiet.
 */
#define OTTER_STORE_SAMPLES_MAX 2000
#define OTTER_STORE_SAMPLE_MAX 16384
int otter_store_sample_add(otter_store *s, int64_t rollout_id, int64_t at, const char *counts,
                           otter_err *err);
/* The newest sample's counts into buf (cap bytes); *found 0 when there is none. */
int otter_store_sample_last(otter_store *s, int64_t rollout_id, char *buf, size_t cap, int *found,
                            otter_err *err);
/* Each sample, oldest first: cb(ctx, at, counts) (counts borrowed for the call). */
int otter_store_sample_list(otter_store *s, int64_t rollout_id,
                            int (*cb)(void *ctx, int64_t at, const char *counts), void *ctx,
                            otter_err *err);

#endif
