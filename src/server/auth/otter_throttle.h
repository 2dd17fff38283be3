/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-login throttling that slows down rather than locks: a key (the
 * pair of account and client address, or an address alone) may fail
 * max_failures times; after that each attempt must wait a delay that
 * starts at first_delay and doubles with every further failure (at most
 * the window). A key is forgotten once it failed nothing for its delay plus
 * the window, or on reset (a successful login).
 *
 * Memory is bounded (capacity keys). When the table is full a new key takes
 * the place of, in this order: a forgotten key; a key that is not slowed
 * down yet (one of the newcomer's own group, i.e. its client address,
 * first; then the oldest); only when every key is slowed down, the oldest
 * of those. So a flood of fresh names evicts the flooder's own
 * one-failure entries, never a victim's count that is slowing an attacker.
 * Safe to share between threads. It lives in process memory: several
 * server instances each count on their own (docs/server.md).
 */
#ifndef OTTER_THROTTLE_H
#define OTTER_THROTTLE_H

#include <stdint.h>

typedef struct otter_throttle otter_throttle;

/* Longest key and group kept; longer ones are cut (they are our own strings). */
#define OTTER_THROTTLE_KEY_MAX 160
#define OTTER_THROTTLE_GROUP_MAX 64

/* Returns a new table for capacity keys (at least 1), or NULL when out of memory. */
otter_throttle *otter_throttle_new(unsigned max_failures, uint64_t first_delay_secs,
                                   uint64_t window_secs, unsigned capacity);

void otter_throttle_free(otter_throttle *t);

/*
 * Returns 0 when key may try now, or the number of seconds (>= 1) until it
 * may try again.
 */
uint64_t otter_throttle_check(otter_throttle *t, const char *key, uint64_t now);

/* Counts one failure for key, which belongs to group (its client address), at time now. */
void otter_throttle_fail(otter_throttle *t, const char *key, const char *group, uint64_t now);

/* Forgets key (after a successful login for that user from that address). */
void otter_throttle_reset(otter_throttle *t, const char *key);

#endif
