/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact bytes in the database (s10-cdn, docs/operations.md "Several
 * servers"), included by otter_store.h: with [storage] database = true an
 * uploaded artifact is also kept here, content-addressed by its SHA-256, as
 * numbered chunks of base64 text (both engines store text the same way
 * through the store's one statement path; 4/3 of the bytes). A server that
 * did not receive the upload fills its local artifacts directory from these
 * rows (otter_blob.h). Quiet writes: no poll answer depends on them.
 * Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_BLOBS_H
#define OTTER_STORE_BLOBS_H

#include <stdint.h>

#include "otter_err.h"

/*
 * Starts blob sha256 of size bytes in n_chunks chunks; *exists = 1 (and
 * nothing written) when the blob is there already (the same bytes,
 * uploaded for another release). Call in the transaction that writes its
 * chunks, so other servers see all of it or nothing.
 */
int otter_store_blob_begin(otter_store *s, const char *sha256, int64_t size, int64_t n_chunks,
                           int64_t now, int *exists, otter_err *err);
/* Chunk seq (0-based) of blob sha256 as base64 text. */
int otter_store_blob_chunk_put(otter_store *s, const char *sha256, int64_t seq, const char *b64,
                               otter_err *err);
/* Size and chunk count of blob sha256; *found = 0 when it is not stored. */
int otter_store_blob_get(otter_store *s, const char *sha256, int64_t *size, int64_t *n_chunks,
                         int *found, otter_err *err);
/*
 * Chunk seq of blob sha256 to fn(ctx, base64 text) (borrowed for the call);
 * *found = 0 when there is no such chunk.
 */
int otter_store_blob_chunk_get(otter_store *s, const char *sha256, int64_t seq,
                               int (*fn)(void *ctx, const char *b64), void *ctx, int *found,
                               otter_err *err);
/* Removes blob sha256 and its chunks (a missing blob is fine). */
int otter_store_blob_delete(otter_store *s, const char *sha256, otter_err *err);

#endif
