/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end's queries for releases (with their artifact),
 * actions (DDI deployments) and the feedback devices send about them.
 * Calls made of several statements run in one transaction of their own
 * (or in the caller's), so another server never sees half of one.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

int otter_pg_release_create(otter_store *s, const otter_release *r, int64_t created_by, int64_t now,
                            int64_t *id, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int own;
    int ret = otter_pg_tx_open(d, &own, err);
    if (ret < 0)
        return ret;
    ret = otter_pg_query(d, "creating release", otter_pg_int_row, id, err,
                         "INSERT INTO releases(tenant_id, product, version, security_version,"
                         " kind, manifest, meta, created_by, created_at)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, 0), $9) RETURNING id",
                         "ittitttii", r->tenant_id, r->product, r->version, r->security_version,
                         r->kind, r->manifest, r->meta ? r->meta : "{}", created_by, now);
    if (ret == 0)
        ret = otter_pg_run(d, "creating artifact", NULL, err,
                           "INSERT INTO artifacts(release_id, filename, size, sha256, sha1, md5)"
                           " VALUES ($1, $2, $3, $4, $5, $6)",
                           "itittt", *id, r->filename, r->size, r->sha256, r->sha1, r->md5);
    return otter_pg_tx_close(d, own, ret, err);
}

struct release_walk {
    otter_store_release_cb cb;
    void *ctx;
};

static int release_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    struct release_walk *w = ctx;
    otter_release r = {0};
    r.id = otter_pg_int(res, i, 0);
    r.tenant_id = otter_pg_int(res, i, 1);
    if (otter_pg_copy(res, i, 2, r.product, sizeof r.product, err) < 0 ||
        otter_pg_copy(res, i, 3, r.version, sizeof r.version, err) < 0 ||
        otter_pg_copy(res, i, 5, r.kind, sizeof r.kind, err) < 0 ||
        otter_pg_copy(res, i, 9, r.filename, sizeof r.filename, err) < 0 ||
        otter_pg_copy(res, i, 11, r.sha256, sizeof r.sha256, err) < 0 ||
        otter_pg_copy(res, i, 12, r.sha1, sizeof r.sha1, err) < 0 ||
        otter_pg_copy(res, i, 13, r.md5, sizeof r.md5, err) < 0)
        return OTTER_EFORMAT;
    r.security_version = otter_pg_int(res, i, 4);
    r.manifest = otter_pg_str(res, i, 6);
    r.meta = otter_pg_str(res, i, 7);
    r.created_at = otter_pg_int(res, i, 8);
    r.size = otter_pg_int(res, i, 10);
    return w->cb(w->ctx, &r);
}

int otter_pg_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                          otter_store_release_cb cb, void *ctx, otter_err *err)
{
    struct release_walk w = {cb, ctx};
    return otter_pg_query(
        OTTER_PG(s), "listing releases", release_row, &w, err,
        "SELECT r.id, r.tenant_id, r.product, r.version, r.security_version, r.kind, r.manifest,"
        " r.meta, r.created_at, a.filename, a.size, a.sha256, a.sha1, a.md5"
        " FROM releases r JOIN artifacts a ON a.release_id = r.id"
        " WHERE r.tenant_id = $1 AND ($2 = 0 OR r.id = $2) ORDER BY r.id DESC",
        "ii", tenant_id, release_id);
}

