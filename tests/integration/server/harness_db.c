/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's database for the integration tests (see harness.c): SQLite
 * by default, or with OTTER_TEST_STORE=postgres a fresh PostgreSQL database
 * per run; read from outside with the same queries on either engine
 * (snapshots, counts, one statement), so a test checks that a refused
 * request changed nothing on both.
 */
#include "harness.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

/* ---- the store engine: OTTER_TEST_STORE=postgres runs the same tests on PostgreSQL ---- */

int db_is_pg(void)
{
    const char *e = getenv("OTTER_TEST_STORE");
    return e && strcmp(e, "postgres") == 0;
}

/* No PostgreSQL to test on: skipped (77) on a desk, a failure in CI (CI=true). */
static void need_pg_url(void)
{
    const char *url = getenv("OTTER_TEST_PG_URL");
    if (url && *url)
        return;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "FAIL: CI=true but OTTER_TEST_PG_URL is not set: the PostgreSQL runs"
                        " must run in CI (make test sets it from tests/pg/ensure.sh)\n");
        exit(1);
    }
    printf("SKIPPED: OTTER_TEST_PG_URL is not set (run `tests/pg/ensure.sh` and export the URL"
           " it prints)\n");
    exit(77);
}

/* OTTER_TEST_PG_URL with its database (the path) replaced by name; the query string kept. */
static void pg_url_with_db(const char *name, char *out, size_t cap)
{
    const char *base = getenv("OTTER_TEST_PG_URL");
    const char *auth = strstr(base, "://");
    auth = auth ? auth + 3 : base;
    size_t pre = strcspn(auth, "/?") + (size_t)(auth - base);
    const char *rest = base + pre;
    if (*rest == '/')
        rest += strcspn(rest, "?");
    snprintf(out, cap, "%.*s/%s%s", (int)pre, base, name, rest);
}

static PGconn *pg_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("PostgreSQL %s: %s", url, PQerrorMessage(c));
    return c;
}

/* One connection to the server's database for the whole run: a snapshot reads every table,
 * and a connection per query (a backend started each time) made the RBAC matrix 20x slower. */
static PGconn *pg_conn;

static PGconn *pg_server_db(void)
{
    if (!pg_conn)
        pg_conn = pg_connect(srv.db_url);
    return pg_conn;
}

/* Drops the run's database (srv.pg_name); test-owned names ([a-z0-9_]) need no quoting. */
void harness_db_drop(void)
{
    if (pg_conn) {
        PQfinish(pg_conn);
        pg_conn = NULL;
    }
    if (!srv.pg_name[0])
        return;
    PGconn *c = pg_connect(getenv("OTTER_TEST_PG_URL"));
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", srv.pg_name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* srv.db_url: a SQLite file in the test dir, or a fresh PostgreSQL database named after the run. */
void harness_db_choose(const char *name)
{
    if (!db_is_pg()) {
        snprintf(srv.db, sizeof srv.db, "%s/otter.db", srv.dir);
        snprintf(srv.db_url, sizeof srv.db_url, "sqlite:%s", srv.db);
        return;
    }
    need_pg_url();
    snprintf(srv.pg_name, sizeof srv.pg_name, "otter_it_%.32s_%ld", name, (long)getpid());
    for (char *p = srv.pg_name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    harness_db_drop(); /* left by a crashed run with the same pid; otter-server init creates it */
    pg_url_with_db(srv.pg_name, srv.db_url, sizeof srv.db_url);
}

/* ---- database snapshots: "nothing changed" is checked, not assumed ---- */

struct text {
    char *s;
    size_t n, cap;
};

static void text_add(struct text *t, const char *v)
{
    size_t len = strlen(v);
    while (t->n + len + 1 > t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1 << 16;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->n, v, len + 1);
    t->n += len;
}

/* Appends every row of one query as "v|v|...\n" (NULL as NULL), on either engine. */
static void query_rows(const char *sql, struct text *t)
{
    text_add(t, "");
    if (db_is_pg()) {
        PGconn *c = pg_server_db();
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        for (int i = 0; i < PQntuples(r); i++) {
            for (int j = 0; j < PQnfields(r); j++) {
                text_add(t, PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
                text_add(t, "|");
            }
            text_add(t, "\n");
        }
        PQclear(r);
        return;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            text_add(t, v ? v : "NULL");
            text_add(t, "|");
        }
        text_add(t, "\n");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

char *db_table_names(void)
{
    struct text t = {0};
    query_rows(db_is_pg() ? "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                            " ORDER BY tablename"
                          : "SELECT name FROM sqlite_master WHERE type = 'table'"
                            " AND name NOT LIKE 'sqlite_%' ORDER BY name",
               &t);
    for (char *p = t.s; (p = strchr(p, '|')) != NULL;)
        memmove(p, p + 1, strlen(p)); /* "name|\n" -> "name\n" */
    return t.s;
}

long db_count(const char *sql)
{
    struct text t = {0};
    query_rows(sql, &t);
    long n = t.n ? atol(t.s) : -1;
    free(t.s);
    return n;
}

/* Every row of the named tables (NULL: every table), one line per row. */
static char *snapshot_tables(const char *const *names, size_t n_names)
{
    struct text t = {0};
    char *all = names ? NULL : db_table_names();
    char *next = all;
    text_add(&t, "");
    for (size_t i = 0;; i++) {
        char table[128];
        if (names) {
            if (i == n_names)
                break;
            snprintf(table, sizeof table, "%s", names[i]);
        } else {
            size_t len = strcspn(next, "\n");
            if (!len)
                break;
            snprintf(table, sizeof table, "%.*s", (int)len, next);
            next += len + 1;
            /* Written by the server's own clock (the rollout chart's history, every 5 s while
             * a rollout runs), not by any request: a snapshot around a request skips it. */
            if (!strcmp(table, "rollout_samples"))
                continue;
        }
        char sql[256];
        /* PostgreSQL has no row order without one: the whole row as text sorts it. */
        snprintf(sql, sizeof sql,
                 db_is_pg() ? "SELECT * FROM \"%s\" AS r ORDER BY r::text"
                            : "SELECT * FROM \"%s\" ORDER BY 1",
                 table);
        query_rows(sql, &t);
    }
    free(all);
    return t.s;
}

char *snapshot(void)
{
    static const char *const tables[] = {"tenants", "users", "memberships", "tokens", "audit_log"};
    return snapshot_tables(tables, sizeof tables / sizeof *tables);
}

char *snapshot_all(void)
{
    return snapshot_tables(NULL, 0);
}

void db_exec(const char *sql)
{
    if (db_is_pg()) {
        PGconn *c = pg_server_db();
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        return;
    }
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open_v2(srv.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}
