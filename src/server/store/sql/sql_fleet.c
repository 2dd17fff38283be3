/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for the fleet: gateway tokens, devices and groups,
 * on either engine (otter_sql.h). Bound parameters only; optional filters
 * are written as "?N IS NULL OR ..." so the SQL text never depends on
 * input. Every write but last_seen is a counted change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_sql.h"

int otter_store_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha,
                                   otter_err *err)
{
    return otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "setting gateway token", NULL, err,
                            "UPDATE tenants SET gateway_token_sha256 = ? WHERE id = ?", "ti", sha,
                            tenant_id);
}

int otter_store_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha, int *ok,
                                     otter_err *err)
{
    int64_t n = 0;
    int ret = otter_sql_read(s, "checking gateway token", otter_sql_int_row, &n, err,
                             "SELECT count(*) FROM tenants WHERE id = ?"
                             " AND gateway_token_sha256 = ?",
                             "it", tenant_id, sha);
    *ok = n > 0;
    return ret;
}

int otter_store_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                              const char *model, const char *name, const char *token_sha256,
                              int64_t now, int64_t *id, otter_err *err)
{
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0)
        ret = otter_sql_write(&ch, "creating device", id, err,
                              "INSERT INTO devices(tenant_id, controller_id, model, name,"
                              " token_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                              "itttti", tenant_id, controller_id, model, name, token_sha256, now);
    return otter_change_end(&ch, ret, ret == 0 ? *id : OTTER_CHANGE_ANY_DEVICE, err);
}

typedef OTTER_SQL_WALK(otter_device, otter_store_device_cb) device_walk;

#define DEVICE_COLS                                                                                \
    "SELECT d.id, d.tenant_id, d.controller_id, coalesce(d.model, ''), coalesce(d.name, ''),"      \
    " coalesce(r.version, ''), d.attributes, d.config_sent, coalesce(d.last_seen, 0),"             \
    " d.created_at, coalesce(r.product, '')"                                                       \
    " FROM devices d LEFT JOIN releases r ON r.id = d.installed_release_id"

static int device_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    device_walk *w = ctx;
    otter_device *dev = w->one;
    otter_device *tmp = NULL;
    int ret = 0;
    if (!dev) {
        tmp = malloc(sizeof *tmp); /* 8 KiB of attributes: not on a pool thread's stack twice */
        if (!tmp)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        dev = tmp;
    }
    dev->id = otter_sql_int(st, 0);
    dev->tenant_id = otter_sql_int(st, 1);
    if (otter_sql_copy(st, 2, dev->controller_id, sizeof dev->controller_id, err) < 0 ||
        otter_sql_copy(st, 3, dev->model, sizeof dev->model, err) < 0 ||
        otter_sql_copy(st, 4, dev->name, sizeof dev->name, err) < 0 ||
        otter_sql_copy(st, 5, dev->version, sizeof dev->version, err) < 0 ||
        otter_sql_copy(st, 6, dev->attributes, sizeof dev->attributes, err) < 0 ||
        otter_sql_copy(st, 10, dev->product, sizeof dev->product, err) < 0) {
        ret = OTTER_EFORMAT;
        goto out;
    }
    dev->config_sent = otter_sql_int(st, 7) != 0;
    dev->last_seen = otter_sql_int(st, 8);
    dev->created_at = otter_sql_int(st, 9);
    otter_sql_mark(w->found);
    if (!w->one)
        ret = w->cb(w->ctx, dev);
out:
    free(tmp);
    return ret;
}

int otter_store_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                           otter_device *out, int *found, otter_err *err)
{
    device_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "reading device", device_row, &w, err,
                          DEVICE_COLS " WHERE d.tenant_id = ? AND d.controller_id = ?", "it",
                          tenant_id, controller_id);
}

int otter_store_device_find_token(otter_store *s, const char *sha256_hex, otter_device *out,
                                  int *found, otter_err *err)
{
    device_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "reading device", device_row, &w, err,
                          DEVICE_COLS " WHERE d.token_sha256 = ?", "t", sha256_hex);
}

