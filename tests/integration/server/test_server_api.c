/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The management API end to end: login and logout, API tokens, password
 * changes, hostile input (malformed, huge and deep JSON, SQL metacharacters
 * in every string field, bad tokens), TLS, and the offline CLI against the
 * running server's database.
 */
#include "harness.h"

#include <curl/curl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int setup(void **state)
{
    if (setup_server("server_api", "login_max_failures = 50\nlogin_max_failures_addr = 500\n", 1) <
        0)
        return -1;
    add_tenant("acme");
    return 0;
}

static int teardown(void **state)
{
    return teardown_server();
}

static void test_login_me_logout(void **state)
{
    json_t *doc = NULL;
    char *t = login("admin", ADMIN_PW);
    assert_int_equal(strncmp(t, "ots_", 4), 0);
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "username")), "admin");
    assert_true(json_is_true(json_object_get(doc, "is_admin")));
    json_decref(doc);
    assert_int_equal(req("POST", "/api/v1/login", NULL,
                         "{\"username\":\"admin\",\"password\":\"wrong-one\"}", &doc),
                     401);
    assert_string_equal(err_message(doc), "wrong user name or password");
    json_decref(doc);
    /* Unknown user: the very same answer. */
    assert_int_equal(req("POST", "/api/v1/login", NULL,
                         "{\"username\":\"nobody\",\"password\":\"wrong-one\"}", &doc),
                     401);
    assert_string_equal(err_message(doc), "wrong user name or password");
    json_decref(doc);
    assert_int_equal(req("POST", "/api/v1/login", NULL, "{\"username\":\"admin\"}", &doc), 400);
    assert_string_equal(err_where(doc), "body.password");
    json_decref(doc);
    /* Logout revokes exactly this token. */
    assert_int_equal(req("POST", "/api/v1/logout", t, NULL, NULL), 204);
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, NULL), 401);
    assert_int_equal(req("POST", "/api/v1/logout", t, NULL, NULL), 401);
    assert_int_equal(req("GET", "/api/v1/me", admin_tok, NULL, NULL), 200);
    free(t);
    /* Unknown routes and methods. */
    assert_int_equal(req("GET", "/api/v1/nothing", admin_tok, NULL, NULL), 404);
    assert_int_equal(req("GET", "/api/nothing", NULL, NULL, NULL), 404); /* "/" is the dashboard */
    assert_int_equal(req("PATCH", "/api/v1/me", admin_tok, NULL, NULL), 405);
    assert_int_equal(req("GET", "/api/v1/login", NULL, NULL, NULL), 405);
}

static void test_api_tokens(void **state)
{
    json_t *doc = NULL;
    assert_int_equal(req("POST", "/api/v1/tokens", admin_tok,
                         "{\"name\":\"ci pipeline\",\"password\":\"" ADMIN_PW "\"}", &doc),
                     201);
    const char *secret = json_string_value(json_object_get(doc, "token"));
    assert_non_null(secret);
    assert_int_equal(strncmp(secret, "ota_", 4), 0);
    char *api = strdup(secret);
    long id = (long)json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    assert_int_equal(req("GET", "/api/v1/me", api, NULL, NULL), 200);
    assert_int_equal(req("GET", "/api/v1/tokens", admin_tok, NULL, &doc), 200);
    json_t *list = json_object_get(doc, "tokens");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "ci pipeline");
    assert_null(json_object_get(json_array_get(list, 0), "token")); /* never shown again */
    json_decref(doc);
    assert_int_equal(req("POST", "/api/v1/tokens", admin_tok,
                         "{\"name\":\"x\",\"password\":\"" ADMIN_PW "\",\"expires_in\":10}", NULL),
                     400);
    assert_int_equal(
        req("POST", "/api/v1/tokens", admin_tok,
            "{\"name\":\"x\",\"password\":\"" ADMIN_PW "\",\"expires_in\":999999999999}", NULL),
        400);
    assert_int_equal(req("POST", "/api/v1/tokens", admin_tok,
                         "{\"name\":\"\",\"password\":\"" ADMIN_PW "\"}", NULL),
                     400);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tokens/%ld", id);
    assert_int_equal(req("DELETE", path, admin_tok, NULL, NULL), 204);
    assert_int_equal(req("GET", "/api/v1/me", api, NULL, NULL), 401);
    assert_int_equal(req("DELETE", path, admin_tok, NULL, NULL), 404);
    assert_int_equal(req("DELETE", "/api/v1/tokens/abc", admin_tok, NULL, NULL), 404);
    assert_int_equal(req("DELETE", "/api/v1/tokens/99999999999999999999", admin_tok, NULL, NULL),
                     404);
    free(api);
}

