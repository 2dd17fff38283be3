/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for approvals and staged rollouts, on either engine
 * (otter_sql.h). The rules (who may approve, how stages advance) live in
 * otter_rollout.c; this file only keeps and counts. Every write is a
 * counted change that may touch any device.
 */
#include <stdlib.h>
#include <string.h>

#include "otter_sql.h"

/* ---- approvals ---- */

static int approval_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    otter_approval *a = ctx;
    a->release_id = otter_sql_int(st, 0);
    if (otter_sql_copy(st, 1, a->state, sizeof a->state, err) < 0 ||
        otter_sql_copy(st, 3, a->decided_by_name, sizeof a->decided_by_name, err) < 0 ||
        otter_sql_copy(st, 5, a->comment, sizeof a->comment, err) < 0)
        return OTTER_EFORMAT;
    a->decided_by = otter_sql_int(st, 2);
    a->decided_at = otter_sql_int(st, 4);
    return 1; /* found */
}

int otter_store_approval_get(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                             otter_err *err)
{
    memset(out, 0, sizeof *out);
    out->release_id = release_id;
    int ret = otter_sql_read(s, "reading approval", approval_row, out, err,
                             "SELECT release_id, state, coalesce(decided_by, 0),"
                             " decided_by_name, decided_at, comment"
                             " FROM approvals WHERE release_id = ?",
                             "i", release_id);
    *found = ret == 1;
    return ret < 0 ? ret : 0;
}

int otter_store_approval_set(otter_store *s, const otter_approval *a, otter_err *err)
{
    /* One upsert: two servers deciding at once leave one decision, never a clash. */
    return otter_sql_change(
        s, OTTER_CHANGE_ANY_DEVICE, "recording approval", NULL, err,
        "INSERT INTO approvals(release_id, state, decided_by, decided_by_name, decided_at,"
        " comment) VALUES (?, ?, nullif(?, 0), ?, ?, ?) ON CONFLICT (release_id) DO UPDATE SET"
        " state = excluded.state, decided_by = excluded.decided_by,"
        " decided_by_name = excluded.decided_by_name, decided_at = excluded.decided_at,"
        " comment = excluded.comment",
        "ititit", a->release_id, a->state, a->decided_by, a->decided_by_name, a->decided_at,
        a->comment);
}

/* ---- rollouts ---- */

static int rollout_create(const otter_change *ch, const otter_rollout *r, int64_t now, int64_t *id,
                          otter_err *err)
{
    int ret = otter_sql_write(
        ch, "creating rollout", id, err,
        "INSERT INTO rollouts(tenant_id, release_id, name, target_filter, download, update_mode,"
        " maintenance_window, created_by, created_by_name, created_at, updated_at, consent)"
        " VALUES (?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, 0), ?, ?, ?10, ?) RETURNING id",
        "iitttttitit", r->tenant_id, r->release_id, r->name, r->filter[0] ? r->filter : "{}",
        r->download[0] ? r->download : "forced", r->update[0] ? r->update : "forced",
        r->maintenance, r->created_by, r->created_by_name, now,
        r->consent[0] ? r->consent : "auto");
    for (size_t i = 0; ret == 0 && i < r->n_stages; i++)
        ret = otter_sql_write(ch, "creating rollout stage", NULL, err,
                              "INSERT INTO rollout_stages(rollout_id, idx, percent,"
                              " success_threshold, failure_threshold, min_devices)"
                              " VALUES (?, ?, ?, ?, ?, ?)",
                              "iiiiii", *id, (int64_t)i, (int64_t)r->stages[i].percent,
                              (int64_t)r->stages[i].success_threshold,
                              (int64_t)r->stages[i].failure_threshold, r->stages[i].min_devices);
    return ret;
}

int otter_store_rollout_create(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                               otter_err *err)
{
    if (r->n_stages < 1 || r->n_stages > OTTER_ROLLOUT_STAGES_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "a rollout has 1..%d stages",
                             OTTER_ROLLOUT_STAGES_MAX);
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = rollout_create(&ch, r, now, id, err);
    return otter_change_end(&ch, ret, OTTER_CHANGE_ANY_DEVICE, err);
}

struct rollout_walk {
    otter_store_rollout_cb cb;
    void *ctx;
    otter_rollout *r; /* being filled: stages arrive as rows after it */
};

