/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_file.h"

#include <sys/stat.h>

static void test_atomic_write_and_read_back(void **state)
{
    otter_err err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state.json", otter_test_dir("file_atomic"));
    assert_otter_ok(otter_file_write_atomic(path, "hello", 5, 0600, &err), err);
    assert_otter_ok(otter_file_write_atomic(path, "world!", 6, 0600, &err), err);
    char *buf = NULL;
    size_t len = 0;
    assert_otter_ok(otter_file_read_all(path, 100, &buf, &len, &err), err);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "world!");
    free(buf);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_read_refuses_oversized(void **state)
{
    otter_err err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/big", otter_test_dir("file_big"));
    char data[5000];
    memset(data, 'a', sizeof data);
    assert_otter_ok(otter_file_write_atomic(path, data, sizeof data, 0644, &err), err);
    char *buf = NULL;
    size_t len = 0;
    assert_otter_error(otter_file_read_all(path, 4999, &buf, &len, &err), err, OTTER_EFORMAT,
                       "too large");
    assert_null(buf);
    assert_otter_error(otter_file_read_all("/nonexistent/x", 10, &buf, &len, &err), err, OTTER_EIO,
                       "/nonexistent/x: cannot open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_and_read_back),
        cmocka_unit_test(test_read_refuses_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
