/* SPDX-License-Identifier: Apache-2.0 */
/* Running the store's statements through the engine's driver (see otter_sql.h). */
#include <stdarg.h>
#include <string.h>

#include "otter_sql.h"

int otter_sql_fail(otter_err *err, otter_sql_failure why, const char *what, const char *engine,
                   const char *msg)
{
    switch (why) {
    case OTTER_SQL_UNIQUE:
        return otter_err_set(err, OTTER_ESTATE, "%s: already exists", what);
    case OTTER_SQL_CONSTRAINT:
        return otter_err_set(err, OTTER_ESTATE, "%s: refused by the database: %s", what, msg);
    case OTTER_SQL_BADDATA:
        return otter_err_set(err, OTTER_EFORMAT, "%s: refused by the database: %s", what, msg);
    case OTTER_SQL_BUSY:
        return otter_err_set(err, OTTER_EIO, "%s: database busy, try again", what);
    default:
        return otter_err_set(err, OTTER_EIO, "%s: %s: %s", what, engine, msg);
    }
}

/* Runs sql with the arguments types describes, from ap: the one path of every statement. */
static int vexec(otter_store *s, const char *what, int read_only, otter_sqlrow_fn row, void *ctx,
                 int64_t *changes, otter_err *err, const char *sql, const char *types, va_list ap)
{
    otter_sqlarg args[OTTER_SQL_MAX_ARGS];
    int n = (int)strlen(types);
    if (n > OTTER_SQL_MAX_ARGS)
        return otter_err_set(err, OTTER_EUSAGE, "%s: %d parameters (at most %d)", what, n,
                             OTTER_SQL_MAX_ARGS);
    for (int i = 0; i < n; i++) {
        args[i].type = types[i];
        if (types[i] == 't')
            args[i].t = va_arg(ap, const char *);
        else
            args[i].i = va_arg(ap, int64_t);
    }
    return s->drv->exec(s->conn, what, read_only, sql, args, n, row, ctx, changes, err);
}

int otter_sql_read(otter_store *s, const char *what, otter_sqlrow_fn row, void *ctx, otter_err *err,
                   const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int ret = vexec(s, what, 1, row, ctx, NULL, err, sql, types, ap);
    va_end(ap);
    return ret;
}

struct first {
    int64_t v;
    int got;
};

static int first_row(const otter_sqlrow *r, void *ctx, otter_err *err)
{
    struct first *f = ctx;
    (void)err;
    if (!f->got)
        *f = (struct first){otter_sql_int(r, 0), 1};
    return 0;
}

/* A write; *out as otter_sql.h says. */
int otter_sql_vwrite(otter_store *s, const char *what, int64_t *out, otter_err *err,
                     const char *sql, const char *types, va_list ap)
{
    struct first f = {0, 0};
    int64_t changes = 0;
    int ret = vexec(s, what, 0, first_row, &f, &changes, err, sql, types, ap);
    if (ret == 0 && out)
        *out = f.got ? f.v : changes;
    return ret;
}

int otter_sql_write_quiet(otter_store *s, const char *what, int64_t *out, otter_err *err,
                          const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int ret = otter_sql_vwrite(s, what, out, err, sql, types, ap);
    va_end(ap);
    return ret;
}

int64_t otter_sql_int(const otter_sqlrow *r, int col)
{
    return r->drv->col_int(r, col);
}

const char *otter_sql_text(const otter_sqlrow *r, int col)
{
    return r->drv->col_text(r, col);
}

int otter_sql_is_null(const otter_sqlrow *r, int col)
{
    return r->drv->col_is_null(r, col);
}

/* A longer value than the field holds is corrupt data, not something to truncate. */
int otter_sql_copy(const otter_sqlrow *r, int col, char *buf, size_t cap, otter_err *err)
{
    const char *v = otter_sql_text(r, col);
    size_t n = v ? strlen(v) : 0;
    if (n >= cap)
        return otter_err_set(err, OTTER_EFORMAT, "stored value in column %d longer than %zu", col,
                             cap - 1);
    memcpy(buf, v ? v : "", n);
    buf[n] = '\0';
    return 0;
}

int otter_sql_int_row(const otter_sqlrow *r, void *ctx, otter_err *err)
{
    (void)err;
    *(int64_t *)ctx = otter_sql_int(r, 0);
    return 0;
}
