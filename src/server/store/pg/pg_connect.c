/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening and closing the PostgreSQL back-end's connection, setting each
 * session up, mapping libpq's errors, and saying clearly why a connection
 * failed: a missing database is reported as such (or created, for `init`),
 * never as a bare libpq message.
 */
#include <stdio.h>
#include <stdlib.h>
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

/*
 * The first connection failed. When the reason is that the database does
 * not exist, say so plainly (create = 0) or create it (create = 1, needs
 * CREATEDB), asking the maintenance database "postgres" with the same
 * host, port, user and password.
 */
static int connect_failed(struct otter_pg *d, const char *url, int create, otter_err *err)
{
    char first[512], buf[512];
    otter_pg_one_line(PQerrorMessage(d->conn), first, sizeof first);
    const char *db = PQdb(d->conn);
    if (!db || !*db)
        return otter_err_set(err, OTTER_EIO, "connecting to PostgreSQL: %s", first);
    char name[128];
    snprintf(name, sizeof name, "%s", db);
    /* expand_dbname: the first dbname is the url, the second overrides its database. */
    const char *const keys[] = {"connect_timeout", "dbname", "dbname", NULL};
    const char *const vals[] = {"10", url, "postgres", NULL};
    PGconn *m = PQconnectdbParams(keys, vals, 1);
    PGresult *res = NULL;
    char *ident = NULL, *sql = NULL;
    int ret = OTTER_EIO;
    if (!m || PQstatus(m) != CONNECTION_OK) {
        ret =
            otter_err_set(err, OTTER_EIO, "connecting to PostgreSQL database %s: %s", name, first);
        goto out;
    }
    const char *v[] = {name};
    const Oid t[] = {OTTER_PG_OID_TEXT};
    res = PQexecParams(m, "SELECT 1 FROM pg_database WHERE datname = $1", 1, t, v, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
        ret =
            otter_err_set(err, OTTER_EIO, "connecting to PostgreSQL database %s: %s", name, first);
        goto out;
    }
    if (!create) {
        ret = otter_err_set(err, OTTER_EIO,
                            "PostgreSQL database %s does not exist (create it, see docs/server.md,"
                            " then run `otter-server init`)",
                            name);
        goto out;
    }
    /*
     * A database name is an identifier, which cannot be a parameter: it is
     * quoted by libpq. C collation sorts like SQLite (bytes); UTF8 whatever
     * the cluster's default.
     */
    ident = PQescapeIdentifier(m, name, strlen(name));
    if (!ident) {
        ret = otter_err_set(err, OTTER_EUSAGE, "database name %s: %s", name,
                            otter_pg_one_line(PQerrorMessage(m), buf, sizeof buf));
        goto out;
    }
    size_t cap = strlen(ident) + 128;
    if (!(sql = malloc(cap))) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(sql, cap,
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
             ident);
    PQclear(res);
    res = PQexec(m, sql);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    /* 42P04: another `init` created it just now, which is as good. */
    if (PQresultStatus(res) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P04") == 0)) {
        ret = otter_err_set(err, OTTER_EIO,
                            "creating PostgreSQL database %s: %s (or create it yourself:"
                            " createdb -O ROLE %s)",
                            name, otter_pg_one_line(PQerrorMessage(m), buf, sizeof buf), name);
        goto out;
    }
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK) {
        ret = otter_err_set(err, OTTER_EIO, "connecting to PostgreSQL database %s: %s", name,
                            otter_pg_one_line(PQerrorMessage(d->conn), buf, sizeof buf));
        goto out;
    }
    ret = 0;
out:
    free(sql);
    PQfreemem(ident);
    PQclear(res);
    PQfinish(m);
    return ret;
}

int otter_pg_open(void **conn, const char *url, int create, unsigned busy_timeout_ms,
                  otter_err *err)
{
    int ret = OTTER_EIO;
    struct otter_pg *d = calloc(1, sizeof *d);
    if (!d)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&d->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    d->lock_timeout_ms = busy_timeout_ms;

    /*
     * The url goes to libpq as is; it may hold a password, so it never
     * appears in messages. Defaults before it, which the url may override:
     * a bounded connect (a reconnect blocks the store's other threads) and
     * a name in pg_stat_activity.
     */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {"10", "otter-server", url, NULL};
    d->conn = PQconnectdbParams(keys, vals, 1);
    if (!d->conn) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    if (PQstatus(d->conn) != CONNECTION_OK && (ret = connect_failed(d, url, create, err)) < 0)
        goto out;
    if ((ret = otter_pg_session_setup(d, err)) < 0)
        goto out;
    *conn = d;
    d = NULL;
    ret = 0;
out:
    if (d) {
        PQfinish(d->conn);
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
    return ret;
}

void otter_pg_close(void *conn)
{
    struct otter_pg *d = conn;
    if (!d)
        return;
    PQfinish(d->conn);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