/* Rows are rollouts joined with their stages, ordered by rollout then stage. */
static int rollout_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    struct rollout_walk *w = ctx;
    otter_rollout *r = w->r;
    int64_t id = otter_sql_int(st, 0);
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
        r->tenant_id = otter_sql_int(st, 1);
        r->release_id = otter_sql_int(st, 2);
        if (otter_sql_copy(st, 3, r->name, sizeof r->name, err) < 0 ||
            otter_sql_copy(st, 4, r->state, sizeof r->state, err) < 0 ||
            otter_sql_copy(st, 5, r->pause_reason, sizeof r->pause_reason, err) < 0 ||
            otter_sql_copy(st, 7, r->filter, sizeof r->filter, err) < 0 ||
            otter_sql_copy(st, 8, r->download, sizeof r->download, err) < 0 ||
            otter_sql_copy(st, 9, r->update, sizeof r->update, err) < 0 ||
            otter_sql_copy(st, 10, r->maintenance, sizeof r->maintenance, err) < 0 ||
            otter_sql_copy(st, 13, r->created_by_name, sizeof r->created_by_name, err) < 0)
            return OTTER_EFORMAT;
        r->current_stage = otter_sql_int(st, 6);
        r->devices = otter_sql_int(st, 11);
        r->created_by = otter_sql_int(st, 12);
        r->created_at = otter_sql_int(st, 14);
        r->updated_at = otter_sql_int(st, 15);
        r->accepted_failures = otter_sql_int(st, 20);
        if (otter_sql_copy(st, 21, r->consent, sizeof r->consent, err) < 0)
            return OTTER_EFORMAT;
    }
    if (!otter_sql_is_null(st, 16)) {
        if (r->n_stages == OTTER_ROLLOUT_STAGES_MAX)
            return otter_err_set(err, OTTER_EFORMAT, "rollout %lld has too many stages",
                                 (long long)id);
        otter_rollout_stage *g = &r->stages[r->n_stages++];
        g->percent = otter_sql_int(st, 16);
        g->success_threshold = otter_sql_int(st, 17);
        g->failure_threshold = otter_sql_int(st, 18);
        g->min_devices = otter_sql_int(st, 19);
    }
    return 0;
}

int otter_store_rollout_list(otter_store *s, int64_t tenant_id, int64_t rollout_id,
                             int64_t release_id, otter_store_rollout_cb cb, void *ctx,
                             otter_err *err)
{
    otter_rollout *r = calloc(1, sizeof *r); /* 8 KiB of filter: not on a pool thread's stack */
    if (!r)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    struct rollout_walk w = {cb, ctx, r};
    int ret = otter_sql_read(
        s, "listing rollouts", rollout_row, &w, err,
        "SELECT r.id, r.tenant_id, r.release_id, r.name, r.state, r.pause_reason,"
        " r.current_stage, r.target_filter, r.download, r.update_mode,"
        " coalesce(r.maintenance_window, ''), r.devices, coalesce(r.created_by, 0),"
        " r.created_by_name, r.created_at, r.updated_at,"
        " g.percent, g.success_threshold, g.failure_threshold, g.min_devices, r.accepted_failures,"
        " r.consent"
        " FROM rollouts r LEFT JOIN rollout_stages g ON g.rollout_id = r.id"
        " WHERE (?1 = 0 OR r.tenant_id = ?1) AND (?2 = 0 OR r.id = ?2)"
        " AND (?3 = 0 OR r.release_id = ?3) ORDER BY r.id DESC, g.idx",
        "iii", tenant_id, rollout_id, release_id);
    if (ret == 0 && r->id)
        ret = cb(ctx, r);
    free(r);
    return ret;
}

int otter_store_rollout_update(otter_store *s, const otter_rollout *r, int64_t now, otter_err *err)
{
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = otter_sql_write(&ch, "updating rollout", NULL, err,
                              "UPDATE rollouts SET state = ?, pause_reason = ?, current_stage = ?,"
                              " devices = ?, accepted_failures = ?, updated_at = ? WHERE id = ?",
                              "ttiiiii", r->state, r->pause_reason, r->current_stage, r->devices,
                              r->accepted_failures, now, r->id);
    return otter_change_end(&ch, ret, OTTER_CHANGE_ANY_DEVICE, err);
}

