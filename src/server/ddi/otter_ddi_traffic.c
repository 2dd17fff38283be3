/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counting the artifact bytes a download sent (issue #12, docs/rollouts.md
 * "Bytes sent"). The download's response carries a hook that the HTTP
 * layer calls when the request ends: only a body that went out in full is
 * known to have been sent (the server sends files with sendfile and does
 * not learn how much of a cut response arrived), so a cut response counts
 * nothing and the device's resumed request counts the rest: what it
 * really sent, its Range. Each counted download goes to the tenant's
 * /metrics series and, when the action belongs to a rollout, to the
 * rollout's row in the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_ddi_internal.h"
#include "otter_rollout.h"
#include "otter_traffic.h"

struct account {
    otter_ddi *ddi; /* outlives every request */
    char tenant[OTTER_STORE_NAME_MAX + 1];
    int64_t rollout_id; /* 0: a direct deployment */
    int delta;
    uint64_t first, served_size, full_size;
};

static void on_sent(void *ctx, int completed, uint64_t bytes)
{
    struct account *a = ctx;
    otter_err err;
    if (completed && bytes) {
        uint64_t full =
            otter_traffic_full_equivalent(a->delta, a->first, bytes, a->served_size, a->full_size);
        otter_metrics_artifact(a->ddi->metrics, a->tenant, a->delta, bytes, full);
        if (a->rollout_id) {
            if (otter_store_traffic_add(a->ddi->store, a->rollout_id, a->delta, (int64_t)bytes,
                                        (int64_t)full, &err) < 0)
                fprintf(stderr, "otter-server: rollout %lld: %s\n", (long long)a->rollout_id,
                        err.msg);
            else
                otter_rollout_touch(); /* event streams show the bytes */
        }
    }
    free(a);
}

void ddi_traffic_attach(struct ddi_call *c, int64_t rollout_id, int delta, uint64_t first,
                        uint64_t served_size, uint64_t full_size)
{
    struct account *a = calloc(1, sizeof *a);
    if (!a)
        return; /* only the count is lost */
    a->ddi = c->ddi;
    snprintf(a->tenant, sizeof a->tenant, "%s", c->tenant.name);
    a->rollout_id = rollout_id;
    a->delta = delta;
    a->first = first;
    a->served_size = served_size;
    a->full_size = full_size;
    c->resp->sent = on_sent;
    c->resp->sent_ctx = a;
}
