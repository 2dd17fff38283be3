/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end's queries for the fleet: gateway tokens, devices
 * and groups. Parameters only; optional filters are "$n IS NULL OR ..." so
 * the SQL text never depends on input.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

int otter_pg_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha, otter_err *err)
{
    return otter_pg_run(OTTER_PG(s), "setting gateway token", NULL, err,
                        "UPDATE tenants SET gateway_token_sha256 = $1 WHERE id = $2", "ti", sha,
                        tenant_id);
}

int otter_pg_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha, int *ok,
                                  otter_err *err)
{
    int64_t n = 0;
    int ret = otter_pg_query(OTTER_PG(s), "checking gateway token", otter_pg_int_row, &n, err,
                             "SELECT count(*) FROM tenants WHERE id = $1"
                             " AND gateway_token_sha256 = $2",
                             "it", tenant_id, sha);
    *ok = n > 0;
    return ret;
}

int otter_pg_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                           const char *model, const char *name, const char *token_sha256,
                           int64_t now, int64_t *id, otter_err *err)
{
    return otter_pg_query(OTTER_PG(s), "creating device", otter_pg_int_row, id, err,
                          "INSERT INTO devices(tenant_id, controller_id, model, name,"
                          " token_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                          "itttti", tenant_id, controller_id, model, name, token_sha256, now);
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

static int device_row(const PGresult *res, int i, void *ctx, otter_err *err)
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
    dev->id = otter_pg_int(res, i, 0);
    dev->tenant_id = otter_pg_int(res, i, 1);
    if (otter_pg_copy(res, i, 2, dev->controller_id, sizeof dev->controller_id, err) < 0 ||
        otter_pg_copy(res, i, 3, dev->model, sizeof dev->model, err) < 0 ||
        otter_pg_copy(res, i, 4, dev->name, sizeof dev->name, err) < 0 ||
        otter_pg_copy(res, i, 5, dev->version, sizeof dev->version, err) < 0 ||
        otter_pg_copy(res, i, 6, dev->attributes, sizeof dev->attributes, err) < 0 ||
        otter_pg_copy(res, i, 10, dev->product, sizeof dev->product, err) < 0) {
        ret = OTTER_EFORMAT;
        goto out;
    }
    dev->config_sent = otter_pg_int(res, i, 7) != 0;
    dev->last_seen = otter_pg_int(res, i, 8);
    dev->created_at = otter_pg_int(res, i, 9);
    w->found = 1;
    if (!w->one)
        ret = w->cb(w->ctx, dev);
out:
    free(tmp);
    return ret;
}

int otter_pg_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                        const char *token_sha256, otter_device *out, int *found, otter_err *err)
{
    struct device_walk w = {.one = out};
    int ret = controller_id
                  ? otter_pg_query(OTTER_PG(s), "reading device", device_row, &w, err,
                                   DEVICE_COLS " WHERE d.tenant_id = $1 AND d.controller_id = $2",
                                   "it", tenant_id, controller_id)
                  : otter_pg_query(OTTER_PG(s), "reading device", device_row, &w, err,
                                   DEVICE_COLS " WHERE d.token_sha256 = $1", "t", token_sha256);
    *found = w.found;
    return ret;
}

int otter_pg_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                         void *ctx, otter_err *err)
{
    struct device_walk w = {.cb = cb, .ctx = ctx};
    /*
     * attributes stays TEXT (kept byte for byte as the device sent it) and
     * is read as jsonb only for the attribute filter. ->> yields text, so
     * like SQLite's json_extract only string attributes compare equal.
     */
    return otter_pg_query(
        OTTER_PG(s), "listing devices", device_row, &w, err,
        DEVICE_COLS " WHERE d.tenant_id = $1 AND d.id > $2"
                    " AND ($3 IS NULL OR d.model = $3)"
                    " AND ($4 IS NULL OR r.version = $4)"
                    " AND ($5 IS NULL OR EXISTS (SELECT 1 FROM group_members gm"
                    "   JOIN device_groups g ON g.id = gm.group_id"
                    "   WHERE gm.device_id = d.id AND g.name = $5))"
                    " AND ($6 IS NULL OR (jsonb_typeof(d.attributes::jsonb -> $6) = 'string'"
                    "   AND d.attributes::jsonb ->> $6 = $7))"
                    " AND ($8 = 0 OR coalesce(d.last_seen, 0) < $8)"
                    " AND ($9 = 0 OR d.last_seen >= $9)"
                    " ORDER BY d.id LIMIT $10",
        "iitttttiii", f->tenant_id, f->after_id, f->model, f->version, f->group, f->attr_key,
        f->attr_value, f->seen_before, f->seen_after, (int64_t)f->limit);
}

