/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for following a campaign (issue #15,
 * otter_store_follow.h), on either engine (otter_sql.h): one row per
 * started rollout, deleted with it. Quiet: no poll answer shows it.
 */

#include "otter_sql.h"
#include "otter_store_follow.h"

int otter_store_rollout_skipped_set(otter_store *s, int64_t rollout_id, int64_t incompatible,
                                    otter_err *err)
{
    return otter_sql_write_quiet(
        s, "recording the devices a rollout left out", NULL, err,
        "INSERT INTO rollout_skipped(rollout_id, incompatible) VALUES (?, ?)"
        " ON CONFLICT (rollout_id) DO UPDATE SET incompatible = excluded.incompatible",
        "ii", rollout_id, incompatible);
}

struct skipped {
    int64_t incompatible;
    int known;
};

static int skipped_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    struct skipped *k = ctx;
    k->incompatible = otter_sql_int(st, 0);
    k->known = 1;
    return 0;
}

int otter_store_rollout_skipped_get(otter_store *s, int64_t rollout_id, int64_t *incompatible,
                                    int *known, otter_err *err)
{
    struct skipped k = {0, 0};
    int ret = otter_sql_read(s, "reading the devices a rollout left out", skipped_row, &k, err,
                             "SELECT incompatible FROM rollout_skipped WHERE rollout_id = ?", "i",
                             rollout_id);
    *incompatible = k.incompatible;
    *known = k.known;
    return ret;
}
