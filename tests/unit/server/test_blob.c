/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifacts through the database (otter_blob.h, otter_store_blobs.h) on
 * both engines: a server's upload lands in the store in chunks; another
 * server's empty directory gets the very same file from it; bytes that do
 * not hash to their name are never given that name; nothing is left over.
 */
#include "otter_test.h"
#include "otter_artifact.h"
#include "otter_blob.h"
#include "store_test.h"

#include <dirent.h>

/* Files in dir, temporary ones included. */
static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* An artifact of n pseudo-random bytes committed into dir; its SHA-256 into sha. */
static void make_artifact(const char *dir, size_t n, char sha[65])
{
    otter_err err;
    otter_artifact_sink *s = NULL;
    otter_artifact_hashes h;
    unsigned char buf[4096];
    uint32_t x = 12345;
    assert_otter_ok(otter_artifact_sink_new(dir, &s, &err), err);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof buf ? n - done : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
        assert_otter_ok(otter_artifact_sink_write(s, buf, k), err);
        done += k;
    }
    assert_otter_ok(otter_artifact_sink_finish(s, &h, &err), err);
    assert_otter_ok(otter_artifact_sink_commit(s, &err), err);
    otter_artifact_sink_free(s);
    memcpy(sha, h.sha256, 65);
}

static void same_file(const char *a, const char *b)
{
    char cmd[2 * PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    assert_int_equal(system(cmd), 0);
}

static void test_put_and_fill(void **state)
{
    (void)state;
    otter_err err;
    char one[PATH_MAX], two[PATH_MAX], sha[65], a[PATH_MAX + 80], b[PATH_MAX + 80];
    snprintf(one, sizeof one, "%s", otter_test_dir("blob_one"));
    snprintf(two, sizeof two, "%s", otter_test_dir("blob_two"));
    otter_store *s = otter_test_store_fresh("blob_fill");
    /* Two and a half chunks: the last one short. */
    make_artifact(one, 2 * OTTER_BLOB_CHUNK + OTTER_BLOB_CHUNK / 2, sha);
    assert_otter_ok(otter_blob_put(s, one, sha, 100, &err), err);
    int64_t size = 0, chunks = 0;
    int found = 0;
    assert_otter_ok(otter_store_blob_get(s, sha, &size, &chunks, &found, &err), err);
    assert_true(found);
    assert_int_equal(size, 2 * OTTER_BLOB_CHUNK + OTTER_BLOB_CHUNK / 2);
    assert_int_equal(chunks, 3);
    /* The same bytes again (another release): stored once, no error. */
    assert_otter_ok(otter_blob_put(s, one, sha, 200, &err), err);
    /* The other server: an empty directory, filled on the first miss. */
    assert_otter_ok(otter_blob_local(s, two, sha, &err), err);
    snprintf(a, sizeof a, "%s/%s", one, sha);
    snprintf(b, sizeof b, "%s/%s", two, sha);
    same_file(a, b);
    assert_int_equal(entries(two), 1);
    assert_otter_ok(otter_blob_local(s, two, sha, &err), err); /* a hit: nothing to do */
    /* Gone from the store: an empty directory stays empty. */
    assert_otter_ok(otter_store_blob_delete(s, sha, &err), err);
    assert_otter_ok(otter_store_blob_get(s, sha, &size, &chunks, &found, &err), err);
    assert_false(found);
    snprintf(two, sizeof two, "%s", otter_test_dir("blob_three"));
    assert_otter_error(otter_blob_local(s, two, sha, &err), err, OTTER_ESTATE,
                       "nor in the database");
    assert_int_equal(entries(two), 0);
    otter_store_free(s);
}

static void test_wrong_bytes_never_named(void **state)
{
    (void)state;
    otter_err err;
    char dir[PATH_MAX];
    int exists = 1;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("blob_dir_bad"));
    otter_store *s = otter_test_store_fresh("blob_bad");
    /* Rows that claim SHA-256 0...0 for "abc", and a blob with a chunk missing. */
    const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
    const char *ones = "1111111111111111111111111111111111111111111111111111111111111111";
    assert_otter_ok(otter_store_blob_begin(s, zero, 3, 1, 1, &exists, &err), err);
    assert_false(exists);
    assert_otter_ok(otter_store_blob_chunk_put(s, zero, 0, "YWJj", &err), err);
    assert_otter_error(otter_blob_local(s, dir, zero, &err), err, OTTER_EDIGEST, "not used");
    assert_otter_ok(otter_store_blob_begin(s, ones, 6, 2, 1, &exists, &err), err);
    assert_otter_ok(otter_store_blob_chunk_put(s, ones, 0, "YWJj", &err), err);
    assert_otter_error(otter_blob_local(s, dir, ones, &err), err, OTTER_EDIGEST,
                       "chunk 1 is missing");
    assert_otter_ok(otter_store_blob_begin(s, zero, 3, 1, 1, &exists, &err), err);
    assert_true(exists);
    assert_int_equal(entries(dir), 0); /* no file named, no temporary file left */
    otter_store_free(s);
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_fill),
        cmocka_unit_test(test_wrong_bytes_never_named),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
