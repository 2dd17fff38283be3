/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite back-end of the store: one connection in WAL mode, shared by the
 * server's threads under a recursive mutex (a transaction keeps it from
 * begin to commit, so concurrent requests never interleave inside one).
 * Every statement is prepared with bound parameters; no SQL is ever built
 * from request data. This file holds the connection, the schema and
 * transactions; the queries are in sqlite_accounts.c.
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

#include "sqlite_internal.h"
#include "sqlite_schema.h"

#define OTTER_SQLITE(s) ((struct otter_sqlite *)(s)->impl)

void otter_sqlite_lock(struct otter_sqlite *d)
{
    pthread_mutex_lock(&d->lock);
}

void otter_sqlite_unlock(struct otter_sqlite *d)
{
    pthread_mutex_unlock(&d->lock);
}

/* Maps an SQLite failure to our codes; unique clashes become OTTER_ESTATE. */
int otter_sqlite_error(struct otter_sqlite *d, const char *what, otter_err *err)
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

static void release(struct otter_sqlite *d, sqlite3_stmt *st);

/*
 * Prepares sql and binds the arguments described by types, in order:
 * 't' const char * (NULL binds SQL NULL), 'i' int64_t.
 */
static int vprepare(struct otter_sqlite *d, const char *what, sqlite3_stmt **st, otter_err *err,
                    const char *sql, const char *types, va_list ap)
{
    *st = NULL;
    int slot = -1;
    for (int i = 0; i < d->n_stmts && slot < 0; i++)
        if (!d->stmts[i].busy && (d->stmts[i].sql == sql || strcmp(d->stmts[i].sql, sql) == 0))
            slot = i;
    if (slot >= 0) {
        *st = d->stmts[slot].st;
        d->stmts[slot].busy = 1;
    } else {
        if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
            return otter_sqlite_error(d, what, err);
        char *copy = d->n_stmts < OTTER_SQLITE_STMT_CACHE ? strdup(sql) : NULL;
        if (copy) {
            d->stmts[d->n_stmts].sql = copy;
            d->stmts[d->n_stmts].st = *st;
            d->stmts[d->n_stmts].busy = 1;
            d->n_stmts++;
        }
    }
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
            int ret = otter_sqlite_error(d, what, err);
            release(d, *st);
            *st = NULL;
            return ret;
        }
    }
    return 0;
}

/* Gives a statement back: a cached one is reset for its next use, another finalized. */
static void release(struct otter_sqlite *d, sqlite3_stmt *st)
{
    for (int i = 0; st && i < d->n_stmts; i++)
        if (d->stmts[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            d->stmts[i].busy = 0;
            return;
        }
    sqlite3_finalize(st);
}

/* Runs a statement that returns no rows; *changes (may be NULL) gets the rows it touched. */
int otter_sqlite_run(struct otter_sqlite *d, const char *what, int *changes, otter_err *err,
                     const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, types);
    otter_sqlite_lock(d);
    int ret = vprepare(d, what, &st, err, sql, types, ap);
    va_end(ap);
    if (ret == 0 && sqlite3_step(st) != SQLITE_DONE)
        ret = otter_sqlite_error(d, what, err);
    if (ret == 0 && changes)
        *changes = sqlite3_changes(d->h);
    release(d, st);
    otter_sqlite_unlock(d);
    return ret;
}

/* Runs a query and calls row for each result row; a negative row() stops and is returned. */
int otter_sqlite_query(struct otter_sqlite *d, const char *what, otter_sqlite_row_fn row, void *ctx,
                       otter_err *err, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, types);
    otter_sqlite_lock(d);
    int ret = vprepare(d, what, &st, err, sql, types, ap);
    va_end(ap);
    while (ret == 0) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = otter_sqlite_error(d, what, err);
            break;
        }
        ret = row(st, ctx, err);
    }
    release(d, st);
    otter_sqlite_unlock(d);
    return ret;
}

const char *otter_sqlite_col_str(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Copies a text column into a bounded buffer; a longer value is corrupt data, not truncated. */
int otter_sqlite_col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap, otter_err *err)
{
    const char *v = otter_sqlite_col_str(st, i);
    size_t n = v ? strlen(v) : 0;
    if (n >= cap)
        return otter_err_set(err, OTTER_EFORMAT, "stored value in column %d longer than %zu", i,
                             cap - 1);
    memcpy(buf, v ? v : "", n);
    buf[n] = '\0';
    return 0;
}

