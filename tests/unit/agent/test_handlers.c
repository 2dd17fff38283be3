/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"

#include <dirent.h>
#include "otter_file.h"
#include "otter_handler.h"
#include "tar_build.h"

#include <sys/stat.h>

static char *slurp(const char *path, size_t *len)
{
    otter_err err;
    char *buf = NULL;
    assert_otter_ok(otter_file_read_all(path, 64 << 20, &buf, len, &err), err);
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Feeds buf in chunks of chunk bytes; returns the first error (after abort) or finish's result. */
static int feed(otter_handler *h, const char *buf, size_t len, size_t chunk, otter_err *err)
{
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        int ret = otter_handler_write(h, buf + off, n, err);
        if (ret) {
            otter_handler_abort(h);
            return ret;
        }
    }
    return otter_handler_finish(h, err);
}

static void test_unknown_handler(void **state)
{
    otter_err err;
    otter_handler *h = NULL;
    assert_otter_error(otter_handler_open("zip", "/x", 1, &h, &err), err, OTTER_EUSAGE,
                       "unknown slot handler 'zip'");
    assert_true(otter_handler_exists("raw"));
    assert_true(otter_handler_exists("archive"));
    assert_false(otter_handler_exists("tar"));
}

static void test_raw_file_slot(void **state)
{
    otter_err err;
    const char *dir = otter_test_dir("handler_raw");
    char slot[PATH_MAX];
    snprintf(slot, sizeof slot, "%s/slot-b.img", dir);
    assert_otter_ok(otter_file_write_atomic(slot, "OLD-IMAGE-HEADER-and-more", 25, 0600, &err),
                    err);

    enum { SIZE = 3 * 4096 + 123 };
    static char img[SIZE];
    for (size_t i = 0; i < SIZE; i++)
        img[i] = (char)(i * 7 + 1);
    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open("raw", slot, SIZE, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, img, 5000, &err), err);
    /* Mid-write: the head is still zeros, so the slot cannot look valid. */
    size_t len;
    char *mid = slurp(slot, &len);
    assert_int_equal(len, 5000);
    static const char zeros[4096];
    assert_memory_equal(mid, zeros, 4096);
    assert_memory_equal(mid + 4096, img + 4096, 5000 - 4096);
    free(mid);
    assert_otter_ok(feed(h, img + 5000, SIZE - 5000, 777, &err), err);
    char *done = slurp(slot, &len);
    assert_int_equal(len, SIZE);
    assert_memory_equal(done, img, SIZE);
    free(done);

    /* Too much, too little, and abort: the slot ends up empty each time. */
    assert_otter_ok(otter_handler_open("raw", slot, 100, &h, &err), err);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: more than the declared 100 bytes", slot);
    assert_otter_error(feed(h, img, 101, 101, &err), err, OTTER_EDIGEST, want);
    free(slurp(slot, &len));
    assert_int_equal(len, 0);

    assert_otter_ok(otter_file_write_atomic(slot, img, SIZE, 0600, &err), err);
    assert_otter_ok(otter_handler_open("raw", slot, SIZE, &h, &err), err);
    snprintf(want, sizeof want, "%s: got 8192 of the declared %d bytes", slot, SIZE);
    assert_otter_error(feed(h, img, 8192, 4096, &err), err, OTTER_EDIGEST, want);
    free(slurp(slot, &len));
    assert_int_equal(len, 0);

    assert_otter_ok(otter_handler_open("raw", slot, SIZE, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, img, SIZE - 1, &err), err);
    otter_handler_abort(h);
    free(slurp(slot, &len));
    assert_int_equal(len, 0);

    snprintf(want, sizeof want, "raw handler: %s/missing: cannot open: No such file or directory",
             dir);
    snprintf(slot, sizeof slot, "%s/missing", dir);
    assert_otter_error(otter_handler_open("raw", slot, 1, &h, &err), err, OTTER_EIO, want);
    assert_false(exists(slot));
    snprintf(want, sizeof want, "raw handler: %s: cannot open: Is a directory", dir);
    assert_otter_error(otter_handler_open("raw", dir, 1, &h, &err), err, OTTER_EIO, want);
    assert_otter_error(otter_handler_open("raw", "/dev/null", 1, &h, &err), err, OTTER_EUSAGE,
                       "raw handler: /dev/null: not a block device or regular file");
}

