/* SPDX-License-Identifier: Apache-2.0 */
/* What otter-agentd does with every combination of DDI modes, maintenance and cancel. */
#include "otter_test.h"
#include "otter_ddi.h"
#include "otter_ddi_policy.h"

enum { S = OTTER_DDI_SKIP, A = OTTER_DDI_ATTEMPT, F = OTTER_DDI_FORCED };

static int decide(int download, int update, int window, int attempt, int spooled, int switched)
{
    otter_ddi_situation s = {download, update, window, attempt, spooled, switched};
    return otter_ddi_decide(&s);
}

static void test_forced_streams_without_copy(void **state)
{
    (void)state;
    assert_int_equal(decide(F, F, 1, F, 0, 0), OTTER_DDI_STEP_INSTALL_STREAM);
    assert_int_equal(decide(F, F, 1, F, 1, 0), OTTER_DDI_STEP_INSTALL_SPOOL);
    assert_int_equal(decide(F, F, 1, F, 0, 1), OTTER_DDI_STEP_NONE);
}

static void test_maintenance_window(void **state)
{
    (void)state;
    /* Closed: download and verify now, never install. */
    assert_int_equal(decide(F, F, 0, F, 0, 0), OTTER_DDI_STEP_DOWNLOAD);
    assert_int_equal(decide(F, F, 0, F, 1, 0), OTTER_DDI_STEP_WAIT);
    /* Opened: the spooled package goes in. */
    assert_int_equal(decide(F, F, 1, F, 1, 0), OTTER_DDI_STEP_INSTALL_SPOOL);
    /* Closed and download skip: nothing at all. */
    assert_int_equal(decide(S, F, 0, F, 0, 0), OTTER_DDI_STEP_NONE);
}

static void test_skip(void **state)
{
    (void)state;
    assert_int_equal(decide(S, F, 1, F, 0, 0), OTTER_DDI_STEP_NONE);
    assert_int_equal(decide(S, S, 1, F, 0, 0), OTTER_DDI_STEP_NONE);
    assert_int_equal(decide(F, S, 1, F, 0, 0), OTTER_DDI_STEP_DOWNLOAD);
    assert_int_equal(decide(F, S, 1, F, 1, 0), OTTER_DDI_STEP_WAIT);
    /* A package spooled before the server switched download to skip may still be installed. */
    assert_int_equal(decide(S, F, 1, F, 1, 0), OTTER_DDI_STEP_INSTALL_SPOOL);
}

static void test_attempt_follows_local_policy(void **state)
{
    (void)state;
    assert_int_equal(decide(A, A, 1, F, 0, 0), OTTER_DDI_STEP_INSTALL_STREAM);
    assert_int_equal(decide(A, A, 1, S, 0, 0), OTTER_DDI_STEP_NONE);
    assert_int_equal(decide(F, A, 1, S, 0, 0), OTTER_DDI_STEP_DOWNLOAD);
    assert_int_equal(decide(F, A, 1, S, 1, 0), OTTER_DDI_STEP_WAIT);
    assert_int_equal(decide(A, F, 1, S, 0, 0), OTTER_DDI_STEP_NONE);
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(otter_ddi_decide_cancel("7", ""), OTTER_DDI_CANCEL_CONFIRM);
    assert_int_equal(otter_ddi_decide_cancel("7", NULL), OTTER_DDI_CANCEL_CONFIRM);
    assert_int_equal(otter_ddi_decide_cancel("7", "6"), OTTER_DDI_CANCEL_CONFIRM);
    assert_int_equal(otter_ddi_decide_cancel("7", "7"), OTTER_DDI_CANCEL_REJECT);
    assert_string_equal(otter_ddi_step_name(OTTER_DDI_STEP_WAIT),
                        "downloaded; waiting for the server to allow the install");
}