static int exec_plain(struct otter_sqlite *d, const char *sql, const char *what, otter_err *err)
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
    struct otter_sqlite *d = calloc(1, sizeof *d);
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
        ret = otter_err_sys(err, OTTER_EIO, errno, "database %s (run `otter-server init` first)",
                            path);
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
    if ((ret = exec_plain(d,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
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
    struct otter_sqlite *d = OTTER_SQLITE(s);
    if (!d)
        return;
    for (int i = 0; i < d->n_stmts; i++) {
        sqlite3_finalize(d->stmts[i].st);
        free((char *)d->stmts[i].sql);
    }
    sqlite3_close(d->h);
    pthread_mutex_destroy(&d->lock);
    free(d);
    s->impl = NULL;
}

int otter_sqlite_int_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 0;
}

static int sq_schema_version(otter_store *s, int *version, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    int64_t has = 0, v = 0;
    int ret = otter_sqlite_query(d, "reading schema version", otter_sqlite_int_row, &has, err,
                                 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                 " AND name = 'schema_version'",
                                 "");
    if (ret == 0 && has)
        ret = otter_sqlite_query(d, "reading schema version", otter_sqlite_int_row, &v, err,
                                 "SELECT coalesce(max(version), 0) FROM schema_version", "");
    *version = (int)v;
    return ret;
}

/* A migration must leave no dangling reference (foreign keys are off while it runs). */
static int check_references(struct otter_sqlite *d, int version, otter_err *err)
{
    int64_t dangling = 0;
    int ret = otter_sqlite_query(d, "checking references", otter_sqlite_int_row, &dangling, err,
                                 "SELECT count(*) FROM pragma_foreign_key_check", "");
    if (ret == 0 && dangling)
        ret = otter_err_set(err, OTTER_ESTATE,
                            "schema version %d: %lld rows would refer to rows that are gone",
                            version, (long long)dangling);
    return ret;
}

static int sq_migrate(otter_store *s, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    int ret, version = 0;
    otter_sqlite_lock(d);
    ret = exec_plain(d,
                     "CREATE TABLE IF NOT EXISTS schema_version ("
                     " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
                     "creating schema_version", err);
    /*
     * SQLite's way to rebuild a table others refer to: foreign keys off
     * (outside the transaction; a DROP TABLE would cascade otherwise), the
     * references checked before each COMMIT, and on again afterwards.
     */
    if (ret == 0)
        ret = exec_plain(d, "PRAGMA foreign_keys=OFF", "migrating", err);
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
        if ((ret = otter_sqlite_run(d, "recording schema version", NULL, err,
                                    "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)",
                                    "ii", (int64_t)version + 1, (int64_t)time(NULL))) < 0 ||
            (ret = check_references(d, version + 1, err)) < 0)
            goto rollback;
        if ((ret = exec_plain(d, "COMMIT", "migrating", err)) < 0)
            goto rollback;
        continue;
    rollback:
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
        break;
    }
    if (sqlite3_exec(d->h, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK && ret == 0)
        ret = otter_err_set(err, OTTER_EIO, "migrating: foreign keys back on: %s",
                            sqlite3_errmsg(d->h));
    otter_sqlite_unlock(d);
    return ret;
}

static int sq_begin(otter_store *s, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    otter_sqlite_lock(d);
    if (d->in_tx) {
        otter_sqlite_unlock(d);
        return otter_err_set(err, OTTER_EUSAGE, "store transaction already open");
    }
    /* IMMEDIATE takes the write lock now, so the transaction cannot fail half-way with BUSY. */
    int ret = exec_plain(d, "BEGIN IMMEDIATE", "beginning transaction", err);
    if (ret < 0) {
        otter_sqlite_unlock(d);
        return ret;
    }
    d->in_tx = 1;
    return 0; /* the lock stays held until commit or rollback */
}

static int sq_commit(otter_store *s, otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    int ret = exec_plain(d, "COMMIT", "committing", err);
    if (ret < 0)
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = 0;
    otter_sqlite_unlock(d);
    return ret;
}

static void sq_rollback(otter_store *s)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = 0;
    otter_sqlite_unlock(d);
}

/* One count for the change, an entry per device (0: any device); see otter_store_backend.h. */
static int sq_changes_log(otter_store *s, const int64_t *devices, size_t n, int64_t *count,
                          otter_err *err)
{
    struct otter_sqlite *d = OTTER_SQLITE(s);
    /* Always inside the writer's transaction (otter_store.c): the entry commits with the write. */
    if (!d->in_tx)
        return otter_err_set(err, OTTER_EUSAGE, "change log written outside a transaction");
    *count = 0;
    int ret = otter_sqlite_query(d, "counting a change", otter_sqlite_int_row, count, err,
                                 "UPDATE change_counter SET n = n + 1 WHERE id = 1 RETURNING n", "");
    for (size_t i = 0; ret == 0 && i < (n ? n : 1); i++)
        ret = otter_sqlite_run(d, "logging a change", NULL, err,
                               "INSERT OR IGNORE INTO change_log(seq, device_id) VALUES (?, ?)",
                               "ii", *count, n ? devices[i] : (int64_t)0);
    if (ret == 0 && atomic_fetch_add(&s->log_writes, 1) % 256 == 255)
        ret = otter_sqlite_run(d, "dropping old change log entries", NULL, err,
                               "DELETE FROM change_log WHERE seq <= ?", "i",
                               *count - OTTER_STORE_CHANGES_KEPT);
    return ret;
}