int otter_pg_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int64_t exists = 0, used = 0, others = 0, n = 0;
    int own;
    *found = 0;
    *sha_unused = 0;
    int ret = otter_pg_tx_open(d, &own, err);
    if (ret < 0)
        return ret;
    /*
     * Lock the row first: an action created meanwhile on another server
     * waits for us and then fails its foreign key, instead of slipping in
     * between the check and the delete.
     */
    ret = otter_pg_query(d, "locking release", otter_pg_int_row, &exists, err,
                         "SELECT count(*) FROM (SELECT 1 FROM releases WHERE id = $1 FOR UPDATE) x",
                         "i", id);
    if (ret == 0 && exists)
        ret = otter_pg_query(d, "checking release use", otter_pg_int_row, &used, err,
                             "SELECT count(*) FROM actions WHERE release_id = $1", "i", id);
    if (ret == 0 && used)
        ret = otter_err_set(err, OTTER_ESTATE, "release %lld is used by %lld action(s)",
                            (long long)id, (long long)used);
    if (ret == 0 && exists)
        ret = otter_pg_query(d, "checking artifact use", otter_pg_int_row, &others, err,
                             "SELECT count(*) FROM artifacts WHERE sha256 IN"
                             " (SELECT sha256 FROM artifacts WHERE release_id = $1)"
                             " AND release_id != $1",
                             "i", id);
    if (ret == 0 && exists)
        ret = otter_pg_run(d, "deleting release", &n, err, "DELETE FROM releases WHERE id = $1",
                           "i", id);
    ret = otter_pg_tx_close(d, own, ret, err);
    if (ret == 0) {
        *found = n > 0;
        *sha_unused = n > 0 && others == 0;
    }
    return ret;
}

/* ---- actions ---- */

int otter_pg_action_create(otter_store *s, const otter_action *a, int64_t created_by, int64_t now,
                           int64_t *id, otter_err *err)
{
    return otter_pg_query(
        OTTER_PG(s), "creating action", otter_pg_int_row, id, err,
        "INSERT INTO actions(tenant_id, device_id, release_id, rollout_id, stage, download,"
        " update_mode, maintenance_window, created_by, created_at, updated_at)"
        " VALUES ($1, $2, $3, nullif($4, 0), nullif($5, -1), $6, $7, nullif($8, ''),"
        " nullif($9, 0), $10, $10) RETURNING id",
        "iiiiitttii", a->tenant_id, a->device_id, a->release_id, a->rollout_id,
        a->rollout_id ? a->stage : (int64_t)-1, a->download[0] ? a->download : "forced",
        a->update[0] ? a->update : "forced", a->maintenance, created_by, now);
}

#define ACTION_COLS                                                                                \
    "SELECT a.id, a.tenant_id, a.device_id, a.release_id, coalesce(a.rollout_id, 0),"              \
    " coalesce(a.stage, 0), a.status, a.result, a.download, a.update_mode,"                        \
    " coalesce(a.maintenance_window, ''), coalesce(a.last_execution, ''),"                         \
    " coalesce(a.last_finished, ''), a.created_at, a.updated_at, coalesce(a.superseded_by, 0)"     \
    " FROM actions a"

struct action_walk {
    otter_store_action_cb cb;
    void *ctx;
    otter_action *one;
    int found;
};

static int action_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    struct action_walk *w = ctx;
    otter_action a = {0};
    a.id = otter_pg_int(res, i, 0);
    a.tenant_id = otter_pg_int(res, i, 1);
    a.device_id = otter_pg_int(res, i, 2);
    a.release_id = otter_pg_int(res, i, 3);
    a.rollout_id = otter_pg_int(res, i, 4);
    a.stage = otter_pg_int(res, i, 5);
    if (otter_pg_copy(res, i, 6, a.status, sizeof a.status, err) < 0 ||
        otter_pg_copy(res, i, 7, a.result, sizeof a.result, err) < 0 ||
        otter_pg_copy(res, i, 8, a.download, sizeof a.download, err) < 0 ||
        otter_pg_copy(res, i, 9, a.update, sizeof a.update, err) < 0 ||
        otter_pg_copy(res, i, 10, a.maintenance, sizeof a.maintenance, err) < 0 ||
        otter_pg_copy(res, i, 11, a.last_execution, sizeof a.last_execution, err) < 0 ||
        otter_pg_copy(res, i, 12, a.last_finished, sizeof a.last_finished, err) < 0)
        return OTTER_EFORMAT;
    a.created_at = otter_pg_int(res, i, 13);
    a.updated_at = otter_pg_int(res, i, 14);
    a.superseded_by = otter_pg_int(res, i, 15);
    w->found = 1;
    if (w->one) {
        *w->one = a;
        return 0;
    }
    return w->cb(w->ctx, &a);
}

