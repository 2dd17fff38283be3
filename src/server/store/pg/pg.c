/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL back-end of the store, for several otter-server instances
 * sharing one database. Each store holds one libpq connection, shared by
 * the server's threads under a recursive mutex; between otter_store_begin()
 * and commit/rollback the calling thread keeps the mutex, so requests of
 * one server never interleave inside a transaction.
 *
 * Across servers, every write transaction (otter_store_begin() and the
 * store calls made of several statements) first takes one transaction-
 * scoped advisory lock. That gives the request handlers exactly what they
 * had with SQLite's single writer: a read-then-write such as "count the
 * admins, then delete one" cannot interleave with the same request on
 * another server. Single statements outside a transaction (device polls,
 * lookups) do not take it and run in parallel. Waits are bounded by
 * lock_timeout = busy_timeout_ms ("database busy, try again").
 *
 * Unlike SQLite, a failed statement ends a PostgreSQL transaction: later
 * statements and the commit fail until the caller rolls back (every caller
 * already rolls back on the first error).
 *
 * Every statement goes through PQexecParams with typed parameters; no SQL
 * is ever built from data. Unnamed statements rather than a cache of named
 * ones on purpose: they are planned with the actual values, so the
 * optional filters ("$3 IS NULL OR model = $3") fold away instead of
 * leaving a generic plan that must scan for every combination. A
 * connection found broken outside a transaction is reset before the next
 * statement. This file is the driver of otter_sqldrv.h: statements
 * (the store's "?" placeholders rewritten to "$N"), transactions and the
 * schema version; pg_connect.c opens and closes, maps errors and sets a
 * session up, the migrations are in pg_schema.c, the queries (shared with
 * SQLite) in sql_*.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_internal.h"

/* Advisory lock keys ("otter" and "ottermig" in ASCII), per database. */
#define WRITE_LOCK_KEY INT64_C(0x6f74746572)
#define MIGRATE_LOCK_KEY INT64_C(0x6f747465726d6967)

/* Reconnects a broken connection, never inside a transaction (its work is gone). */
static int ensure_conn(struct otter_pg *d, const char *what, otter_err *err)
{
    char buf[512];
    if (PQstatus(d->conn) == CONNECTION_OK)
        return 0;
    if (d->in_tx || d->own_tx) {
        if (d->in_tx)
            d->tx_failed = 1;
        return otter_err_set(err, OTTER_EIO,
                             "%s: connection to PostgreSQL lost inside a transaction", what);
    }
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK)
        return otter_err_set(err, OTTER_EIO, "%s: cannot reconnect to PostgreSQL: %s", what,
                             otter_pg_one_line(PQerrorMessage(d->conn), buf, sizeof buf));
    return otter_pg_session_setup(d, err);
}

/*
 * The store's SQL with SQLite's placeholders ("?" is the next number, "?N"
 * parameter N) as PostgreSQL's "$N"; quoted literals are copied as they
 * are. Caller frees; NULL when out of memory or a number is above
 * OTTER_SQL_MAX_ARGS (so "$N" is never longer than "?" + 2).
 */
static char *rewrite(const char *sql)
{
    char *out = malloc(strlen(sql) * 3 + 1), *o = out;
    int next = 0;
    char quote = 0;
    for (const char *p = sql; out && *p; p++) {
        if (quote || *p == '\'' || *p == '"') {
            quote = !quote ? *p : *p == quote ? 0 : quote;
        } else if (*p == '?') {
            int n = 0;
            while (p[1] >= '0' && p[1] <= '9' && n <= OTTER_SQL_MAX_ARGS)
                n = n * 10 + *++p - '0';
            n = n ? n : ++next;
            next = n > next ? n : next;
            if (n > OTTER_SQL_MAX_ARGS) {
                free(out);
                return NULL;
            }
            o += sprintf(o, "$%d", n);
            continue;
        }
        *o++ = *p;
    }
    if (out)
        *o = '\0';
    return out;
}

