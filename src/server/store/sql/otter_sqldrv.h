/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an SQL engine gives the store: a driver (sqlite.c over SQLite,
 * pg.c over libpq) chosen by url from a static table in otter_store.c.
 * Private to src/server/store, otter_store.c and otter_changes.c.
 *
 * The store's queries (store/sql_*.c) are written once, with SQLite's
 * placeholders: "?" (the next number) or "?N" (parameter N, reusable).
 * The PostgreSQL driver rewrites them to "$N"; a '?' inside a quoted
 * literal is left alone. What the engines really write differently is in
 * the dialect fields below, nowhere else.
 */
#ifndef OTTER_SQLDRV_H
#define OTTER_SQLDRV_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_SQL_MAX_ARGS 16

/* One bound parameter, by position: 'i' int64_t, 't' text (NULL binds SQL NULL). */
typedef struct otter_sqlarg {
    char type;
    int64_t i;
    const char *t;
} otter_sqlarg;

struct otter_sqldrv;

/* One result row, valid during the row callback; read it with the otter_sql_col_* functions. */
typedef struct otter_sqlrow {
    const struct otter_sqldrv *drv;
    void *h; /* sqlite3_stmt * or PGresult * */
    int i;   /* row number in h (PostgreSQL) */
} otter_sqlrow;

/* Called per result row; a non-zero return stops the walk and is returned. */
typedef int (*otter_sqlrow_fn)(const otter_sqlrow *row, void *ctx, otter_err *err);

/* Why a statement failed, for one wording of each class (otter_sql_fail()). */
typedef enum otter_sql_failure {
    OTTER_SQL_UNIQUE = 1, /* a unique key clash: "already exists" */
    OTTER_SQL_CONSTRAINT, /* another constraint (foreign key, check, not null) */
    OTTER_SQL_BADDATA,    /* a value the engine refuses (e.g. not UTF-8) */
    OTTER_SQL_BUSY,       /* a lock wait ran out */
    OTTER_SQL_OTHER,
} otter_sql_failure;

/* Fills err for a failed statement: OTTER_ESTATE, OTTER_EFORMAT or OTTER_EIO by class. */
int otter_sql_fail(otter_err *err, otter_sql_failure why, const char *what, const char *engine,
                   const char *msg);

typedef struct otter_sqldrv {
    const char *engine;     /* "sqlite", "postgres" */
    const char *url_prefix; /* "sqlite:" */
    const char *url_alias;  /* another prefix for the same engine, or NULL */

    /* ---- dialect: the only SQL that differs ---- */
    /* A device's attributes (d.attributes, JSON text) hold string ?6 equal to ?7. */
    const char *attr_equals;
    /* Appended to a SELECT in a write transaction to lock its rows against other writers. */
    const char *lock_rows;

    /* ---- connection, schema (per engine) ---- */
    int (*open)(void **conn, const char *url, int create, unsigned busy_timeout_ms, otter_err *err);
    void (*close)(void *conn);
    int (*schema_version)(void *conn, int *version, otter_err *err);
    int (*migrate)(void *conn, otter_err *err);

    /* A write transaction; the calling thread holds the connection from begin to commit/rollback.
     */
    int (*begin)(void *conn, otter_err *err);
    int (*commit)(void *conn, otter_err *err);
    void (*rollback)(void *conn);

    /*
     * Prepares sql, binds n args by position, steps through the rows
     * (row may be NULL for none). read_only: refuse a statement that
     * writes (where the engine can tell). *changes (may be NULL): rows
     * touched.
     */
    int (*exec)(void *conn, const char *what, int read_only, const char *sql,
                const otter_sqlarg *args, int n, otter_sqlrow_fn row, void *ctx, int64_t *changes,
                otter_err *err);

    /* Column accessors: NULL reads as 0 / NULL. Text is borrowed for the callback. */
    int64_t (*col_int)(const otter_sqlrow *r, int col);
    const char *(*col_text)(const otter_sqlrow *r, int col);
    int (*col_is_null)(const otter_sqlrow *r, int col);
} otter_sqldrv;

extern const otter_sqldrv otter_sqldrv_sqlite;
extern const otter_sqldrv otter_sqldrv_pg;

#endif
