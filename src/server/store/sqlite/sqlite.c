/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite driver of the store (otter_sqldrv.h): one connection in WAL mode,
 * shared by the server's threads under a recursive mutex (a transaction
 * keeps it from begin to commit, so concurrent requests never interleave
 * inside one). Every statement is prepared with bound parameters and kept
 * for reuse; no SQL is ever built from request data. This file holds the
 * connection, the schema and transactions; the queries are in sql_*.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "otter_sql.h"
#include "sqlite_schema.h"

#define STMT_CACHE 128

struct otter_sqlite {
    sqlite3 *h;
    /* Prepared statements kept for reuse (parsing was most of a poll's CPU), by SQL text. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
        int busy;
    } stmts[STMT_CACHE];
    int n_stmts;
    pthread_mutex_t lock; /* recursive: store calls nest inside a transaction */
    int in_tx;
};

/* Maps an SQLite failure to our codes; unique clashes become OTTER_ESTATE. */
static int sq_fail(struct otter_sqlite *d, const char *what, otter_err *err)
{
    int ext = sqlite3_extended_errcode(d->h);
    otter_sql_failure why = OTTER_SQL_OTHER;
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        why = OTTER_SQL_UNIQUE;
    else if ((ext & 0xff) == SQLITE_CONSTRAINT)
        why = OTTER_SQL_CONSTRAINT;
    else if ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED)
        why = OTTER_SQL_BUSY;
    return otter_sql_fail(err, why, what, "sqlite", sqlite3_errmsg(d->h));
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

/* A cached statement for sql that is not in use, or a new one (kept while the cache has room). */
static int prepare(struct otter_sqlite *d, const char *what, const char *sql, sqlite3_stmt **st,
                   otter_err *err)
{
    for (int i = 0; i < d->n_stmts; i++)
        if (!d->stmts[i].busy && (d->stmts[i].sql == sql || strcmp(d->stmts[i].sql, sql) == 0)) {
            *st = d->stmts[i].st;
            d->stmts[i].busy = 1;
            return 0;
        }
    if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return sq_fail(d, what, err);
    char *copy = d->n_stmts < STMT_CACHE ? strdup(sql) : NULL;
    if (copy) {
        d->stmts[d->n_stmts].sql = copy;
        d->stmts[d->n_stmts].st = *st;
        d->stmts[d->n_stmts].busy = 1;
        d->n_stmts++;
    }
    return 0;
}

static int bind(struct otter_sqlite *d, sqlite3_stmt *st, const char *what,
                const otter_sqlarg *args, int n, otter_err *err)
{
    for (int i = 0; i < n; i++) {
        int rc = args[i].type == 'i' ? sqlite3_bind_int64(st, i + 1, args[i].i)
                 : args[i].t         ? sqlite3_bind_text(st, i + 1, args[i].t, -1, SQLITE_TRANSIENT)
                                     : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK)
            return sq_fail(d, what, err);
    }
    return 0;
}

static int sq_exec(void *conn, const char *what, int read_only, const char *sql,
                   const otter_sqlarg *args, int n, otter_sqlrow_fn row, void *ctx,
                   int64_t *changes, otter_err *err)
{
    struct otter_sqlite *d = conn;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&d->lock);
    int ret = prepare(d, what, sql, &st, err);
    /* A read that writes would skip the change tracking of otter_sql_write(): a bug, said so. */
    if (ret == 0 && read_only && !sqlite3_stmt_readonly(st))
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: a statement that writes, run as a read", what);
    if (ret == 0)
        ret = bind(d, st, what, args, n, err);
    otter_sqlrow r = {&otter_sqldrv_sqlite, st, 0};
    while (ret == 0) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW)
            ret = sq_fail(d, what, err);
        else if (row)
            ret = row(&r, ctx, err);
    }
    if (ret == 0 && changes)
        *changes = sqlite3_changes(d->h);
    release(d, st);
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static int64_t sq_col_int(const otter_sqlrow *r, int col)
{
    return sqlite3_column_int64(r->h, col);
}

static const char *sq_col_text(const otter_sqlrow *r, int col)
{
    return (const char *)sqlite3_column_text(r->h, col);
}

