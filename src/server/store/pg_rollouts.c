/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end's queries for approvals and staged rollouts. The
 * rules (who may approve, how stages advance) live in otter_rollout.c; this
 * file only keeps and counts.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* ---- approvals ---- */

static int approval_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    otter_approval *a = ctx;
    a->release_id = otter_pg_int(res, i, 0);
    if (otter_pg_copy(res, i, 1, a->state, sizeof a->state, err) < 0 ||
        otter_pg_copy(res, i, 3, a->decided_by_name, sizeof a->decided_by_name, err) < 0 ||
        otter_pg_copy(res, i, 5, a->comment, sizeof a->comment, err) < 0)
        return OTTER_EFORMAT;
    a->decided_by = otter_pg_int(res, i, 2);
    a->decided_at = otter_pg_int(res, i, 4);
    return 1; /* found: stops the walk */
}

int otter_pg_approval_get(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                          otter_err *err)
{
    memset(out, 0, sizeof *out);
    out->release_id = release_id;
    int ret = otter_pg_query(OTTER_PG(s), "reading approval", approval_row, out, err,
                             "SELECT release_id, state, coalesce(decided_by, 0),"
                             " decided_by_name, decided_at, comment"
                             " FROM approvals WHERE release_id = $1",
                             "i", release_id);
    *found = ret == 1;
    return ret < 0 ? ret : 0;
}

int otter_pg_approval_set(otter_store *s, const otter_approval *a, otter_err *err)
{
    /* One upsert: two servers deciding at once leave one decision, never a clash. */
    return otter_pg_run(
        OTTER_PG(s), "recording approval", NULL, err,
        "INSERT INTO approvals(release_id, state, decided_by, decided_by_name, decided_at, comment)"
        " VALUES ($1, $2, nullif($3, 0), $4, $5, $6) ON CONFLICT (release_id) DO UPDATE SET"
        " state = excluded.state, decided_by = excluded.decided_by,"
        " decided_by_name = excluded.decided_by_name, decided_at = excluded.decided_at,"
        " comment = excluded.comment",
        "ititit", a->release_id, a->state, a->decided_by, a->decided_by_name, a->decided_at,
        a->comment);
}

/* ---- rollouts ---- */

int otter_pg_rollout_create(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                            otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int own;
    int ret = otter_pg_tx_open(d, &own, err);
    if (ret < 0)
        return ret;
    ret = otter_pg_query(
        d, "creating rollout", otter_pg_int_row, id, err,
        "INSERT INTO rollouts(tenant_id, release_id, name, target_filter, download, update_mode,"
        " maintenance_window, created_by, created_by_name, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), nullif($8, 0), $9, $10, $10)"
        " RETURNING id",
        "iitttttiti", r->tenant_id, r->release_id, r->name, r->filter[0] ? r->filter : "{}",
        r->download[0] ? r->download : "forced", r->update[0] ? r->update : "forced",
        r->maintenance, r->created_by, r->created_by_name, now);
    for (size_t i = 0; ret == 0 && i < r->n_stages; i++)
        ret = otter_pg_run(d, "creating rollout stage", NULL, err,
                           "INSERT INTO rollout_stages(rollout_id, idx, percent,"
                           " success_threshold, failure_threshold, min_devices)"
                           " VALUES ($1, $2, $3, $4, $5, $6)",
                           "iiiiii", *id, (int64_t)i, (int64_t)r->stages[i].percent,
                           (int64_t)r->stages[i].success_threshold,
                           (int64_t)r->stages[i].failure_threshold, r->stages[i].min_devices);
    return otter_pg_tx_close(d, own, ret, err);
}

struct rollout_walk {
    otter_store_rollout_cb cb;
    void *ctx;
    otter_rollout *r; /* being filled: stages arrive as rows after it */
};