/* Temp files of the file handler beside app.bin ("app.bin.tmp.*"). */
static int temps(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "app.bin.tmp.", 12) == 0;
    closedir(d);
    return n;
}

static void test_file_handler_atomic(void **state)
{
    otter_err err;
    const char *dir = otter_test_dir("handler_file");
    char slot[PATH_MAX];
    snprintf(slot, sizeof slot, "%s/app.bin", dir);
    assert_otter_ok(otter_file_write_atomic(slot, "old", 3, 0644, &err), err);

    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open("file", slot, 9, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, "new", 3, &err), err);
    size_t len;
    char *cur = slurp(slot, &len);
    assert_string_equal(cur, "old"); /* untouched until finish */
    free(cur);
    assert_int_equal(temps(dir), 1);
    assert_otter_ok(feed(h, "content", 6, 4, &err), err);
    cur = slurp(slot, &len);
    assert_string_equal(cur, "newconten");
    free(cur);
    assert_int_equal(temps(dir), 0);

    assert_otter_ok(otter_handler_open("file", slot, 9, &h, &err), err);
    assert_otter_ok(otter_handler_write(h, "half", 4, &err), err);
    otter_handler_abort(h);
    cur = slurp(slot, &len);
    assert_string_equal(cur, "newconten");
    free(cur);
    assert_int_equal(temps(dir), 0);
}

static void test_file_handler_ignores_planted_link(void **state)
{
    /* A link at the temp name the handler used to take ("<slot>.tmp.<pid>"):
     * the install still works and the link's target is never written. */
    otter_err err;
    const char *dir = otter_test_dir("handler_file_link");
    char slot[PATH_MAX], victim[PATH_MAX], planted[PATH_MAX + 32];
    snprintf(slot, sizeof slot, "%s/app.bin", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(planted, sizeof planted, "%s.tmp.%ld", slot, (long)getpid());
    assert_otter_ok(otter_file_write_atomic(victim, "keep", 4, 0644, &err), err);
    assert_int_equal(symlink(victim, planted), 0);
    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open("file", slot, 3, &h, &err), err);
    assert_otter_ok(feed(h, "new", 3, 3, &err), err);
    size_t len;
    char *cur = slurp(victim, &len);
    assert_string_equal(cur, "keep");
    free(cur);
    cur = slurp(slot, &len);
    assert_string_equal(cur, "new");
    free(cur);
}

/* Builds the tars once per run (hostile ones included). */
static const char *tars(void)
{
    static char dir[PATH_MAX];
    if (dir[0])
        return dir;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("handler_tars"));
    if (tar_build_all(dir) != 0)
        fail_msg("cannot build the test tars in %s", dir);
    return dir;
}

static int extract(const char *tar, const char *slot, size_t chunk, otter_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tars(), tar);
    size_t len;
    char *buf = slurp(path, &len);
    otter_handler *h = NULL;
    int ret = otter_handler_open("archive", slot, len, &h, err);
    if (ret == 0)
        ret = feed(h, buf, len, chunk, err);
    free(buf);
    return ret;
}