static void expect_refused(const char *method, const char *path, const char *token,
                           const char *body, long status, const char *where)
{
    json_t *doc = NULL;
    char *before = snapshot();
    long st = req(method, path, token, body, &doc);
    if (st != status)
        fail_msg("%s %s with %.60s: got %ld, want %ld", method, path, body ? body : "-", st,
                 status);
    if (where && (!doc || strncmp(err_where(doc), where, strlen(where)) != 0))
        fail_msg("%s %.60s: where is %s, want %s", path, body ? body : "-",
                 doc ? err_where(doc) : "?", where);
    json_decref(doc);
    char *after = snapshot();
    if (strcmp(before, after) != 0)
        fail_msg("%s %s with %.60s changed the database", method, path, body ? body : "-");
    free(before);
    free(after);
}

static void test_expired_token(void **state)
{
    add_member("acme", "expuser", "viewer");
    char *t = login("expuser", PW);
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, NULL), 200);
    /* Age the session in the database: the server must check expiry itself. */
    db_exec("UPDATE tokens SET expires_at = 1 WHERE user_id ="
            " (SELECT id FROM users WHERE name = 'expuser')");
    json_t *doc = NULL;
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, &doc), 401);
    assert_string_equal(err_message(doc), "invalid or expired token");
    json_decref(doc);
    free(t);
}

static void test_audit_paging(void **state)
{
    json_t *doc = NULL;
    assert_int_equal(req("GET", "/api/v1/audit?limit=2", admin_tok, NULL, &doc), 200);
    json_t *entries = json_object_get(doc, "entries");
    assert_int_equal(json_array_size(entries), 2);
    json_int_t first = json_integer_value(json_object_get(json_array_get(entries, 0), "id"));
    json_int_t next = json_integer_value(json_object_get(doc, "next_before"));
    assert_true(next > 0 && next < first);
    json_decref(doc);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/audit?limit=1000&before=%lld", (long long)next);
    assert_int_equal(req("GET", path, admin_tok, NULL, &doc), 200);
    entries = json_object_get(doc, "entries");
    assert_true(json_array_size(entries) >= 1);
    assert_true(json_integer_value(json_object_get(json_array_get(entries, 0), "id")) < next);
    assert_true(json_is_null(json_object_get(doc, "next_before"))); /* last page */
    /* The very first entry is the offline creation of the admin by init. */
    json_t *oldest = json_array_get(entries, json_array_size(entries) - 1);
    assert_string_equal(json_string_value(json_object_get(oldest, "action")), "user.create");
    assert_string_equal(json_string_value(json_object_get(oldest, "object")), "admin");
    json_decref(doc);
    /* Filters: one tenant, one action; every write names who, when, where from. */
    assert_int_equal(
        req("GET", "/api/v1/audit?tenant=acme&action=tenant.create", admin_tok, NULL, &doc), 200);
    entries = json_object_get(doc, "entries");
    assert_int_equal(json_array_size(entries), 1);
    json_t *e = json_array_get(entries, 0);
    assert_string_equal(json_string_value(json_object_get(e, "actor")), "admin");
    assert_string_equal(json_string_value(json_object_get(e, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(e, "client")), "127.0.0.1");
    assert_non_null(json_string_value(json_object_get(e, "at")));
    json_decref(doc);
    assert_int_equal(req("GET", "/api/v1/audit?tenant=nosuch", admin_tok, NULL, NULL), 404);
    assert_int_equal(req("GET", "/api/v1/audit?since=abc", admin_tok, NULL, NULL), 400);
    assert_int_equal(req("GET", "/api/v1/audit?limit=0", admin_tok, NULL, NULL), 400);
    assert_int_equal(req("GET", "/api/v1/audit?limit=1001", admin_tok, NULL, NULL), 400);
}

static void test_password_change(void **state)
{
    add_member("acme", "pwuser", "viewer");
    char *t = login("pwuser", PW);
    /* A wrong old password is refused (and audited as a failure, so no snapshot here). */
    assert_int_equal(req("PUT", "/api/v1/me/password", t,
                         "{\"old_password\":\"not-it-at-all\",\"new_password\":\"brand-new-pw\"}",
                         NULL),
                     403);
    expect_refused("PUT", "/api/v1/me/password", t,
                   "{\"old_password\":\"" PW "\",\"new_password\":\"short\"}", 400,
                   "body.new_password");
    assert_int_equal(req("PUT", "/api/v1/me/password", t,
                         "{\"old_password\":\"" PW "\",\"new_password\":\"brand-new-pw\"}", NULL),
                     204);
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, NULL), 401); /* sessions revoked */
    free(t);
    t = login("pwuser", "brand-new-pw");
    free(t);
}

