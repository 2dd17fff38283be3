/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory stays constant whatever the image size: 256 MiB go through the raw
 * and archive handlers in 64 KiB chunks while the peak RSS may grow by a
 * small fraction of that. The tar stream is produced on the fly by
 * libarchive's writer, whose output callback feeds the handler. ru_maxrss
 * is the peak of the whole process so far, so each case runs in a child
 * process of its own: a case after another would measure its growth above
 * the other's peak, and any growth below that peak would go unseen.
 */
#include "otter_test.h"
#include "otter_handler.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (256u << 20)
#define CHUNK 65536
#define RSS_SLACK_KB (40 * 1024) /* well below BIG: proves streaming, tolerates ASan */

static long peak_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 31 + seed);
}

static void test_raw_big(void **state)
{
    otter_err err;
    char slot[PATH_MAX];
    snprintf(slot, sizeof slot, "%s/big.img", otter_test_dir("big_raw"));
    static unsigned char chunk[CHUNK];
    FILE *create = fopen(slot, "w"); /* raw never creates its slot */
    assert_non_null(create);
    fclose(create);
    long before = peak_kb();
    otter_handler *h = NULL;
    assert_otter_ok(otter_handler_open("raw", slot, BIG, &h, &err), err);
    for (unsigned i = 0; i < BIG / CHUNK; i++) {
        fill(chunk, CHUNK, i);
        assert_otter_ok(otter_handler_write(h, chunk, CHUNK, &err), err);
    }
    assert_otter_ok(otter_handler_finish(h, &err), err);
    long grew = peak_kb() - before;
    if (grew > RSS_SLACK_KB)
        fail_msg("peak RSS grew by %ld KiB for a %u MiB image", grew, BIG >> 20);
    struct stat st;
    assert_int_equal(stat(slot, &st), 0);
    assert_int_equal(st.st_size, BIG);
    unlink(slot);
}

struct feed {
    otter_handler *h;
    otter_err err;
    int failed;
};

static la_ssize_t to_handler(struct archive *a, void *user, const void *buf, size_t len)
{
    struct feed *f = user;
    if (otter_handler_write(f->h, buf, len, &f->err) != 0) {
        f->failed = 1;
        return -1;
    }
    return (la_ssize_t)len;
}

static void test_archive_big(void **state)
{
    char slot[PATH_MAX], path[PATH_MAX + 32];
    snprintf(slot, sizeof slot, "%s/slot", otter_test_dir("big_archive"));
    assert_int_equal(mkdir(slot, 0755), 0);
    /* ustar, 512-byte blocks: header + data + two end blocks, nothing else. */
    const uint64_t total = 512 + BIG + 1024;
    struct feed f = {0};
    assert_otter_ok(otter_handler_open("archive", slot, total, &f.h, &f.err), f.err);
    long before = peak_kb();

    struct archive *a = archive_write_new();
    archive_write_set_format_ustar(a);
    archive_write_set_bytes_per_block(a, 512);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open(a, &f, NULL, to_handler, NULL), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data/big.bin");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, BIG);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    static unsigned char chunk[CHUNK];
    for (unsigned i = 0; i < BIG / CHUNK; i++) {
        fill(chunk, CHUNK, i);
        if (archive_write_data(a, chunk, CHUNK) != CHUNK)
            fail_msg("tar writer: %s / handler: %s", archive_error_string(a), f.err.msg);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    assert_false(f.failed);
    assert_otter_ok(otter_handler_finish(f.h, &f.err), f.err);
    long grew = peak_kb() - before;
    if (grew > RSS_SLACK_KB)
        fail_msg("peak RSS grew by %ld KiB for a %u MiB archive", grew, BIG >> 20);
    snprintf(path, sizeof path, "%s/data/big.bin", slot);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, BIG);
    unlink(path);
}

/* Runs test alone in a forked child (its own ru_maxrss); returns its cmocka status. */
static int run_alone(const struct CMUnitTest *tests, size_t n, size_t i)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        cmocka_set_test_filter(tests[i].name);
        _exit(_cmocka_run_group_tests(tests[i].name, tests, n, NULL, NULL) ? 1 : 0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
        fprintf(stderr, "%s: the child died (status %d)\n", tests[i].name, st);
        return 1;
    }
    return WEXITSTATUS(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_big),
        cmocka_unit_test(test_archive_big),
    };
    size_t n = sizeof tests / sizeof tests[0];
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += run_alone(tests, n, i) != 0;
    return failed ? 1 : 0;
}
