/* SPDX-License-Identifier: Apache-2.0 */
/* Store contract tests, on SQLite and on PostgreSQL (see store_test.h). */
#include "otter_test.h"
#include "otter_store.h"
#include "store_test.h"
#include "sqlite_schema.h"

#include <sys/stat.h>
#include <time.h>

static char url[PATH_MAX + 64];

static otter_store *open_fresh(const char *name)
{
    return otter_test_store_fresh(name);
}

static void test_open_and_migrate(void **state)
{
    otter_err err;
    otter_store *s = NULL;
    snprintf(url, sizeof url, "%s", otter_test_store_url("store_open"));
    const char *engine = otter_test_store_is_pg() ? "postgres" : "sqlite";
    /* serve must not create a database by accident. */
    assert_int_equal(otter_store_open(url, 0, 1000, &s, &err), OTTER_EIO);
    assert_non_null(strstr(err.msg, "otter-server init"));
    assert_otter_error(otter_store_open("mysql://x", 1, 1000, &s, &err), err, OTTER_EUSAGE,
                       "unknown scheme");
    assert_otter_ok(otter_store_open(url, 1, 1000, &s, &err), err);
    assert_string_equal(otter_store_engine(s), engine);
    int v = -1;
    assert_otter_ok(otter_store_schema_version(s, &v, &err), err);
    assert_int_equal(v, 0);
    assert_otter_ok(otter_store_migrate(s, &err), err);
    assert_otter_ok(otter_store_schema_version(s, &v, &err), err);
    assert_int_equal(v, OTTER_STORE_SCHEMA_VERSION);
    assert_otter_ok(otter_store_migrate(s, &err), err); /* idempotent */
    otter_store_free(s);
    if (!otter_test_store_is_pg()) {
        struct stat st;
        assert_int_equal(stat(url + 7, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    /* Reopen without create works now. */
    assert_otter_ok(otter_store_open(url, 0, 1000, &s, &err), err);
    assert_otter_ok(otter_store_schema_version(s, &v, &err), err);
    assert_int_equal(v, OTTER_STORE_SCHEMA_VERSION);
    otter_store_free(s);

    /* A database written by a newer server is refused, not downgraded. */
    otter_test_store_exec(url, "INSERT INTO schema_version(version, applied_at) VALUES (99, 0)");
    assert_otter_ok(otter_store_open(url, 0, 1000, &s, &err), err);
    assert_otter_error(otter_store_migrate(s, &err), err, OTTER_ESTATE, "newer");
    otter_store_free(s);
}

static int count_tenant(void *ctx, const otter_tenant *t)
{
    (*(int *)ctx)++;
    return 0;
}

static int stop_at_first(void *ctx, const otter_tenant *t)
{
    (*(int *)ctx)++;
    return OTTER_ECANCELED;
}

static void test_tenants(void **state)
{
    otter_store *s = open_fresh("store_tenants");
    otter_err err;
    int64_t a = 0, b = 0;
    assert_otter_ok(otter_store_tenant_create(s, "acme", 100, &a, &err), err);
    assert_otter_ok(otter_store_tenant_create(s, "Robert'); DROP TABLE tenants;--", 100, &b, &err),
                    err);
    assert_otter_error(otter_store_tenant_create(s, "acme", 101, &b, &err), err, OTTER_ESTATE,
                       "already exists");
    otter_tenant t;
    int found = -1;
    assert_otter_ok(otter_store_tenant_get(s, "acme", &t, &found, &err), err);
    assert_true(found);
    assert_int_equal(t.id, a);
    assert_int_equal(t.created_at, 100);
    assert_otter_ok(otter_store_tenant_get(s, "Robert'); DROP TABLE tenants;--", &t, &found, &err),
                    err);
    assert_true(found);
    assert_otter_ok(otter_store_tenant_get(s, "nope", &t, &found, &err), err);
    assert_false(found);
    int n = 0;
    assert_otter_ok(otter_store_tenant_list(s, count_tenant, &n, &err), err);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(otter_store_tenant_list(s, stop_at_first, &n, &err), OTTER_ECANCELED);
    assert_int_equal(n, 1);
    assert_otter_ok(otter_store_tenant_delete(s, a, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_tenant_delete(s, a, &found, &err), err);
    assert_false(found);
    /*
     * The newest tenant's id is not handed out again: the audit log keeps
     * entries by tenant id, and a new tenant would inherit them.
     */
    int64_t c = 0;
    assert_otter_ok(otter_store_tenant_delete(s, b, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_tenant_create(s, "newcomer", 102, &c, &err), err);
    assert_true(c > b);
    otter_store_free(s);
}

static int count_member(void *ctx, const otter_member *m)
{
    (*(int *)ctx)++;
    return 0;
}

/*
 * SQLite before schema 8 reused the newest deleted tenant's id. The upgrade
 * rebuilds the table without losing what refers to it, and starts above
 * every id the audit log names (ids deleted before the upgrade included).
 * PostgreSQL's identity never reused one; its step 8 changes nothing.
 */
static void test_upgrade_keeps_tenant_ids(void **state)
{
    otter_err err;
    otter_store *s = NULL;
    if (otter_test_store_is_pg())
        skip();
    snprintf(url, sizeof url, "%s", otter_test_store_url("store_upgrade8"));
    assert_otter_ok(otter_store_open(url, 1, 1000, &s, &err), err);
    otter_store_free(s);
    otter_test_store_exec(url, "CREATE TABLE schema_version ("
                               " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT");
    for (int v = 0; v < 7; v++) {
        char sql[96];
        otter_test_store_exec(url, otter_sqlite_migrations[v]);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, 0)", v + 1);
        otter_test_store_exec(url, sql);
    }
    /* Tenant 3 was deleted long ago (only the audit log names it), tenant 2 just now. */
    otter_test_store_exec(
        url, "INSERT INTO tenants(id, name, created_at) VALUES (1, 'acme', 1), (2, 'gone', 1);"
             "INSERT INTO users(id, name, password_hash, created_at, password_changed_at)"
             "  VALUES (1, 'alice', '$y$h', 1, 1);"
             "INSERT INTO memberships VALUES (1, 1, 'viewer');"
             "INSERT INTO audit_log(at, tenant_id, tenant, action) VALUES"
             "  (1, 2, 'gone', 'device.create'), (1, 3, 'older', 'device.create');"
             "DELETE FROM tenants WHERE id = 2;");
    assert_otter_ok(otter_store_open(url, 0, 1000, &s, &err), err);
    assert_otter_ok(otter_store_migrate(s, &err), err);
    int v = 0, n = 0, found = 0;
    assert_otter_ok(otter_store_schema_version(s, &v, &err), err);
    assert_int_equal(v, OTTER_STORE_SCHEMA_VERSION);
    /* The rebuild cascaded into nothing: acme and its membership are still there. */
    otter_tenant t;
    assert_otter_ok(otter_store_tenant_get(s, "acme", &t, &found, &err), err);
    assert_true(found);
    assert_int_equal(t.id, 1);
    assert_otter_ok(otter_store_member_list_user(s, 1, count_member, &n, &err), err);
    assert_int_equal(n, 1);
    int64_t id = 0;
    assert_otter_ok(otter_store_tenant_create(s, "fresh", 2, &id, &err), err);
    assert_true(id > 3);
    /* Deleting a tenant still takes its rows along (foreign keys are on again). */
    assert_otter_ok(otter_store_tenant_delete(s, 1, &found, &err), err);
    n = 0;
    assert_otter_ok(otter_store_member_list_user(s, 1, count_member, &n, &err), err);
    assert_int_equal(n, 0);
    otter_store_free(s);
}

struct members {
    int n;
    char names[8][80];
};

static int collect_member(void *ctx, const otter_member *m)
{
    struct members *ms = ctx;
    snprintf(ms->names[ms->n++], sizeof ms->names[0], "%s@%s=%s", m->user, m->tenant,
             otter_rbac_role_name(m->role));
    return 0;
}

static void test_users_and_memberships(void **state)
{
    otter_store *s = open_fresh("store_users");
    otter_err err;
    int64_t acme, beta, alice, bob, count;
    int found;
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, &acme, &err), err);
    assert_otter_ok(otter_store_tenant_create(s, "beta", 1, &beta, &err), err);
    assert_otter_ok(otter_store_user_create(s, "alice", "$y$h1", 1, 5, &alice, &err), err);
    assert_otter_ok(otter_store_user_create(s, "bob", "$y$h2", 0, 5, &bob, &err), err);
    assert_otter_error(otter_store_user_create(s, "bob", "$y$h3", 0, 5, &bob, &err), err,
                       OTTER_ESTATE, "already exists");
    assert_otter_ok(otter_store_user_count_admins(s, &count, &err), err);
    assert_int_equal(count, 1);

    otter_user u;
    assert_otter_ok(otter_store_user_get(s, "bob", &u, &found, &err), err);
    assert_true(found);
    assert_string_equal(u.password_hash, "$y$h2");
    assert_false(u.is_admin);
    assert_otter_ok(otter_store_user_set_password(s, bob, "$y$new", 9, &err), err);
    assert_otter_ok(otter_store_user_get_by_id(s, bob, &u, &found, &err), err);
    assert_string_equal(u.password_hash, "$y$new");
    assert_int_equal(u.password_changed_at, 9);
    assert_otter_error(otter_store_user_set_password(s, 9999, "$y$x", 9, &err), err, OTTER_ESTATE,
                       "no user");

    otter_role r;
    assert_otter_ok(otter_store_member_set(s, bob, acme, OTTER_ROLE_VIEWER, &err), err);
    assert_otter_ok(otter_store_member_set(s, bob, acme, OTTER_ROLE_OPERATOR, &err), err);
    assert_otter_ok(otter_store_member_set(s, alice, beta, OTTER_ROLE_ADMIN, &err), err);
    assert_otter_ok(otter_store_member_get(s, bob, acme, &r, &err), err);
    assert_int_equal(r, OTTER_ROLE_OPERATOR);
    assert_otter_ok(otter_store_member_get(s, bob, beta, &r, &err), err);
    assert_int_equal(r, OTTER_ROLE_NONE);
    assert_int_not_equal(otter_store_member_set(s, 4242, acme, OTTER_ROLE_VIEWER, &err), 0);

    struct members ms = {0};
    assert_otter_ok(otter_store_member_list_tenant(s, acme, collect_member, &ms, &err), err);
    assert_int_equal(ms.n, 1);
    assert_string_equal(ms.names[0], "bob@acme=operator");
    memset(&ms, 0, sizeof ms);
    assert_otter_ok(otter_store_member_list_user(s, alice, collect_member, &ms, &err), err);
    assert_int_equal(ms.n, 1);
    assert_string_equal(ms.names[0], "alice@beta=admin");

    assert_otter_ok(otter_store_member_delete(s, bob, acme, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_member_delete(s, bob, acme, &found, &err), err);
    assert_false(found);
    /* Deleting a tenant or a user cascades to memberships. */
    assert_otter_ok(otter_store_member_set(s, bob, beta, OTTER_ROLE_VIEWER, &err), err);
    assert_otter_ok(otter_store_tenant_delete(s, beta, &found, &err), err);
    memset(&ms, 0, sizeof ms);
    assert_otter_ok(otter_store_member_list_user(s, bob, collect_member, &ms, &err), err);
    assert_int_equal(ms.n, 0);
    assert_otter_ok(otter_store_user_delete(s, bob, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_user_get(s, "bob", &u, &found, &err), err);
    assert_false(found);
    otter_store_free(s);
}

static int count_token(void *ctx, const otter_token *t)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_tokens(void **state)
{
    otter_store *s = open_fresh("store_tokens");
    otter_err err;
    int64_t uid, t1, t2, t3;
    int found, n;
    assert_otter_ok(otter_store_user_create(s, "carol", "$y$h", 0, 1, &uid, &err), err);
    otter_token t = {.user_id = uid, .kind = OTTER_TOKEN_API, .created_at = 10, .expires_at = 100};
    strcpy(t.name, "ci ' \" ; --");
    assert_otter_ok(otter_store_token_create(s, &t, "aa", &t1, &err), err);
    t.expires_at = 50;
    assert_otter_ok(otter_store_token_create(s, &t, "bb", &t2, &err), err);
    assert_otter_error(otter_store_token_create(s, &t, "bb", &t3, &err), err, OTTER_ESTATE,
                       "already exists");
    t.kind = OTTER_TOKEN_SESSION;
    t.name[0] = '\0';
    assert_otter_ok(otter_store_token_create(s, &t, "cc", &t3, &err), err);

    otter_token got;
    assert_otter_ok(otter_store_token_find(s, "aa", &got, &found, &err), err);
    assert_true(found);
    assert_int_equal(got.id, t1);
    assert_int_equal(got.kind, OTTER_TOKEN_API);
    assert_string_equal(got.name, "ci ' \" ; --");
    assert_int_equal(got.revoked_at, 0);
    assert_otter_ok(otter_store_token_find(s, "zz", &got, &found, &err), err);
    assert_false(found);

    n = 0;
    assert_otter_ok(otter_store_token_list(s, uid, OTTER_TOKEN_API, 60, count_token, &n, &err),
                    err);
    assert_int_equal(n, 1); /* bb expired at 50 */
    assert_otter_ok(otter_store_token_revoke(s, t1, uid + 1, 70, &found, &err), err);
    assert_false(found); /* not yours */
    assert_otter_ok(otter_store_token_revoke(s, t1, uid, 70, &found, &err), err);
    assert_true(found);
    assert_otter_ok(otter_store_token_find(s, "aa", &got, &found, &err), err);
    assert_int_equal(got.revoked_at, 70);
    assert_otter_ok(otter_store_token_revoke_user(s, uid, 80, &err), err);
    assert_otter_ok(otter_store_token_find(s, "cc", &got, &found, &err), err);
    assert_int_equal(got.revoked_at, 80);
    otter_store_free(s);
}

struct audit_seen {
    int n;
    int64_t ids[16];
};

static int collect_audit(void *ctx, const otter_audit_entry *e)
{
    struct audit_seen *a = ctx;
    a->ids[a->n++] = e->id;
    return 0;
}

static void test_audit_and_transactions(void **state)
{
    otter_store *s = open_fresh("store_audit");
    otter_err err;
    int64_t acme, other;
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, &acme, &err), err);
    for (int i = 0; i < 6; i++) {
        otter_audit_entry e = {.at = 100 + i,
                               .actor = i % 2 ? "alice" : "bob",
                               .tenant_id = i < 4 ? acme : 0,
                               .tenant = i < 4 ? "acme" : NULL,
                               .action = i == 5 ? "tenant.create" : "user.create",
                               .object = "x",
                               .client = "127.0.0.1"};
        assert_otter_ok(otter_store_audit_append(s, &e, &err), err);
    }
    struct audit_seen a = {0};
    otter_audit_filter f = {.limit = 100};
    assert_otter_ok(otter_store_audit_list(s, &f, collect_audit, &a, &err), err);
    assert_int_equal(a.n, 6);
    assert_true(a.ids[0] > a.ids[5]); /* newest first */
    memset(&a, 0, sizeof a);
    f.tenant_id = acme;
    f.actor = "alice";
    assert_otter_ok(otter_store_audit_list(s, &f, collect_audit, &a, &err), err);
    assert_int_equal(a.n, 2);
    memset(&a, 0, sizeof a);
    f = (otter_audit_filter){.limit = 2};
    assert_otter_ok(otter_store_audit_list(s, &f, collect_audit, &a, &err), err);
    assert_int_equal(a.n, 2);
    f.before_id = a.ids[1];
    memset(&a, 0, sizeof a);
    assert_otter_ok(otter_store_audit_list(s, &f, collect_audit, &a, &err), err);
    assert_int_equal(a.n, 2);
    f = (otter_audit_filter){.limit = 100, .action = "tenant.create", .since = 105, .until = 106};
    memset(&a, 0, sizeof a);
    assert_otter_ok(otter_store_audit_list(s, &f, collect_audit, &a, &err), err);
    assert_int_equal(a.n, 1);
    f.limit = 0;
    assert_otter_error(otter_store_audit_list(s, &f, collect_audit, &a, &err), err, OTTER_EUSAGE,
                       "limit");

    /* A rolled-back transaction leaves nothing behind. */
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_error(otter_store_begin(s, &err), err, OTTER_EUSAGE, "already open");
    assert_otter_ok(otter_store_tenant_create(s, "ghost", 1, &other, &err), err);
    otter_store_rollback(s);
    otter_tenant t;
    int found;
    assert_otter_ok(otter_store_tenant_get(s, "ghost", &t, &found, &err), err);
    assert_false(found);
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_ok(otter_store_tenant_create(s, "kept", 1, &other, &err), err);
    assert_otter_ok(otter_store_commit(s, &err), err);
    assert_otter_ok(otter_store_tenant_get(s, "kept", &t, &found, &err), err);
    assert_true(found);

    /* A failed call inside a transaction, then rollback: nothing kept, the store goes on. */
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_ok(otter_store_tenant_create(s, "half", 1, &other, &err), err);
    assert_otter_error(otter_store_tenant_create(s, "kept", 1, &other, &err), err, OTTER_ESTATE,
                       "already exists");
    otter_store_rollback(s);
    otter_store_rollback(s); /* once more, as after a failed commit: harmless */
    assert_otter_ok(otter_store_tenant_get(s, "half", &t, &found, &err), err);
    assert_false(found);
    assert_otter_ok(otter_store_begin(s, &err), err);
    assert_otter_ok(otter_store_commit(s, &err), err);
    otter_store_free(s);
}

static uint64_t gen_of(otter_store *s)
{
    uint64_t g = 0;
    assert_int_equal(otter_store_generation(s, &g), 0);
    return g;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * Change tracking (otter_store_generation()): poll-visible writes move the
 * generation once committed, other writes do not; another store on the
 * same database (another server) sees the move within the bound; a
 * database that cannot be asked makes the generation untrusted.
 */
static void test_generation(void **state)
{
    otter_err err;
    otter_store *a = NULL, *b = NULL;
    int64_t t, d, other;
    snprintf(url, sizeof url, "%s", otter_test_store_url("store_gen"));
    assert_otter_ok(otter_store_open(url, 1, 5000, &a, &err), err);
    assert_otter_ok(otter_store_migrate(a, &err), err);
    assert_otter_ok(otter_store_open(url, 0, 5000, &b, &err), err);

    uint64_t g = gen_of(a);
    assert_otter_ok(otter_store_tenant_create(a, "acme", 1, &t, &err), err);
    assert_true(gen_of(a) != g); /* outside a transaction: at once */
    g = gen_of(a);
    assert_otter_ok(otter_store_begin(a, &err), err);
    assert_otter_ok(otter_store_device_create(a, t, "d1", NULL, NULL, "aa", 1, &d, &err), err);
    assert_true(gen_of(a) == g); /* not committed yet */
    assert_otter_ok(otter_store_commit(a, &err), err);
    assert_true(gen_of(a) != g);
    g = gen_of(a);
    assert_otter_ok(otter_store_begin(a, &err), err);
    assert_otter_ok(otter_store_tenant_create(a, "gone", 1, &other, &err), err);
    otter_store_rollback(a);
    assert_true(gen_of(a) == g);
    /* What a poll never reads: last_seen, the audit log. */
    otter_audit_entry e = {.at = 1, .actor = "x", .action = "a.b", .object = "o", .client = "c"};
    assert_otter_ok(otter_store_begin(a, &err), err);
    assert_otter_ok(otter_store_device_seen(a, d, 5, &err), err);
    assert_otter_ok(otter_store_audit_append(a, &e, &err), err);
    assert_otter_ok(otter_store_commit(a, &err), err);
    assert_otter_ok(otter_store_device_seen(a, d, 6, &err), err);
    assert_true(gen_of(a) == g);

    /* Another server: quiet database, stable generation; a write shows within the bound. */
    gen_of(b);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    uint64_t gb = gen_of(b);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    assert_true(gen_of(b) == gb);
    int found = 0;
    assert_otter_ok(otter_store_device_delete(a, d, &found, &err), err);
    assert_true(found);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    assert_true(gen_of(b) != gb);
    gb = gen_of(b);
    assert_otter_ok(otter_store_begin(a, &err), err);
    assert_otter_ok(otter_store_tenant_create(a, "beta", 1, &other, &err), err);
    assert_otter_ok(otter_store_commit(a, &err), err);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    assert_true(gen_of(b) != gb);

    /* Scoped: a device's change voids that device's stamps only, here at once and on b. */
    int64_t d2, d3;
    assert_otter_ok(otter_store_device_create(a, t, "d2", NULL, NULL, "bb", 1, &d2, &err), err);
    assert_otter_ok(otter_store_device_create(a, t, "d3", NULL, NULL, "cc", 1, &d3, &err), err);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    uint64_t sa = gen_of(a), sb = gen_of(b);
    assert_true(otter_store_unchanged_since(a, sa, d2) && otter_store_unchanged_since(b, sb, d2));
    assert_otter_ok(otter_store_device_set_attributes(a, d2, "{\"k\":\"v\"}", &err), err);
    assert_false(otter_store_unchanged_since(a, sa, d2));
    assert_true(otter_store_unchanged_since(a, sa, d3));
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    gen_of(b);
    assert_false(otter_store_unchanged_since(b, sb, d2));
    assert_true(otter_store_unchanged_since(b, sb, d3));
    /* In a transaction: at the commit, and only what it touched. */
    sa = gen_of(a);
    assert_otter_ok(otter_store_begin(a, &err), err);
    assert_otter_ok(otter_store_device_set_attributes(a, d3, "{}", &err), err);
    assert_true(otter_store_unchanged_since(a, sa, d3));
    assert_otter_ok(otter_store_commit(a, &err), err);
    assert_false(otter_store_unchanged_since(a, sa, d3));
    assert_true(otter_store_unchanged_since(a, sa, d2));
    /* Its own changes, read back from the log, are no news to a (it told itself at the commit). */
    assert_otter_ok(otter_store_device_set_attributes(a, d3, "{\"k\":\"x\"}", &err), err);
    sa = gen_of(a);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    gen_of(a);
    assert_true(otter_store_unchanged_since(a, sa, d3));
    /* A change that may touch any device voids every stamp, here and on b. */
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    sa = gen_of(a);
    sb = gen_of(b);
    assert_otter_ok(otter_store_tenant_create(a, "gamma", 1, &other, &err), err);
    assert_false(otter_store_unchanged_since(a, sa, d2) || otter_store_unchanged_since(a, sa, d3));
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    gen_of(b);
    assert_false(otter_store_unchanged_since(b, sb, d2) || otter_store_unchanged_since(b, sb, d3));
    /* Entries b never read (dropped from the log): b cannot tell which device, so any. */
    sb = gen_of(b);
    assert_otter_ok(otter_store_device_set_attributes(a, d2, "{}", &err), err);
    otter_test_store_exec(url, "DELETE FROM change_log WHERE seq ="
                               " (SELECT n FROM change_counter WHERE id = 1)");
    assert_otter_ok(otter_store_device_set_attributes(a, d2, "{\"k\":\"w\"}", &err), err);
    sleep_ms(OTTER_STORE_CHANGES_CHECK_MS + 50);
    gen_of(b);
    assert_false(otter_store_unchanged_since(b, sb, d3));

    /* _known never asks the database: with nobody asking, it stops being trusted. */
    uint64_t g2 = 0;
    assert_int_equal(otter_store_generation_known(b, &g2), 0);
    sleep_ms(OTTER_STORE_CHANGES_BOUND_MS + 100);
    assert_int_equal(otter_store_generation_known(b, &g2), OTTER_ESTATE);
    assert_int_equal(otter_store_generation(b, &g2), 0);
    assert_int_equal(otter_store_generation_known(b, &g2), 0);

    /* The log cannot be read: after the bound nothing may be trusted. */
    otter_test_store_exec(url, "DROP TABLE change_log");
    sleep_ms(OTTER_STORE_CHANGES_BOUND_MS + 100);
    uint64_t dummy;
    assert_int_equal(otter_store_generation(b, &dummy), OTTER_ESTATE);
    otter_store_free(a);
    otter_store_free(b);
}

/*
 * Two stores on one database are two servers: while one holds a write
 * transaction the other's reads go on, and its own transaction waits for
 * the first one and gives up after its busy timeout.
 */
static void test_two_servers(void **state)
{
    otter_err err;
    otter_store *a = NULL, *b = NULL;
    otter_tenant t;
    int64_t id;
    int found;
    snprintf(url, sizeof url, "%s", otter_test_store_url("store_two"));
    assert_otter_ok(otter_store_open(url, 1, 5000, &a, &err), err);
    assert_otter_ok(otter_store_migrate(a, &err), err);
    assert_otter_ok(otter_store_open(url, 0, 300, &b, &err), err);
    assert_otter_ok(otter_store_migrate(b, &err), err); /* a second init changes nothing */

    assert_otter_ok(otter_store_begin(a, &err), err);
    assert_otter_ok(otter_store_tenant_create(a, "acme", 1, &id, &err), err);
    assert_otter_ok(otter_store_tenant_get(b, "acme", &t, &found, &err), err);
    assert_false(found); /* not committed yet */
    assert_int_equal(otter_store_begin(b, &err), OTTER_EIO);
    assert_otter_ok(otter_store_commit(a, &err), err);
    assert_otter_ok(otter_store_begin(b, &err), err);
    assert_otter_ok(otter_store_tenant_get(b, "acme", &t, &found, &err), err);
    assert_true(found);
    assert_otter_error(otter_store_tenant_create(b, "acme", 2, &id, &err), err, OTTER_ESTATE,
                       "already exists");
    otter_store_rollback(b);
    otter_store_free(a);
    otter_store_free(b);
}

/* PostgreSQL: a connection the server dropped is reopened by the next call. */
static void test_reconnect(void **state)
{
    if (!otter_test_store_is_pg())
        skip();
    otter_err err;
    otter_tenant t;
    int64_t id;
    int found, failed = 0;
    otter_store *s = NULL;
    snprintf(url, sizeof url, "%s", otter_test_store_url("store_reconnect"));
    assert_otter_ok(otter_store_open(url, 1, 5000, &s, &err), err);
    assert_otter_ok(otter_store_migrate(s, &err), err);
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, &id, &err), err);
    otter_test_store_kill_sessions(url); /* as a restart of PostgreSQL would */
    for (int i = 0; i < 3; i++) {
        int ret = otter_store_tenant_get(s, "acme", &t, &found, &err);
        if (ret == 0) {
            assert_true(found);
            break;
        }
        assert_int_equal(ret, OTTER_EIO);
        assert_non_null(strstr(err.msg, "connection"));
        failed++;
    }
    assert_true(failed <= 1);
    assert_otter_ok(otter_store_tenant_get(s, "acme", &t, &found, &err), err);
    assert_true(found);
    otter_store_free(s);
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_migrate),
        cmocka_unit_test(test_tenants),
        cmocka_unit_test(test_upgrade_keeps_tenant_ids),
        cmocka_unit_test(test_users_and_memberships),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_audit_and_transactions),
        cmocka_unit_test(test_two_servers),
        cmocka_unit_test(test_generation),
        cmocka_unit_test(test_reconnect),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
