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

int otter_store_sample_add(otter_store *s, int64_t rollout_id, int64_t at, const char *counts,
                           otter_err *err)
{
    int own = 0;
    int ret = otter_sql_tx_open(s, &own, err);
    if (ret == 0)
        ret = otter_sql_write_quiet(
            s, "recording a rollout's counts", NULL, err,
            "INSERT INTO rollout_samples(rollout_id, at, counts) VALUES (?, ?, ?)"
            " ON CONFLICT (rollout_id, at) DO UPDATE SET counts = excluded.counts",
            "iit", rollout_id, at, counts);
    /* Bounded: the oldest beyond the newest SAMPLES_MAX - 1 go, the first one stays. */
    if (ret == 0)
        ret = otter_sql_write_quiet(
            s, "trimming a rollout's history", NULL, err,
            "DELETE FROM rollout_samples WHERE rollout_id = ?1"
            " AND at > (SELECT min(at) FROM rollout_samples WHERE rollout_id = ?1)"
            " AND at < (SELECT at FROM rollout_samples WHERE rollout_id = ?1"
            "           ORDER BY at DESC LIMIT 1 OFFSET ?2)",
            "ii", rollout_id, (int64_t)(OTTER_STORE_SAMPLES_MAX - 2));
    return otter_sql_tx_close(s, own, ret, err);
}

struct last {
    char *buf;
    size_t cap;
    int *found;
};

static int last_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    struct last *l = ctx;
    *l->found = 1;
    return otter_sql_copy(st, 0, l->buf, l->cap, err);
}

int otter_store_sample_last(otter_store *s, int64_t rollout_id, char *buf, size_t cap, int *found,
                            otter_err *err)
{
    struct last l = {buf, cap, found};
    *found = 0;
    buf[0] = '\0';
    return otter_sql_read(s, "reading a rollout's last counts", last_row, &l, err,
                          "SELECT counts FROM rollout_samples WHERE rollout_id = ?"
                          " ORDER BY at DESC LIMIT 1",
                          "i", rollout_id);
}

struct walk {
    int (*cb)(void *ctx, int64_t at, const char *counts);
    void *ctx;
};

static int sample_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    struct walk *w = ctx;
    return w->cb(w->ctx, otter_sql_int(st, 0), otter_sql_text(st, 1));
}

int otter_store_sample_list(otter_store *s, int64_t rollout_id,
                            int (*cb)(void *ctx, int64_t at, const char *counts), void *ctx,
                            otter_err *err)
{
    struct walk w = {cb, ctx};
    return otter_sql_read(s, "reading a rollout's history", sample_row, &w, err,
                          "SELECT at, counts FROM rollout_samples WHERE rollout_id = ?"
                          " ORDER BY at",
                          "i", rollout_id);
}