typedef OTTER_SQL_WALK(otter_rollout_count, otter_store_rollout_count_cb) count_walk;

static int count_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    count_walk *w = ctx;
    otter_rollout_count c = {.stage = otter_sql_int(st, 0),
                             .status = otter_sql_text(st, 1),
                             .result = otter_sql_text(st, 2),
                             .count = otter_sql_int(st, 3)};
    return w->cb(w->ctx, &c);
}

int otter_store_rollout_counts(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                               void *ctx, otter_err *err)
{
    count_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "counting rollout actions", count_row, &w, err,
                          "SELECT coalesce(stage, 0), status, result, count(*) FROM actions"
                          " WHERE rollout_id = ? AND superseded_by IS NULL"
                          " GROUP BY stage, status, result",
                          "i", rollout_id);
}

int otter_store_rollout_cancel_actions(otter_store *s, int64_t rollout_id, int64_t now,
                                       otter_err *err)
{
    /* Scheduled actions the device never saw end at once; started ones ask the device. */
    return otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "canceling rollout actions", NULL, err,
                            "UPDATE actions SET status = CASE status WHEN 'scheduled' THEN"
                            " 'canceled' ELSE 'canceling' END, updated_at = ?"
                            " WHERE rollout_id = ? AND status IN ('scheduled','running')",
                            "ii", now, rollout_id);
}

int otter_store_release_withdraw_actions(otter_store *s, int64_t release_id, int64_t now,
                                         int64_t *withdrawn, otter_err *err)
{
    *withdrawn = 0;
    return otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "withdrawing actions", withdrawn, err,
                            "UPDATE actions SET status = 'canceled', updated_at = ?"
                            " WHERE release_id = ? AND rollout_id IS NULL"
                            " AND status = 'scheduled'",
                            "ii", now, release_id);
}

/*
 * Three steps in the caller's transaction: mark the failed actions to retry
 * with their own id (a valid reference, and already out of the counts), copy
 * each into a new scheduled action, then point each mark at its copy (the
 * one action of that device in the rollout that is not superseded).
 */
static int retry_failed(const otter_change *ch, int64_t rollout_id, int64_t up_to_stage,
                        int64_t created_by, int64_t now, int64_t *retried, otter_err *err)
{
    int ret = otter_sql_write(
        ch, "marking failed rollout actions", NULL, err,
        "UPDATE actions SET superseded_by = id WHERE rollout_id = ? AND superseded_by IS NULL"
        " AND stage <= ? AND (status = 'error' OR (status = 'finished' AND result = 'failure'))"
        " AND NOT EXISTS (SELECT 1 FROM actions o WHERE o.device_id = actions.device_id"
        "                 AND o.status IN ('scheduled','running','canceling'))",
        "ii", rollout_id, up_to_stage);
    if (ret == 0)
        ret = otter_sql_write(
            ch, "retrying failed rollout actions", retried, err,
            "INSERT INTO actions(tenant_id, device_id, release_id, rollout_id, stage, download,"
            " update_mode, maintenance_window, created_by, created_at, updated_at, consent,"
            " confirm)"
            " SELECT tenant_id, device_id, release_id, rollout_id, stage, download, update_mode,"
            " maintenance_window, nullif(?, 0), ?, ?, consent,"
            " CASE WHEN consent = 'ask' THEN 'waiting' ELSE 'none' END FROM actions"
            " WHERE rollout_id = ? AND superseded_by = id ORDER BY id",
            "iiii", created_by, now, now, rollout_id);
    if (ret == 0)
        ret = otter_sql_write(
            ch, "linking retried rollout actions", NULL, err,
            "UPDATE actions SET superseded_by = (SELECT n.id FROM actions n"
            "   WHERE n.rollout_id = actions.rollout_id AND n.device_id = actions.device_id"
            "   AND n.superseded_by IS NULL), updated_at = ?"
            " WHERE rollout_id = ? AND superseded_by = id",
            "ii", now, rollout_id);
    return ret;
}

int otter_store_rollout_retry_failed(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                     int64_t created_by, int64_t now, int64_t *retried,
                                     otter_err *err)
{
    otter_change ch;
    *retried = 0;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = retry_failed(&ch, rollout_id, up_to_stage, created_by, now, retried, err);
    return otter_change_end(&ch, ret, OTTER_CHANGE_ANY_DEVICE, err);
}
