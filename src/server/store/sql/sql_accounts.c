/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for tenants, users, memberships, tokens and the
 * audit log, on either engine (otter_sql.h). Bound parameters only.
 * Only tenants are counted changes: accounts and audit entries are no
 * part of any device API answer.
 */
#include <stdlib.h>
#include <string.h>

#include "otter_sql.h"

/* ---- tenants ---- */

int otter_store_tenant_create(otter_store *s, const char *name, int64_t now, int64_t *id,
                              otter_err *err)
{
    return otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "creating tenant", id, err,
                            "INSERT INTO tenants(name, created_at) VALUES (?, ?) RETURNING id",
                            "ti", name, now);
}

typedef OTTER_SQL_WALK(otter_tenant, otter_store_tenant_cb) tenant_walk;

static int tenant_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    tenant_walk *w = ctx;
    otter_tenant t = {0};
    t.id = otter_sql_int(st, 0);
    if (otter_sql_copy(st, 1, t.name, sizeof t.name, err) < 0)
        return OTTER_EFORMAT;
    t.created_at = otter_sql_int(st, 2);
    return OTTER_SQL_EMIT(w, t);
}

int otter_store_tenant_get(otter_store *s, const char *name, otter_tenant *out, int *found,
                           otter_err *err)
{
    tenant_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "reading tenant", tenant_row, &w, err,
                          "SELECT id, name, created_at FROM tenants WHERE name = ?", "t", name);
}

int otter_store_tenant_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(otter_sql_change(s, OTTER_CHANGE_ANY_DEVICE, "deleting tenant", &n,
                                                 err, "DELETE FROM tenants WHERE id = ?", "i", id),
                                &n, found);
}

int otter_store_tenant_list(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err)
{
    tenant_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing tenants", tenant_row, &w, err,
                          "SELECT id, name, created_at FROM tenants ORDER BY name", "");
}

/* ---- users ---- */

int otter_store_user_create(otter_store *s, const char *name, const char *hash, int is_admin,
                            int64_t now, int64_t *id, otter_err *err)
{
    return otter_sql_write_quiet(s, "creating user", id, err,
                                 "INSERT INTO users(name, password_hash, is_admin, created_at,"
                                 " password_changed_at) VALUES (?, ?, ?, ?, ?4) RETURNING id",
                                 "ttii", name, hash, (int64_t)(is_admin != 0), now);
}

typedef OTTER_SQL_WALK(otter_user, otter_store_user_cb) user_walk;

static int user_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    user_walk *w = ctx;
    otter_user u = {0};
    u.id = otter_sql_int(st, 0);
    if (otter_sql_copy(st, 1, u.name, sizeof u.name, err) < 0 ||
        otter_sql_copy(st, 5, u.password_hash, sizeof u.password_hash, err) < 0)
        return OTTER_EFORMAT;
    u.is_admin = otter_sql_int(st, 2) != 0;
    u.created_at = otter_sql_int(st, 3);
    u.password_changed_at = otter_sql_int(st, 4);
    return OTTER_SQL_EMIT(w, u);
}

#define USER_COLS                                                                                  \
    "SELECT id, name, is_admin, created_at, password_changed_at, password_hash FROM users"

int otter_store_user_get(otter_store *s, const char *name, otter_user *out, int *found,
                         otter_err *err)
{
    user_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "reading user", user_row, &w, err, USER_COLS " WHERE name = ?", "t",
                          name);
}

int otter_store_user_get_by_id(otter_store *s, int64_t id, otter_user *out, int *found,
                               otter_err *err)
{
    user_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "reading user", user_row, &w, err, USER_COLS " WHERE id = ?", "i", id);
}

int otter_store_user_set_password(otter_store *s, int64_t id, const char *hash, int64_t now,
                                  otter_err *err)
{
    int64_t n = 0;
    int ret = otter_sql_write_quiet(
        s, "changing password", &n, err,
        "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?", "tii", hash,
        now, id);
    if (ret == 0 && n == 0)
        ret = otter_err_set(err, OTTER_ESTATE, "changing password: no user %lld", (long long)id);
    return ret;
}

int otter_store_user_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(otter_sql_write_quiet(s, "deleting user", &n, err,
                                                      "DELETE FROM users WHERE id = ?", "i", id),
                                &n, found);
}

int otter_store_user_count_admins(otter_store *s, int64_t *count, otter_err *err)
{
    *count = 0;
    return otter_sql_read(s, "counting admins", otter_sql_int_row, count, err,
                          "SELECT count(*) FROM users WHERE is_admin = 1", "");
}

