/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Login throttling (otter_throttle.c) with explicit clocks: it slows a key
 * down (first delay, doubling, at most the window) instead of locking it,
 * forgets a key that stayed quiet, and a full table gives a flooder's
 * fresh keys up before the count of a key that is being slowed down.
 */
#include "otter_throttle.h"
#include "otter_test.h"

static void fail_n(otter_throttle *t, const char *key, const char *group, int n, uint64_t now)
{
    for (int i = 0; i < n; i++)
        otter_throttle_fail(t, key, group, now);
}

static void test_slows_down(void **state)
{
    otter_throttle *t = otter_throttle_new(3, 2, 60, 16);
    assert_non_null(t);
    fail_n(t, "alice|::1", "::1", 2, 1000);
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1000), 0);
    otter_throttle_fail(t, "alice|::1", "::1", 1000);
    /* The third failure: wait the first delay, then one more try, then twice as long. */
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1000), 2);
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1001), 1);
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1002), 0);
    otter_throttle_fail(t, "alice|::1", "::1", 1002);
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1002), 4);
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1006), 0);
    otter_throttle_fail(t, "alice|::1", "::1", 1006);
    assert_int_equal(otter_throttle_check(t, "alice|::1", 1006), 8);
    /* Never more than the window. */
    uint64_t now = 1014;
    for (int i = 0; i < 10; i++) {
        now += otter_throttle_check(t, "alice|::1", now);
        otter_throttle_fail(t, "alice|::1", "::1", now);
    }
    assert_int_equal(otter_throttle_check(t, "alice|::1", now), 60);
    /* Other keys are not touched: the same account from elsewhere tries at once. */
    assert_int_equal(otter_throttle_check(t, "alice|127.0.0.1", now), 0);
    /* Quiet for its delay plus the window: forgotten, a new count starts. */
    now += 60 + 60;
    assert_int_equal(otter_throttle_check(t, "alice|::1", now), 0);
    otter_throttle_fail(t, "alice|::1", "::1", now);
    assert_int_equal(otter_throttle_check(t, "alice|::1", now), 0);
    /* A success forgets at once. */
    fail_n(t, "bob|::1", "::1", 3, now);
    assert_int_equal(otter_throttle_check(t, "bob|::1", now), 2);
    otter_throttle_reset(t, "bob|::1");
    assert_int_equal(otter_throttle_check(t, "bob|::1", now), 0);
    otter_throttle_free(t);
}

/* A full table under a flood of fresh names keeps the count that is slowing an attacker. */
static void test_flood_keeps_victim(void **state)
{
    char key[64];
    otter_throttle *t = otter_throttle_new(3, 30, 60, 8);
    assert_non_null(t);
    fail_n(t, "victim|::1", "::1", 3, 100);
    assert_int_equal(otter_throttle_check(t, "victim|::1", 100), 30);
    /* The same source floods: it evicts its own fresh entries. */
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "ghost%d|::1", i);
        otter_throttle_fail(t, key, "::1", 101);
    }
    assert_int_equal(otter_throttle_check(t, "victim|::1", 101), 29);
    /* Other sources flood too (older entries of theirs go first): still kept. */
    for (int i = 0; i < 100; i++) {
        char group[32];
        snprintf(group, sizeof group, "10.0.%d.%d", i / 200, i % 200);
        snprintf(key, sizeof key, "ghost%d|%s", i, group);
        otter_throttle_fail(t, key, group, 102);
    }
    assert_int_equal(otter_throttle_check(t, "victim|::1", 102), 28);
    /* A legitimate user elsewhere with a typo is still counted (a fresh entry fits). */
    otter_throttle_fail(t, "carol|127.0.0.1", "127.0.0.1", 103);
    fail_n(t, "carol|127.0.0.1", "127.0.0.1", 2, 103);
    assert_int_equal(otter_throttle_check(t, "carol|127.0.0.1", 103), 30);
    assert_int_equal(otter_throttle_check(t, "victim|::1", 103), 27);
    otter_throttle_free(t);
}

/* When every entry is slowing someone down, the oldest such entry makes room. */
static void test_full_of_slowed(void **state)
{
    char key[32];
    otter_throttle *t = otter_throttle_new(1, 30, 60, 4);
    assert_non_null(t);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "u%d|a%d", i, i);
        otter_throttle_fail(t, key, key + 3, (uint64_t)(10 + i));
    }
    otter_throttle_fail(t, "new|a9", "a9", 20);
    assert_int_equal(otter_throttle_check(t, "new|a9", 20), 30);
    assert_int_equal(otter_throttle_check(t, "u0|a0", 20), 0); /* the oldest went */
    assert_int_equal(otter_throttle_check(t, "u1|a1", 20), 21);
    otter_throttle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slows_down),
        cmocka_unit_test(test_flood_keeps_victim),
        cmocka_unit_test(test_full_of_slowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
