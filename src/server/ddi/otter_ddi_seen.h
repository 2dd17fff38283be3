/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to otter_ddi*.c: devices' last_seen, written in batches. In a
 * real fleet every poll comes minutes after the device's previous one, so
 * every poll would otherwise be its own transaction and fsync (measured:
 * the poll path was fsync-bound at under 1000 polls/s on two cores). Polls
 * note (device, time) in memory; a flusher thread writes what was noted in
 * one transaction every OTTER_DDI_SEEN_INTERVAL_MS, so last_seen trails by
 * at most that interval, and a crash loses at most that much of it.
 */
#ifndef OTTER_DDI_SEEN_H
#define OTTER_DDI_SEEN_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

#define OTTER_DDI_SEEN_INTERVAL_MS 1000
/* Notes kept before more are refused until the next flush (bounded instead of growing). */
#define OTTER_DDI_SEEN_MAX 16384

typedef struct ddi_seen ddi_seen;

/*
 * Starts the flusher over store (borrowed; must outlive the ddi_seen).
 * Caller frees with ddi_seen_free(). OTTER_ENOMEM, OTTER_EIO (thread).
 */
int ddi_seen_new(otter_store *store, ddi_seen **out, otter_err *err);

/*
 * Records that device_id was seen at now and returns 1, at once. When the
 * buffer is full it wakes the flusher and returns 0 without recording:
 * the device's last_seen stays old, so its next poll notes again. (A poll
 * that wrote the batch itself stalled every connection of its thread for
 * the length of a 16,384-row transaction: the p99 of a fleet's first
 * round of polls.) Thread-safe.
 */
int ddi_seen_note(ddi_seen *s, int64_t device_id, int64_t now);

/* Writes every note taken so far in one transaction. Thread-safe. */
int ddi_seen_flush(ddi_seen *s, otter_err *err);

/* Stops the flusher, writes what is left, frees s. NULL is allowed. */
void ddi_seen_free(ddi_seen *s);

#endif
