/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RBAC matrix: every role (and a global admin, a member of another
 * tenant, and no token at all) against every management endpoint, with the
 * expected status, and the database compared before and after each call:
 * a refusal changes nothing, an allowed write leaves exactly one audit entry.
 * Then tenant isolation seen from another tenant's admin.
 */
#include "harness.h"

#include <sqlite3.h>

enum { GADMIN, ADMIN, PUBLISHER, APPROVER, OPERATOR, VIEWER, OUTSIDER, ANON, N_ACTORS };

static const char *const actor_name[N_ACTORS] = {
    "gadmin", "r_admin", "r_publisher", "r_approver", "r_operator", "r_viewer", "outsider", "anon",
};
static const char *const actor_role[N_ACTORS] = {
    NULL, "admin", "publisher", "approver", "operator", "viewer", NULL, NULL,
};
static char *tok[N_ACTORS];

struct endpoint {
    const char *method;
    const char *path; /* %s = actor name, for per-actor targets */
    const char *body; /* %s = actor name */
    int expect[N_ACTORS];
};

#define ALL_OK(s)                                                                                  \
    {                                                                                              \
        s, s, s, s, s, s, s, 401                                                                   \
    }
#define TENANT_READ                                                                                \
    {                                                                                              \
        200, 200, 200, 200, 200, 200, 404, 401                                                     \
    }
#define TENANT_ADMIN(s)                                                                            \
    {                                                                                              \
        s, s, 403, 403, 403, 403, 404, 401                                                         \
    }
#define GLOBAL_ONLY(s)                                                                             \
    {                                                                                              \
        s, 403, 403, 403, 403, 403, 403, 401                                                       \
    }

static const struct endpoint endpoints[] = {
    {"GET", "/api/v1/me", NULL, ALL_OK(200)},
    {"GET", "/api/v1/tenants", NULL, ALL_OK(200)},
    {"GET", "/api/v1/tokens", NULL, ALL_OK(200)},
    {"POST", "/api/v1/tokens", "{\"name\":\"m_%s\"}", ALL_OK(201)},
    {"GET", "/api/v1/tenants/acme", NULL, TENANT_READ},
    {"GET", "/api/v1/tenants/acme/users", NULL, TENANT_READ},
    {"GET", "/api/v1/tenants/acme/users/r_viewer", NULL, TENANT_READ},
    {"GET", "/api/v1/tenants/acme/audit", NULL, TENANT_ADMIN(200)},
    {"POST", "/api/v1/tenants/acme/users",
     "{\"username\":\"n_%s\",\"password\":\"" PW "\",\"role\":\"viewer\"}", TENANT_ADMIN(201)},
    {"PUT", "/api/v1/tenants/acme/users/target", "{\"role\":\"operator\"}", TENANT_ADMIN(200)},
    {"PUT", "/api/v1/tenants/acme/users/target/password", "{\"password\":\"" PW "\"}",
     TENANT_ADMIN(204)},
    {"DELETE", "/api/v1/tenants/acme/users/del_%s", NULL, TENANT_ADMIN(204)},
    {"DELETE", "/api/v1/tenants/gamma", NULL, {204, 403, 403, 403, 403, 403, 404, 401}},
    {"POST", "/api/v1/tenants", "{\"name\":\"t_%s\"}", GLOBAL_ONLY(201)},
    {"GET", "/api/v1/users", NULL, GLOBAL_ONLY(200)},
    {"POST", "/api/v1/users", "{\"username\":\"g_%s\",\"password\":\"" PW "\"}", GLOBAL_ONLY(201)},
    {"GET", "/api/v1/users/r_viewer", NULL, GLOBAL_ONLY(200)},
    {"PUT", "/api/v1/users/target/password", "{\"password\":\"" PW "\"}", GLOBAL_ONLY(204)},
    {"DELETE", "/api/v1/users/gdel_%s", NULL, GLOBAL_ONLY(204)},
    {"GET", "/api/v1/audit", NULL, GLOBAL_ONLY(200)},
};

/* Replaces the one "%s" in tmpl by name (templates are data here, not printf formats). */
static void subst(char *out, size_t cap, const char *tmpl, const char *name)
{
    const char *at = strstr(tmpl, "%s");
    if (!at)
        snprintf(out, cap, "%s", tmpl);
    else
        snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
}

