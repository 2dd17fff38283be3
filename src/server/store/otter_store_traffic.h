/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's count of artifact bytes a rollout's devices downloaded
 * (issue #12, docs/rollouts.md "Bytes sent"), included by otter_store.h:
 * per rollout and kind (full package or delta), the responses, the body
 * bytes sent and the bytes the full package would have cost for the same
 * requests (sql_traffic.c). Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_TRAFFIC_H
#define OTTER_STORE_TRAFFIC_H

#include <stdint.h>

#include "otter_err.h"

/* One kind of artifact of a rollout: what its devices downloaded. */
typedef struct otter_traffic_kind {
    int64_t downloads;       /* responses (200 or 206) whose body went out in full */
    int64_t bytes;           /* their body bytes */
    int64_t full_equivalent; /* what the full package would have cost for them */
} otter_traffic_kind;

typedef struct otter_rollout_traffic {
    otter_traffic_kind full, delta;
} otter_rollout_traffic;

/*
 * Adds one download of rollout_id: delta (1) or the full artifact (0),
 * bytes sent and their full-package equivalent. Quiet (no poll answer
 * shows it).
 */
int otter_store_traffic_add(otter_store *s, int64_t rollout_id, int delta, int64_t bytes,
                            int64_t full_equivalent, otter_err *err);
/* The rollout's totals into *out (zeros when nothing was downloaded). */
int otter_store_traffic_get(otter_store *s, int64_t rollout_id, otter_rollout_traffic *out,
                            otter_err *err);

#endif
