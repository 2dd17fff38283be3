/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite back-end's queries for releases (with their artifact),
 * actions (DDI deployments) and the feedback devices send about them.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

int otter_sqlite_release_create(otter_store *s, const otter_release *r, int64_t created_by,
                                int64_t now, int64_t *id, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret =
        otter_sqlite_run(d, "creating release", NULL, err,
                         "INSERT INTO releases(tenant_id, product, version, security_version,"
                         " kind, manifest, meta, created_by, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?)",
                         "ittitttii", r->tenant_id, r->product, r->version, r->security_version,
                         r->kind, r->manifest, r->meta ? r->meta : "{}", created_by, now);
    if (ret == 0) {
        *id = sqlite3_last_insert_rowid(d->h);
        ret =
            otter_sqlite_run(d, "creating artifact", NULL, err,
                             "INSERT INTO artifacts(release_id, filename, size, sha256, sha1, md5)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             "itittt", *id, r->filename, r->size, r->sha256, r->sha1, r->md5);
    }
    otter_sqlite_unlock(d);
    return ret;
}

struct release_walk {
    otter_store_release_cb cb;
    void *ctx;
};

static int release_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct release_walk *w = ctx;
    otter_release r = {0};
    r.id = sqlite3_column_int64(st, 0);
    r.tenant_id = sqlite3_column_int64(st, 1);
    if (otter_sqlite_col_copy(st, 2, r.product, sizeof r.product, err) < 0 ||
        otter_sqlite_col_copy(st, 3, r.version, sizeof r.version, err) < 0 ||
        otter_sqlite_col_copy(st, 5, r.kind, sizeof r.kind, err) < 0 ||
        otter_sqlite_col_copy(st, 9, r.filename, sizeof r.filename, err) < 0 ||
        otter_sqlite_col_copy(st, 11, r.sha256, sizeof r.sha256, err) < 0 ||
        otter_sqlite_col_copy(st, 12, r.sha1, sizeof r.sha1, err) < 0 ||
        otter_sqlite_col_copy(st, 13, r.md5, sizeof r.md5, err) < 0)
        return OTTER_EFORMAT;
    r.security_version = sqlite3_column_int64(st, 4);
    r.manifest = otter_sqlite_col_str(st, 6);
    r.meta = otter_sqlite_col_str(st, 7);
    r.created_at = sqlite3_column_int64(st, 8);
    r.size = sqlite3_column_int64(st, 10);
    return w->cb(w->ctx, &r);
}

int otter_sqlite_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                              otter_store_release_cb cb, void *ctx, otter_err *err)
{
    struct release_walk w = {cb, ctx};
    return otter_sqlite_query(
        OTTER_SQLITE(s), "listing releases", release_row, &w, err,
        "SELECT r.id, r.tenant_id, r.product, r.version, r.security_version, r.kind, r.manifest,"
        " r.meta, r.created_at, a.filename, a.size, a.sha256, a.sha1, a.md5"
        " FROM releases r JOIN artifacts a ON a.release_id = r.id"
        " WHERE r.tenant_id = ?1 AND (?2 = 0 OR r.id = ?2) ORDER BY r.id DESC",
        "ii", tenant_id, release_id);
}

int otter_sqlite_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused,
                                otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    int64_t used = 0, others = 0;
    int n = 0;
    *found = 0;
    *sha_unused = 0;
    otter_sqlite_lock(d);
    int ret = otter_sqlite_query(d, "checking release use", otter_sqlite_int_row, &used, err,
                                 "SELECT count(*) FROM actions WHERE release_id = ?", "i", id);
    if (ret == 0 && used)
        ret = otter_err_set(err, OTTER_ESTATE, "release %lld is used by %lld action(s)",
                            (long long)id, (long long)used);
    if (ret == 0)
        ret = otter_sqlite_query(d, "checking artifact use", otter_sqlite_int_row, &others, err,
                                 "SELECT count(*) FROM artifacts WHERE sha256 IN"
                                 " (SELECT sha256 FROM artifacts WHERE release_id = ?1)"
                                 " AND release_id != ?1",
                                 "i", id);
    if (ret == 0)
        ret = otter_sqlite_run(d, "deleting release", &n, err, "DELETE FROM releases WHERE id = ?",
                               "i", id);
    otter_sqlite_unlock(d);
    *found = n > 0;
    *sha_unused = n > 0 && others == 0;
    return ret;
}

