/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for artifact bytes in the database
 * (otter_store_blobs.h), on either engine (otter_sql.h). One chunk per
 * statement both ways: memory stays at one chunk whatever the artifact's
 * size (libpq would hold a whole result set at once).
 */

#include "otter_sql.h"

int otter_store_blob_begin(otter_store *s, const char *sha256, int64_t size, int64_t n_chunks,
                           int64_t now, int *exists, otter_err *err)
{
    int64_t had = 0;
    /* Asked first: what an INSERT that did nothing reports as touched differs by engine. */
    int ret = otter_sql_read(s, "looking for a stored artifact", otter_sql_int_row, &had, err,
                             "SELECT count(*) FROM blobs WHERE sha256 = ?", "t", sha256);
    *exists = ret == 0 && had > 0;
    if (ret < 0 || *exists)
        return ret;
    /* Two servers storing the same bytes at once: both rows and chunks are the same. */
    return otter_sql_write_quiet(s, "storing an artifact", NULL, err,
                                 "INSERT INTO blobs(sha256, size, chunks, created_at)"
                                 " VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                                 "tiii", sha256, size, n_chunks, now);
}

int otter_store_blob_chunk_put(otter_store *s, const char *sha256, int64_t seq, const char *b64,
                               otter_err *err)
{
    return otter_sql_write_quiet(s, "storing an artifact chunk", NULL, err,
                                 "INSERT INTO blob_chunks(sha256, seq, data) VALUES (?, ?, ?)"
                                 " ON CONFLICT (sha256, seq) DO NOTHING",
                                 "tit", sha256, seq, b64);
}

struct head {
    int64_t size, chunks;
    int found;
};

static int head_row(const otter_sqlrow *r, void *ctx, otter_err *err)
{
    (void)err;
    struct head *h = ctx;
    *h = (struct head){otter_sql_int(r, 0), otter_sql_int(r, 1), 1};
    return 0;
}

int otter_store_blob_get(otter_store *s, const char *sha256, int64_t *size, int64_t *n_chunks,
                         int *found, otter_err *err)
{
    struct head h = {0};
    int ret = otter_sql_read(s, "reading a stored artifact", head_row, &h, err,
                             "SELECT size, chunks FROM blobs WHERE sha256 = ?", "t", sha256);
    *found = ret == 0 && h.found;
    *size = h.size;
    *n_chunks = h.chunks;
    return ret;
}

struct chunk {
    int (*fn)(void *ctx, const char *b64);
    void *ctx;
    int found;
};

static int chunk_row(const otter_sqlrow *r, void *ctx, otter_err *err)
{
    struct chunk *c = ctx;
    const char *text = otter_sql_text(r, 0);
    c->found = 1;
    if (!text || c->fn(c->ctx, text) < 0)
        return otter_err_set(err, OTTER_EFORMAT, "a stored artifact chunk is unreadable");
    return 0;
}

int otter_store_blob_chunk_get(otter_store *s, const char *sha256, int64_t seq,
                               int (*fn)(void *ctx, const char *b64), void *ctx, int *found,
                               otter_err *err)
{
    struct chunk c = {fn, ctx, 0};
    int ret = otter_sql_read(s, "reading a stored artifact chunk", chunk_row, &c, err,
                             "SELECT data FROM blob_chunks WHERE sha256 = ? AND seq = ?", "ti",
                             sha256, seq);
    *found = ret == 0 && c.found;
    return ret;
}

int otter_store_blob_delete(otter_store *s, const char *sha256, otter_err *err)
{
    int own = 0;
    int ret = otter_sql_tx_open(s, &own, err);
    if (ret == 0)
        ret = otter_sql_write_quiet(s, "removing an artifact's chunks", NULL, err,
                                    "DELETE FROM blob_chunks WHERE sha256 = ?", "t", sha256);
    if (ret == 0)
        ret = otter_sql_write_quiet(s, "removing a stored artifact", NULL, err,
                                    "DELETE FROM blobs WHERE sha256 = ?", "t", sha256);
    return otter_sql_tx_close(s, own, ret, err);
}
