/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's bandwidth caps on artifact bytes (issue #15, docs/rollouts.md
 * "Bandwidth caps"): bytes per second per rollout and per tenant, 0 or no
 * row meaning no cap (sql_bwcap.c). The running buckets are the server's
 * (otter_bwcap.h); the store is what every server instance reads at each
 * download. Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_BWCAP_H
#define OTTER_STORE_BWCAP_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

/*
 * Sets the cap of rollout id (tenant = 0) or of tenant id (tenant = 1) to
 * bytes_per_second; 0 removes it. Quiet (no poll answer shows it).
 */
int otter_store_bwcap_set(otter_store *s, int tenant, int64_t id, int64_t bytes_per_second,
                          otter_err *err);
/*
 * The caps of rollout_id (0: none asked) and tenant_id into *rollout_cap
 * and *tenant_cap (0: no cap), in one read.
 */
int otter_store_bwcap_get(otter_store *s, int64_t rollout_id, int64_t tenant_id,
                          int64_t *rollout_cap, int64_t *tenant_cap, otter_err *err);

#endif
