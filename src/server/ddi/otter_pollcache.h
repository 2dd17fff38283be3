/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a DDI base poll needs, kept in memory in front of the store: for a
 * token (a TargetToken by its SHA-256; a GatewayToken with the device it
 * polls for, see otter_ddi_poll.c), the device it authenticates and the
 * facts its answer is made of. A poll answered from here does no database work.
 *
 * Correctness comes from stamps, kept by the caller: every entry carries
 * the store stamp read *before* the database reads it was filled from,
 * and the caller serves it only while the store says nothing touching
 * that device changed since (otter_store_unchanged_since()). Any write
 * that can change a poll's answer moves the device's stamp (or every
 * device's), so the next poll of that device reads the database again
 * and the rest of the fleet stays cached. Only tokens that authenticated
 * are ever cached, so a flood of wrong tokens cannot fill the cache, and
 * the number of entries is bounded (the oldest entry of a full shard
 * makes room).
 *
 * Thread-safe: 64 shards, each under its own mutex.
 */
#ifndef OTTER_POLLCACHE_H
#define OTTER_POLLCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_POLLCACHE_KEY_LEN 32  /* a raw SHA-256 */
#define OTTER_POLLCACHE_NAME_MAX 64 /* tenant name, controller id (otter_reqjson_name_ok) */

typedef struct otter_pollcache otter_pollcache;

/* The facts a base poll answer is made of (see docs/ddi.md). */
typedef struct otter_pollcache_facts {
    int64_t device_id;
    int64_t open_action;      /* the action offered to the device, 0 when none */
    int64_t installed_action; /* the last action installed with success, 0 when none */
    int64_t last_seen;        /* what the store knows (or was told), unix seconds */
    int canceling;            /* open_action is being canceled: cancelAction, not deploymentBase */
    int confirming;  /* open_action waits for the user's consent: confirmationBase instead */
    int config_sent; /* the device sent configData once */
} otter_pollcache_facts;

/*
 * A cache of at most capacity entries (0 = a cache that never holds
 * anything, i.e. disabled). Memory: about otter_pollcache_entry_bytes()
 * per entry held plus 8 bytes per entry of capacity for the hash buckets.
 * OTTER_ENOMEM when the buckets cannot be allocated. Free with
 * otter_pollcache_free() (NULL-safe).
 */
int otter_pollcache_new(size_t capacity, otter_pollcache **out, otter_err *err);
void otter_pollcache_free(otter_pollcache *pc);

/*
 * Returns 1 and copies the facts into *out and their stamp into *gen when
 * key is cached for exactly this tenant and controller id; 0 otherwise
 * (unknown, or filled for another path: the caller then authenticates
 * against the store). Whether the stamp is still good is the caller's call.
 */
int otter_pollcache_get(otter_pollcache *pc, const unsigned char key[OTTER_POLLCACHE_KEY_LEN],
                        const char *tenant, const char *controller_id, otter_pollcache_facts *out,
                        uint64_t *gen);

/*
 * Caches facts for key, stamped with gen (the generation read before the
 * store was asked), replacing what key had. Evicts the oldest entry of
 * the shard when it is full. Names longer than OTTER_POLLCACHE_NAME_MAX
 * are not cached (returns 0, nothing stored). OTTER_ENOMEM when an entry
 * cannot be allocated (the cache stays consistent; the poll goes on).
 */
int otter_pollcache_put(otter_pollcache *pc, const unsigned char key[OTTER_POLLCACHE_KEY_LEN],
                        uint64_t gen, const char *tenant, const char *controller_id,
                        const otter_pollcache_facts *facts, otter_err *err);

/* Records that key's device was noted as seen at `at` (last_seen is batched, otter_ddi_seen.h). */
void otter_pollcache_note_seen(otter_pollcache *pc,
                               const unsigned char key[OTTER_POLLCACHE_KEY_LEN], int64_t at);

/* Entries held now (for tests). */
size_t otter_pollcache_count(otter_pollcache *pc);

/* Bytes one entry takes for names of these lengths, allocator overhead aside. */
size_t otter_pollcache_entry_bytes(size_t tenant_len, size_t controller_id_len);

#endif