static int sq_changes_read(otter_store *s, int64_t *counter, otter_err *err)
{
    *counter = 0;
    return otter_sqlite_query(OTTER_SQLITE(s), "reading the change counter", otter_sqlite_int_row,
                              counter, err, "SELECT n FROM change_counter WHERE id = 1", "");
}

struct change_walk {
    int (*cb)(void *ctx, int64_t count, int64_t device_id);
    void *ctx;
};

static int change_row(sqlite3_stmt *st, void *ctx, otter_err *err)
{
    struct change_walk *w = ctx;
    (void)err;
    return w->cb(w->ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
}

static int sq_changes_since(otter_store *s, int64_t after, int64_t limit,
                            int (*cb)(void *ctx, int64_t count, int64_t device_id), void *ctx,
                            otter_err *err)
{
    struct change_walk w = {cb, ctx};
    return otter_sqlite_query(OTTER_SQLITE(s), "reading the change log", change_row, &w, err,
                              "SELECT seq, device_id FROM change_log WHERE seq > ?"
                              " ORDER BY seq, device_id LIMIT ?",
                              "ii", after, limit);
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
    .changes_log = sq_changes_log,
    .changes_read = sq_changes_read,
    .changes_since = sq_changes_since,
    .tenant_create = otter_sqlite_tenant_create,
    .tenant_get = otter_sqlite_tenant_get,
    .tenant_delete = otter_sqlite_tenant_delete,
    .tenant_list = otter_sqlite_tenant_list,
    .user_create = otter_sqlite_user_create,
    .user_get = otter_sqlite_user_get,
    .user_set_password = otter_sqlite_user_set_password,
    .user_delete = otter_sqlite_user_delete,
    .user_count_admins = otter_sqlite_user_count_admins,
    .user_list = otter_sqlite_user_list,
    .member_set = otter_sqlite_member_set,
    .member_get = otter_sqlite_member_get,
    .member_delete = otter_sqlite_member_delete,
    .member_list = otter_sqlite_member_list,
    .token_create = otter_sqlite_token_create,
    .token_find = otter_sqlite_token_find,
    .token_revoke = otter_sqlite_token_revoke,
    .token_list = otter_sqlite_token_list,
    .audit_append = otter_sqlite_audit_append,
    .audit_list = otter_sqlite_audit_list,
    .tenant_set_gateway = otter_sqlite_tenant_set_gateway,
    .tenant_check_gateway = otter_sqlite_tenant_check_gateway,
    .device_create = otter_sqlite_device_create,
    .device_get = otter_sqlite_device_get,
    .device_list = otter_sqlite_device_list,
    .device_delete = otter_sqlite_device_delete,
    .device_seen = otter_sqlite_device_seen,
    .device_set_attributes = otter_sqlite_device_set_attributes,
    .group_create = otter_sqlite_group_create,
    .group_list = otter_sqlite_group_list,
    .group_delete = otter_sqlite_group_delete,
    .group_add = otter_sqlite_group_add,
    .group_remove = otter_sqlite_group_remove,
    .release_create = otter_sqlite_release_create,
    .release_list = otter_sqlite_release_list,
    .release_delete = otter_sqlite_release_delete,
    .action_create = otter_sqlite_action_create,
    .action_get = otter_sqlite_action_get,
    .device_poll_rows = otter_sqlite_device_poll_rows,
    .action_list_device = otter_sqlite_action_list_device,
    .action_set_status = otter_sqlite_action_set_status,
    .action_set_maintenance = otter_sqlite_action_set_maintenance,
    .feedback_add = otter_sqlite_feedback_add,
    .feedback_count = otter_sqlite_feedback_count,
    .feedback_list = otter_sqlite_feedback_list,
    .approval_get = otter_sqlite_approval_get,
    .approval_set = otter_sqlite_approval_set,
    .rollout_create = otter_sqlite_rollout_create,
    .rollout_list = otter_sqlite_rollout_list,
    .rollout_update = otter_sqlite_rollout_update,
    .rollout_counts = otter_sqlite_rollout_counts,
    .rollout_cancel_actions = otter_sqlite_rollout_cancel_actions,
    .release_withdraw_actions = otter_sqlite_release_withdraw_actions,
    .rollout_retry_failed = otter_sqlite_rollout_retry_failed,
};