int otter_store_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                            void *ctx, otter_err *err)
{
    device_walk w = {.cb = cb, .ctx = ctx};
    char sql[1024]; /* fixed text and the engine's attribute test: never data */
    if (f->limit < 1 || f->limit > 1000)
        return otter_err_set(err, OTTER_EUSAGE, "device limit %u outside 1..1000", f->limit);
    snprintf(sql, sizeof sql,
             DEVICE_COLS " WHERE d.tenant_id = ?1 AND d.id > ?2"
                         " AND (?3 IS NULL OR d.model = ?3)"
                         " AND (?4 IS NULL OR r.version = ?4)"
                         " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM group_members gm"
                         "   JOIN device_groups g ON g.id = gm.group_id"
                         "   WHERE gm.device_id = d.id AND g.name = ?5))"
                         " AND (?6 IS NULL OR %s)"
                         " AND (?8 = 0 OR coalesce(d.last_seen, 0) < ?8)"
                         " AND (?9 = 0 OR d.last_seen >= ?9)"
                         " ORDER BY d.id LIMIT ?10",
             s->drv->attr_equals);
    return otter_sql_read(s, "listing devices", device_row, &w, err, sql, "iitttttiii",
                          f->tenant_id, f->after_id, f->model, f->version, f->group, f->attr_key,
                          f->attr_value, f->seen_before, f->seen_after, (int64_t)f->limit);
}

int otter_store_device_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(otter_sql_change(s, id, "deleting device", &n, err,
                                                 "DELETE FROM devices WHERE id = ?", "i", id),
                                &n, found);
}

/* Quiet: the poll cache keeps last_seen itself (otter_ddi_seen.c). */
int otter_store_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err)
{
    return otter_sql_write_quiet(s, "updating last seen", NULL, err,
                                 "UPDATE devices SET last_seen = ? WHERE id = ?", "ii", now, id);
}

int otter_store_device_set_attributes(otter_store *s, int64_t id, const char *json, otter_err *err)
{
    if (strlen(json) > OTTER_STORE_ATTR_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "attributes larger than %d bytes",
                             OTTER_STORE_ATTR_MAX);
    return otter_sql_change(s, id, "storing attributes", NULL, err,
                            "UPDATE devices SET attributes = ?, config_sent = 1 WHERE id = ?", "ti",
                            json, id);
}

/* ---- groups ---- */

int otter_store_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                             otter_err *err)
{
    return otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "creating group", id, err,
                            "INSERT INTO device_groups(tenant_id, name) VALUES (?, ?) RETURNING id",
                            "it", tenant_id, name);
}

typedef OTTER_SQL_WALK(otter_group, otter_store_group_cb) group_walk;

static int group_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    group_walk *w = ctx;
    otter_group g = {0};
    g.id = otter_sql_int(st, 0);
    if (otter_sql_copy(st, 1, g.name, sizeof g.name, err) < 0)
        return OTTER_EFORMAT;
    g.members = otter_sql_int(st, 2);
    return OTTER_SQL_EMIT(w, g);
}

/* One by name when name != NULL (into w->one), else all of the tenant. */
static int group_list(otter_store *s, int64_t tenant_id, const char *name, group_walk *w,
                      otter_err *err)
{
    return otter_sql_read(s, "listing groups", group_row, w, err,
                          "SELECT g.id, g.name, (SELECT count(*) FROM group_members m"
                          " WHERE m.group_id = g.id) FROM device_groups g"
                          " WHERE g.tenant_id = ?1 AND (?2 IS NULL OR g.name = ?2)"
                          " ORDER BY g.name",
                          "it", tenant_id, name);
}

int otter_store_group_get(otter_store *s, int64_t tenant_id, const char *name, otter_group *out,
                          int *found, otter_err *err)
{
    group_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return group_list(s, tenant_id, name, &w, err);
}

int otter_store_group_list(otter_store *s, int64_t tenant_id, otter_store_group_cb cb, void *ctx,
                           otter_err *err)
{
    group_walk w = {.cb = cb, .ctx = ctx};
    return group_list(s, tenant_id, NULL, &w, err);
}

int otter_store_group_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "deleting group", &n,
                                                 err, "DELETE FROM device_groups WHERE id = ?", "i",
                                                 id),
                                &n, found);
}

/* Adds (ON CONFLICT: another server may add it too) or removes a member. */
static int group_member(otter_store *s, int64_t group_id, int64_t device_id, int add, int *found,
                        otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(
        otter_sql_change(s, device_id, add ? "adding group member" : "removing group member", &n,
                         err,
                         add ? "INSERT INTO group_members(group_id, device_id) VALUES (?, ?)"
                               " ON CONFLICT DO NOTHING"
                             : "DELETE FROM group_members WHERE group_id = ? AND device_id = ?",
                         "ii", group_id, device_id),
        &n, found);
}

int otter_store_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err)
{
    int found;
    return group_member(s, group_id, device_id, 1, &found, err);
}

int otter_store_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                             otter_err *err)
{
    return group_member(s, group_id, device_id, 0, found, err);
}
