/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite back-end of the store: one connection in WAL mode, shared by the
 * server's threads under a recursive mutex (a transaction keeps it from
 * begin to commit, so concurrent requests never interleave inside one).
 * Every statement is prepared with bound parameters; no SQL is ever built
 * from request data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "otter_store_backend.h"
#include "sqlite_schema.h"

struct db {
    sqlite3 *h;
    pthread_mutex_t lock; /* recursive: store calls nest inside a transaction */
    int in_tx;
};

#define DB(s) ((struct db *)(s)->impl)

static void lock(struct db *d)
{
    pthread_mutex_lock(&d->lock);
}

static void unlock(struct db *d)
{
    pthread_mutex_unlock(&d->lock);
}

/* Maps an SQLite failure to our codes; unique clashes become OTTER_ESTATE. */
static int db_error(struct db *d, const char *what, otter_err *err)
{
    int ext = sqlite3_extended_errcode(d->h);
    if ((ext & 0xff) == SQLITE_CONSTRAINT) {
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return otter_err_set(err, OTTER_ESTATE, "%s: already exists", what);
        return otter_err_set(err, OTTER_ESTATE, "%s: refused by the database: %s", what,
                             sqlite3_errmsg(d->h));
    }
    if ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED)
        return otter_err_set(err, OTTER_EIO, "%s: database busy, try again", what);
    return otter_err_set(err, OTTER_EIO, "%s: sqlite: %s", what, sqlite3_errmsg(d->h));
}

/*
 * Prepares sql and binds the arguments described by types, in order:
 * 't' const char * (NULL binds SQL NULL), 'i' int64_t.
 */
static int vprepare(struct db *d, const char *what, sqlite3_stmt **st, otter_err *err,
                    const char *sql, const char *types, va_list ap)
{
    *st = NULL;
    if (sqlite3_prepare_v2(d->h, sql, -1, st, NULL) != SQLITE_OK)
        return db_error(d, what, err);
    for (int i = 0; types[i]; i++) {
        int rc;
        if (types[i] == 't') {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(*st, i + 1, v, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(*st, i + 1);
        } else {
            rc = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        }
        if (rc != SQLITE_OK) {
            int ret = db_error(d, what, err);
            sqlite3_finalize(*st);
            *st = NULL;
            return ret;
        }
    }
    return 0;
}

/* Runs a statement that returns no rows; *changes (may be NULL) gets the rows it touched. */
static int run(struct db *d, const char *what, int *changes, otter_err *err, const char *sql,
               const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, types);
    lock(d);
    int ret = vprepare(d, what, &st, err, sql, types, ap);
    va_end(ap);
    if (ret == 0 && sqlite3_step(st) != SQLITE_DONE)
        ret = db_error(d, what, err);
    if (ret == 0 && changes)
        *changes = sqlite3_changes(d->h);
    sqlite3_finalize(st);
    unlock(d);
    return ret;
}

typedef int (*row_fn)(sqlite3_stmt *st, void *ctx, otter_err *err);

/* Runs a query and calls row for each result row; a negative row() stops and is returned. */
static int query(struct db *d, const char *what, row_fn row, void *ctx, otter_err *err,
                 const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, types);
    lock(d);
    int ret = vprepare(d, what, &st, err, sql, types, ap);
    va_end(ap);
    while (ret == 0) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = db_error(d, what, err);
            break;
        }
        ret = row(st, ctx, err);
    }
    sqlite3_finalize(st);
    unlock(d);
    return ret;
}

static const char *col_str(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Copies a text column into a bounded buffer; a longer value is corrupt data, not truncated. */
static int col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap, otter_err *err)
{
    const char *v = col_str(st, i);
    size_t n = v ? strlen(v) : 0;
    if (n >= cap)
        return otter_err_set(err, OTTER_EFORMAT, "stored value in column %d longer than %zu", i,
                             cap - 1);
    memcpy(buf, v ? v : "", n);
    buf[n] = '\0';
    return 0;
}

static int exec_plain(struct db *d, const char *sql, const char *what, otter_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(d->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        otter_err_set(err, OTTER_EIO, "%s: sqlite: %s", what, msg ? msg : "?");
        sqlite3_free(msg);
        return OTTER_EIO;
    }
    return 0;
}

/* ---- open, close, schema ---- */

