/* SPDX-License-Identifier: Apache-2.0 */
/* Content-addressed artifact files: hashes as DDI wants them, atomic commit, no leftovers. */
#include "otter_test.h"
#include "otter_artifact.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".upload-", 8) == 0;
    closedir(d);
    return n;
}

static void test_commit(void **state)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", otter_test_dir("artifact_commit"));
    otter_err err;
    otter_artifact_sink *s = NULL;
    otter_artifact_hashes h;
    assert_otter_ok(otter_artifact_sink_new(dir, &s, &err), err);
    assert_int_equal(entries(dir), 1); /* the temporary file */
    assert_otter_ok(otter_artifact_sink_write(s, "ab", 2), err);
    assert_otter_ok(otter_artifact_sink_write(s, "c", 1), err);
    assert_otter_ok(otter_artifact_sink_finish(s, &h, &err), err);
    assert_int_equal(h.size, 3);
    assert_string_equal(h.sha256,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(h.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_string_equal(h.md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_otter_ok(otter_artifact_sink_commit(s, &err), err);
    otter_artifact_sink_free(s);
    char path[PATH_MAX + 80];
    assert_otter_ok(otter_artifact_path(dir, h.sha256, path, sizeof path, &err), err);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 3);
    assert_int_equal(entries(dir), 1); /* only the artifact */
    assert_otter_ok(otter_artifact_remove(dir, h.sha256, &err), err);
    assert_otter_ok(otter_artifact_remove(dir, h.sha256, &err), err); /* gone is fine */
    assert_int_equal(entries(dir), 0);
}

static void test_abandon_and_paths(void **state)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", otter_test_dir("artifact_abandon"));
    otter_err err;
    otter_artifact_sink *s = NULL;
    assert_otter_ok(otter_artifact_sink_new(dir, &s, &err), err);
    assert_otter_ok(otter_artifact_sink_write(s, "x", 1), err);
    otter_artifact_sink_free(s); /* a refused or aborted upload */
    assert_int_equal(entries(dir), 0);
    otter_artifact_sink_free(NULL);
    char path[PATH_MAX + 80];
    assert_otter_error(otter_artifact_path(dir, "../../etc/passwd", path, sizeof path, &err), err,
                       OTTER_EUSAGE, "not a SHA-256");
    assert_otter_error(otter_artifact_path(dir,
                                           "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB4"
                                           "10FF61F20015AD",
                                           path, sizeof path, &err),
                       err, OTTER_EUSAGE, "not a SHA-256");
    assert_otter_error(otter_artifact_sink_new("/nonexistent/dir", &s, &err), err, OTTER_EIO,
                       "temporary file");
    assert_null(s);
}

static void test_sweep(void **state)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", otter_test_dir("artifact_sweep"));
    otter_err err;
    unsigned n = 99;
    const char *names[] = {".upload-old", ".upload-new", "keep-me"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    snprintf(path, sizeof path, "touch -d '2 days ago' '%s/.upload-old' '%s/keep-me'", dir, dir);
    assert_int_equal(system(path), 0);
    assert_otter_ok(otter_artifact_sweep(dir, time(NULL), 24 * 3600, &n, &err), err);
    assert_int_equal(n, 1);
    assert_int_equal(entries(dir), 2); /* the young upload and the non-upload stay */
    assert_otter_error(otter_artifact_sweep("/nonexistent", 0, 0, &n, &err), err, OTTER_EIO,
                       "reading");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit),
        cmocka_unit_test(test_abandon_and_paths),
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