/*
 * The action a device is offered (actions a LEFT JOIN rollouts r): the
 * oldest open one; a rollout's action the device has not started only
 * while its rollout runs and has reached its stage. One text for the
 * single lookup and the poll cache's bulk load, so they cannot disagree.
 */
#define OFFERED                                                                                    \
    " a.status IN ('scheduled','running','canceling')"                                             \
    " AND (a.rollout_id IS NULL OR a.status != 'scheduled'"                                        \
    "      OR (r.state = 'running' AND a.stage <= r.current_stage))"

int otter_pg_action_get(otter_store *s, int which, int64_t id, otter_action *out, int *found,
                        otter_err *err)
{
    static const char *const sql[] = {
        ACTION_COLS " WHERE a.id = $1",
        /* The oldest open action is the one a device works on; later ones wait. */
        ACTION_COLS
        " LEFT JOIN rollouts r ON r.id = a.rollout_id WHERE a.device_id = $1 AND" OFFERED
        " ORDER BY a.id LIMIT 1",
        ACTION_COLS " WHERE a.device_id = $1 AND a.status = 'finished' AND a.result = 'success'"
                    " ORDER BY a.id DESC LIMIT 1",
        ACTION_COLS " WHERE a.device_id = $1 AND a.status IN ('scheduled','running','canceling')"
                    " ORDER BY a.id LIMIT 1",
    };
    struct action_walk w = {.one = out};
    *found = 0;
    if (which < 0 || which > 3)
        return otter_err_set(err, OTTER_EUSAGE, "action lookup %d", which);
    int ret =
        otter_pg_query(OTTER_PG(s), "reading action", action_row, &w, err, sql[which], "i", id);
    *found = w.found;
    return ret;
}

/* ---- the poll cache's bulk load ---- */

#define POLL_ROWS_SQL                                                                              \
    "SELECT d.token_sha256, t.name, d.controller_id, d.id, coalesce(d.last_seen, 0),"              \
    " (SELECT a.id * 2 + CASE WHEN a.status = 'canceling' THEN 1 ELSE 0 END"                       \
    "    FROM actions a LEFT JOIN rollouts r ON r.id = a.rollout_id"                               \
    "    WHERE a.device_id = d.id AND" OFFERED " ORDER BY a.id LIMIT 1),"                          \
    " (SELECT a.id FROM actions a WHERE a.device_id = d.id AND a.status = 'finished'"              \
    "    AND a.result = 'success' ORDER BY a.id DESC LIMIT 1),"                                    \
    " d.config_sent FROM devices d JOIN tenants t ON t.id = d.tenant_id"                           \
    " WHERE d.token_sha256 IS NOT NULL LIMIT "

struct poll_walk {
    otter_store_poll_row_cb cb;
    void *ctx;
};

static int poll_row(const PGresult *res, int row, void *ctx, otter_err *err)
{
    (void)err;
    struct poll_walk *w = ctx;
    /* The offered action comes as id * 2 + (being canceled): one subquery, not two. */
    int64_t offered = otter_pg_int(res, row, 5);
    otter_poll_row r = {.token_sha256 = otter_pg_str(res, row, 0),
                        .tenant = otter_pg_str(res, row, 1),
                        .controller_id = otter_pg_str(res, row, 2),
                        .device_id = otter_pg_int(res, row, 3),
                        .last_seen = otter_pg_int(res, row, 4),
                        .open_action = offered / 2,
                        .canceling = (int)(offered % 2),
                        .installed_action = otter_pg_int(res, row, 6),
                        .config_sent = otter_pg_int(res, row, 7) != 0};
    if (!r.token_sha256 || !r.tenant || !r.controller_id)
        return 0;
    return w->cb(w->ctx, &r);
}

int otter_pg_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb, void *ctx,
                              otter_err *err)
{
    struct poll_walk w = {cb, ctx};
    return otter_pg_query(OTTER_PG(s), "reading what polls need", poll_row, &w, err,
                          POLL_ROWS_SQL "$1", "i", limit);
}

