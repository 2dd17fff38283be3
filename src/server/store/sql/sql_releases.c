/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for releases (with their artifact), actions (DDI
 * deployments) and the feedback devices send about them, on either engine
 * (otter_sql.h). Feedback is quiet (no poll answer reads it); the rest of
 * the writes are counted changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_sql.h"

int otter_store_release_create(otter_store *s, const otter_release *r, int64_t created_by,
                               int64_t now, int64_t *id, otter_err *err)
{
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret =
            otter_sql_write(&ch, "creating release", id, err,
                            "INSERT INTO releases(tenant_id, product, version, security_version,"
                            " kind, manifest, meta, created_by, created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?) RETURNING id",
                            "ittitttii", r->tenant_id, r->product, r->version, r->security_version,
                            r->kind, r->manifest, r->meta ? r->meta : "{}", created_by, now);
    if (ret == 0)
        ret = otter_sql_write(&ch, "creating artifact", NULL, err,
                              "INSERT INTO artifacts(release_id, filename, size, sha256, sha1, md5)"
                              " VALUES (?, ?, ?, ?, ?, ?)",
                              "itittt", *id, r->filename, r->size, r->sha256, r->sha1, r->md5);
    return otter_change_end(&ch, ret, OTTER_CHANGE_ANY_DEVICE, err);
}

typedef OTTER_SQL_WALK(otter_release, otter_store_release_cb) release_walk;

static int release_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    release_walk *w = ctx;
    otter_release r = {0};
    r.id = otter_sql_int(st, 0);
    r.tenant_id = otter_sql_int(st, 1);
    if (otter_sql_copy(st, 2, r.product, sizeof r.product, err) < 0 ||
        otter_sql_copy(st, 3, r.version, sizeof r.version, err) < 0 ||
        otter_sql_copy(st, 5, r.kind, sizeof r.kind, err) < 0 ||
        otter_sql_copy(st, 9, r.filename, sizeof r.filename, err) < 0 ||
        otter_sql_copy(st, 11, r.sha256, sizeof r.sha256, err) < 0 ||
        otter_sql_copy(st, 12, r.sha1, sizeof r.sha1, err) < 0 ||
        otter_sql_copy(st, 13, r.md5, sizeof r.md5, err) < 0)
        return OTTER_EFORMAT;
    r.security_version = otter_sql_int(st, 4);
    r.manifest = otter_sql_text(st, 6);
    r.meta = otter_sql_text(st, 7);
    r.created_at = otter_sql_int(st, 8);
    r.size = otter_sql_int(st, 10);
    return w->cb(w->ctx, &r);
}

int otter_store_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                             otter_store_release_cb cb, void *ctx, otter_err *err)
{
    release_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(
        s, "listing releases", release_row, &w, err,
        "SELECT r.id, r.tenant_id, r.product, r.version, r.security_version, r.kind, r.manifest,"
        " r.meta, r.created_at, a.filename, a.size, a.sha256, a.sha1, a.md5"
        " FROM releases r JOIN artifacts a ON a.release_id = r.id"
        " WHERE r.tenant_id = ?1 AND (?2 = 0 OR r.id = ?2) ORDER BY r.id DESC",
        "ii", tenant_id, release_id);
}

/*
 * The row is locked first (where several servers write): an action created
 * meanwhile on another server waits for us and then fails its foreign key,
 * instead of slipping in between the check and the delete.
 */
static int release_delete(const otter_change *ch, int64_t id, int64_t *n, int64_t *others,
                          otter_err *err)
{
    char lock[128];
    int64_t exists = 0, used = 0, deltas = 0;
    snprintf(lock, sizeof lock, "SELECT count(*) FROM (SELECT 1 FROM releases WHERE id = ?%s) x",
             ch->s->drv->lock_rows);
    int ret =
        otter_sql_read(ch->s, "locking release", otter_sql_int_row, &exists, err, lock, "i", id);
    if (ret == 0 && exists)
        ret = otter_sql_read(ch->s, "checking release use", otter_sql_int_row, &used, err,
                             "SELECT count(*) FROM actions WHERE release_id = ?", "i", id);
    if (ret == 0 && used)
        ret = otter_err_set(err, OTTER_ESTATE, "release %lld is used by %lld action(s)",
                            (long long)id, (long long)used);
    if (ret == 0 && exists)
        ret = otter_sql_read(ch->s, "checking delta use", otter_sql_int_row, &deltas, err,
                             "SELECT count(*) FROM release_deltas"
                             " WHERE release_id = ?1 OR from_release_id = ?1",
                             "i", id);
    if (ret == 0 && deltas)
        ret = otter_err_set(err, OTTER_ESTATE,
                            "release %lld has %lld delta(s) made to or from it: delete them first",
                            (long long)id, (long long)deltas);
    if (ret == 0 && exists)
        ret = otter_sql_read(ch->s, "checking artifact use", otter_sql_int_row, others, err,
                             "SELECT count(*) FROM artifacts WHERE sha256 IN"
                             " (SELECT sha256 FROM artifacts WHERE release_id = ?1)"
                             " AND release_id != ?1",
                             "i", id);
    if (ret == 0 && exists)
        ret = otter_sql_write(ch, "deleting release", n, err, "DELETE FROM releases WHERE id = ?",
                              "i", id);
    return ret;
}