static int sq_open(otter_store *s, const char *url, int create, unsigned busy_timeout_ms,
                   otter_err *err)
{
    const char *path = url + strlen("sqlite:");
    int ret = OTTER_EIO;
    struct db *d = calloc(1, sizeof *d);
    if (!d)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&d->lock, &attr);
    pthread_mutexattr_destroy(&attr);

    if (!*path) {
        ret = otter_err_set(err, OTTER_EUSAGE, "sqlite: empty path");
        goto out;
    }
    if (create) {
        /* Create it ourselves so the file holding password hashes starts private (0600). */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            ret = otter_err_sys(err, OTTER_EIO, errno, "creating database %s", path);
            goto out;
        }
        close(fd);
    } else if (access(path, F_OK) != 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno,
                            "database %s (run `otter-server init` first)", path);
        goto out;
    }
    if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        ret = otter_err_set(err, OTTER_EIO, "opening database %s: %s", path,
                            d->h ? sqlite3_errmsg(d->h) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(d->h, 1);
    sqlite3_busy_timeout(d->h, (int)busy_timeout_ms);
    /* Defensive: no writes to the schema through PRAGMA tricks, no untrusted schema functions. */
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    if ((ret = exec_plain(d, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                             "PRAGMA foreign_keys=ON;",
                          "configuring database", err)) < 0) {
        otter_err_prefix(err, "%s", path);
        goto out;
    }
    s->impl = d;
    d = NULL;
    ret = 0;
out:
    if (d) {
        sqlite3_close(d->h);
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
    return ret;
}

static void sq_close(otter_store *s)
{
    struct db *d = DB(s);
    if (!d)
        return;
    sqlite3_close(d->h);
    pthread_mutex_destroy(&d->lock);
    free(d);
    s->impl = NULL;
}

static int int_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 0;
}

static int sq_schema_version(otter_store *s, int *version, otter_err *err)
{
    struct db *d = DB(s);
    int64_t has = 0, v = 0;
    int ret = query(d, "reading schema version", int_row, &has, err,
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'schema_version'",
                    "");
    if (ret == 0 && has)
        ret = query(d, "reading schema version", int_row, &v, err,
                    "SELECT coalesce(max(version), 0) FROM schema_version", "");
    *version = (int)v;
    return ret;
}

static int sq_migrate(otter_store *s, otter_err *err)
{
    struct db *d = DB(s);
    int ret, version = 0;
    lock(d);
    ret = exec_plain(d,
                     "CREATE TABLE IF NOT EXISTS schema_version ("
                     " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
                     "creating schema_version", err);
    while (ret == 0) {
        /* Re-read inside the write lock: two `init`s at once apply each migration once. */
        if ((ret = exec_plain(d, "BEGIN IMMEDIATE", "migrating", err)) < 0)
            break;
        if ((ret = sq_schema_version(s, &version, err)) < 0)
            goto rollback;
        if ((size_t)version > otter_sqlite_n_migrations) {
            ret = otter_err_set(err, OTTER_ESTATE,
                                "database schema version %d is newer than this server (%zu)",
                                version, otter_sqlite_n_migrations);
            goto rollback;
        }
        if ((size_t)version == otter_sqlite_n_migrations) {
            ret = exec_plain(d, "COMMIT", "migrating", err);
            break;
        }
        if ((ret = exec_plain(d, otter_sqlite_migrations[version], "migrating", err)) < 0) {
            otter_err_prefix(err, "schema version %d", version + 1);
            goto rollback;
        }
        if ((ret = run(d, "recording schema version", NULL, err,
                       "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)", "ii",
                       (int64_t)version + 1, (int64_t)time(NULL))) < 0)
            goto rollback;
        if ((ret = exec_plain(d, "COMMIT", "migrating", err)) < 0)
            goto rollback;
        continue;
rollback:
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
        break;
    }
    unlock(d);
    return ret;
}

static int sq_begin(otter_store *s, otter_err *err)
{
    struct db *d = DB(s);
    lock(d);
    if (d->in_tx) {
        unlock(d);
        return otter_err_set(err, OTTER_EUSAGE, "store transaction already open");
    }
    /* IMMEDIATE takes the write lock now, so the transaction cannot fail half-way with BUSY. */
    int ret = exec_plain(d, "BEGIN IMMEDIATE", "beginning transaction", err);
    if (ret < 0) {
        unlock(d);
        return ret;
    }
    d->in_tx = 1;
    return 0; /* the lock stays held until commit or rollback */
}

static int sq_commit(otter_store *s, otter_err *err)
{
    struct db *d = DB(s);
    int ret = exec_plain(d, "COMMIT", "committing", err);
    if (ret < 0)
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = 0;
    unlock(d);
    return ret;
}

static void sq_rollback(otter_store *s)
{
    struct db *d = DB(s);
    sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = 0;
    unlock(d);
}

