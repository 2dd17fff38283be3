/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store's queries (store/sql_*.c) are written with: statements
 * with bound parameters run through the engine's driver (otter_sqldrv.h),
 * column accessors, and the three kinds of statement:
 *
 *   otter_sql_read()            SELECT (SQLite refuses one that writes)
 *   otter_sql_write()        a write a DDI poll can see: needs the
 *                            otter_change of otter_changes.h, so it is
 *                            counted and logged for other servers
 *   otter_sql_change()       the same for one statement in its own change
 *   otter_sql_write_quiet()  a write no poll answer depends on (accounts,
 *                            audit, last_seen, feedback)
 *
 * Arguments are described by types, in order: 'i' int64_t, 't' const
 * char * (NULL binds SQL NULL).
 */
#ifndef OTTER_SQL_H
#define OTTER_SQL_H

#include <stdarg.h>

#include "otter_changes.h"
#include "otter_sqldrv.h"
#include "otter_store.h"

struct otter_store {
    const otter_sqldrv *drv;
    void *conn;
    otter_changes *changes; /* what this server knows changed (otter_changes.c) */
};

int otter_sql_read(otter_store *s, const char *what, otter_sqlrow_fn row, void *ctx, otter_err *err,
                   const char *sql, const char *types, ...);

/*
 * *out (may be NULL): the first column of the first row the statement
 * returns (its "RETURNING id"), or when it returns none the number of rows
 * it touched; left as it was when the statement fails.
 */
int otter_sql_write(const otter_change *ch, const char *what, int64_t *out, otter_err *err,
                    const char *sql, const char *types, ...);
/*
 * A counted write of one statement: otter_change_begin(), the write, and
 * otter_change_end() noting device_id (or OTTER_CHANGE_ANY_DEVICE).
 */
int otter_sql_change(otter_store *s, int64_t device_id, const char *what, int64_t *out,
                     otter_err *err, const char *sql, const char *types, ...);
int otter_sql_write_quiet(otter_store *s, const char *what, int64_t *out, otter_err *err,
                          const char *sql, const char *types, ...);

/*
 * A quiet call made of several statements runs in one transaction: the
 * caller's when this thread holds one, else its own (*own = 1), which
 * otter_sql_tx_close() commits when ret == 0 and rolls back otherwise.
 */
int otter_sql_tx_open(otter_store *s, int *own, otter_err *err);
int otter_sql_tx_close(otter_store *s, int own, int ret, otter_err *err);

/* The write under otter_sql_write/_change/_quiet (sql.c); for otter_changes.c. */
int otter_sql_vwrite(otter_store *s, const char *what, int64_t *out, otter_err *err,
                     const char *sql, const char *types, va_list ap);

/*
 * Where a row function puts what it read: the one row of a lookup into
 * *one (found = 1), or each row of a listing to cb(ctx, row).
 */
#define OTTER_SQL_WALK(type, cb_type)                                                              \
    struct {                                                                                       \
        cb_type cb;                                                                                \
        void *ctx;                                                                                 \
        type *one;                                                                                 \
        int *found; /* a lookup's caller's flag, or NULL */                                        \
    }
/* Hands row value v to walk w (into w->one, else to w->cb); 0 or what cb returns. */
#define OTTER_SQL_EMIT(w, v)                                                                       \
    (otter_sql_mark((w)->found), (w)->one ? (*(w)->one = (v), 0) : (w)->cb((w)->ctx, &(v)))
/* A lookup's walk: {.one = out, .found = otter_sql_unfound(found)}, *found 0 until a row. */
static inline int *otter_sql_unfound(int *found)
{
    *found = 0;
    return found;
}
static inline void otter_sql_mark(int *found)
{
    if (found)
        *found = 1;
}
/* return otter_sql_rows_found(otter_sql_write..(.., &n, ..), &n, found): *found = rows > 0. */
static inline int otter_sql_rows_found(int ret, const int64_t *rows, int *found)
{
    *found = ret == 0 && *rows > 0;
    return ret;
}

/* Column accessors (NULL reads as 0 / NULL); text is borrowed for the row callback. */
int64_t otter_sql_int(const otter_sqlrow *r, int col);
const char *otter_sql_text(const otter_sqlrow *r, int col);
int otter_sql_is_null(const otter_sqlrow *r, int col);
/* Copies column col into buf; OTTER_EFORMAT when it does not fit (never truncates). */
int otter_sql_copy(const otter_sqlrow *r, int col, char *buf, size_t cap, otter_err *err);
/* Row function storing column 0 into *(int64_t *)ctx. */
int otter_sql_int_row(const otter_sqlrow *r, void *ctx, otter_err *err);

#endif
