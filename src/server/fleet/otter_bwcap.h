/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server-side bandwidth caps on artifact bytes (issue #15, docs/rollouts.md
 * "Bandwidth caps"): a token bucket per rollout and per tenant, shared by
 * every download of that rollout or tenant on this server, besides the
 * device's own cap. A download takes bytes from its rollout's bucket and
 * its tenant's bucket at once (the smaller allowance wins), so a tenant
 * cap bounds all its rollouts together.
 *
 * The registry is one mutex over a small list: a paced download takes from
 * it once per block (at most 64 KiB), which is rare next to the work of
 * sending the block. It never blocks for tokens: when the buckets are empty
 * the download gets 0 and the HTTP layer parks its connection until the
 * next pace tick (otter_http.h, OTTER_HTTP_PACE_TICK_MS), so a paced
 * download holds no thread.
 *
 * A bucket holds at most a quarter of a second of its rate (at least
 * OTTER_BWCAP_BURST_MIN bytes): over any interval t a bucket lets through
 * at most rate x t + burst bytes, and a pace tick woken late (a loaded
 * machine) loses no tokens unless it is later than that.
 *
 * Fairness: each download has its own credit in each bucket, filled at the
 * bucket's rate divided by the downloads holding it, so k downloads get
 * about rate / k each (never first come takes all).
 *
 * Several servers: a cap is the whole deployment's. A bucket fills at this
 * server's share, cap x mine / (others + mine), where mine and others are
 * the capped downloads here and on the other servers as the heartbeat
 * (otter_bwcap_sync.h) last read them; with no heartbeat (one server)
 * others is 0 and the share is the whole cap.
 */
#ifndef OTTER_BWCAP_H
#define OTTER_BWCAP_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_BWCAP_BURST_MIN 16384
/* Largest cap accepted (bytes/s): 100 GB/s, far beyond one server. */
#define OTTER_BWCAP_MAX 100000000000LL

typedef enum otter_bwcap_scope {
    OTTER_BWCAP_ROLLOUT = 0,
    OTTER_BWCAP_TENANT = 1,
} otter_bwcap_scope;

typedef struct otter_bwcap otter_bwcap;

/* An empty registry (caller frees with otter_bwcap_free()); OTTER_ENOMEM. */
int otter_bwcap_new(otter_bwcap **out, otter_err *err);
/* Frees b; every pace made from it must have been freed first. NULL is allowed. */
void otter_bwcap_free(otter_bwcap *b);

/*
 * Sets the cap (bytes/s; 0: none) of a rollout's or a tenant's bucket, as
 * the store says now; downloads already paced by that bucket follow the new
 * rate at once. b may be NULL. Returns 0 or OTTER_ENOMEM.
 */
int otter_bwcap_set(otter_bwcap *b, otter_bwcap_scope scope, int64_t id, int64_t cap,
                    otter_err *err);

/*
 * The cap of a scope's bucket as last set (0: none or unknown) and its rate
 * (bytes/s measured over the last one to two seconds) into *cap and *rate.
 */
void otter_bwcap_get(otter_bwcap *b, otter_bwcap_scope scope, int64_t id, int64_t *cap,
                     int64_t *rate);

/* One download's hold on its buckets: made by otter_bwcap_pace_new(). */
typedef struct otter_bwcap_pace otter_bwcap_pace;

/*
 * A pace for one download of rollout_id (0: a direct deployment, no rollout
 * bucket) in tenant_id, or NULL in *out when neither bucket has a cap (the
 * download is then not paced at all). Caller frees with
 * otter_bwcap_pace_free(). Returns 0 or OTTER_ENOMEM.
 */
int otter_bwcap_pace_new(otter_bwcap *b, int64_t rollout_id, int64_t tenant_id,
                         otter_bwcap_pace **out, otter_err *err);
void otter_bwcap_pace_free(otter_bwcap_pace *p);

/*
 * How many of want bytes the download may send now (the HTTP layer's pace
 * hook; ctx is an otter_bwcap_pace). 0 when the buckets hold less than
 * min(want, 4096): the caller waits and asks again.
 */
size_t otter_bwcap_take(void *ctx, size_t want);
/* otter_bwcap_take() at a given CLOCK_MONOTONIC time (tests). */
size_t otter_bwcap_take_at(otter_bwcap_pace *p, size_t want, uint64_t now_ns);

/* For the heartbeat (otter_bwcap_sync.c): */
typedef int (*otter_bwcap_visit_fn)(void *ctx, otter_bwcap_scope scope, int64_t id,
                                    int64_t downloads, int64_t others, otter_err *err);
/*
 * Calls visit for every bucket with a cap, with its downloads here and the
 * other servers' as last set (under the lock: visit must not call back).
 */
int otter_bwcap_each(otter_bwcap *b, otter_bwcap_visit_fn visit, void *ctx, otter_err *err);
/* The other servers' downloads under a bucket's cap, as the store says now. */
void otter_bwcap_set_others(otter_bwcap *b, otter_bwcap_scope scope, int64_t id, int64_t others);
/* wake(ctx) is called (outside the lock) when a capped download starts; NULL: none. */
void otter_bwcap_set_wake(otter_bwcap *b, void (*wake)(void *ctx), void *ctx);

/*
 * The /metrics text of every bucket with a cap: put(ctx, fmt, ...) appends
 * (otter_metrics.c's writer). Series otter_bandwidth_cap_bytes_per_second,
 * otter_bandwidth_rate_bytes_per_second and otter_bandwidth_share_bytes_per_second
 * (this server's share), labels scope and id.
 */
void otter_bwcap_render(void *b, void (*put)(void *ctx, const char *fmt, ...), void *ctx);

#endif
