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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forced_streams_without_copy),
        cmocka_unit_test(test_maintenance_window),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_attempt_follows_local_policy),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
