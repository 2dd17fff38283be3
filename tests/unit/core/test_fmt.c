/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_fmt.h"

static void test_fits(void **state)
{
    char buf[16];
    otter_err err = {0};
    assert_int_equal(otter_fmt(buf, sizeof buf, &err, "path", "%s/%s", "/var", "otter"), 0);
    assert_string_equal(buf, "/var/otter");
    /* Exactly cap - 1 characters and the NUL: fits. */
    assert_int_equal(otter_fmt(buf, sizeof buf, &err, "path", "%s", "123456789012345"), 0);
    assert_string_equal(buf, "123456789012345");
}

static void test_too_long_is_refused_and_empty(void **state)
{
    char buf[16];
    otter_err err = {0};
    /* One character over: refused, the buffer holds nothing usable. */
    assert_int_equal(
        otter_fmt(buf, sizeof buf, &err, "state file", "%s/%s", "/var/lib/otter", "state.json"),
        OTTER_EUSAGE);
    assert_string_equal(buf, "");
    assert_string_equal(err.msg, "state file: longer than 15 bytes");
    assert_int_equal(otter_fmt(buf, sizeof buf, &err, "x", "%s", "1234567890123456"), OTTER_EUSAGE);
    assert_string_equal(buf, "");
}

static void test_no_room(void **state)
{
    char buf[1];
    otter_err err = {0};
    assert_int_equal(otter_fmt(buf, 0, &err, "name", "%s", ""), OTTER_EUSAGE);
    assert_int_equal(otter_fmt(buf, 1, &err, "name", "%s", ""), 0);
    assert_string_equal(buf, "");
    assert_int_equal(otter_fmt(buf, 1, &err, "name", "%s", "a"), OTTER_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_too_long_is_refused_and_empty),
        cmocka_unit_test(test_no_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