int otter_pg_device_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int64_t n = 0;
    int ret = otter_pg_run(OTTER_PG(s), "deleting device", &n, err,
                           "DELETE FROM devices WHERE id = $1", "i", id);
    *found = n > 0;
    return ret;
}

int otter_pg_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err)
{
    return otter_pg_run(OTTER_PG(s), "updating last seen", NULL, err,
                        "UPDATE devices SET last_seen = $1 WHERE id = $2", "ii", now, id);
}

int otter_pg_device_set_attributes(otter_store *s, int64_t id, const char *json, otter_err *err)
{
    return otter_pg_run(OTTER_PG(s), "storing attributes", NULL, err,
                        "UPDATE devices SET attributes = $1, config_sent = 1 WHERE id = $2", "ti",
                        json, id);
}

/* ---- groups ---- */

int otter_pg_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                          otter_err *err)
{
    return otter_pg_query(OTTER_PG(s), "creating group", otter_pg_int_row, id, err,
                          "INSERT INTO device_groups(tenant_id, name) VALUES ($1, $2) RETURNING id",
                          "it", tenant_id, name);
}

struct group_walk {
    otter_store_group_cb cb;
    void *ctx;
};

static int group_row(const PGresult *res, int i, void *ctx, otter_err *err)
{
    struct group_walk *w = ctx;
    otter_group g = {0};
    g.id = otter_pg_int(res, i, 0);
    if (otter_pg_copy(res, i, 1, g.name, sizeof g.name, err) < 0)
        return OTTER_EFORMAT;
    g.members = otter_pg_int(res, i, 2);
    return w->cb(w->ctx, &g);
}

int otter_pg_group_list(otter_store *s, int64_t tenant_id, const char *name,
                        otter_store_group_cb cb, void *ctx, otter_err *err)
{
    struct group_walk w = {cb, ctx};
    return otter_pg_query(OTTER_PG(s), "listing groups", group_row, &w, err,
                          "SELECT g.id, g.name, (SELECT count(*) FROM group_members m"
                          " WHERE m.group_id = g.id) FROM device_groups g"
                          " WHERE g.tenant_id = $1 AND ($2 IS NULL OR g.name = $2)"
                          " ORDER BY g.name",
                          "it", tenant_id, name);
}

int otter_pg_group_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int64_t n = 0;
    int ret = otter_pg_run(OTTER_PG(s), "deleting group", &n, err,
                           "DELETE FROM device_groups WHERE id = $1", "i", id);
    *found = n > 0;
    return ret;
}

int otter_pg_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err)
{
    /* ON CONFLICT rather than check-then-insert: another server may add the same member. */
    return otter_pg_run(OTTER_PG(s), "adding group member", NULL, err,
                        "INSERT INTO group_members(group_id, device_id) VALUES ($1, $2)"
                        " ON CONFLICT DO NOTHING",
                        "ii", group_id, device_id);
}

int otter_pg_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                          otter_err *err)
{
    int64_t n = 0;
    int ret = otter_pg_run(OTTER_PG(s), "removing group member", &n, err,
                           "DELETE FROM group_members WHERE group_id = $1 AND device_id = $2", "ii",
                           group_id, device_id);
    *found = n > 0;
    return ret;
}
