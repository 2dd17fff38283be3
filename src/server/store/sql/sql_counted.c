/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counted writes and the store's own transactions: the part of the query
 * helpers that needs the change tracking (otter_changes.c), kept apart
 * from sql.c so that the change tracking can use the plain helpers
 * without a circle between the two files.
 */
#include <stdarg.h>

#include "otter_changes.h"
#include "otter_sql.h"

int otter_sql_write(const otter_change *ch, const char *what, int64_t *out, otter_err *err,
                    const char *sql, const char *types, ...)
{
    /* A counted write needs a change that otter_change_begin() started and did not end. */
    if (!ch || !ch->s)
        return otter_err_set(err, OTTER_EUSAGE, "%s: a counted write outside its change", what);
    va_list ap;
    va_start(ap, types);
    int ret = otter_sql_vwrite(ch->s, what, out, err, sql, types, ap);
    va_end(ap);
    return ret;
}

int otter_sql_change(otter_store *s, int64_t device_id, const char *what, int64_t *out,
                     otter_err *err, const char *sql, const char *types, ...)
{
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0) {
        va_list ap;
        va_start(ap, types);
        ret = otter_sql_vwrite(s, what, out, err, sql, types, ap);
        va_end(ap);
    }
    return otter_change_end(&ch, ret, device_id, err);
}

int otter_sql_tx_open(otter_store *s, int *own, otter_err *err)
{
    *own = !otter_changes_tx_held(s);
    return *own ? otter_store_begin(s, err) : 0;
}

int otter_sql_tx_close(otter_store *s, int own, int ret, otter_err *err)
{
    if (!own)
        return ret;
    if (ret < 0) {
        otter_store_rollback(s);
        return ret;
    }
    return otter_store_commit(s, err);
}
