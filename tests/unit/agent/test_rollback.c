/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_file.h"
#include "otter_rollback.h"

static void test_raise_only(void **state)
{
    otter_err err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rollback", otter_test_dir("rollback"));
    otter_rollback *r = NULL;
    assert_otter_error(otter_rollback_open("tpm", path, &r, &err), err, OTTER_EUSAGE,
                       "unknown rollback back-end 'tpm'");
    assert_otter_ok(otter_rollback_open("file", path, &r, &err), err);
    uint64_t v = 99;
    assert_otter_ok(otter_rollback_get(r, &v, &err), err);
    assert_int_equal(v, 0); /* never written */
    assert_otter_ok(otter_rollback_raise(r, 7, &err), err);
    assert_otter_ok(otter_rollback_raise(r, 7, &err), err);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: refusing to lower the rollback counter from 7 to 6", path);
    assert_otter_error(otter_rollback_raise(r, 6, &err), err, OTTER_EROLLBACK, want);
    assert_otter_ok(otter_rollback_get(r, &v, &err), err);
    assert_int_equal(v, 7);
    assert_otter_ok(otter_rollback_raise(r, UINT64_MAX, &err), err);
    assert_otter_ok(otter_rollback_get(r, &v, &err), err);
    assert_true(v == UINT64_MAX);

    /* A fresh handle sees the stored value; a crash leftover does not matter. */
    otter_rollback_free(r);
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp.31337", path);
    assert_otter_ok(otter_file_write_atomic(tmp, "0\n", 2, 0600, &err), err);
    assert_otter_ok(otter_rollback_open("file", path, &r, &err), err);
    assert_otter_ok(otter_rollback_get(r, &v, &err), err);
    assert_true(v == UINT64_MAX);
    otter_rollback_free(r);
}

static void test_corrupt_is_not_zero(void **state)
{
    otter_err err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rollback", otter_test_dir("rollback_corrupt"));
    otter_rollback *r = NULL;
    assert_otter_ok(otter_rollback_open("file", path, &r, &err), err);
    const char *bad[] = {"",    "\n", "7", "7\n\n", "-1\n", "07\n", "x\n", "18446744073709551616\n",
                         "7 \n"};
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: corrupt rollback counter", path);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_otter_ok(otter_file_write_atomic(path, bad[i], strlen(bad[i]), 0600, &err), err);
        uint64_t v = 5;
        assert_otter_error(otter_rollback_get(r, &v, &err), err, OTTER_EFORMAT, want);
        assert_int_equal(v, 5);
        assert_otter_error(otter_rollback_raise(r, 1, &err), err, OTTER_EFORMAT, want);
    }
    otter_rollback_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_only),
        cmocka_unit_test(test_corrupt_is_not_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