/* Runs sql with its parameters; *out gets the result on success. */
static int run(struct otter_pg *d, const char *what, PGresult **out, const char *sql,
               const otter_sqlarg *args, int n, otter_err *err)
{
    const char *values[OTTER_SQL_MAX_ARGS];
    Oid oids[OTTER_SQL_MAX_ARGS];
    char nums[OTTER_SQL_MAX_ARGS][24];
    *out = NULL;
    for (int i = 0; i < n && i < OTTER_SQL_MAX_ARGS; i++) {
        if (args[i].type == 't') {
            values[i] = args[i].t;
            oids[i] = OTTER_PG_OID_TEXT;
        } else {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, args[i].i);
            values[i] = nums[i];
            oids[i] = OTTER_PG_OID_INT8;
        }
    }
    int ret = ensure_conn(d, what, err);
    if (ret < 0)
        return ret;
    char *text = rewrite(sql);
    if (!text)
        return otter_err_set(err, OTTER_EUSAGE, "%s: out of memory or a bad placeholder", what);
    PGresult *res = PQexecParams(d->conn, text, n, oids, values, NULL, NULL, 0);
    free(text);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ret = otter_pg_fail(d, res, what, err);
        PQclear(res);
        return ret;
    }
    *out = res;
    return 0;
}