/* ---- tenants ---- */

static int sq_tenant_create(otter_store *s, const char *name, int64_t now, int64_t *id,
                            otter_err *err)
{
    struct db *d = DB(s);
    lock(d);
    int ret = run(d, "creating tenant", NULL, err,
                  "INSERT INTO tenants(name, created_at) VALUES (?, ?)", "ti", name, now);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(d->h);
    unlock(d);
    return ret;
}

struct tenant_walk {
    otter_store_tenant_cb cb;
    void *ctx;
    otter_tenant *one; /* when set, fill it instead of calling cb */
    int found;
};

static int tenant_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct tenant_walk *w = ctx;
    otter_tenant t = {0};
    t.id = sqlite3_column_int64(st, 0);
    if (col_copy(st, 1, t.name, sizeof t.name, err) < 0)
        return OTTER_EFORMAT;
    t.created_at = sqlite3_column_int64(st, 2);
    w->found = 1;
    if (w->one) {
        *w->one = t;
        return 0;
    }
    return w->cb(w->ctx, &t);
}

static int sq_tenant_get(otter_store *s, const char *name, otter_tenant *out, int *found,
                         otter_err *err)
{
    struct tenant_walk w = {.one = out};
    int ret = query(DB(s), "reading tenant", tenant_row, &w, err,
                    "SELECT id, name, created_at FROM tenants WHERE name = ?", "t", name);
    *found = w.found;
    return ret;
}

static int sq_tenant_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int n = 0;
    int ret = run(DB(s), "deleting tenant", &n, err, "DELETE FROM tenants WHERE id = ?", "i", id);
    *found = n > 0;
    return ret;
}

static int sq_tenant_list(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err)
{
    struct tenant_walk w = {.cb = cb, .ctx = ctx};
    return query(DB(s), "listing tenants", tenant_row, &w, err,
                 "SELECT id, name, created_at FROM tenants ORDER BY name", "");
}

/* ---- users ---- */

static int sq_user_create(otter_store *s, const char *name, const char *hash, int is_admin,
                          int64_t now, int64_t *id, otter_err *err)
{
    struct db *d = DB(s);
    lock(d);
    int ret = run(d, "creating user", NULL, err,
                  "INSERT INTO users(name, password_hash, is_admin, created_at,"
                  " password_changed_at) VALUES (?, ?, ?, ?, ?)",
                  "ttiii", name, hash, (int64_t)(is_admin != 0), now, now);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(d->h);
    unlock(d);
    return ret;
}

struct user_walk {
    otter_store_user_cb cb;
    void *ctx;
    otter_user *one;
    int found;
};

static int user_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct user_walk *w = ctx;
    otter_user u = {0};
    u.id = sqlite3_column_int64(st, 0);
    if (col_copy(st, 1, u.name, sizeof u.name, err) < 0 ||
        col_copy(st, 5, u.password_hash, sizeof u.password_hash, err) < 0)
        return OTTER_EFORMAT;
    u.is_admin = sqlite3_column_int(st, 2) != 0;
    u.created_at = sqlite3_column_int64(st, 3);
    u.password_changed_at = sqlite3_column_int64(st, 4);
    w->found = 1;
    if (w->one) {
        *w->one = u;
        return 0;
    }
    return w->cb(w->ctx, &u);
}

#define USER_COLS "SELECT id, name, is_admin, created_at, password_changed_at, password_hash FROM users"

static int sq_user_get(otter_store *s, const char *name, int64_t id, otter_user *out, int *found,
                       otter_err *err)
{
    struct user_walk w = {.one = out};
    int ret = name ? query(DB(s), "reading user", user_row, &w, err, USER_COLS " WHERE name = ?",
                           "t", name)
                   : query(DB(s), "reading user", user_row, &w, err, USER_COLS " WHERE id = ?",
                           "i", id);
    *found = w.found;
    return ret;
}

