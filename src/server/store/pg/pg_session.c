/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the PostgreSQL driver (pg.c) and its connection code (pg_connect.c)
 * share: libpq's errors mapped to the store's classes, and the settings
 * every session (a new or a reset connection) gets. Neither of them is
 * called from here.
 */
#include <stdio.h>
#include <string.h>

#include "pg_internal.h"

/* libpq's messages end in a newline and may span lines; one line reads better in our errors. */
const char *otter_pg_one_line(const char *msg, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", msg ? msg : "?");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

/* Maps a failed statement to our codes by SQLSTATE; unique clashes become OTTER_ESTATE. */
int otter_pg_fail(struct otter_pg *d, const PGresult *res, const char *what, otter_err *err)
{
    char buf[512];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *msg =
        otter_pg_one_line(primary ? primary : PQerrorMessage(d->conn), buf, sizeof buf);
    if (d->in_tx)
        d->tx_failed = 1;
    if (PQstatus(d->conn) != CONNECTION_OK)
        return otter_err_set(err, OTTER_EIO,
                             "%s: connection to PostgreSQL lost (%s); the next call reconnects",
                             what, msg);
    if (state && strcmp(state, "25P02") == 0)
        return otter_err_set(err, OTTER_EIO,
                             "%s: the transaction failed earlier and must be rolled back", what);
    otter_sql_failure why = OTTER_SQL_OTHER;
    if (state && strcmp(state, "23505") == 0)
        why = OTTER_SQL_UNIQUE;
    else if (state && strncmp(state, "23", 2) == 0) /* foreign key, check, not null */
        why = OTTER_SQL_CONSTRAINT;
    else if (state && strncmp(state, "22", 2) == 0) /* data exception, e.g. not UTF-8 */
        why = OTTER_SQL_BADDATA;
    else if (state && (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 ||
                       strcmp(state, "40P01") == 0))
        why = OTTER_SQL_BUSY;
    return otter_sql_fail(err, why, what, "postgres", msg);
}

/* Notices ("relation exists, skipping") are not errors and must not reach stderr. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Per-session settings; run again after every reconnect (a reset loses them). */
int otter_pg_session_setup(struct otter_pg *d, otter_err *err)
{
    char timeout[32];
    /* lock_timeout 0 would mean "wait forever"; busy_timeout 0 means "do not wait". */
    snprintf(timeout, sizeof timeout, "%ums", d->lock_timeout_ms ? d->lock_timeout_ms : 1);
    PQsetNoticeProcessor(d->conn, quiet_notice, NULL);
    if (PQsetClientEncoding(d->conn, "UTF8") != 0)
        return otter_pg_fail(d, NULL, "setting client encoding", err);
    const char *values[] = {timeout};
    const Oid types[] = {OTTER_PG_OID_TEXT};
    PGresult *res = PQexecParams(d->conn, "SELECT set_config('lock_timeout', $1, false)", 1, types,
                                 values, NULL, NULL, 0);
    int ret = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        ret = otter_pg_fail(d, res, "configuring session", err);
    PQclear(res);
    return ret;
}