static long audit_count(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;
    assert_int_equal(sqlite3_open_v2(srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int setup(void **state)
{
    if (setup_server("server_rbac", "login_max_failures = 50\nlogin_max_failures_addr = 500\n", 0) <
        0)
        return -1;
    add_tenant("acme");
    add_tenant("beta");
    add_tenant("gamma");
    add_member("acme", "target", "viewer");
    for (int a = ADMIN; a <= VIEWER; a++) {
        add_member("acme", actor_name[a], actor_role[a]);
        add_member("gamma", actor_name[a], actor_role[a]);
    }
    add_member("beta", "outsider", "admin");
    for (int a = 0; a < N_ACTORS; a++) {
        char name[64], body[256];
        snprintf(name, sizeof name, "del_%s", actor_name[a]);
        add_member("acme", name, "viewer");
        snprintf(body, sizeof body, "{\"username\":\"gdel_%s\",\"password\":\"%s\"}", actor_name[a],
                 PW);
        if (req("POST", "/api/v1/users", admin_tok, body, NULL) != 201)
            return -1;
    }
    tok[GADMIN] = strdup(admin_tok);
    for (int a = ADMIN; a <= OUTSIDER; a++)
        tok[a] = login(actor_name[a], PW);
    return 0;
}

static int teardown(void **state)
{
    for (int a = 0; a < N_ACTORS; a++)
        free(tok[a]);
    return teardown_server();
}

static void test_matrix(void **state)
{
    int checked = 0;
    for (size_t e = 0; e < sizeof endpoints / sizeof endpoints[0]; e++) {
        const struct endpoint *ep = &endpoints[e];
        /* Least privileged first, so the global admin's destructive calls come last. */
        for (int a = N_ACTORS - 1; a >= 0; a--) {
            char path[256], body[512];
            subst(path, sizeof path, ep->path, actor_name[a]);
            if (ep->body)
                subst(body, sizeof body, ep->body, actor_name[a]);
            char *before = snapshot();
            long audits = audit_count();
            long st = req(ep->method, path, tok[a], ep->body ? body : NULL, NULL);
            char *after = snapshot();
            if (st != ep->expect[a])
                fail_msg("%s %s as %s: got %ld, want %d", ep->method, path, actor_name[a], st,
                         ep->expect[a]);
            if (st >= 400 || strcmp(ep->method, "GET") == 0) {
                if (strcmp(before, after) != 0)
                    fail_msg("%s %s as %s (%ld) changed the database", ep->method, path,
                             actor_name[a], st);
            } else if (audit_count() != audits + 1) {
                fail_msg("%s %s as %s: %ld audit entries written, want 1", ep->method, path,
                         actor_name[a], audit_count() - audits);
            }
            free(before);
            free(after);
            checked++;
        }
    }
    print_message("checked %d (endpoint, actor) pairs\n", checked);
}

static int tenant_is(json_t *arr, const char *key, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *t = json_string_value(json_object_get(v, key));
        if (!t || strcmp(t, want) != 0)
            return 0;
    }
    return 1;
}

static void test_tenant_isolation(void **state)
{
    const char *out = tok[OUTSIDER];
    json_t *doc = NULL;
    /* The outsider (admin of beta) sees only beta. */
    assert_int_equal(req("GET", "/api/v1/tenants", out, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "tenants")), 1);
    assert_true(tenant_is(json_object_get(doc, "tenants"), "name", "beta"));
    json_decref(doc);
    /* acme is indistinguishable from a tenant that does not exist. */
    json_t *e1 = NULL, *e2 = NULL;
    assert_int_equal(req("GET", "/api/v1/tenants/acme", out, NULL, &e1), 404);
    assert_int_equal(req("GET", "/api/v1/tenants/nosuch", out, NULL, &e2), 404);
    assert_string_equal(err_where(e1),
                        err_where(e2));
    json_decref(e1);
    json_decref(e2);
    char *before = snapshot();
    assert_int_equal(req("GET", "/api/v1/tenants/acme/users/r_viewer", out, NULL, NULL), 404);
    assert_int_equal(req("GET", "/api/v1/tenants/beta/users/r_viewer", out, NULL, NULL), 404);
    assert_int_equal(req("DELETE", "/api/v1/tenants/beta/users/r_admin", out, NULL, NULL), 404);
    assert_int_equal(req("DELETE", "/api/v1/tenants/acme/users/r_admin", out, NULL, NULL), 404);
    assert_int_equal(
        req("PUT", "/api/v1/tenants/acme/users/outsider", out, "{\"role\":\"admin\"}", NULL), 404);
    assert_int_equal(req("GET", "/api/v1/tenants/acme/audit", out, NULL, NULL), 404);
    /* acme's admin cannot reach into beta either. */
    assert_int_equal(req("GET", "/api/v1/tenants/beta/users", tok[ADMIN], NULL, NULL), 404);
    char *after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* Adding acme's viewer to beta is a beta membership... */
    assert_int_equal(
        req("PUT", "/api/v1/tenants/beta/users/r_viewer", out, "{\"role\":\"viewer\"}", NULL), 200);
    /* ...but it does not hand beta's admin the account: the password stays out of reach. */
    before = snapshot();
    assert_int_equal(req("PUT", "/api/v1/tenants/beta/users/r_viewer/password", out,
                         "{\"password\":\"" PW "x\"}", NULL),
                     403);
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* And beta's audit log holds only beta. */
    assert_int_equal(req("GET", "/api/v1/tenants/beta/audit", out, NULL, &doc), 200);
    json_t *entries = json_object_get(doc, "entries");
    assert_true(json_array_size(entries) >= 2);
    assert_true(tenant_is(entries, "tenant", "beta"));
    json_decref(doc);
    /* Acme's view of r_viewer is unchanged by beta's membership. */
    assert_int_equal(req("GET", "/api/v1/tenants/acme/users/r_viewer", tok[VIEWER], NULL, &doc),
                     200);
    assert_string_equal(json_string_value(json_object_get(doc, "role")), "viewer");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_tenant_isolation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
