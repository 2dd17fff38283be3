/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for the delta packages of a release (issue #12,
 * docs/server.md "Deltas"), on either engine (otter_sql.h). All quiet: the
 * base poll (the only cached DDI answer) does not show deltas; the
 * deploymentBase that offers them is read from the store every time.
 */

#include "otter_sql.h"

int otter_store_delta_create(otter_store *s, const otter_delta *d, int64_t created_by, int64_t now,
                             int64_t *id, otter_err *err)
{
    return otter_sql_write_quiet(
        s, "creating delta", id, err,
        "INSERT INTO release_deltas(release_id, from_release_id, from_version, filename, size,"
        " sha256, sha1, md5, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?) RETURNING id",
        "iittitttii", d->release_id, d->from_release_id, d->from_version, d->filename, d->size,
        d->sha256, d->sha1, d->md5, created_by, now);
}

typedef OTTER_SQL_WALK(otter_delta, otter_store_delta_cb) delta_walk;

static int delta_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    delta_walk *w = ctx;
    otter_delta d = {0};
    d.id = otter_sql_int(st, 0);
    d.release_id = otter_sql_int(st, 1);
    d.from_release_id = otter_sql_int(st, 2);
    if (otter_sql_copy(st, 3, d.from_version, sizeof d.from_version, err) < 0 ||
        otter_sql_copy(st, 4, d.filename, sizeof d.filename, err) < 0 ||
        otter_sql_copy(st, 6, d.sha256, sizeof d.sha256, err) < 0 ||
        otter_sql_copy(st, 7, d.sha1, sizeof d.sha1, err) < 0 ||
        otter_sql_copy(st, 8, d.md5, sizeof d.md5, err) < 0)
        return OTTER_EFORMAT;
    d.size = otter_sql_int(st, 5);
    d.created_at = otter_sql_int(st, 9);
    return OTTER_SQL_EMIT(w, d);
}

int otter_store_delta_list(otter_store *s, int64_t release_id, int64_t delta_id,
                           otter_store_delta_cb cb, void *ctx, otter_err *err)
{
    delta_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing deltas", delta_row, &w, err,
                          "SELECT id, release_id, from_release_id, from_version, filename, size,"
                          " sha256, sha1, md5, created_at FROM release_deltas"
                          " WHERE release_id = ?1 AND (?2 = 0 OR id = ?2)"
                          " ORDER BY from_release_id, id",
                          "ii", release_id, delta_id);
}

int otter_store_delta_delete(otter_store *s, int64_t release_id, int64_t id, int *found,
                             int *sha_unused, otter_err *err)
{
    int64_t n = 0, others = 0;
    int own;
    *found = *sha_unused = 0;
    int ret = otter_sql_tx_open(s, &own, err);
    if (ret < 0)
        return ret;
    /* Content-addressed: the same bytes may be another delta's or a release's file. */
    ret = otter_sql_read(s, "checking delta file use", otter_sql_int_row, &others, err,
                         "SELECT (SELECT count(*) FROM release_deltas WHERE id != ?1 AND sha256 IN"
                         "   (SELECT sha256 FROM release_deltas WHERE id = ?1))"
                         " + (SELECT count(*) FROM artifacts WHERE sha256 IN"
                         "   (SELECT sha256 FROM release_deltas WHERE id = ?1))",
                         "i", id);
    if (ret == 0)
        ret = otter_sql_write_quiet(s, "deleting delta", &n, err,
                                    "DELETE FROM release_deltas WHERE id = ? AND release_id = ?",
                                    "ii", id, release_id);
    ret = otter_sql_tx_close(s, own, ret, err);
    if (ret == 0) {
        *found = n > 0;
        *sha_unused = n > 0 && others == 0;
    }
    return ret;
}