/*
 * One password rule (api_password_new over otter_auth_password_policy) on
 * every path that sets a password, not only /me/password: creating a user
 * or member and an admin's reset, each refused at body.password.
 */
static void test_password_rule_everywhere(void **state)
{
    add_member("acme", "ruleuser", "viewer");
    expect_refused("POST", "/api/v1/users", admin_tok,
                   "{\"username\":\"rule-new\",\"password\":\"short\"}", 400, "body.password");
    expect_refused("POST", "/api/v1/tenants/acme/users", admin_tok,
                   "{\"username\":\"rule-member\",\"password\":\"1234567\",\"role\":\"viewer\"}",
                   400, "body.password");
    expect_refused("PUT", "/api/v1/users/ruleuser/password", admin_tok, "{\"password\":\"short\"}",
                   400, "body.password");
    expect_refused("PUT", "/api/v1/tenants/acme/users/ruleuser/password", admin_tok,
                   "{\"password\":\"short\"}", 400, "body.password");
    /* None of them left a user or a new password behind. */
    assert_int_equal(req("GET", "/api/v1/users/rule-new", admin_tok, NULL, NULL), 404);
    assert_int_equal(req("GET", "/api/v1/users/rule-member", admin_tok, NULL, NULL), 404);
    char *t = login("ruleuser", PW);
    free(t);
}

/*
 * A stolen session must not become a long-lived credential or the account:
 * an API token needs the password again, and an admin's own password
 * changes only with the current one (PUT /me/password), not through the
 * admin routes that set other users' passwords.
 */
static void test_session_cannot_escalate(void **state)
{
    json_t *doc = NULL;
    add_member("acme", "tokuser", "admin");
    char *t = login("tokuser", PW);
    expect_refused("POST", "/api/v1/tokens", t, "{\"name\":\"stolen\"}", 400, "body.password");
    assert_int_equal(
        req("POST", "/api/v1/tokens", t, "{\"name\":\"stolen\",\"password\":\"guess-1234\"}", &doc),
        403);
    assert_string_equal(err_where(doc), "body.password");
    json_decref(doc);
    /* A wrong password here is a failed login: audited, and counted by the throttle. */
    assert_int_equal(
        req("GET", "/api/v1/audit?actor=tokuser&action=password.failed", admin_tok, NULL, &doc),
        200);
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 1);
    json_decref(doc);
    assert_int_equal(req("GET", "/api/v1/tokens", t, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "tokens")), 0);
    json_decref(doc);
    assert_int_equal(
        req("POST", "/api/v1/tokens", t, "{\"name\":\"mine\",\"password\":\"" PW "\"}", NULL), 201);

    /* The tenant admin sets a member's password, not their own. */
    add_member("acme", "tokpeer", "viewer");
    assert_int_equal(req("PUT", "/api/v1/tenants/acme/users/tokpeer/password", t,
                         "{\"password\":\"peer-pass-123\"}", NULL),
                     204);
    expect_refused("PUT", "/api/v1/tenants/acme/users/tokuser/password", t,
                   "{\"password\":\"taken-over-1\"}", 403, "path");
    /* A global admin neither. */
    expect_refused("PUT", "/api/v1/users/admin/password", admin_tok,
                   "{\"password\":\"taken-over-1\"}", 403, "path");
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, NULL), 200);
    free(t);
    t = login("tokuser", PW);
    free(t);
}