/* Rows are rollouts joined with their stages, ordered by rollout then stage. */
static int rollout_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    struct rollout_walk *w = ctx;
    otter_rollout *r = w->r;
    int64_t id = otter_pg_int(res, i, 0);
    int ret = 0;
    if (r->id && r->id != id) {
        ret = w->cb(w->ctx, r);
        r->id = 0;
        if (ret < 0)
            return ret;
    }
    if (!r->id) {
        memset(r, 0, sizeof *r);
        r->id = id;
        r->tenant_id = otter_pg_int(res, i, 1);
        r->release_id = otter_pg_int(res, i, 2);
        if (otter_pg_copy(res, i, 3, r->name, sizeof r->name, err) < 0 ||
            otter_pg_copy(res, i, 4, r->state, sizeof r->state, err) < 0 ||
            otter_pg_copy(res, i, 5, r->pause_reason, sizeof r->pause_reason, err) < 0 ||
            otter_pg_copy(res, i, 7, r->filter, sizeof r->filter, err) < 0 ||
            otter_pg_copy(res, i, 8, r->download, sizeof r->download, err) < 0 ||
            otter_pg_copy(res, i, 9, r->update, sizeof r->update, err) < 0 ||
            otter_pg_copy(res, i, 10, r->maintenance, sizeof r->maintenance, err) < 0 ||
            otter_pg_copy(res, i, 13, r->created_by_name, sizeof r->created_by_name, err) < 0)
            return OTTER_EFORMAT;
        r->current_stage = otter_pg_int(res, i, 6);
        r->devices = otter_pg_int(res, i, 11);
        r->created_by = otter_pg_int(res, i, 12);
        r->created_at = otter_pg_int(res, i, 14);
        r->updated_at = otter_pg_int(res, i, 15);
        r->accepted_failures = otter_pg_int(res, i, 20);
    }
    if (!PQgetisnull(res, i, 16)) {
        if (r->n_stages == OTTER_ROLLOUT_STAGES_MAX)
            return otter_err_set(err, OTTER_EFORMAT, "rollout %lld has too many stages",
                                 (long long)id);
        otter_rollout_stage *g = &r->stages[r->n_stages++];
        g->percent = (int)otter_pg_int(res, i, 16);
        g->success_threshold = (int)otter_pg_int(res, i, 17);
        g->failure_threshold = (int)otter_pg_int(res, i, 18);
        g->min_devices = otter_pg_int(res, i, 19);
    }
    return 0;
}

int otter_pg_rollout_list(otter_store *s, int64_t tenant_id, int64_t rollout_id, int64_t release_id,
                          otter_store_rollout_cb cb, void *ctx, otter_err *err)
{
    otter_rollout *r = calloc(1, sizeof *r); /* 8 KiB of filter: not on a pool thread's stack */
    if (!r)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    struct rollout_walk w = {cb, ctx, r};
    int ret = otter_pg_query(
        OTTER_PG(s), "listing rollouts", rollout_row, &w, err,
        "SELECT r.id, r.tenant_id, r.release_id, r.name, r.state, r.pause_reason,"
        " r.current_stage, r.target_filter, r.download, r.update_mode,"
        " coalesce(r.maintenance_window, ''), r.devices, coalesce(r.created_by, 0),"
        " r.created_by_name, r.created_at, r.updated_at,"
        " g.percent, g.success_threshold, g.failure_threshold, g.min_devices, r.accepted_failures"
        " FROM rollouts r LEFT JOIN rollout_stages g ON g.rollout_id = r.id"
        " WHERE ($1 = 0 OR r.tenant_id = $1) AND ($2 = 0 OR r.id = $2)"
        " AND ($3 = 0 OR r.release_id = $3) ORDER BY r.id DESC, g.idx",
        "iii", tenant_id, rollout_id, release_id);
    if (ret == 0 && r->id)
        ret = cb(ctx, r);
    free(r);
    return ret;
}

int otter_pg_rollout_update(otter_store *s, const otter_rollout *r, int64_t now, otter_err *err)
{
    return otter_pg_run(OTTER_PG(s), "updating rollout", NULL, err,
                        "UPDATE rollouts SET state = $1, pause_reason = $2, current_stage = $3,"
                        " devices = $4, accepted_failures = $5, updated_at = $6 WHERE id = $7",
                        "ttiiiii", r->state, r->pause_reason, r->current_stage, r->devices,
                        r->accepted_failures, now, r->id);
}

