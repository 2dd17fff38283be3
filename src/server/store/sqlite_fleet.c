/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite back-end's queries for the fleet: gateway tokens, devices and
 * groups. Prepared statements with bound parameters only; optional filters
 * are written as "?N IS NULL OR ..." so the SQL text never depends on input.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

int otter_sqlite_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha,
                                    otter_err *err)
{
    return otter_sqlite_run(OTTER_SQLITE(s), "setting gateway token", NULL, err,
                            "UPDATE tenants SET gateway_token_sha256 = ? WHERE id = ?", "ti", sha,
                            tenant_id);
}

int otter_sqlite_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha, int *ok,
                                      otter_err *err)
{
    int64_t n = 0;
    int ret =
        otter_sqlite_query(OTTER_SQLITE(s), "checking gateway token", otter_sqlite_int_row, &n, err,
                           "SELECT count(*) FROM tenants WHERE id = ?"
                           " AND gateway_token_sha256 = ?",
                           "it", tenant_id, sha);
    *ok = n > 0;
    return ret;
}

int otter_sqlite_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                               const char *model, const char *name, const char *token_sha256,
                               int64_t now, int64_t *id, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret = otter_sqlite_run(d, "creating device", NULL, err,
                               "INSERT INTO devices(tenant_id, controller_id, model, name,"
                               " token_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                               "itttti", tenant_id, controller_id, model, name, token_sha256, now);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(d->h);
    otter_sqlite_unlock(d);
    return ret;
}

struct device_walk {
    otter_store_device_cb cb;
    void *ctx;
    otter_device *one;
    int found;
};

#define DEVICE_COLS                                                                                \
    "SELECT d.id, d.tenant_id, d.controller_id, coalesce(d.model, ''), coalesce(d.name, ''),"      \
    " coalesce(r.version, ''), d.attributes, d.config_sent, coalesce(d.last_seen, 0),"             \
    " d.created_at, coalesce(r.product, '')"                                                       \
    " FROM devices d LEFT JOIN releases r ON r.id = d.installed_release_id"

static int device_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct device_walk *w = ctx;
    otter_device *dev = w->one;
    otter_device *tmp = NULL;
    int ret = 0;
    if (!dev) {
        tmp = malloc(sizeof *tmp); /* 8 KiB of attributes: not on a pool thread's stack twice */
        if (!tmp)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        dev = tmp;
    }
    dev->id = sqlite3_column_int64(st, 0);
    dev->tenant_id = sqlite3_column_int64(st, 1);
    if (otter_sqlite_col_copy(st, 2, dev->controller_id, sizeof dev->controller_id, err) < 0 ||
        otter_sqlite_col_copy(st, 3, dev->model, sizeof dev->model, err) < 0 ||
        otter_sqlite_col_copy(st, 4, dev->name, sizeof dev->name, err) < 0 ||
        otter_sqlite_col_copy(st, 5, dev->version, sizeof dev->version, err) < 0 ||
        otter_sqlite_col_copy(st, 6, dev->attributes, sizeof dev->attributes, err) < 0 ||
        otter_sqlite_col_copy(st, 10, dev->product, sizeof dev->product, err) < 0) {
        ret = OTTER_EFORMAT;
        goto out;
    }
    dev->config_sent = sqlite3_column_int(st, 7) != 0;
    dev->last_seen = sqlite3_column_int64(st, 8);
    dev->created_at = sqlite3_column_int64(st, 9);
    w->found = 1;
    if (!w->one)
        ret = w->cb(w->ctx, dev);
out:
    free(tmp);
    return ret;
}

int otter_sqlite_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                            const char *token_sha256, otter_device *out, int *found, otter_err *err)
{
    struct device_walk w = {.one = out};
    int ret = controller_id
                  ? otter_sqlite_query(OTTER_SQLITE(s), "reading device", device_row, &w, err,
                                       DEVICE_COLS " WHERE d.tenant_id = ? AND d.controller_id = ?",
                                       "it", tenant_id, controller_id)
                  : otter_sqlite_query(OTTER_SQLITE(s), "reading device", device_row, &w, err,
                                       DEVICE_COLS " WHERE d.token_sha256 = ?", "t", token_sha256);
    *found = w.found;
    return ret;
}