/* A new tenant never inherits a deleted one's id, and so never its audit log. */
static void test_tenant_id_not_reused(void **state)
{
    json_t *doc = NULL;
    add_tenant("oldco");
    add_member("oldco", "oldco_admin", "admin");
    assert_int_equal(req("DELETE", "/api/v1/tenants/oldco", admin_tok, NULL, NULL), 204);
    add_tenant("newco");
    assert_int_equal(req("GET", "/api/v1/tenants/newco/audit", admin_tok, NULL, &doc), 200);
    json_t *entries = json_object_get(doc, "entries");
    assert_int_equal(json_array_size(entries), 1);
    json_t *e = json_array_get(entries, 0);
    assert_string_equal(json_string_value(json_object_get(e, "action")), "tenant.create");
    assert_string_equal(json_string_value(json_object_get(e, "tenant")), "newco");
    json_decref(doc);
}

static void test_hostile_json(void **state)
{
    const char *t = admin_tok;
    const char *p = "/api/v1/tenants";
    expect_refused("POST", p, t, "{", 400, "body line");
    expect_refused("POST", p, t, "{\"name\":\"x\"} trailing", 400, "body line");
    expect_refused("POST", p, t, "[]", 400, "body");
    expect_refused("POST", p, t, "\"acme\"", 400, "body");
    expect_refused("POST", p, t, "null", 400, "body");
    expect_refused("POST", p, t, "", 400, "body");
    expect_refused("POST", p, t, "{}", 400, "body.name");
    expect_refused("POST", p, t, "{\"name\":\"a\",\"extra\":1}", 400, "body");
    expect_refused("POST", p, t, "{\"name\":\"a\",\"name\":\"b\"}", 400, "body line");
    expect_refused("POST", p, t, "{\"name\":7}", 400, "body.name");
    expect_refused("POST", p, t, "{\"name\":[\"a\"]}", 400, "body.name");
    expect_refused("POST", p, t, "{\"name\":\"a\\u0000b\"}", 400, NULL);
    expect_refused("POST", p, t, "{\"name\":\"\xff\xfe\"}", 400, "body line");
    expect_refused("POST", p, t, "{\"name\":\"\"}", 400, "body.name");
    char deep[2200];
    size_t n = 0;
    n += (size_t)sprintf(deep + n, "{\"name\":");
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    expect_refused("POST", p, t, deep, 400, "body");
    /* Larger than max_body (4K): 413, declared or chunked. */
    char *big = malloc(100000);
    memset(big, ' ', 99999);
    memcpy(big, "{\"name\":\"", 9);
    big[99998] = '}';
    big[99999] = '\0';
    expect_refused("POST", p, t, big, 413, "body");
    free(big);
    char *snap = snapshot();
    assert_int_equal(request_chunked(p, t, 8 * 1024 * 1024), 413);
    assert_int_equal(request_chunked(p, t, 5000), 413);
    char *snap2 = snapshot();
    assert_string_equal(snap, snap2);
    free(snap);
    free(snap2);
    /* Not JSON at all. */
    char *before = snapshot();
    char auth[256];
    snprintf(auth, sizeof auth, "Bearer %s", t);
    assert_int_equal(request_full(srv.url, "POST", p, auth, "name=x", (size_t)-1,
                                  "application/x-www-form-urlencoded", NULL),
                     415);
    assert_int_equal(
        request_full(srv.url, "GET", "/api/v1/me", auth, "{\"a\":1}", (size_t)-1, NULL, NULL), 400);
    char *after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_sql_metacharacters(void **state)
{
    const char *t = admin_tok;
    static const char *const evil[] = {
        "a'; DROP TABLE users;--",          "x\" OR \"1\"=\"1", "acme' OR '1'='1", "%", "_", "a\\b",
        "Robert'); DELETE FROM tenants;--",
    };
    for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
        json_t *s = json_string(evil[i]);
        char *q = json_dumps(s, JSON_ENCODE_ANY);
        char body[512], path[512];
        /* Names: refused by the name rule before they reach SQL. */
        snprintf(body, sizeof body, "{\"name\":%s}", q);
        expect_refused("POST", "/api/v1/tenants", t, body, 400, "body.name");
        snprintf(body, sizeof body, "{\"username\":%s,\"password\":\"" PW "\"}", q);
        expect_refused("POST", "/api/v1/users", t, body, 400, "body.username");
        snprintf(body, sizeof body, "{\"username\":%s,\"password\":\"x\"}", q);
        expect_refused("POST", "/api/v1/login", NULL, body, 400, "body.username");
        snprintf(body, sizeof body, "{\"username\":\"u\",\"password\":\"" PW "\",\"role\":%s}", q);
        expect_refused("POST", "/api/v1/tenants/acme/users", t, body, 400, "body.role");
        snprintf(body, sizeof body, "{\"role\":%s}", q);
        expect_refused("PUT", "/api/v1/tenants/acme/users/admin", t, body, 400, "body.role");
        /* In paths (curl needs them escaped; the server sees them decoded). */
        char *esc = curl_easy_escape(NULL, evil[i], 0);
        snprintf(path, sizeof path, "/api/v1/tenants/%s", esc);
        expect_refused("GET", path, t, NULL, 404, "path");
        snprintf(path, sizeof path, "/api/v1/users/%s", esc);
        expect_refused("DELETE", path, t, NULL, 404, "path");
        snprintf(path, sizeof path, "/api/v1/audit?action=%s&actor=%s", esc, esc);
        json_t *doc = NULL;
        assert_int_equal(req("GET", path, t, NULL, &doc), 200);
        assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
        json_decref(doc);
        snprintf(path, sizeof path, "/api/v1/audit?limit=%s", esc);
        expect_refused("GET", path, t, NULL, 400, "query.limit");
        curl_free(esc);

        /* Free text is stored and returned literally. */
        snprintf(body, sizeof body, "{\"name\":%s,\"password\":\"" ADMIN_PW "\"}", q);
        assert_int_equal(req("POST", "/api/v1/tokens", t, body, &doc), 201);
        assert_string_equal(json_string_value(json_object_get(doc, "name")), evil[i]);
        json_decref(doc);
        /* Passwords may hold anything, and work. */
        char user[32], pw[128];
        snprintf(user, sizeof user, "sql%zu", i);
        snprintf(pw, sizeof pw, "%s-padding", evil[i]);
        json_t *pws = json_string(pw);
        char *pq = json_dumps(pws, JSON_ENCODE_ANY);
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":%s,\"role\":\"viewer\"}",
                 user, pq);
        assert_int_equal(req("POST", "/api/v1/tenants/acme/users", t, body, NULL), 201);
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":%s}", user, pq);
        assert_int_equal(req("POST", "/api/v1/login", NULL, body, &doc), 200);
        json_decref(doc);
        free(pq);
        json_decref(pws);
        free(q);
        json_decref(s);
    }
    json_t *doc = NULL;
    assert_int_equal(req("GET", "/api/v1/tokens", t, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "tokens")), sizeof evil / sizeof *evil);
    json_decref(doc);
}