static int sq_col_is_null(const otter_sqlrow *r, int col)
{
    return sqlite3_column_type(r->h, col) == SQLITE_NULL;
}

/* Column 0 of a statement without parameters, for the schema code. */
static int query_int(struct otter_sqlite *d, const char *what, const char *sql, int64_t *out,
                     otter_err *err)
{
    return sq_exec(d, what, 1, sql, NULL, 0, otter_sql_int_row, out, NULL, err);
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

static int sq_open(void **conn, const char *url, int create, unsigned busy_timeout_ms,
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
    *conn = d;
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

static void sq_close(void *conn)
{
    struct otter_sqlite *d = conn;
    if (!d)
        return;
    for (int i = 0; i < d->n_stmts; i++) {
        sqlite3_finalize(d->stmts[i].st);
        free((char *)d->stmts[i].sql);
    }
    sqlite3_close(d->h);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static int sq_schema_version(void *conn, int *version, otter_err *err)
{
    struct otter_sqlite *d = conn;
    int64_t has = 0, v = 0;
    int ret = query_int(d, "reading schema version",
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                        " AND name = 'schema_version'",
                        &has, err);
    if (ret == 0 && has)
        ret = query_int(d, "reading schema version",
                        "SELECT coalesce(max(version), 0) FROM schema_version", &v, err);
    *version = (int)v;
    return ret;
}

/* A migration must leave no dangling reference (foreign keys are off while it runs). */
static int check_references(struct otter_sqlite *d, int version, otter_err *err)
{
    int64_t dangling = 0;
    int ret = query_int(d, "checking references", "SELECT count(*) FROM pragma_foreign_key_check",
                        &dangling, err);
    if (ret == 0 && dangling)
        ret = otter_err_set(err, OTTER_ESTATE,
                            "schema version %d: %lld rows would refer to rows that are gone",
                            version, (long long)dangling);
    return ret;
}

static int sq_migrate(void *conn, otter_err *err)
{
    struct otter_sqlite *d = conn;
    int ret, version = 0;
    pthread_mutex_lock(&d->lock);
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
        if ((ret = sq_schema_version(d, &version, err)) < 0)
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
        otter_sqlarg rec[] = {{'i', version + 1, NULL}, {'i', (int64_t)time(NULL), NULL}};
        if ((ret = sq_exec(d, "recording schema version", 0,
                           "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)", rec, 2,
                           NULL, NULL, NULL, err)) < 0 ||
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
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static int sq_begin(void *conn, otter_err *err)
{
    struct otter_sqlite *d = conn;
    pthread_mutex_lock(&d->lock);
    if (d->in_tx) {
        pthread_mutex_unlock(&d->lock);
        return otter_err_set(err, OTTER_EUSAGE, "store transaction already open");
    }
    /* IMMEDIATE takes the write lock now, so the transaction cannot fail half-way with BUSY. */
    int ret = exec_plain(d, "BEGIN IMMEDIATE", "beginning transaction", err);
    if (ret < 0) {
        pthread_mutex_unlock(&d->lock);
        return ret;
    }
    d->in_tx = 1;
    return 0; /* the lock stays held until commit or rollback */
}

static int sq_commit(void *conn, otter_err *err)
{
    struct otter_sqlite *d = conn;
    int ret = exec_plain(d, "COMMIT", "committing", err);
    if (ret < 0)
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = 0;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static void sq_rollback(void *conn)
{
    struct otter_sqlite *d = conn;
    sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = 0;
    pthread_mutex_unlock(&d->lock);
}

const otter_sqldrv otter_sqldrv_sqlite = {
    .engine = "sqlite",
    .url_prefix = "sqlite:",
    /* json_extract yields the attribute's value; like PostgreSQL's, only strings compare equal. */
    .attr_equals = "json_extract(d.attributes, '$.\"' || ?6 || '\"') = ?7",
    .lock_rows = "", /* BEGIN IMMEDIATE: the one writer holds the whole database */
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .migrate = sq_migrate,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .col_is_null = sq_col_is_null,
};