int otter_store_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused,
                               otter_err *err)
{
    int64_t n = 0, others = 0;
    otter_change ch;
    *found = *sha_unused = 0;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = release_delete(&ch, id, &n, &others, err);
    ret = otter_change_end(&ch, ret, OTTER_CHANGE_ANY_DEVICE, err);
    if (ret == 0) {
        *found = n > 0;
        *sha_unused = n > 0 && others == 0;
    }
    return ret;
}

/* ---- actions ---- */

int otter_store_action_create(otter_store *s, const otter_action *a, int64_t created_by,
                              int64_t now, int64_t *id, otter_err *err)
{
    return otter_sql_change(
        s, a->device_id, "creating action", id, err,
        "INSERT INTO actions(tenant_id, device_id, release_id, rollout_id, stage, download,"
        " update_mode, maintenance_window, created_by, created_at, updated_at, consent, confirm)"
        " VALUES (?, ?, ?, nullif(?, 0), nullif(?, -1), ?, ?, nullif(?, ''), nullif(?, 0),"
        " ?, ?10, ?11, CASE WHEN ?11 = 'ask' THEN 'waiting' ELSE 'none' END) RETURNING id",
        "iiiiitttiit", a->tenant_id, a->device_id, a->release_id, a->rollout_id,
        a->rollout_id ? a->stage : (int64_t)-1, a->download[0] ? a->download : "forced",
        a->update[0] ? a->update : "forced", a->maintenance, created_by, now,
        a->consent[0] ? a->consent : "auto");
}

/* 1 when action a waits for its device's confirmation (docs/ddi.md "User consent"). */
#define AWAITING                                                                                   \
    " CASE WHEN a.confirm IN ('waiting','denied') AND NOT EXISTS (SELECT 1 FROM"                   \
    " device_autoconfirm c WHERE c.device_id = a.device_id) THEN 1 ELSE 0 END"

#define ACTION_COLS                                                                                \
    "SELECT a.id, a.tenant_id, a.device_id, a.release_id, coalesce(a.rollout_id, 0),"              \
    " coalesce(a.stage, 0), a.status, a.result, a.download, a.update_mode,"                        \
    " coalesce(a.maintenance_window, ''), coalesce(a.last_execution, ''),"                         \
    " coalesce(a.last_finished, ''), a.created_at, a.updated_at, coalesce(a.superseded_by, 0),"    \
    " a.consent, a.confirm, a.user_choice, a.user_until," AWAITING " FROM actions a"

typedef OTTER_SQL_WALK(otter_action, otter_store_action_cb) action_walk;

static int action_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    action_walk *w = ctx;
    otter_action a = {0};
    a.id = otter_sql_int(st, 0);
    a.tenant_id = otter_sql_int(st, 1);
    a.device_id = otter_sql_int(st, 2);
    a.release_id = otter_sql_int(st, 3);
    a.rollout_id = otter_sql_int(st, 4);
    a.stage = otter_sql_int(st, 5);
    if (otter_sql_copy(st, 6, a.status, sizeof a.status, err) < 0 ||
        otter_sql_copy(st, 7, a.result, sizeof a.result, err) < 0 ||
        otter_sql_copy(st, 8, a.download, sizeof a.download, err) < 0 ||
        otter_sql_copy(st, 9, a.update, sizeof a.update, err) < 0 ||
        otter_sql_copy(st, 10, a.maintenance, sizeof a.maintenance, err) < 0 ||
        otter_sql_copy(st, 11, a.last_execution, sizeof a.last_execution, err) < 0 ||
        otter_sql_copy(st, 12, a.last_finished, sizeof a.last_finished, err) < 0)
        return OTTER_EFORMAT;
    a.created_at = otter_sql_int(st, 13);
    a.updated_at = otter_sql_int(st, 14);
    a.superseded_by = otter_sql_int(st, 15);
    if (otter_sql_copy(st, 16, a.consent, sizeof a.consent, err) < 0 ||
        otter_sql_copy(st, 17, a.confirm, sizeof a.confirm, err) < 0 ||
        otter_sql_copy(st, 18, a.user_choice, sizeof a.user_choice, err) < 0)
        return OTTER_EFORMAT;
    a.user_until = otter_sql_int(st, 19);
    a.awaiting = otter_sql_int(st, 20) != 0;
    return OTTER_SQL_EMIT(w, a);
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