static void test_bad_tokens(void **state)
{
    static const char *const bad[] = {
        "Bearer",
        "Bearer ",
        "Bearer ots_0000000000000000000000000000000000000000000000000000000000000000",
        "Bearer ota_0000000000000000000000000000000000000000000000000000000000000000",
        "Bearer xyz_0000000000000000000000000000000000000000000000000000000000000000",
        "Bearer ' OR '1'='1",
        "Basic YWRtaW46YWRtaW4tcGFzcy0x",
        "bearer",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *doc = NULL;
        assert_int_equal(request_full(srv.url, "GET", "/api/v1/me", bad[i], NULL, 0, NULL, &doc),
                         401);
        assert_string_equal(err_where(doc), "header Authorization");
        json_decref(doc);
    }
    /* A valid token with anything appended is a different token. */
    char auth[300];
    snprintf(auth, sizeof auth, "Bearer %sx", admin_tok);
    assert_int_equal(request_full(srv.url, "GET", "/api/v1/me", auth, NULL, 0, NULL, NULL), 401);
    /* An oversized header: refused, not crashed. */
    char *huge = malloc(7000);
    memcpy(huge, "Bearer ", 7);
    memset(huge + 7, 'a', 6992);
    huge[6999] = '\0';
    long st = request_full(srv.url, "GET", "/api/v1/me", huge, NULL, 0, NULL, NULL);
    assert_true(st == 401 || st == 431);
    free(huge);
    assert_int_equal(req("GET", "/api/v1/me", admin_tok, NULL, NULL), 200);
}