/* Every rnd the jitter can see: the sleeps span exactly interval +- interval / 10. */
static void jitter_range(long interval, long *lo, long *hi)
{
    otter_ddi_pacing p = {0};
    *lo = *hi = otter_ddi_next_sleep(&p, 1, interval, 0);
    for (unsigned long rnd = 1; rnd < 5000; rnd++) {
        long s = otter_ddi_next_sleep(&p, 1, interval, rnd * 7919u);
        *lo = s < *lo ? s : *lo;
        *hi = s > *hi ? s : *hi;
    }
}

static void test_poll_jitter(void **state)
{
    (void)state;
    long lo, hi;
    jitter_range(300, &lo, &hi);
    assert_int_equal(lo, 270);
    assert_int_equal(hi, 330);
    jitter_range(100, &lo, &hi);
    assert_int_equal(lo, 90);
    assert_int_equal(hi, 110);
    jitter_range(15, &lo, &hi); /* whole seconds: +-1, not more than 10 % */
    assert_int_equal(lo, 14);
    assert_int_equal(hi, 16);
    jitter_range(1, &lo, &hi); /* below 10 s: exactly the interval */
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 1);
    jitter_range(0, &lo, &hi); /* no interval from the server: the default, jittered */
    assert_int_equal(lo, OTTER_DDI_POLL_DEFAULT - OTTER_DDI_POLL_DEFAULT / 10);
    assert_int_equal(hi, OTTER_DDI_POLL_DEFAULT + OTTER_DDI_POLL_DEFAULT / 10);
    jitter_range(-1, &lo, &hi);
    assert_int_equal(lo, OTTER_DDI_POLL_DEFAULT - OTTER_DDI_POLL_DEFAULT / 10);
    jitter_range(10L * OTTER_DDI_POLL_MAX, &lo, &hi); /* more than HH:MM:SS can say */
    assert_true(lo >= OTTER_DDI_POLL_MAX - OTTER_DDI_POLL_MAX / 10 && lo < OTTER_DDI_POLL_MAX);
    assert_true(hi <= OTTER_DDI_POLL_MAX + OTTER_DDI_POLL_MAX / 10 && hi > OTTER_DDI_POLL_MAX);
    otter_ddi_pacing p = {0};
    assert_int_equal(otter_ddi_next_sleep(&p, 1, 300, ~0UL), 300 - 30 + (long)(~0UL % 61));
}

static void test_error_backoff(void **state)
{
    (void)state;
    otter_ddi_pacing p = {0};
    const long want[] = {10, 20, 40, 80, 160, 320, 600, 600, 600};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        /* rnd picks within +- a tenth (rnd = tenth: the middle); any interval */
        otter_ddi_pacing q = p;
        assert_int_equal(otter_ddi_next_sleep(&q, 0, 300, 0), want[i] - want[i] / 10);
        q = p;
        assert_int_equal(otter_ddi_next_sleep(&q, 0, 300, (unsigned long)(2 * (want[i] / 10))),
                         want[i] + want[i] / 10);
        assert_int_equal(otter_ddi_next_sleep(&p, 0, 300, (unsigned long)(want[i] / 10)), want[i]);
    }
    /* One good cycle: the poll interval again, and the next error starts over at 10 s. */
    long s = otter_ddi_next_sleep(&p, 1, 60, 3);
    assert_true(s >= 54 && s <= 66);
    assert_int_equal(otter_ddi_next_sleep(&p, 0, 60, 1), 10);
    assert_int_equal(otter_ddi_next_sleep(&p, 0, 60, 2), 20);
    assert_int_equal(otter_ddi_next_sleep(&p, 1, 60, 6), 54 + 6);
    assert_int_equal(otter_ddi_next_sleep(&p, 0, 60, 1), 10);
    /* A damaged state is brought back into bounds. */
    p.backoff = 1000000;
    assert_int_equal(otter_ddi_next_sleep(&p, 0, 60, 60), OTTER_DDI_BACKOFF_MAX);
    p.backoff = -5;
    assert_int_equal(otter_ddi_next_sleep(&p, 0, 60, 1), OTTER_DDI_BACKOFF_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forced_streams_without_copy),
        cmocka_unit_test(test_maintenance_window),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_attempt_follows_local_policy),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_poll_jitter),
        cmocka_unit_test(test_error_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
