/* SPDX-License-Identifier: Apache-2.0 */
/* Failed-login throttling per user name and per client address, with 429 and Retry-After. */
#include "harness.h"

static int setup(void **state)
{
    return setup_server("server_throttle",
                        "login_max_failures = 3\nlogin_max_failures_addr = 6\nlogin_window = 60\n",
                        0);
}

static int teardown(void **state)
{
    return teardown_server();
}

static long try_login(const char *user, const char *password, json_t **out)
{
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
    return req("POST", "/api/v1/login", NULL, body, out);
}

static void test_throttling(void **state)
{
    json_t *doc = NULL;
    add_tenant("acme");
    add_member("acme", "victim", "viewer");
    for (int i = 0; i < 3; i++)
        assert_int_equal(try_login("victim", "wrong-password", NULL), 401);
    /* Locked: even the right password gets 429, with a bounded Retry-After. */
    assert_int_equal(try_login("victim", PW, &doc), 429);
    int wait = atoi(retry_after);
    assert_true(wait >= 1 && wait <= 60);
    assert_string_equal(err_where(doc), "body.username");
    json_decref(doc);
    assert_int_equal(try_login("victim", "wrong-password", NULL), 429);
    /* Another user from the same address still gets in (address count 3 of 6). */
    char *t = login("admin", ADMIN_PW);
    free(t);
    /* Spraying names from one address locks the address. */
    assert_int_equal(try_login("ghost1", "wrong-password", NULL), 401);
    assert_int_equal(try_login("ghost2", "wrong-password", NULL), 401);
    assert_int_equal(try_login("ghost3", "wrong-password", NULL), 401);
    assert_int_equal(try_login("admin", ADMIN_PW, &doc), 429);
    assert_string_equal(err_where(doc), "client address");
    assert_true(atoi(retry_after) >= 1);
    json_decref(doc);
    /* Existing sessions keep working: throttling guards the password, not the API. */
    assert_int_equal(req("GET", "/api/v1/me", admin_tok, NULL, NULL), 200);
    /* Every failure was audited (6 refused, not the throttled ones). */
    assert_int_equal(req("GET", "/api/v1/audit?action=login.failed", admin_tok, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 6);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throttling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
