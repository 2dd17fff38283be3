/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for the artifact bytes a rollout's devices
 * downloaded (issue #12, otter_store_traffic.h), on either engine
 * (otter_sql.h). One row per rollout and kind, added to with an upsert
 * (both engines have INSERT ... ON CONFLICT DO UPDATE), so a download
 * costs one statement and the stats one indexed read. Quiet: no poll
 * answer shows it.
 */

#include "otter_sql.h"

int otter_store_traffic_add(otter_store *s, int64_t rollout_id, int delta, int64_t bytes,
                            int64_t full_equivalent, otter_err *err)
{
    return otter_sql_write_quiet(
        s, "counting downloaded bytes", NULL, err,
        "INSERT INTO rollout_traffic(rollout_id, kind, downloads, bytes, full_equivalent)"
        " VALUES (?, ?, 1, ?, ?) ON CONFLICT (rollout_id, kind) DO UPDATE SET"
        " downloads = rollout_traffic.downloads + 1,"
        " bytes = rollout_traffic.bytes + excluded.bytes,"
        " full_equivalent = rollout_traffic.full_equivalent + excluded.full_equivalent",
        "itii", rollout_id, delta ? "delta" : "full", bytes, full_equivalent);
}

static int traffic_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    otter_rollout_traffic *t = ctx;
    const char *kind = otter_sql_text(st, 0);
    otter_traffic_kind *k = kind && kind[0] == 'd' ? &t->delta : &t->full;
    k->downloads = otter_sql_int(st, 1);
    k->bytes = otter_sql_int(st, 2);
    k->full_equivalent = otter_sql_int(st, 3);
    return 0;
}

int otter_store_traffic_get(otter_store *s, int64_t rollout_id, otter_rollout_traffic *out,
                            otter_err *err)
{
    *out = (otter_rollout_traffic){0};
    return otter_sql_read(s, "reading downloaded bytes", traffic_row, out, err,
                          "SELECT kind, downloads, bytes, full_equivalent FROM rollout_traffic"
                          " WHERE rollout_id = ?",
                          "i", rollout_id);
}