int otter_sqlite_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                             void *ctx, otter_err *err)
{
    struct device_walk w = {.cb = cb, .ctx = ctx};
    return otter_sqlite_query(
        OTTER_SQLITE(s), "listing devices", device_row, &w, err,
        DEVICE_COLS " WHERE d.tenant_id = ?1 AND d.id > ?2"
                    " AND (?3 IS NULL OR d.model = ?3)"
                    " AND (?4 IS NULL OR r.version = ?4)"
                    " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM group_members gm"
                    "   JOIN device_groups g ON g.id = gm.group_id"
                    "   WHERE gm.device_id = d.id AND g.name = ?5))"
                    " AND (?6 IS NULL OR json_extract(d.attributes, '$.\"' || ?6 || '\"') = ?7)"
                    " AND (?8 = 0 OR coalesce(d.last_seen, 0) < ?8)"
                    " AND (?9 = 0 OR d.last_seen >= ?9)"
                    " ORDER BY d.id LIMIT ?10",
        "iitttttiii", f->tenant_id, f->after_id, f->model, f->version, f->group, f->attr_key,
        f->attr_value, f->seen_before, f->seen_after, (int64_t)f->limit);
}

int otter_sqlite_device_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int n = 0;
    int ret = otter_sqlite_run(OTTER_SQLITE(s), "deleting device", &n, err,
                               "DELETE FROM devices WHERE id = ?", "i", id);
    *found = n > 0;
    return ret;
}

int otter_sqlite_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err)
{
    return otter_sqlite_run(OTTER_SQLITE(s), "updating last seen", NULL, err,
                            "UPDATE devices SET last_seen = ? WHERE id = ?", "ii", now, id);
}

int otter_sqlite_device_set_attributes(otter_store *s, int64_t id, const char *json, otter_err *err)
{
    return otter_sqlite_run(OTTER_SQLITE(s), "storing attributes", NULL, err,
                            "UPDATE devices SET attributes = ?, config_sent = 1 WHERE id = ?", "ti",
                            json, id);
}

/* ---- groups ---- */

int otter_sqlite_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                              otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    int ret = otter_sqlite_run(d, "creating group", NULL, err,
                               "INSERT INTO device_groups(tenant_id, name) VALUES (?, ?)", "it",
                               tenant_id, name);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(d->h);
    otter_sqlite_unlock(d);
    return ret;
}

struct group_walk {
    otter_store_group_cb cb;
    void *ctx;
};

static int group_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct group_walk *w = ctx;
    otter_group g = {0};
    g.id = sqlite3_column_int64(st, 0);
    if (otter_sqlite_col_copy(st, 1, g.name, sizeof g.name, err) < 0)
        return OTTER_EFORMAT;
    g.members = sqlite3_column_int64(st, 2);
    return w->cb(w->ctx, &g);
}

int otter_sqlite_group_list(otter_store *s, int64_t tenant_id, const char *name,
                            otter_store_group_cb cb, void *ctx, otter_err *err)
{
    struct group_walk w = {cb, ctx};
    return otter_sqlite_query(OTTER_SQLITE(s), "listing groups", group_row, &w, err,
                              "SELECT g.id, g.name, (SELECT count(*) FROM group_members m"
                              " WHERE m.group_id = g.id) FROM device_groups g"
                              " WHERE g.tenant_id = ?1 AND (?2 IS NULL OR g.name = ?2)"
                              " ORDER BY g.name",
                              "it", tenant_id, name);
}

int otter_sqlite_group_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int n = 0;
    int ret = otter_sqlite_run(OTTER_SQLITE(s), "deleting group", &n, err,
                               "DELETE FROM device_groups WHERE id = ?", "i", id);
    *found = n > 0;
    return ret;
}

int otter_sqlite_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err)
{
    return otter_sqlite_run(OTTER_SQLITE(s), "adding group member", NULL, err,
                            "INSERT OR IGNORE INTO group_members(group_id, device_id)"
                            " VALUES (?, ?)",
                            "ii", group_id, device_id);
}

int otter_sqlite_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                              otter_err *err)
{
    int n = 0;
    int ret = otter_sqlite_run(OTTER_SQLITE(s), "removing group member", &n, err,
                               "DELETE FROM group_members WHERE group_id = ? AND device_id = ?",
                               "ii", group_id, device_id);
    *found = n > 0;
    return ret;
}