/* ---- actions ---- */

int otter_sqlite_action_create(otter_store *s, const otter_action *a, int64_t created_by,
                               int64_t now, int64_t *id, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret = otter_sqlite_run(
        d, "creating action", NULL, err,
        "INSERT INTO actions(tenant_id, device_id, release_id, rollout_id, stage, download,"
        " update_mode, maintenance_window, created_by, created_at, updated_at)"
        " VALUES (?, ?, ?, nullif(?, 0), nullif(?, -1), ?, ?, nullif(?, ''), nullif(?, 0), ?, ?)",
        "iiiiitttiii", a->tenant_id, a->device_id, a->release_id, a->rollout_id,
        a->rollout_id ? a->stage : (int64_t)-1, a->download[0] ? a->download : "forced",
        a->update[0] ? a->update : "forced", a->maintenance, created_by, now, now);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(d->h);
    otter_sqlite_unlock(d);
    return ret;
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

static int action_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct action_walk *w = ctx;
    otter_action a = {0};
    a.id = sqlite3_column_int64(st, 0);
    a.tenant_id = sqlite3_column_int64(st, 1);
    a.device_id = sqlite3_column_int64(st, 2);
    a.release_id = sqlite3_column_int64(st, 3);
    a.rollout_id = sqlite3_column_int64(st, 4);
    a.stage = sqlite3_column_int64(st, 5);
    if (otter_sqlite_col_copy(st, 6, a.status, sizeof a.status, err) < 0 ||
        otter_sqlite_col_copy(st, 7, a.result, sizeof a.result, err) < 0 ||
        otter_sqlite_col_copy(st, 8, a.download, sizeof a.download, err) < 0 ||
        otter_sqlite_col_copy(st, 9, a.update, sizeof a.update, err) < 0 ||
        otter_sqlite_col_copy(st, 10, a.maintenance, sizeof a.maintenance, err) < 0 ||
        otter_sqlite_col_copy(st, 11, a.last_execution, sizeof a.last_execution, err) < 0 ||
        otter_sqlite_col_copy(st, 12, a.last_finished, sizeof a.last_finished, err) < 0)
        return OTTER_EFORMAT;
    a.created_at = sqlite3_column_int64(st, 13);
    a.updated_at = sqlite3_column_int64(st, 14);
    a.superseded_by = sqlite3_column_int64(st, 15);
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

int otter_sqlite_action_get(otter_store *s, int which, int64_t id, otter_action *out, int *found,
                            otter_err *err)
{
    static const char *const sql[] = {
        ACTION_COLS " WHERE a.id = ?",
        /* The oldest open action is the one a device works on; later ones wait. */
        ACTION_COLS " LEFT JOIN rollouts r ON r.id = a.rollout_id WHERE a.device_id = ? AND" OFFERED
                    " ORDER BY a.id LIMIT 1",
        ACTION_COLS " WHERE a.device_id = ? AND a.status = 'finished' AND a.result = 'success'"
                    " ORDER BY a.id DESC LIMIT 1",
        ACTION_COLS " WHERE a.device_id = ? AND a.status IN ('scheduled','running','canceling')"
                    " ORDER BY a.id LIMIT 1",
    };
    struct action_walk w = {.one = out};
    if (which < 0 || which > 3)
        return otter_err_set(err, OTTER_EUSAGE, "action lookup %d", which);
    int ret = otter_sqlite_query(OTTER_SQLITE(s), "reading action", action_row, &w, err, sql[which],
                                 "i", id);
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

static int poll_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    (void)err;
    struct poll_walk *w = ctx;
    /* The offered action comes as id * 2 + (being canceled): one subquery, not two. */
    int64_t offered = sqlite3_column_int64(st, 5);
    otter_poll_row r = {.token_sha256 = otter_sqlite_col_str(st, 0),
                        .tenant = otter_sqlite_col_str(st, 1),
                        .controller_id = otter_sqlite_col_str(st, 2),
                        .device_id = sqlite3_column_int64(st, 3),
                        .last_seen = sqlite3_column_int64(st, 4),
                        .open_action = offered / 2,
                        .canceling = (int)(offered % 2),
                        .installed_action = sqlite3_column_int64(st, 6),
                        .config_sent = sqlite3_column_int(st, 7) != 0};
    if (!r.token_sha256 || !r.tenant || !r.controller_id)
        return 0;
    return w->cb(w->ctx, &r);
}

int otter_sqlite_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb,
                                  void *ctx, otter_err *err)
{
    struct poll_walk w = {cb, ctx};
    return otter_sqlite_query(OTTER_SQLITE(s), "reading what polls need", poll_row, &w, err,
                              POLL_ROWS_SQL "?", "i", limit);
}

