/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bandwidth caps on artifact downloads (issue #15, docs/rollouts.md
 * "Bandwidth caps"): at each download the caps of its rollout and tenant
 * are read from the store (so a cap set on another server instance holds
 * here from the next download on), the buckets follow them, and a capped
 * download gets a pace (otter_bwcap.h) that the HTTP layer asks before each
 * block. An uncapped download is not paced at all (sendfile as before).
 */
#include <stdio.h>

#include "otter_bwcap.h"
#include "otter_ddi_internal.h"
#include "otter_store_bwcap.h"

void otter_ddi_set_bwcap(otter_ddi *ddi, otter_bwcap *bwcap)
{
    ddi->bwcap = bwcap;
}

void ddi_bwcap_attach(struct ddi_call *c, int64_t rollout_id)
{
    otter_err err;
    int64_t rcap = 0, tcap = 0;
    otter_bwcap_pace *pace = NULL;
    otter_bwcap *b = c->ddi->bwcap;
    if (!b || !c->resp->fd_set)
        return;
    if (otter_store_bwcap_get(c->ddi->store, rollout_id, c->tenant.id, &rcap, &tcap, &err) < 0 ||
        (rollout_id && otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, rollout_id, rcap, &err) < 0) ||
        otter_bwcap_set(b, OTTER_BWCAP_TENANT, c->tenant.id, tcap, &err) < 0 ||
        otter_bwcap_pace_new(b, rollout_id, c->tenant.id, &pace, &err) < 0) {
        /* Sent unpaced rather than refused: the device's bytes are checked anyway. */
        fprintf(stderr, "otter-server: ddi download: bandwidth cap: %s\n", err.msg);
        return;
    }
    if (!pace)
        return;
    c->resp->pace = otter_bwcap_take;
    c->resp->pace_free = (void (*)(void *))otter_bwcap_pace_free;
    c->resp->pace_ctx = pace;
}
