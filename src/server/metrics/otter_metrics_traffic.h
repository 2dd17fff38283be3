/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact bytes by tenant for /metrics (issue #12): what DDI downloads
 * sent, by kind (full package or delta), and what the full package would
 * have cost for the same requests. Unlike the other counters these carry a
 * label from the database (the tenant's name), so the set is a small table
 * under a mutex, filled as tenants first download; it is bounded
 * (OTTER_METRICS_TENANTS_MAX, the rest counted under tenant=""), and a
 * download is rare next to a poll, so the lock costs nothing that matters.
 */
#ifndef OTTER_METRICS_TRAFFIC_H
#define OTTER_METRICS_TRAFFIC_H

#include <stdint.h>

#include "otter_err.h"

#define OTTER_METRICS_TENANTS_MAX 1024

typedef struct otter_metrics_traffic otter_metrics_traffic;

/* An empty table (caller frees with otter_metrics_traffic_free()); OTTER_ENOMEM. */
int otter_metrics_traffic_new(otter_metrics_traffic **out, otter_err *err);
void otter_metrics_traffic_free(otter_metrics_traffic *t);

/*
 * Adds one download of tenant (a tenant name, copied): delta or full, bytes
 * sent and their full-package equivalent. t may be NULL.
 */
void otter_metrics_traffic_add(otter_metrics_traffic *t, const char *tenant, int delta,
                               uint64_t bytes, uint64_t full_equivalent);

/*
 * The exposition text of the table: put(ctx, fmt, ...) appends to the
 * scrape (otter_metrics.c's writer).
 */
void otter_metrics_traffic_render(otter_metrics_traffic *t,
                                  void (*put)(void *ctx, const char *fmt, ...), void *ctx);

#endif
