/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-login throttling, per (account, client address) and per address,
 * with 429 and Retry-After. Two real sources: the server listens on
 * 127.0.0.1 and on [::1]. A stranger's guesses must not keep the owner
 * (the only admin included) out, and a flood of other names must not
 * evict the count that slows the stranger down.
 */
#include "harness.h"

#define AUTH(addr_max)                                                                             \
    "login_max_failures = 3\nlogin_max_failures_addr = " addr_max "\nlogin_delay = 30\n"           \
    "login_window = 60\nlogin_throttle_entries = 16\n[http]\nlisten = [::1]:0\n"

static int setup_pair(void **state)
{
    return setup_server("server_throttle", AUTH("6"), 0);
}

static int setup_flood(void **state)
{
    return setup_server("server_throttle_flood", AUTH("100000"), 0);
}

static int teardown(void **state)
{
    return teardown_server();
}

/* A login from base (srv.url: 127.0.0.1, srv.url6: ::1). */
static long try_login(const char *base, const char *user, const char *password, json_t **out)
{
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
    return request_full(base, "POST", "/api/v1/login", NULL, body, (size_t)-1, NULL, out);
}

static void expect_throttled(const char *base, const char *user, const char *password,
                             const char *where)
{
    json_t *doc = NULL;
    assert_int_equal(try_login(base, user, password, &doc), 429);
    assert_string_equal(err_where(doc), where);
    int wait = atoi(retry_after);
    assert_true(wait >= 1 && wait <= 30);
    json_decref(doc);
}

static void expect_in(const char *base, const char *user, const char *password)
{
    json_t *doc = NULL;
    assert_int_equal(try_login(base, user, password, &doc), 200);
    assert_int_equal(
        req("POST", "/api/v1/logout", json_string_value(json_object_get(doc, "token")), NULL, NULL),
        204);
    json_decref(doc);
}

static void test_stranger_cannot_lock_out(void **state)
{
    json_t *doc = NULL;
    assert_true(srv.url6[0] != '\0');
    add_tenant("acme");
    add_member("acme", "victim", "viewer");
    /* A stranger on ::1 guesses the only admin's password. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(try_login(srv.url6, "admin", "wrong-password", NULL), 401);
    /* The stranger is slowed down, even with the right password... */
    expect_throttled(srv.url6, "admin", ADMIN_PW, "body.username");
    /* ...the admin, from elsewhere, is not. */
    expect_in(srv.url, "admin", ADMIN_PW);
    /* The stranger's address may still sign in to other accounts (3 of its 6 failures). */
    expect_in(srv.url6, "victim", PW);
    /* Spraying names from one address slows the address down, for every name. */
    assert_int_equal(try_login(srv.url6, "ghost1", "wrong-password", NULL), 401);
    assert_int_equal(try_login(srv.url6, "ghost2", "wrong-password", NULL), 401);
    assert_int_equal(try_login(srv.url6, "ghost3", "wrong-password", NULL), 401);
    expect_throttled(srv.url6, "victim", PW, "client address");
    expect_in(srv.url, "victim", PW);
    /* Existing sessions keep working: throttling guards the password, not the API. */
    assert_int_equal(req("GET", "/api/v1/me", admin_tok, NULL, NULL), 200);
    /* Every failure was audited (6 refused, not the throttled ones). */
    assert_int_equal(req("GET", "/api/v1/audit?action=login.failed", admin_tok, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 6);
    json_decref(doc);
    /* A signed-in user's own password (here: for an API token) is guessed no faster. */
    char *t = login("victim", PW);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            req("POST", "/api/v1/tokens", t, "{\"name\":\"x\",\"password\":\"guess-1234\"}", NULL),
            403);
    assert_int_equal(
        req("POST", "/api/v1/tokens", t, "{\"name\":\"x\",\"password\":\"" PW "\"}", &doc), 429);
    assert_string_equal(err_where(doc), "body.password");
    json_decref(doc);
    free(t);
}

/*
 * The throttle holds 16 keys here. The stranger slows down on the victim,
 * then tries 40 fresh names from the same address and 40 from the other:
 * the victim's count against the stranger is still there.
 */
static void test_flood_keeps_victim_count(void **state)
{
    char name[32];
    add_tenant("acme");
    add_member("acme", "victim", "viewer");
    for (int i = 0; i < 3; i++)
        assert_int_equal(try_login(srv.url6, "victim", "wrong-password", NULL), 401);
    expect_throttled(srv.url6, "victim", PW, "body.username");
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "flood%d", i);
        assert_int_equal(try_login(srv.url6, name, "wrong-password", NULL), 401);
    }
    expect_throttled(srv.url6, "victim", PW, "body.username");
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "other%d", i);
        assert_int_equal(try_login(srv.url, name, "wrong-password", NULL), 401);
    }
    expect_throttled(srv.url6, "victim", PW, "body.username");
    /* The owner, from the other address, was never kept out. */
    expect_in(srv.url, "victim", PW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stranger_cannot_lock_out, setup_pair, teardown),
        cmocka_unit_test_setup_teardown(test_flood_keeps_victim_count, setup_flood, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
