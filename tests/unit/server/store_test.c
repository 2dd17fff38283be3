/* SPDX-License-Identifier: Apache-2.0 */
/* Engine selection and fresh databases for the store contract tests (see store_test.h). */
#include "otter_test.h"
#include "store_test.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#define MAX_DBS 64

static int is_pg = -1;
static char made[MAX_DBS][64]; /* PostgreSQL databases this process made */
static int n_made;

int otter_test_store_is_pg(void)
{
    if (is_pg < 0) {
        const char *e = getenv("OTTER_TEST_STORE");
        is_pg = e && strcmp(e, "postgres") == 0;
    }
    return is_pg;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* The admin side of the tests connects to the database the url names (the test role's own). */
static PGconn *connect_base(void)
{
    PGconn *c = PQconnectdb(getenv("OTTER_TEST_PG_URL"));
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("OTTER_TEST_PG_URL: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL); /* "does not exist, skipping" */
    return c;
}

static void run_or_fail(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void drop_db(PGconn *c, const char *name)
{
    char sql[160];
    /* Test-owned names ([a-z0-9_]), so plain quoting is enough; FORCE ends leftover sessions. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "store_test: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

int otter_test_store_done(int rc)
{
    if (!n_made)
        return rc;
    PGconn *c = connect_base();
    for (int i = 0; i < n_made; i++)
        drop_db(c, made[i]);
    PQfinish(c);
    n_made = 0;
    return rc;
}

void otter_test_store_init(void)
{
    if (!otter_test_store_is_pg()) {
        printf("store engine: sqlite\n");
        return;
    }
    const char *url = getenv("OTTER_TEST_PG_URL");
    if (!url || !*url) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0) {
            fprintf(stderr, "FAIL: CI=true but OTTER_TEST_PG_URL is not set: the PostgreSQL store"
                            " tests must run in CI (make test sets it from tests/pg/ensure.sh)\n");
            exit(1);
        }
        printf("SKIPPED: OTTER_TEST_PG_URL is not set (run `tests/pg/ensure.sh` and export the"
               " URL it prints, or use `make test`)\n");
        exit(77);
    }
    printf("store engine: postgres\n");
}

/* base url with its database (the path) replaced by name; the query string is kept. */
static void pg_url_with_db(const char *base, const char *name, char *out, size_t cap)
{
    const char *auth = strstr(base, "://");
    auth = auth ? auth + 3 : base;
    size_t pre = strcspn(auth, "/?") + (size_t)(auth - base);
    const char *rest = base + pre;
    if (*rest == '/')
        rest += strcspn(rest, "?");
    snprintf(out, cap, "%.*s/%s%s", (int)pre, base, name, rest);
}

const char *otter_test_store_url(const char *name)
{
    static char url[PATH_MAX + 64];
    if (!otter_test_store_is_pg()) {
        snprintf(url, sizeof url, "sqlite:%s/otter.db", otter_test_dir(name));
        return url;
    }
    if (n_made == MAX_DBS)
        fail_msg("more than %d test databases", MAX_DBS);
    char *db = made[n_made];
    snprintf(db, sizeof made[0], "otter_t_%.32s_%ld", name, (long)getpid());
    for (char *p = db; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    PGconn *c = connect_base();
    drop_db(c, db); /* left by a crashed run with the same pid */
    PQfinish(c);
    n_made++;
    pg_url_with_db(getenv("OTTER_TEST_PG_URL"), db, url, sizeof url);
    return url;
}

otter_store *otter_test_store_fresh(const char *name)
{
    otter_err err;
    otter_store *s = NULL;
    assert_otter_ok(otter_store_open(otter_test_store_url(name), 1, 5000, &s, &err), err);
    assert_otter_ok(otter_store_migrate(s, &err), err);
    return s;
}

void otter_test_store_exec(const char *url, const char *sql)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        sqlite3 *db = NULL;
        char *msg = NULL;
        if (sqlite3_open(url + 7, &db) != SQLITE_OK ||
            sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
            fail_msg("%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_close(db);
        return;
    }
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("%s", PQerrorMessage(c));
    run_or_fail(c, sql);
    PQfinish(c);
}

void otter_test_store_kill_sessions(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("%s", PQerrorMessage(c));
    run_or_fail(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    PQfinish(c);
}
