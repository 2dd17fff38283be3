/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifacts shared through the database, so several otter-server
 * instances need no shared filesystem (s10-cdn, docs/operations.md
 * "Several servers"). With [storage] database = true the server that takes
 * an upload copies the verified artifact into the store (otter_store_blobs.h)
 * in the upload's own transaction; every server's [storage] artifacts
 * directory is then a cache that otter_blob_local() fills on a miss,
 * checking SHA-256 and size before the file gets its name.
 */
#ifndef OTTER_BLOB_H
#define OTTER_BLOB_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

/* Raw bytes per stored chunk (base64 in the row: 4/3 of it). */
#define OTTER_BLOB_CHUNK (1024 * 1024)

/*
 * Copies dir/<sha256> (a committed artifact) into the store, unless
 * the store has those bytes already. Call inside the transaction that
 * records the release or delta. OTTER_EIO when the file cannot be read.
 */
int otter_blob_put(otter_store *s, const char *dir, const char *sha256, int64_t now,
                   otter_err *err);

/*
 * Makes dir/<sha256> exist: 0 at once when it does; else written from the
 * store into a temporary file, SHA-256 and size checked (OTTER_EDIGEST on a
 * mismatch, nothing named), then renamed into place. OTTER_ESTATE when the
 * store does not have it either.
 */
int otter_blob_local(otter_store *s, const char *dir, const char *sha256, otter_err *err);

#endif
