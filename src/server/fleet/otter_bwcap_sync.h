/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bandwidth caps' heartbeat (issue #15, docs/operations.md "Bandwidth
 * caps across servers"): a thread that, every OTTER_BWCAP_BEAT_MS and soon
 * after a capped download starts, writes this server's downloads per capped
 * rollout and tenant to the store (otter_store_caps.h) with an expiry of
 * OTTER_BWCAP_TTL_MS, reads the other servers' live downloads and the caps
 * as set now, and hands both to the buckets (otter_bwcap.h), which then
 * fill at cap x mine / (others + mine). A server that dies stops counting
 * when its rows expire.
 */
#ifndef OTTER_BWCAP_SYNC_H
#define OTTER_BWCAP_SYNC_H

#include <stdint.h>

#include "otter_bwcap.h"
#include "otter_err.h"
#include "otter_store.h"

#define OTTER_BWCAP_BEAT_MS 500
#define OTTER_BWCAP_TTL_MS 2000

typedef struct otter_bwcap_sync otter_bwcap_sync;

/*
 * Starts the heartbeat of b over s (both borrowed, they must outlive it);
 * caller stops it with otter_bwcap_sync_stop(). OTTER_ENOMEM, OTTER_EIO
 * (no thread, no random id).
 */
int otter_bwcap_sync_start(otter_bwcap *b, otter_store *s, otter_bwcap_sync **out, otter_err *err);
/* Stops the thread and removes this server's rows (the others take its share at once). */
void otter_bwcap_sync_stop(otter_bwcap_sync *y);

/*
 * One heartbeat at wall-clock now_ms, without the thread (tests, and the
 * thread's own loop). *published (in/out) says whether the store holds
 * demand of this server: an idle server (no downloads here, none seen
 * elsewhere, nothing published) skips the store. Store errors are
 * returned; the buckets keep their last shares then.
 */
int otter_bwcap_sync_beat(otter_bwcap *b, otter_store *s, const char *server, int64_t now_ms,
                          int *published, otter_err *err);

#endif