static int sq_user_set_password(otter_store *s, int64_t id, const char *hash, int64_t now,
                                otter_err *err)
{
    int n = 0;
    int ret = run(DB(s), "changing password", &n, err,
                  "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                  "tii", hash, now, id);
    if (ret == 0 && n == 0)
        ret = otter_err_set(err, OTTER_ESTATE, "changing password: no user %lld", (long long)id);
    return ret;
}

static int sq_user_delete(otter_store *s, int64_t id, int *found, otter_err *err)
{
    int n = 0;
    int ret = run(DB(s), "deleting user", &n, err, "DELETE FROM users WHERE id = ?", "i", id);
    *found = n > 0;
    return ret;
}

static int sq_user_count_admins(otter_store *s, int64_t *count, otter_err *err)
{
    *count = 0;
    return query(DB(s), "counting admins", int_row, count, err,
                 "SELECT count(*) FROM users WHERE is_admin = 1", "");
}

static int sq_user_list(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err)
{
    struct user_walk w = {.cb = cb, .ctx = ctx};
    return query(DB(s), "listing users", user_row, &w, err, USER_COLS " ORDER BY name", "");
}

/* ---- memberships ---- */

static int sq_member_set(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                         otter_err *err)
{
    return run(DB(s), "setting role", NULL, err,
               "INSERT INTO memberships(user_id, tenant_id, role) VALUES (?, ?, ?)"
               " ON CONFLICT(user_id, tenant_id) DO UPDATE SET role = excluded.role",
               "iit", user_id, tenant_id, otter_rbac_role_name(role));
}

static int role_col(sqlite3_stmt *st, int i, otter_role *role, otter_err *err)
{
    const char *name = col_str(st, i);
    if (!name || otter_rbac_role_parse(name, role, err) < 0)
        return otter_err_set(err, OTTER_EFORMAT, "stored role '%s' unknown", name ? name : "");
    return 0;
}

static int role_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    return role_col(st, 0, ctx, err);
}

static int sq_member_get(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                         otter_err *err)
{
    *role = OTTER_ROLE_NONE;
    return query(DB(s), "reading role", role_row, role, err,
                 "SELECT role FROM memberships WHERE user_id = ? AND tenant_id = ?", "ii",
                 user_id, tenant_id);
}

static int sq_member_delete(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                            otter_err *err)
{
    int n = 0;
    int ret = run(DB(s), "removing membership", &n, err,
                  "DELETE FROM memberships WHERE user_id = ? AND tenant_id = ?", "ii", user_id,
                  tenant_id);
    *found = n > 0;
    return ret;
}

struct member_walk {
    otter_store_member_cb cb;
    void *ctx;
};

static int member_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct member_walk *w = ctx;
    otter_member m = {0};
    m.user_id = sqlite3_column_int64(st, 0);
    m.user = col_str(st, 1);
    m.is_admin = sqlite3_column_int(st, 2) != 0;
    m.tenant_id = sqlite3_column_int64(st, 3);
    m.tenant = col_str(st, 4);
    if (role_col(st, 5, &m.role, err) < 0)
        return OTTER_EFORMAT;
    return w->cb(w->ctx, &m);
}

static int sq_member_list(otter_store *s, int64_t tenant_id, int64_t user_id,
                          otter_store_member_cb cb, void *ctx, otter_err *err)
{
    struct member_walk w = {cb, ctx};
    return query(DB(s), "listing memberships", member_row, &w, err,
                 "SELECT m.user_id, u.name, u.is_admin, m.tenant_id, t.name, m.role"
                 " FROM memberships m JOIN users u ON u.id = m.user_id"
                 " JOIN tenants t ON t.id = m.tenant_id"
                 " WHERE (?1 = 0 OR m.tenant_id = ?1) AND (?2 = 0 OR m.user_id = ?2)"
                 " ORDER BY t.name, u.name",
                 "ii", tenant_id, user_id);
}

/* ---- tokens ---- */

static const char *kind_name(otter_token_kind kind)
{
    return kind == OTTER_TOKEN_API ? "api" : "session";
}

static int sq_token_create(otter_store *s, const otter_token *t, const char *sha256_hex,
                           int64_t *id, otter_err *err)
{
    struct db *d = DB(s);
    lock(d);
    int ret = run(d, "storing token", NULL, err,
                  "INSERT INTO tokens(user_id, kind, name, token_sha256, created_at, expires_at)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  "itttii", t->user_id, kind_name(t->kind), t->name, sha256_hex, t->created_at,
                  t->expires_at);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(d->h);
    unlock(d);
    return ret;
}

struct token_walk {
    otter_store_token_cb cb;
    void *ctx;
    otter_token *one;
    int found;
};

static int token_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct token_walk *w = ctx;
    otter_token t = {0};
    t.id = sqlite3_column_int64(st, 0);
    t.user_id = sqlite3_column_int64(st, 1);
    const char *kind = col_str(st, 2);
    t.kind = kind && strcmp(kind, "api") == 0 ? OTTER_TOKEN_API : OTTER_TOKEN_SESSION;
    if (col_copy(st, 3, t.name, sizeof t.name, err) < 0)
        return OTTER_EFORMAT;
    t.created_at = sqlite3_column_int64(st, 4);
    t.expires_at = sqlite3_column_int64(st, 5);
    t.revoked_at = sqlite3_column_int64(st, 6); /* NULL reads as 0: live */
    w->found = 1;
    if (w->one) {
        *w->one = t;
        return 0;
    }
    return w->cb(w->ctx, &t);
}

