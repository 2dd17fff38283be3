/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failure paths: rename() and fsync() are wrapped at link time
 * (-Wl,--wrap) so a test can make the Nth call fail, as a full disk or a
 * dying device would. Whatever fails, the previous content must stay
 * readable and no temp file may be left behind.
 */
#include "otter_test.h"
#include "otter_boot.h"
#include "otter_file.h"
#include "otter_handler.h"
#include "otter_rollback.h"
#include "otter_state.h"

#include <dirent.h>
#include <errno.h>

int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

static int fail_rename_in = -1; /* fail the call when this reaches 0; -1: never */
static int fail_fsync_in = -1;

int __wrap_rename(const char *from, const char *to)
{
    if (fail_rename_in >= 0 && fail_rename_in-- == 0) {
        errno = EIO;
        return -1;
    }
    return __real_rename(from, to);
}

int __wrap_fsync(int fd)
{
    if (fail_fsync_in >= 0 && fail_fsync_in-- == 0) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

static int reset(void **state)
{
    fail_rename_in = fail_fsync_in = -1;
    return 0;
}

static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    otter_err err;
    char *buf = NULL;
    size_t len;
    assert_otter_ok(otter_file_read_all(path, 1 << 20, &buf, &len, &err), err);
    return buf;
}

static void test_state_save_failures(void **state)
{
    otter_err err;
    const char *dir = otter_test_dir("fail_state");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state.json", dir);
    otter_state *s = otter_state_new();
    assert_otter_ok(otter_state_feedback_push(s, "1", "success", "", 1, &err), err);
    assert_otter_ok(otter_state_save(s, path, &err), err);
    char *before = slurp(path);
    assert_otter_ok(otter_state_feedback_push(s, "2", "failure", "disk", 2, &err), err);
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            fail_rename_in = 0;
        else
            fail_fsync_in = 0;
        assert_otter_error(otter_state_save(s, path, &err), err, OTTER_EIO,
                           i == 0 ? "failed: Input/output error" : "fsync failed");
        char *after = slurp(path);
        assert_string_equal(before, after);
        free(after);
        assert_int_equal(entries(dir), 1); /* no temp file left */
    }
    free(before);
    otter_state_free(s);
}

static void test_boot_and_rollback_failures(void **state)
{
    otter_err err;
    const char *dir = otter_test_dir("fail_boot");
    char env[PATH_MAX], counter[PATH_MAX];
    snprintf(env, sizeof env, "%s/bootenv", dir);
    snprintf(counter, sizeof counter, "%s/rollback", dir);
    otter_boot *b = NULL;
    assert_otter_ok(otter_boot_open("file", env, &b, &err), err);
    otter_bootvars v;
    assert_otter_ok(otter_boot_read_vars(b, 3, &v, &err), err);
    assert_otter_ok(otter_boot_write_vars(b, &v, &err), err);
    otter_bootchooser_activate(&v, OTTER_SLOT_B, 3);
    fail_fsync_in = 0;
    assert_otter_error(otter_boot_write_vars(b, &v, &err), err, OTTER_EIO, "fsync failed");
    otter_bootvars now;
    assert_otter_ok(otter_boot_read_vars(b, 3, &now, &err), err);
    assert_int_equal(now.order[0], OTTER_SLOT_A); /* the old set, whole */
    otter_boot_free(b);

    otter_rollback *r = NULL;
    assert_otter_ok(otter_rollback_open("file", counter, &r, &err), err);
    assert_otter_ok(otter_rollback_raise(r, 3, &err), err);
    fail_rename_in = 0;
    assert_otter_error(otter_rollback_raise(r, 9, &err), err, OTTER_EIO, "rename to");
    uint64_t c = 0;
    assert_otter_ok(otter_rollback_get(r, &c, &err), err);
    assert_int_equal(c, 3);
    otter_rollback_free(r);
    assert_int_equal(entries(dir), 2);
}

static void test_handler_finish_failures(void **state)
{
    otter_err err;
    const char *dir = otter_test_dir("fail_handlers");
    char raw[PATH_MAX], file[PATH_MAX];
    snprintf(raw, sizeof raw, "%s/rootfs-b.img", dir);
    snprintf(file, sizeof file, "%s/app.bin", dir);
    static char img[10000];
    memset(img, 'x', sizeof img);

    /* raw: the body's fsync fails; the slot must not keep a valid-looking image. */
    otter_handler *h = NULL;
    assert_otter_ok(otter_file_write_atomic(raw, "", 0, 0600, &err), err);
    assert_otter_ok(otter_handler_open("raw", raw, sizeof img, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, img, sizeof img, &err), err);
    fail_fsync_in = 0;
    assert_otter_error(otter_handler_finish(h, &err), err, OTTER_EIO, "raw handler: ");
    char *after = slurp(raw);
    assert_string_equal(after, "");
    free(after);

    /* file: the rename fails; the old file stays and the temp file goes. */
    assert_otter_ok(otter_file_write_atomic(file, "old", 3, 0644, &err), err);
    assert_otter_ok(otter_handler_open("file", file, 3, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, "new", 3, &err), err);
    fail_rename_in = 0;
    assert_otter_error(otter_handler_finish(h, &err), err, OTTER_EIO, "rename to");
    after = slurp(file);
    assert_string_equal(after, "old");
    free(after);
    assert_int_equal(entries(dir), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_state_save_failures, reset),
        cmocka_unit_test_setup(test_boot_and_rollback_failures, reset),
        cmocka_unit_test_setup(test_handler_finish_failures, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