int otter_sqlite_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                    void *ctx, otter_err *err)
{
    struct action_walk w = {.cb = cb, .ctx = ctx};
    return otter_sqlite_query(OTTER_SQLITE(s), "listing actions", action_row, &w, err,
                              ACTION_COLS " WHERE a.device_id = ? ORDER BY a.id DESC", "i", device_id);
}

int otter_sqlite_action_set_status(otter_store *s, int64_t id, const char *status,
                                   const char *result, int64_t now, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret = otter_sqlite_run(d, "updating action", NULL, err,
                               "UPDATE actions SET status = ?, result = ?, updated_at = ?"
                               " WHERE id = ?",
                               "ttii", status, result, now, id);
    if (ret == 0 && strcmp(status, "finished") == 0 && strcmp(result, "success") == 0)
        ret = otter_sqlite_run(d, "recording installed release", NULL, err,
                               "UPDATE devices SET installed_release_id ="
                               " (SELECT release_id FROM actions WHERE id = ?1)"
                               " WHERE id = (SELECT device_id FROM actions WHERE id = ?1)",
                               "i", id);
    otter_sqlite_unlock(d);
    return ret;
}

int otter_sqlite_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                        otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret = otter_sqlite_run(d, "updating action", NULL, err,
                               "UPDATE actions SET maintenance_window = nullif(?, ''),"
                               " updated_at = ? WHERE id = ?",
                               "tii", window, now, id);
    otter_sqlite_unlock(d);
    return ret;
}

int otter_sqlite_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret = otter_sqlite_run(
        d, "storing feedback", NULL, err,
        "INSERT INTO action_feedback(action_id, at, kind, execution, finished, progress_cnt,"
        " progress_of, details) VALUES (?, ?, ?, ?, ?, nullif(?, -1), nullif(?, -1), ?)",
        "iitttiit", f->action_id, f->at, f->kind, f->execution, f->finished, f->progress_cnt,
        f->progress_of, f->details ? f->details : "[]");
    if (ret == 0)
        ret = otter_sqlite_run(d, "storing feedback", NULL, err,
                               "UPDATE actions SET last_execution = ?, last_finished = ?,"
                               " updated_at = ? WHERE id = ?",
                               "ttii", f->execution, f->finished, f->at, f->action_id);
    otter_sqlite_unlock(d);
    return ret;
}

int otter_sqlite_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err)
{
    *count = 0;
    return otter_sqlite_query(OTTER_SQLITE(s), "counting feedback", otter_sqlite_int_row, count,
                              err, "SELECT count(*) FROM action_feedback WHERE action_id = ?", "i",
                              action_id);
}

struct feedback_walk {
    otter_store_feedback_cb cb;
    void *ctx;
};

static int feedback_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct feedback_walk *w = ctx;
    otter_feedback f = {
        .id = sqlite3_column_int64(st, 0),
        .action_id = sqlite3_column_int64(st, 1),
        .at = sqlite3_column_int64(st, 2),
        .kind = otter_sqlite_col_str(st, 3),
        .execution = otter_sqlite_col_str(st, 4),
        .finished = otter_sqlite_col_str(st, 5),
        .progress_cnt = sqlite3_column_int64(st, 6),
        .progress_of = sqlite3_column_int64(st, 7),
        .details = otter_sqlite_col_str(st, 8),
    };
    return w->cb(w->ctx, &f);
}

int otter_sqlite_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb,
                               void *ctx, otter_err *err)
{
    struct feedback_walk w = {cb, ctx};
    return otter_sqlite_query(OTTER_SQLITE(s), "listing feedback", feedback_row, &w, err,
                              "SELECT id, action_id, at, kind, execution, finished,"
                              " coalesce(progress_cnt, -1), coalesce(progress_of, -1), details"
                              " FROM action_feedback WHERE action_id = ? ORDER BY id",
                              "i", action_id);
}
