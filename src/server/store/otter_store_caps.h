/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's record of each server instance's demand on the bandwidth caps
 * (issue #15, docs/operations.md "Bandwidth caps across servers"): every
 * instance on one database writes, about twice a second, how many capped
 * downloads it is serving per rollout and per tenant, with an expiry; each
 * reads the others' live demand and takes its share of the cap from it
 * (otter_bwcap.h). Rows of an instance that died expire on their own.
 * Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_CAPS_H
#define OTTER_STORE_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

/* One capped rollout (scope 0) or tenant (scope 1) as one server sees it. */
typedef struct otter_store_caps_demand {
    int scope;
    int64_t id;
    int64_t demand; /* in: this server's downloads under the cap */
    int64_t others; /* out: the live demand of every other server */
} otter_store_caps_demand;

/*
 * One heartbeat of server (a random id per process, at most 64 bytes), in
 * one transaction: its rows become d[i].demand (rows with demand 0 are
 * dropped) expiring at expires_ms, every row that expired before now_ms is
 * deleted (whichever server wrote it), and d[i].others is the sum of the
 * demand of the other servers whose rows are live at now_ms. n == 0 only
 * removes the server's rows (a clean stop). Times are wall-clock
 * milliseconds of the calling server. Quiet (no poll answer shows it).
 */
int otter_store_caps_beat(otter_store *s, const char *server, int64_t now_ms, int64_t expires_ms,
                          otter_store_caps_demand *d, size_t n, otter_err *err);

#endif
