/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening and closing the PostgreSQL back-end's connection, and saying
 * clearly why it failed: a missing database is reported as such (or
 * created, for `init`), never as a bare libpq message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

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
