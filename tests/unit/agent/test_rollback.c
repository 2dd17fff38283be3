/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_file.h"
#include "otter_rollback.h"
#include "otter_tpm.h"

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

/* The TPM mapping: level = counter - 1 (the provisioning increment is level 0). */
static void test_tpm_mapping(void **state)
{
    (void)state;
    otter_err err;
    uint64_t level = 99, steps = 99;
    assert_otter_ok(otter_tpm_level_of(1, &level, &err), err);
    assert_int_equal(level, 0);
    assert_otter_ok(otter_tpm_level_of(UINT64_MAX, &level, &err), err);
    assert_true(level == UINT64_MAX - 1);
    level = 99;
    assert_otter_error(otter_tpm_level_of(0, &level, &err), err, OTTER_EFORMAT,
                       "TPM counter reads 0: not a provisioned counter");
    assert_int_equal(level, 99);

    assert_otter_ok(otter_tpm_steps_to(1, 0, &steps, &err), err);
    assert_int_equal(steps, 0);
    assert_otter_ok(otter_tpm_steps_to(4, 3, &steps, &err), err); /* equal: no write */
    assert_int_equal(steps, 0);
    assert_otter_ok(otter_tpm_steps_to(2, 3, &steps, &err), err);
    assert_int_equal(steps, 2);
    /* A counter that started high (a TPM whose counters were used before). */
    assert_otter_ok(otter_tpm_steps_to(1001, 1005, &steps, &err), err);
    assert_int_equal(steps, 5);
    steps = 99;
    assert_otter_error(otter_tpm_steps_to(4, 2, &steps, &err), err, OTTER_EROLLBACK,
                       "refusing to lower the TPM rollback counter from 3 to 2");
    assert_otter_error(otter_tpm_steps_to(1, OTTER_TPM_MAX_STEPS + 1, &steps, &err), err,
                       OTTER_EUSAGE,
                       "raising the TPM counter from 0 to 4097 takes more than 4096 increments"
                       " (NV writes): refused");
    assert_otter_error(otter_tpm_steps_to(UINT64_MAX, UINT64_MAX, &steps, &err), err, OTTER_EUSAGE,
                       "security version 18446744073709551615 is past the TPM counter");
    assert_otter_error(otter_tpm_steps_to(0, 1, &steps, &err), err, OTTER_EFORMAT,
                       "TPM counter reads 0: not a provisioned counter");
    assert_int_equal(steps, 99);
    assert_otter_ok(otter_tpm_steps_to(1, OTTER_TPM_MAX_STEPS, &steps, &err), err);
    assert_int_equal(steps, OTTER_TPM_MAX_STEPS);
}

static void test_tpm_index(void **state)
{
    (void)state;
    otter_err err;
    uint32_t index = 0;
    assert_otter_ok(otter_tpm_parse_index("0x01800a00", &index, &err), err);
    assert_int_equal(index, 0x01800a00);
    assert_otter_ok(otter_tpm_parse_index("0x01BFFFFF", &index, &err), err);
    const char *bad[] = {"",           "0x",          "01800a00",   "0x017fffff",
                         "0x01c00000", "0x01800a00 ", "0x1800a00g", "0x81000001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[128];
        snprintf(want, sizeof want,
                 "TPM NV index '%s': want hex 0x01800000-0x01bfffff (owner range)", bad[i]);
        assert_otter_error(otter_tpm_parse_index(bad[i], &index, &err), err, OTTER_EUSAGE, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_only),
        cmocka_unit_test(test_corrupt_is_not_zero),
        cmocka_unit_test(test_tpm_mapping),
        cmocka_unit_test(test_tpm_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