int otter_store_user_list(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err)
{
    user_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing users", user_row, &w, err, USER_COLS " ORDER BY name", "");
}

/* ---- memberships ---- */

int otter_store_member_set(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                           otter_err *err)
{
    return otter_sql_write_quiet(
        s, "setting role", NULL, err,
        "INSERT INTO memberships(user_id, tenant_id, role) VALUES (?, ?, ?)"
        " ON CONFLICT(user_id, tenant_id) DO UPDATE SET role = excluded.role",
        "iit", user_id, tenant_id, otter_rbac_role_name(role));
}

static int role_col(const otter_sqlrow *st, int i, otter_role *role, otter_err *err)
{
    const char *name = otter_sql_text(st, i);
    if (!name || otter_rbac_role_parse(name, role, err) < 0)
        return otter_err_set(err, OTTER_EFORMAT, "stored role '%s' unknown", name ? name : "");
    return 0;
}

static int role_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    return role_col(st, 0, ctx, err);
}

int otter_store_member_get(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                           otter_err *err)
{
    *role = OTTER_ROLE_NONE;
    return otter_sql_read(s, "reading role", role_row, role, err,
                          "SELECT role FROM memberships WHERE user_id = ? AND tenant_id = ?", "ii",
                          user_id, tenant_id);
}

int otter_store_member_delete(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                              otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(
        otter_sql_write_quiet(s, "removing membership", &n, err,
                              "DELETE FROM memberships WHERE user_id = ? AND tenant_id = ?", "ii",
                              user_id, tenant_id),
        &n, found);
}

typedef OTTER_SQL_WALK(otter_member, otter_store_member_cb) member_walk;

static int member_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    member_walk *w = ctx;
    otter_member m = {0};
    m.user_id = otter_sql_int(st, 0);
    m.user = otter_sql_text(st, 1);
    m.is_admin = otter_sql_int(st, 2) != 0;
    m.tenant_id = otter_sql_int(st, 3);
    m.tenant = otter_sql_text(st, 4);
    if (role_col(st, 5, &m.role, err) < 0)
        return OTTER_EFORMAT;
    return w->cb(w->ctx, &m);
}

static int member_list(otter_store *s, int64_t tenant_id, int64_t user_id, otter_store_member_cb cb,
                       void *ctx, otter_err *err)
{
    member_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing memberships", member_row, &w, err,
                          "SELECT m.user_id, u.name, u.is_admin, m.tenant_id, t.name, m.role"
                          " FROM memberships m JOIN users u ON u.id = m.user_id"
                          " JOIN tenants t ON t.id = m.tenant_id"
                          " WHERE (?1 = 0 OR m.tenant_id = ?1) AND (?2 = 0 OR m.user_id = ?2)"
                          " ORDER BY t.name, u.name",
                          "ii", tenant_id, user_id);
}

int otter_store_member_list_tenant(otter_store *s, int64_t tenant_id, otter_store_member_cb cb,
                                   void *ctx, otter_err *err)
{
    return member_list(s, tenant_id, 0, cb, ctx, err);
}

int otter_store_member_list_user(otter_store *s, int64_t user_id, otter_store_member_cb cb,
                                 void *ctx, otter_err *err)
{
    return member_list(s, 0, user_id, cb, ctx, err);
}

/* ---- tokens ---- */

static const char *kind_name(otter_token_kind kind)
{
    return kind == OTTER_TOKEN_API ? "api" : kind == OTTER_TOKEN_TICKET ? "ticket" : "session";
}

int otter_store_token_create(otter_store *s, const otter_token *t, const char *sha256_hex,
                             int64_t *id, otter_err *err)
{
    return otter_sql_write_quiet(
        s, "storing token", id, err,
        "INSERT INTO tokens(user_id, kind, name, token_sha256, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        "itttii", t->user_id, kind_name(t->kind), t->name, sha256_hex, t->created_at,
        t->expires_at);
}

typedef OTTER_SQL_WALK(otter_token, otter_store_token_cb) token_walk;

static int token_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    token_walk *w = ctx;
    otter_token t = {0};
    t.id = otter_sql_int(st, 0);
    t.user_id = otter_sql_int(st, 1);
    const char *kind = otter_sql_text(st, 2);
    t.kind = !kind                         ? OTTER_TOKEN_SESSION
             : strcmp(kind, "api") == 0    ? OTTER_TOKEN_API
             : strcmp(kind, "ticket") == 0 ? OTTER_TOKEN_TICKET
                                           : OTTER_TOKEN_SESSION;
    if (otter_sql_copy(st, 3, t.name, sizeof t.name, err) < 0)
        return OTTER_EFORMAT;
    t.created_at = otter_sql_int(st, 4);
    t.expires_at = otter_sql_int(st, 5);
    t.revoked_at = otter_sql_int(st, 6); /* NULL reads as 0: live */
    return OTTER_SQL_EMIT(w, t);
}