/* One action by a lookup of the action_sql table. */
static int action_get(otter_store *s, int which, int64_t id, otter_action *out, int *found,
                      otter_err *err)
{
    static const char *const action_sql[] = {
        ACTION_COLS " WHERE a.id = ?",
        /* The oldest open action is the one a device works on; later ones wait. */
        ACTION_COLS " LEFT JOIN rollouts r ON r.id = a.rollout_id WHERE a.device_id = ? AND" OFFERED
                    " ORDER BY a.id LIMIT 1",
        ACTION_COLS " WHERE a.device_id = ? AND a.status = 'finished' AND a.result = 'success'"
                    " ORDER BY a.id DESC LIMIT 1",
        ACTION_COLS " WHERE a.device_id = ? AND a.status IN ('scheduled','running','canceling')"
                    " ORDER BY a.id LIMIT 1",
    };
    action_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "reading action", action_row, &w, err, action_sql[which], "i", id);
}

int otter_store_action_get(otter_store *s, int64_t id, otter_action *out, int *found,
                           otter_err *err)
{
    return action_get(s, 0, id, out, found, err);
}

int otter_store_action_open(otter_store *s, int64_t device_id, otter_action *out, int *found,
                            otter_err *err)
{
    return action_get(s, 1, device_id, out, found, err);
}

int otter_store_action_installed(otter_store *s, int64_t device_id, otter_action *out, int *found,
                                 otter_err *err)
{
    return action_get(s, 2, device_id, out, found, err);
}

int otter_store_action_pending(otter_store *s, int64_t device_id, otter_action *out, int *found,
                               otter_err *err)
{
    return action_get(s, 3, device_id, out, found, err);
}

/* The device of action id, for a change to it; any device when it cannot be told. */
static int64_t action_device(otter_store *s, int64_t id)
{
    otter_action a;
    otter_err err;
    int found = 0;
    if (action_get(s, 0, id, &a, &found, &err) < 0 || !found)
        return OTTER_CHANGE_ANY_DEVICE;
    return a.device_id;
}

/* ---- the poll cache's bulk load ---- */

#define POLL_ROWS_SQL                                                                              \
    "SELECT d.token_sha256, t.name, d.controller_id, d.id, coalesce(d.last_seen, 0),"              \
    " (SELECT a.id * 4 + CASE WHEN a.status = 'canceling' THEN 1 ELSE 0 END"                       \
    "    + 2 *" AWAITING "    FROM actions a LEFT JOIN rollouts r ON r.id = a.rollout_id"          \
    "    WHERE a.device_id = d.id AND" OFFERED " ORDER BY a.id LIMIT 1),"                          \
    " (SELECT a.id FROM actions a WHERE a.device_id = d.id AND a.status = 'finished'"              \
    "    AND a.result = 'success' ORDER BY a.id DESC LIMIT 1),"                                    \
    " d.config_sent FROM devices d JOIN tenants t ON t.id = d.tenant_id"                           \
    " WHERE d.token_sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenant_ddi_auth x"            \
    "   WHERE x.tenant_id = d.tenant_id AND x.mode <> 'token') LIMIT "

typedef OTTER_SQL_WALK(otter_poll_row, otter_store_poll_row_cb) poll_walk;