struct count_walk {
    otter_store_rollout_count_cb cb;
    void *ctx;
};

static int count_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    (void)err;
    struct count_walk *w = ctx;
    otter_rollout_count c = {.stage = otter_pg_int(res, i, 0),
                             .status = otter_pg_str(res, i, 1),
                             .result = otter_pg_str(res, i, 2),
                             .count = otter_pg_int(res, i, 3)};
    return w->cb(w->ctx, &c);
}

int otter_pg_rollout_counts(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                            void *ctx, otter_err *err)
{
    struct count_walk w = {cb, ctx};
    return otter_pg_query(OTTER_PG(s), "counting rollout actions", count_row, &w, err,
                          "SELECT coalesce(stage, 0), status, result, count(*) FROM actions"
                          " WHERE rollout_id = $1 AND superseded_by IS NULL"
                          " GROUP BY stage, status, result",
                          "i", rollout_id);
}

int otter_pg_rollout_cancel_actions(otter_store *s, int64_t rollout_id, int64_t now, otter_err *err)
{
    /* Scheduled actions the device never saw end at once; started ones ask the device. */
    return otter_pg_run(OTTER_PG(s), "canceling rollout actions", NULL, err,
                        "UPDATE actions SET status = CASE status WHEN 'scheduled' THEN"
                        " 'canceled' ELSE 'canceling' END, updated_at = $1"
                        " WHERE rollout_id = $2 AND status IN ('scheduled','running')",
                        "ii", now, rollout_id);
}

int otter_pg_release_withdraw_actions(otter_store *s, int64_t release_id, int64_t now,
                                      int64_t *withdrawn, otter_err *err)
{
    return otter_pg_run(OTTER_PG(s), "withdrawing actions", withdrawn, err,
                        "UPDATE actions SET status = 'canceled', updated_at = $1"
                        " WHERE release_id = $2 AND rollout_id IS NULL AND status = 'scheduled'",
                        "ii", now, release_id);
}

/* As SQLite's: mark with the own id, copy, link each mark to its copy. */
int otter_pg_rollout_retry_failed(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                  int64_t created_by, int64_t now, int64_t *retried, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int ret = otter_pg_run(
        d, "marking failed rollout actions", NULL, err,
        "UPDATE actions SET superseded_by = id WHERE rollout_id = $1 AND superseded_by IS NULL"
        " AND stage <= $2 AND (status = 'error' OR (status = 'finished' AND result = 'failure'))"
        " AND NOT EXISTS (SELECT 1 FROM actions o WHERE o.device_id = actions.device_id"
        "                 AND o.status IN ('scheduled','running','canceling'))",
        "ii", rollout_id, up_to_stage);
    if (ret == 0)
        ret = otter_pg_run(
            d, "retrying failed rollout actions", retried, err,
            "INSERT INTO actions(tenant_id, device_id, release_id, rollout_id, stage, download,"
            " update_mode, maintenance_window, created_by, created_at, updated_at)"
            " SELECT tenant_id, device_id, release_id, rollout_id, stage, download, update_mode,"
            " maintenance_window, nullif($1, 0), $2, $2 FROM actions"
            " WHERE rollout_id = $3 AND superseded_by = id ORDER BY id",
            "iii", created_by, now, rollout_id);
    if (ret == 0)
        ret = otter_pg_run(
            d, "linking retried rollout actions", NULL, err,
            "UPDATE actions SET superseded_by = (SELECT n.id FROM actions n"
            "   WHERE n.rollout_id = actions.rollout_id AND n.device_id = actions.device_id"
            "   AND n.superseded_by IS NULL), updated_at = $1"
            " WHERE rollout_id = $2 AND superseded_by = id",
            "ii", now, rollout_id);
    return ret;
}
