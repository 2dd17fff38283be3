/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-login throttling: at most max_failures failures per key (a user
 * name or a client address) in a fixed window; further attempts are refused
 * until the window ends. Memory is bounded (a fixed number of keys; the
 * stalest entry is reused), and the table is safe to share between threads.
 * It lives in process memory: several server instances each count on their
 * own (documented in docs/server.md).
 */
#ifndef OTTER_THROTTLE_H
#define OTTER_THROTTLE_H

#include <stdint.h>

typedef struct otter_throttle otter_throttle;

/* Longest key kept; longer keys are cut (they are our own "u:"/"a:" strings). */
#define OTTER_THROTTLE_KEY_MAX 160

/* Returns a new table for capacity keys, or NULL when out of memory. */
otter_throttle *otter_throttle_new(unsigned max_failures, uint64_t window_secs, unsigned capacity);

void otter_throttle_free(otter_throttle *t);

/*
 * Returns 0 when key may try now, or the number of seconds (>= 1) until it
 * may try again.
 */
uint64_t otter_throttle_check(otter_throttle *t, const char *key, uint64_t now);

/* Counts one failure for key at time now. */
void otter_throttle_fail(otter_throttle *t, const char *key, uint64_t now);

/* Forgets key (after a successful login for that user). */
void otter_throttle_reset(otter_throttle *t, const char *key);

#endif
