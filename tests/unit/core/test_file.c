/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A symlink planted at the temp name the atomic write used to take ("<path>.tmp.<pid>",
   opened O_TRUNC without O_EXCL) made it overwrite the victim the link pointed to, and
   then rename the link over path. Now the victim is untouched, path is a regular file
   with the new bytes, and no temp file is left. */
static void test_atomic_write_ignores_planted_symlink(void **state)
{
    otter_err err;
    const char *dir = otter_test_dir("file_symlink");
    char path[PATH_MAX], victim[PATH_MAX], planted[PATH_MAX];
    snprintf(path, sizeof path, "%s/state.json", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(planted, sizeof planted, "%s.tmp.%ld", path, (long)getpid());
    assert_otter_ok(otter_file_write_atomic(victim, "precious", 8, 0600, &err), err);
    assert_int_equal(symlink(victim, planted), 0);

    assert_otter_ok(otter_file_write_atomic(path, "new state", 9, 0644, &err), err);

    char *buf = NULL;
    size_t len = 0;
    assert_otter_ok(otter_file_read_all(victim, 100, &buf, &len, &err), err);
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "precious", 8);
    free(buf);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_otter_ok(otter_file_read_all(path, 100, &buf, &len, &err), err);
    assert_int_equal(len, 9);
    assert_memory_equal(buf, "new state", 9);
    free(buf);
    /* Only the three names: state.json, victim and the (unused) planted link. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    assert_int_equal(n, 3);
}

/* Each temp name is new and exclusive: two temps for one path differ, both are fresh
   empty files of the requested mode. */
static void test_open_temp_is_exclusive(void **state)
{
    otter_err err;
    char path[PATH_MAX], t1[PATH_MAX], t2[PATH_MAX];
    snprintf(path, sizeof path, "%s/x", otter_test_dir("file_temp"));
    int fd1, fd2;
    assert_otter_ok(otter_file_open_temp(path, 0640, t1, sizeof t1, &fd1, &err), err);
    assert_otter_ok(otter_file_open_temp(path, 0640, t2, sizeof t2, &fd2, &err), err);
    assert_string_not_equal(t1, t2);
    assert_int_equal(strncmp(t1, path, strlen(path)), 0);
    struct stat st;
    assert_int_equal(fstat(fd1, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(st.st_size, 0);
    close(fd1);
    close(fd2);
    unlink(t1);
    unlink(t2);
    char tiny[8];
    assert_otter_error(otter_file_open_temp(path, 0600, tiny, sizeof tiny, &fd1, &err), err,
                       OTTER_EUSAGE, "temporary file name: longer than");
    assert_int_equal(fd1, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_and_read_back),
        cmocka_unit_test(test_read_refuses_oversized),
        cmocka_unit_test(test_atomic_write_ignores_planted_symlink),
        cmocka_unit_test(test_open_temp_is_exclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