static void test_guards(void **state)
{
    expect_refused("DELETE", "/api/v1/users/admin", admin_tok, NULL, 409, "path");
    /* A second global admin may delete the first, but never the last one. */
    assert_int_equal(req("POST", "/api/v1/users", admin_tok,
                         "{\"username\":\"admin2\",\"password\":\"" PW "\",\"is_admin\":true}",
                         NULL),
                     201);
    assert_int_equal(req("POST", "/api/v1/users", admin_tok,
                         "{\"username\":\"admin2\",\"password\":\"" PW "\"}", NULL),
                     409);
    char *t2 = login("admin2", PW);
    assert_int_equal(req("DELETE", "/api/v1/users/admin2", admin_tok, NULL, NULL), 204);
    assert_int_equal(req("GET", "/api/v1/me", t2, NULL, NULL), 401); /* its sessions died too */
    free(t2);
    expect_refused("POST", "/api/v1/tenants", admin_tok, "{\"name\":\"acme\"}", 409, "body.name");
}

#define WORKERS 8
#define ROUNDS 15

static void *worker(void *arg)
{
    const char *tok = arg;
    long bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (req("POST", "/api/v1/tokens", tok, "{\"name\":\"parallel\",\"password\":\"" PW "\"}",
                NULL) != 201)
            bad++;
        if (req("GET", "/api/v1/tenants/acme/users", tok, NULL, NULL) != 200)
            bad++;
    }
    return (void *)bad;
}

/* Many clients at once: every write lands with its audit entry, nothing is lost or mixed. */
static void test_concurrency(void **state)
{
    add_member("acme", "busy", "operator");
    char *tok = login("busy", PW);
    json_t *doc = NULL;
    assert_int_equal(req("GET", "/api/v1/audit?actor=busy&action=token.create&limit=1000",
                         admin_tok, NULL, &doc),
                     200);
    size_t audits = json_array_size(json_object_get(doc, "entries"));
    json_decref(doc);
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, tok), 0);
    long bad = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    assert_int_equal(bad, 0);
    assert_int_equal(req("GET", "/api/v1/tokens", tok, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "tokens")), WORKERS * ROUNDS);
    json_decref(doc);
    assert_int_equal(req("GET", "/api/v1/audit?actor=busy&action=token.create&limit=1000",
                         admin_tok, NULL, &doc),
                     200);
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), audits + WORKERS * ROUNDS);
    json_decref(doc);
    free(tok);
}

static void test_tls(void **state)
{
    if (!srv.tls_url[0]) /* start_server fails first; never skipped */
        fail_msg("the server has no https listener (certificate or TLS missing)");
    char auth[256];
    snprintf(auth, sizeof auth, "Bearer %s", admin_tok);
    json_t *doc = NULL;
    assert_int_equal(request_full(srv.tls_url, "GET", "/api/v1/me", auth, NULL, 0, NULL, &doc),
                     200);
    assert_string_equal(json_string_value(json_object_get(doc, "username")), "admin");
    json_decref(doc);
    assert_int_equal(request_full(srv.tls_url, "POST", "/api/v1/login", NULL,
                                  "{\"username\":\"admin\",\"password\":\"" ADMIN_PW "\"}",
                                  (size_t)-1, NULL, NULL),
                     200);
}