static int poll_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    poll_walk *w = ctx;
    /* The offered action comes as id * 4 + 2 * (awaiting confirmation) + (being canceled). */
    int64_t offered = otter_sql_int(st, 5);
    otter_poll_row r = {.token_sha256 = otter_sql_text(st, 0),
                        .tenant = otter_sql_text(st, 1),
                        .controller_id = otter_sql_text(st, 2),
                        .device_id = otter_sql_int(st, 3),
                        .last_seen = otter_sql_int(st, 4),
                        .open_action = offered / 4,
                        .canceling = (int)(offered % 2),
                        .confirming = (int)(offered / 2 % 2),
                        .installed_action = otter_sql_int(st, 6),
                        .config_sent = otter_sql_int(st, 7) != 0};
    if (!r.token_sha256 || !r.tenant || !r.controller_id)
        return 0;
    return w->cb(w->ctx, &r);
}

int otter_store_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb,
                                 void *ctx, otter_err *err)
{
    poll_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "reading what polls need", poll_row, &w, err, POLL_ROWS_SQL "?", "i",
                          limit);
}

int otter_store_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                   void *ctx, otter_err *err)
{
    action_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing actions", action_row, &w, err,
                          ACTION_COLS " WHERE a.device_id = ? ORDER BY a.id DESC", "i", device_id);
}

int otter_store_action_set_status(otter_store *s, int64_t id, const char *status,
                                  const char *result, int64_t now, otter_err *err)
{
    int64_t device_id = action_device(s, id);
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = otter_sql_write(&ch, "updating action", NULL, err,
                              "UPDATE actions SET status = ?, result = ?, updated_at = ?"
                              " WHERE id = ?",
                              "ttii", status, result, now, id);
    if (ret == 0 && strcmp(status, "finished") == 0 && strcmp(result, "success") == 0)
        ret = otter_sql_write(&ch, "recording installed release", NULL, err,
                              "UPDATE devices SET installed_release_id ="
                              " (SELECT release_id FROM actions WHERE id = ?1)"
                              " WHERE id = (SELECT device_id FROM actions WHERE id = ?1)",
                              "i", id);
    return otter_change_end(&ch, ret, device_id, err);
}

int otter_store_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                       otter_err *err)
{
    int64_t device_id = action_device(s, id);
    return otter_sql_change(s, device_id, "updating action", NULL, err,
                            "UPDATE actions SET maintenance_window = nullif(?, ''),"
                            " updated_at = ? WHERE id = ?",
                            "tii", window, now, id);
}

int otter_store_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err)
{
    int own;
    int ret = otter_sql_tx_open(s, &own, err);
    if (ret < 0)
        return ret;
    ret = otter_sql_write_quiet(
        s, "storing feedback", NULL, err,
        "INSERT INTO action_feedback(action_id, at, kind, execution, finished, progress_cnt,"
        " progress_of, details) VALUES (?, ?, ?, ?, ?, nullif(?, -1), nullif(?, -1), ?)",
        "iitttiit", f->action_id, f->at, f->kind, f->execution, f->finished, f->progress_cnt,
        f->progress_of, f->details ? f->details : "[]");
    if (ret == 0)
        ret = otter_sql_write_quiet(s, "storing feedback", NULL, err,
                                    "UPDATE actions SET last_execution = ?, last_finished = ?,"
                                    " updated_at = ? WHERE id = ?",
                                    "ttii", f->execution, f->finished, f->at, f->action_id);
    return otter_sql_tx_close(s, own, ret, err);
}

int otter_store_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err)
{
    *count = 0;
    return otter_sql_read(s, "counting feedback", otter_sql_int_row, count, err,
                          "SELECT count(*) FROM action_feedback WHERE action_id = ?", "i",
                          action_id);
}

typedef OTTER_SQL_WALK(otter_feedback, otter_store_feedback_cb) feedback_walk;

static int feedback_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    feedback_walk *w = ctx;
    otter_feedback f = {
        .id = otter_sql_int(st, 0),
        .action_id = otter_sql_int(st, 1),
        .at = otter_sql_int(st, 2),
        .kind = otter_sql_text(st, 3),
        .execution = otter_sql_text(st, 4),
        .finished = otter_sql_text(st, 5),
        .progress_cnt = otter_sql_int(st, 6),
        .progress_of = otter_sql_int(st, 7),
        .details = otter_sql_text(st, 8),
    };
    return w->cb(w->ctx, &f);
}

int otter_store_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb,
                              void *ctx, otter_err *err)
{
    feedback_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing feedback", feedback_row, &w, err,
                          "SELECT id, action_id, at, kind, execution, finished,"
                          " coalesce(progress_cnt, -1), coalesce(progress_of, -1), details"
                          " FROM action_feedback WHERE action_id = ? ORDER BY id",
                          "i", action_id);
}
