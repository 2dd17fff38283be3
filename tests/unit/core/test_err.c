/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_err.h"

static void test_set_and_prefix(void **state)
{
    otter_err err;
    otter_err_clear(&err);
    assert_int_equal(otter_err_set(&err, OTTER_EDIGEST, "sha256 mismatch (%d)", 7), OTTER_EDIGEST);
    otter_err_prefix(&err, "image %s", "rootfs");
    otter_err_prefix(&err, "update.zip");
    assert_string_equal(err.msg, "update.zip: image rootfs: sha256 mismatch (7)");
    assert_true(otter_err_is_refusal(err.code));
    assert_false(otter_err_is_refusal(OTTER_EIO));
}

static void test_long_message_is_cut_visibly(void **state)
{
    otter_err err;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    otter_err_set(&err, OTTER_EFORMAT, "%s", big);
    assert_int_equal(strlen(err.msg), OTTER_ERR_MSG_MAX - 1);
    assert_string_equal(err.msg + OTTER_ERR_MSG_MAX - 4, "...");
    otter_err_prefix(&err, "ctx");
    assert_int_equal(strncmp(err.msg, "ctx: xxx", 8), 0);
    assert_string_equal(err.msg + OTTER_ERR_MSG_MAX - 4, "...");
}

static void test_null_err_is_allowed(void **state)
{
    assert_int_equal(otter_err_set(NULL, OTTER_EIO, "x"), OTTER_EIO);
    otter_err_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_prefix),
        cmocka_unit_test(test_long_message_is_cut_visibly),
        cmocka_unit_test(test_null_err_is_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