static int run_cli(const char *const *args, const char *password, char *out, size_t cap)
{
    char cmd[4096] = "";
    size_t n = 0;
    n += (size_t)snprintf(cmd + n, sizeof cmd - n, "OTTER_PASSWORD='%s' '%s'",
                          password ? password : "", OTTER_SERVER_BIN);
    for (size_t i = 0; args[i]; i++)
        n += (size_t)snprintf(cmd + n, sizeof cmd - n, " '%s'", args[i]);
    snprintf(cmd + n, sizeof cmd - n, " 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, cap - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
    char conf[PATH_MAX], out[8192];
    snprintf(conf, sizeof conf, "%s/server.conf", srv.dir);
    const char *add[] = {"user", "add",    "--config", conf,      "--tenant",
                         "acme", "--role", "operator", "cliuser", NULL};
    assert_int_equal(run_cli(add, "cli-pass-123", out, sizeof out), 0);
    char *t = login("cliuser", "cli-pass-123");
    json_t *doc = NULL;
    assert_int_equal(req("GET", "/api/v1/tenants/acme", t, NULL, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "role")), "operator");
    json_decref(doc);
    const char *list[] = {"user", "list", "--config", conf, NULL};
    assert_int_equal(run_cli(list, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "cliuser acme:operator"));
    assert_non_null(strstr(out, "admin (global admin)"));
    const char *passwd[] = {"user", "passwd", "--config", conf, "cliuser", NULL};
    assert_int_equal(run_cli(passwd, "cli-pass-456", out, sizeof out), 0);
    assert_int_equal(req("GET", "/api/v1/me", t, NULL, NULL), 401); /* tokens revoked */
    free(t);
    t = login("cliuser", "cli-pass-456");
    free(t);
    const char *dup[] = {"user", "add", "--config", conf, "cliuser", NULL};
    assert_int_equal(run_cli(dup, "cli-pass-123", out, sizeof out), 1);
    assert_non_null(strstr(out, "already exists"));
    const char *badrole[] = {"user", "add",    "--config", conf, "--tenant",
                             "acme", "--role", "root",     "x1", NULL};
    assert_int_not_equal(run_cli(badrole, "cli-pass-123", out, sizeof out), 0);
    assert_non_null(strstr(out, "unknown role"));
    const char *help[][3] = {{"--help", NULL},
                             {"init", "--help", NULL},
                             {"serve", "--help", NULL},
                             {"user", "--help", NULL}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(run_cli(help[i], NULL, out, sizeof out), 0);
        assert_non_null(strstr(out, "usage: otter-server"));
    }
    const char *bogus[] = {"frobnicate", NULL};
    assert_int_equal(run_cli(bogus, NULL, out, sizeof out), 2);
    /* A config error names the line. */
    char badconf[PATH_MAX];
    snprintf(badconf, sizeof badconf, "%s/bad.conf", srv.dir);
    FILE *f = fopen(badconf, "w");
    fputs("[http]\nlisten = 127.0.0.1:0\nlisten_port = 9\n", f);
    fclose(f);
    const char *serve_bad[] = {"serve", "--config", badconf, NULL};
    assert_int_equal(run_cli(serve_bad, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "bad.conf: line 3: unknown key 'listen_port' in [http]"));
    /* serve never creates a database: that is init's job. */
    f = fopen(badconf, "w");
    fprintf(f, "[http]\nlisten = 127.0.0.1:0\n[database]\nurl = sqlite:%s/none.db\n", srv.dir);
    fclose(f);
    assert_int_equal(run_cli(serve_bad, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "run `otter-server init` first"));
    /* A TLS listener without a readable key fails at start, naming the file. */
    f = fopen(badconf, "w");
    fprintf(f,
            "[http]\nlisten_tls = 127.0.0.1:0\ntls_cert = %s/nocert.pem\ntls_key = %s/nokey.pem\n"
            "[database]\nurl = sqlite:%s\n",
            srv.dir, srv.dir, srv.db);
    fclose(f);
    assert_int_equal(run_cli(serve_bad, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "nocert.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_me_logout),
        cmocka_unit_test(test_api_tokens),
        cmocka_unit_test(test_expired_token),
        cmocka_unit_test(test_audit_paging),
        cmocka_unit_test(test_password_change),
        cmocka_unit_test(test_password_rule_everywhere),
        cmocka_unit_test(test_session_cannot_escalate),
        cmocka_unit_test(test_tenant_id_not_reused),
        cmocka_unit_test(test_hostile_json),
        cmocka_unit_test(test_sql_metacharacters),
        cmocka_unit_test(test_bad_tokens),
        cmocka_unit_test(test_guards),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