int otter_pg_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                void *ctx, otter_err *err)
{
    struct action_walk w = {.cb = cb, .ctx = ctx};
    return otter_pg_query(OTTER_PG(s), "listing actions", action_row, &w, err,
                          ACTION_COLS " WHERE a.device_id = $1 ORDER BY a.id DESC", "i", device_id);
}

int otter_pg_action_set_status(otter_store *s, int64_t id, const char *status, const char *result,
                               int64_t now, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int own;
    int ret = otter_pg_tx_open(d, &own, err);
    if (ret < 0)
        return ret;
    ret = otter_pg_run(d, "updating action", NULL, err,
                       "UPDATE actions SET status = $1, result = $2, updated_at = $3 WHERE id = $4",
                       "ttii", status, result, now, id);
    if (ret == 0 && strcmp(status, "finished") == 0 && strcmp(result, "success") == 0)
        ret = otter_pg_run(d, "recording installed release", NULL, err,
                           "UPDATE devices SET installed_release_id = a.release_id"
                           " FROM actions a WHERE a.id = $1 AND devices.id = a.device_id",
                           "i", id);
    return otter_pg_tx_close(d, own, ret, err);
}

int otter_pg_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                    otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int own;
    int ret = otter_pg_tx_open(d, &own, err);
    if (ret < 0)
        return ret;
    ret = otter_pg_run(d, "updating action", NULL, err,
                       "UPDATE actions SET maintenance_window = nullif($1, ''), updated_at = $2"
                       " WHERE id = $3",
                       "tii", window, now, id);
    return otter_pg_tx_close(d, own, ret, err);
}

int otter_pg_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int own;
    int ret = otter_pg_tx_open(d, &own, err);
    if (ret < 0)
        return ret;
    ret = otter_pg_run(
        d, "storing feedback", NULL, err,
        "INSERT INTO action_feedback(action_id, at, kind, execution, finished, progress_cnt,"
        " progress_of, details) VALUES ($1, $2, $3, $4, $5, nullif($6, -1), nullif($7, -1), $8)",
        "iitttiit", f->action_id, f->at, f->kind, f->execution, f->finished, f->progress_cnt,
        f->progress_of, f->details ? f->details : "[]");
    if (ret == 0)
        ret = otter_pg_run(d, "storing feedback", NULL, err,
                           "UPDATE actions SET last_execution = $1, last_finished = $2,"
                           " updated_at = $3 WHERE id = $4",
                           "ttii", f->execution, f->finished, f->at, f->action_id);
    return otter_pg_tx_close(d, own, ret, err);
}

int otter_pg_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err)
{
    *count = 0;
    return otter_pg_query(OTTER_PG(s), "counting feedback", otter_pg_int_row, count, err,
                          "SELECT count(*) FROM action_feedback WHERE action_id = $1", "i",
                          action_id);
}

struct feedback_walk {
    otter_store_feedback_cb cb;
    void *ctx;
};

static int feedback_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    struct feedback_walk *w = ctx;
    otter_feedback f = {
        .id = otter_pg_int(res, i, 0),
        .action_id = otter_pg_int(res, i, 1),
        .at = otter_pg_int(res, i, 2),
        .kind = otter_pg_str(res, i, 3),
        .execution = otter_pg_str(res, i, 4),
        .finished = otter_pg_str(res, i, 5),
        .progress_cnt = otter_pg_int(res, i, 6),
        .progress_of = otter_pg_int(res, i, 7),
        .details = otter_pg_str(res, i, 8),
    };
    return w->cb(w->ctx, &f);
}

int otter_pg_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb, void *ctx,
                           otter_err *err)
{
    struct feedback_walk w = {cb, ctx};
    return otter_pg_query(OTTER_PG(s), "listing feedback", feedback_row, &w, err,
                          "SELECT id, action_id, at, kind, execution, finished,"
                          " coalesce(progress_cnt, -1), coalesce(progress_of, -1), details"
                          " FROM action_feedback WHERE action_id = $1 ORDER BY id",
                          "i", action_id);
}