#define TOKEN_COLS "SELECT id, user_id, kind, name, created_at, expires_at, revoked_at FROM tokens"

static int sq_token_find(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                         otter_err *err)
{
    struct token_walk w = {.one = out};
    int ret = query(DB(s), "looking up token", token_row, &w, err,
                    TOKEN_COLS " WHERE token_sha256 = ?", "t", sha256_hex);
    *found = w.found;
    return ret;
}

static int sq_token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                           otter_err *err)
{
    int n = 0;
    int ret = run(DB(s), "revoking token", &n, err,
                  "UPDATE tokens SET revoked_at = ?3 WHERE (?1 = 0 OR id = ?1) AND user_id = ?2"
                  " AND revoked_at IS NULL",
                  "iii", id, user_id, now);
    *found = n > 0;
    return ret;
}

static int sq_token_list(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                         otter_store_token_cb cb, void *ctx, otter_err *err)
{
    struct token_walk w = {.cb = cb, .ctx = ctx};
    return query(DB(s), "listing tokens", token_row, &w, err,
                 TOKEN_COLS " WHERE user_id = ? AND kind = ? AND revoked_at IS NULL"
                            " AND expires_at > ? ORDER BY id",
                 "iti", user_id, kind_name(kind), now);
}

/* ---- audit ---- */

static int sq_audit_append(otter_store *s, const otter_audit_entry *e, otter_err *err)
{
    return run(DB(s), "writing audit log", NULL, err,
               "INSERT INTO audit_log(at, actor_id, actor, tenant_id, tenant, action, object,"
               " detail, client) VALUES (?, nullif(?, 0), ?, nullif(?, 0), ?, ?, ?, ?, ?)",
               "iitittttt", e->at, e->actor_id, e->actor, e->tenant_id, e->tenant, e->action,
               e->object, e->detail, e->client);
}

struct audit_walk {
    otter_store_audit_cb cb;
    void *ctx;
};

static int audit_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct audit_walk *w = ctx;
    otter_audit_entry e = {
        .id = sqlite3_column_int64(st, 0),
        .at = sqlite3_column_int64(st, 1),
        .actor_id = sqlite3_column_int64(st, 2),
        .actor = col_str(st, 3),
        .tenant_id = sqlite3_column_int64(st, 4),
        .tenant = col_str(st, 5),
        .action = col_str(st, 6),
        .object = col_str(st, 7),
        .detail = col_str(st, 8),
        .client = col_str(st, 9),
    };
    return w->cb(w->ctx, &e);
}

static int sq_audit_list(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                         void *ctx, otter_err *err)
{
    struct audit_walk w = {cb, ctx};
    /* One fixed statement: an unset filter binds a value that makes its clause true. */
    return query(DB(s), "reading audit log", audit_row, &w, err,
                 "SELECT id, at, actor_id, actor, tenant_id, tenant, action, object, detail,"
                 " client FROM audit_log"
                 " WHERE (?1 = 0 OR tenant_id = ?1) AND (?2 IS NULL OR actor = ?2)"
                 " AND (?3 IS NULL OR action = ?3) AND (?4 = 0 OR id < ?4)"
                 " AND (?5 = 0 OR at >= ?5) AND (?6 = 0 OR at < ?6)"
                 " ORDER BY id DESC LIMIT ?7",
                 "ittiiii", f->tenant_id, f->actor, f->action, f->before_id, f->since, f->until,
                 (int64_t)f->limit);
}

const otter_store_ops otter_store_sqlite_ops = {
    .engine = "sqlite",
    .url_prefix = "sqlite:",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .migrate = sq_migrate,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .tenant_create = sq_tenant_create,
    .tenant_get = sq_tenant_get,
    .tenant_delete = sq_tenant_delete,
    .tenant_list = sq_tenant_list,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_set_password = sq_user_set_password,
    .user_delete = sq_user_delete,
    .user_count_admins = sq_user_count_admins,
    .user_list = sq_user_list,
    .member_set = sq_member_set,
    .member_get = sq_member_get,
    .member_delete = sq_member_delete,
    .member_list = sq_member_list,
    .token_create = sq_token_create,
    .token_find = sq_token_find,
    .token_revoke = sq_token_revoke,
    .token_list = sq_token_list,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
};