#define TOKEN_COLS "SELECT id, user_id, kind, name, created_at, expires_at, revoked_at FROM tokens"

int otter_store_token_find(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                           otter_err *err)
{
    token_walk w = {.one = out, .found = otter_sql_unfound(found)};
    return otter_sql_read(s, "looking up token", token_row, &w, err,
                          TOKEN_COLS " WHERE token_sha256 = ?", "t", sha256_hex);
}

/* id 0: every live token of user_id. */
static int token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                        otter_err *err)
{
    int64_t n = 0;
    return otter_sql_rows_found(
        otter_sql_write_quiet(
            s, "revoking token", &n, err,
            "UPDATE tokens SET revoked_at = ?3 WHERE (?1 = 0 OR id = ?1) AND user_id = ?2"
            " AND revoked_at IS NULL",
            "iii", id, user_id, now),
        &n, found);
}

int otter_store_token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                             otter_err *err)
{
    if (id == 0)
        return otter_err_set(err, OTTER_EUSAGE, "token id 0");
    return token_revoke(s, id, user_id, now, found, err);
}

int otter_store_token_revoke_user(otter_store *s, int64_t user_id, int64_t now, otter_err *err)
{
    int found;
    return token_revoke(s, 0, user_id, now, &found, err);
}

int otter_store_token_list(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                           otter_store_token_cb cb, void *ctx, otter_err *err)
{
    token_walk w = {.cb = cb, .ctx = ctx};
    return otter_sql_read(s, "listing tokens", token_row, &w, err,
                          TOKEN_COLS " WHERE user_id = ? AND kind = ? AND revoked_at IS NULL"
                                     " AND expires_at > ? ORDER BY id",
                          "iti", user_id, kind_name(kind), now);
}

/* ---- audit ---- */

int otter_store_audit_append(otter_store *s, const otter_audit_entry *e, otter_err *err)
{
    return otter_sql_write_quiet(
        s, "writing audit log", NULL, err,
        "INSERT INTO audit_log(at, actor_id, actor, tenant_id, tenant, action, object,"
        " detail, client) VALUES (?, nullif(?, 0), ?, nullif(?, 0), ?, ?, ?, ?, ?)",
        "iitittttt", e->at, e->actor_id, e->actor, e->tenant_id, e->tenant, e->action, e->object,
        e->detail, e->client);
}

typedef OTTER_SQL_WALK(otter_audit_entry, otter_store_audit_cb) audit_walk;

static int audit_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    audit_walk *w = ctx;
    otter_audit_entry e = {
        .id = otter_sql_int(st, 0),
        .at = otter_sql_int(st, 1),
        .actor_id = otter_sql_int(st, 2),
        .actor = otter_sql_text(st, 3),
        .tenant_id = otter_sql_int(st, 4),
        .tenant = otter_sql_text(st, 5),
        .action = otter_sql_text(st, 6),
        .object = otter_sql_text(st, 7),
        .detail = otter_sql_text(st, 8),
        .client = otter_sql_text(st, 9),
    };
    return w->cb(w->ctx, &e);
}

int otter_store_audit_list(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                           void *ctx, otter_err *err)
{
    audit_walk w = {.cb = cb, .ctx = ctx};
    if (f->limit < 1 || f->limit > 1000)
        return otter_err_set(err, OTTER_EUSAGE, "audit limit %u outside 1..1000", f->limit);
    /* One fixed statement: an unset filter binds a value that makes its clause true. */
    return otter_sql_read(
        s, "reading audit log", audit_row, &w, err,
        "SELECT id, at, actor_id, actor, tenant_id, tenant, action, object, detail,"
        " client FROM audit_log"
        " WHERE (?1 = 0 OR tenant_id = ?1) AND (?2 IS NULL OR actor = ?2)"
        " AND (?3 IS NULL OR action = ?3) AND (?4 = 0 OR id < ?4)"
        " AND (?5 = 0 OR at >= ?5) AND (?6 = 0 OR at < ?6)"
        " ORDER BY id DESC LIMIT ?7",
        "ittiiii", f->tenant_id, f->actor, f->action, f->before_id, f->since, f->until,
        (int64_t)f->limit);
}