static void test_archive_good(void **state)
{
    otter_err err;
    const char *base = otter_test_dir("handler_archive");
    char slot[PATH_MAX], p[PATH_MAX + 64];
    snprintf(slot, sizeof slot, "%s/slot-b", base);
    mkdir(slot, 0755);
    snprintf(p, sizeof p, "%s/stale", slot);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/stale/old-file", slot);
    assert_otter_ok(otter_file_write_atomic(p, "old", 3, 0644, &err), err);

    assert_otter_ok(extract("good.tar", slot, 1000, &err), err);
    snprintf(p, sizeof p, "%s/stale", slot);
    assert_false(exists(p)); /* cleared first */
    size_t len;
    snprintf(p, sizeof p, "%s/etc/hostname", slot);
    char *s = slurp(p, &len);
    assert_string_equal(s, "gateway\n");
    free(s);
    snprintf(p, sizeof p, "%s/etc/up", slot); /* relative symlink inside the slot */
    s = slurp(p, &len);
    assert_string_equal(s, "#!/bin/sh\necho hi\n");
    free(s);
    struct stat st, st2;
    snprintf(p, sizeof p, "%s/bin/tool", slot);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    snprintf(p, sizeof p, "%s/bin/tool-hard", slot);
    assert_int_equal(stat(p, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    snprintf(p, sizeof p, "%s/data/big.bin", slot);
    s = slurp(p, &len);
    assert_int_equal(len, 5 << 20);
    assert_int_equal((unsigned char)s[len - 1], 255);
    free(s);
}

static void expect_hostile(const char *tar, const char *want_tail)
{
    otter_err err;
    const char *base = otter_test_dir("handler_hostile");
    char slot[PATH_MAX], real[PATH_MAX], p[PATH_MAX + 64];
    snprintf(slot, sizeof slot, "%s/a/b/slot", base);
    snprintf(p, sizeof p, "mkdir -p '%s' '%s/a/b/outside'", slot, base);
    assert_int_equal(system(p), 0);
    assert_non_null(realpath(slot, real));
    int ret = extract(tar, slot, 512, &err);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "archive handler: %s: %s", real, want_tail);
    if (ret != OTTER_EFORMAT || strcmp(err.msg, want) != 0)
        fail_msg("%s: expected \"%s\", got %d \"%s\"", tar, want, ret, err.msg);
    /* Nothing escaped, and the aborted slot is empty. */
    snprintf(p, sizeof p, "%s/a/b/evil", base);
    assert_false(exists(p));
    snprintf(p, sizeof p, "%s/a/evil", base);
    assert_false(exists(p));
    assert_false(exists("/tmp/otter-evil"));
    snprintf(p, sizeof p, "test -z \"$(ls -A '%s')\" && test -z \"$(ls -A '%s/a/b/outside')\"",
             slot, base);
    assert_int_equal(system(p), 0);
}

static void test_archive_hostile(void **state)
{
    expect_hostile("abs.tar", "tar entry '/tmp/otter-evil': absolute path refused");
    expect_hostile("dotdot.tar", "tar entry '../evil': '..' in path refused");
    expect_hostile("dotdot-deep.tar", "tar entry 'a/../../evil': '..' in path refused");
    expect_hostile("sym-up.tar",
                   "tar entry 'a/escape': symlink to '../../outside' leaves the slot");
    expect_hostile("hard-up.tar",
                   "tar entry 'victim': tar entry '../outside': '..' in hardlink target refused");
    expect_hostile("hard-abs.tar",
                   "tar entry 'victim': tar entry '/etc/passwd': absolute hardlink target refused");
    expect_hostile("hard-to-sym.tar", "tar entry 'top': hardlink to symlink 'a/b/link' refused");
    expect_hostile("device.tar",
                   "tar entry 'dev/null': only files, directories and links are allowed");
    expect_hostile("fifo.tar", "tar entry 'pipe': only files, directories and links are allowed");
    expect_hostile("garbage.tar", "not a tar stream: Unrecognized archive format");
}

static void test_archive_absolute_symlink_kept(void **state)
{
    /* Real root file systems have them (/etc/localtime -> /usr/share/...). */
    otter_err err;
    const char *base = otter_test_dir("handler_abs_link");
    char slot[PATH_MAX], link[PATH_MAX + 16], target[PATH_MAX];
    snprintf(slot, sizeof slot, "%s/slot", base);
    mkdir(slot, 0755);
    assert_int_equal(extract("sym-abs.tar", slot, 512, &err), 0);
    snprintf(link, sizeof link, "%s/etc/passwd", slot);
    ssize_t n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, "/etc/passwd");
}

static void test_archive_through_symlink(void **state)
{
    otter_err err;
    const char *base = otter_test_dir("handler_through");
    char slot[PATH_MAX];
    snprintf(slot, sizeof slot, "%s/slot", base);
    mkdir(slot, 0755);
    /* libarchive's SECURE_SYMLINKS is the layer that catches this one. */
    assert_otter_error(extract("through-link.tar", slot, 4096, &err), err, OTTER_EFORMAT,
                       "tar entry 'link/file': Cannot extract through symlink");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_handler),
        cmocka_unit_test(test_raw_file_slot),
        cmocka_unit_test(test_file_handler_atomic),
        cmocka_unit_test(test_file_handler_ignores_planted_link),
        cmocka_unit_test(test_archive_good),
        cmocka_unit_test(test_archive_hostile),
        cmocka_unit_test(test_archive_through_symlink),
        cmocka_unit_test(test_archive_absolute_symlink_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