static int pg_exec(void *conn, const char *what, int read_only, const char *sql,
                   const otter_sqlarg *args, int n, otter_sqlrow_fn row, void *ctx,
                   int64_t *changes, otter_err *err)
{
    struct otter_pg *d = conn;
    PGresult *res = NULL;
    (void)read_only; /* SQLite checks it for both: the statements are the same */
    pthread_mutex_lock(&d->lock);
    int ret = run(d, what, &res, sql, args, n, err);
    otter_sqlrow r = {&otter_sqldrv_pg, res, 0};
    for (int i = 0; ret == 0 && row && i < PQntuples(res); i++) {
        r.i = i;
        ret = row(&r, ctx, err);
    }
    if (ret == 0 && changes)
        *changes = strtoll(PQcmdTuples(res), NULL, 10); /* "" for statements without a count */
    PQclear(res);
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static int64_t pg_col_int(const otter_sqlrow *r, int col)
{
    if (PQgetisnull(r->h, r->i, col))
        return 0;
    const char *v = PQgetvalue(r->h, r->i, col);
    if (v[0] == 't' || v[0] == 'f') /* booleans, e.g. from EXISTS */
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_col_text(const otter_sqlrow *r, int col)
{
    return PQgetisnull(r->h, r->i, col) ? NULL : PQgetvalue(r->h, r->i, col);
}

static int pg_col_is_null(const otter_sqlrow *r, int col)
{
    return PQgetisnull(r->h, r->i, col);
}

/* Column 0 of a statement, for the schema code. */
static int query_int(struct otter_pg *d, const char *what, const char *sql, int64_t *out,
                     otter_err *err)
{
    return pg_exec(d, what, 1, sql, NULL, 0, otter_sql_int_row, out, NULL, err);
}

/* A statement with one int parameter and no rows. */
static int run_int(struct otter_pg *d, const char *what, const char *sql, int64_t v, otter_err *err)
{
    otter_sqlarg a = {'i', v, NULL};
    return pg_exec(d, what, 0, sql, &a, 1, NULL, NULL, NULL, err);
}

/* Runs fixed SQL text without parameters (BEGIN, COMMIT, a migration). */
static int exec_plain(struct otter_pg *d, const char *sql, const char *what, otter_err *err)
{
    int ret = ensure_conn(d, what, err);
    if (ret < 0)
        return ret;
    PGresult *res = PQexec(d->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        ret = otter_pg_fail(d, res, what, err);
    /* COMMIT of a transaction that had failed answers ROLLBACK, not an error. */
    else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        ret = otter_err_set(err, OTTER_EIO, "%s: the transaction was rolled back", what);
    PQclear(res);
    return ret;
}

static void rollback_quiet(struct otter_pg *d)
{
    if (PQstatus(d->conn) == CONNECTION_OK)
        PQclear(PQexec(d->conn, "ROLLBACK"));
}

/* BEGIN plus the cluster-wide writer lock (see the header comment). */
static int write_begin(struct otter_pg *d, const char *what, otter_err *err)
{
    int ret = exec_plain(d, "BEGIN", what, err);
    if (ret == 0 &&
        (ret = run_int(d, what, "SELECT pg_advisory_xact_lock(?)", WRITE_LOCK_KEY, err)) < 0)
        rollback_quiet(d);
    return ret;
}

/* ---- schema ---- */

static int pg_schema_version(void *conn, int *version, otter_err *err)
{
    struct otter_pg *d = conn;
    int64_t has = 0, v = 0;
    int ret = query_int(d, "reading schema version",
                        "SELECT to_regclass('schema_version') IS NOT NULL", &has, err);
    if (ret == 0 && has)
        ret = query_int(d, "reading schema version",
                        "SELECT coalesce(max(version), 0) FROM schema_version", &v, err);
    *version = (int)v;
    return ret;
}

static int pg_migrate(void *conn, otter_err *err)
{
    struct otter_pg *d = conn;
    int ret = 0, version = 0;
    pthread_mutex_lock(&d->lock);
    if (d->in_tx) {
        pthread_mutex_unlock(&d->lock);
        return otter_err_set(err, OTTER_EUSAGE, "migrating inside a store transaction");
    }
    while (ret == 0) {
        /* One migration per transaction; the lock makes two `init`s apply each one once. */
        if ((ret = exec_plain(d, "BEGIN", "migrating", err)) < 0)
            break;
        d->own_tx = 1;
        if ((ret = run_int(d, "migrating", "SELECT pg_advisory_xact_lock(?)", MIGRATE_LOCK_KEY,
                           err)) < 0 ||
            (ret = exec_plain(d,
                              "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                              "creating schema_version", err)) < 0 ||
            (ret = pg_schema_version(d, &version, err)) < 0)
            goto rollback;
        if ((size_t)version > otter_pg_n_migrations) {
            ret = otter_err_set(err, OTTER_ESTATE,
                                "database schema version %d is newer than this server (%zu)",
                                version, otter_pg_n_migrations);
            goto rollback;
        }
        if ((size_t)version == otter_pg_n_migrations) {
            ret = exec_plain(d, "COMMIT", "migrating", err);
            d->own_tx = 0;
            break;
        }
        if ((ret = exec_plain(d, otter_pg_migrations[version], "migrating", err)) < 0) {
            otter_err_prefix(err, "schema version %d", version + 1);
            goto rollback;
        }
        otter_sqlarg rec[] = {{'i', version + 1, NULL}, {'i', (int64_t)time(NULL), NULL}};
        if ((ret = pg_exec(d, "recording schema version", 0,
                           "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)", rec, 2,
                           NULL, NULL, NULL, err)) < 0 ||
            (ret = exec_plain(d, "COMMIT", "migrating", err)) < 0)
            goto rollback;
        d->own_tx = 0;
        continue;
    rollback:
        rollback_quiet(d);
        d->own_tx = 0;
        break;
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* ---- transactions ---- */

static int pg_begin(void *conn, otter_err *err)
{
    struct otter_pg *d = conn;
    pthread_mutex_lock(&d->lock);
    if (d->in_tx) {
        pthread_mutex_unlock(&d->lock);
        return otter_err_set(err, OTTER_EUSAGE, "store transaction already open");
    }
    int ret = write_begin(d, "beginning transaction", err);
    if (ret < 0) {
        pthread_mutex_unlock(&d->lock);
        return ret;
    }
    d->in_tx = 1;
    d->tx_failed = 0;
    return 0; /* the lock stays held until commit or rollback */
}

static int pg_commit(void *conn, otter_err *err)
{
    struct otter_pg *d = conn;
    int ret;
    if (!d->in_tx)
        return otter_err_set(err, OTTER_EUSAGE, "committing: no store transaction open");
    if (d->tx_failed)
        ret = otter_err_set(err, OTTER_EIO,
                            "committing: a statement failed, the transaction was rolled back");
    else
        ret = exec_plain(d, "COMMIT", "committing", err);
    if (ret < 0)
        rollback_quiet(d);
    d->in_tx = 0;
    d->tx_failed = 0;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static void pg_rollback(void *conn)
{
    struct otter_pg *d = conn;
    /* Callers may roll back after a failed commit, which already ended the transaction. */
    if (!d->in_tx)
        return;
    rollback_quiet(d);
    d->in_tx = 0;
    d->tx_failed = 0;
    pthread_mutex_unlock(&d->lock);
}

const otter_sqldrv otter_sqldrv_pg = {
    .engine = "postgres",
    .url_prefix = "postgresql://",
    .url_alias = "postgres://",
    /*
     * attributes stays TEXT (kept byte for byte as the device sent it) and
     * is read as jsonb only for this filter; like SQLite's json_extract,
     * only string attributes compare equal.
     */
    .attr_equals = "(jsonb_typeof(d.attributes::jsonb -> ?6) = 'string'"
                   " AND d.attributes::jsonb ->> ?6 = ?7)",
    /* Writers of several servers: a row checked and then deleted is locked in between. */
    .lock_rows = " FOR UPDATE",
    .open = otter_pg_open,
    .close = otter_pg_close,
    .schema_version = pg_schema_version,
    .migrate = pg_migrate,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_is_null = pg_col_is_null,
};
