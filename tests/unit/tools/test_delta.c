/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otter delta` and what `otter inspect` says about its output, through the
 * real binary: keys, root, two packages, the delta, its check against the
 * old image; an untrusted input writes nothing.
 */
#include "otter_test.h"

#include <sys/wait.h>

static char dir[PATH_MAX];

/* Runs a shell command in dir; returns its exit status, output in out (may be NULL). */
static int run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && OTTER=%s && ", dir, OTTER_BIN);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = 0;
    char sink[4096];
    char *buf = out ? out : sink;
    size_t size = out ? cap : sizeof sink;
    for (size_t r; (r = fread(buf + got, 1, size - 1 - got, p)) > 0;) {
        got += r;
        if (got == size - 1) {
            if (out)
                break;
            got = 0; /* no one reads it: keep draining */
        }
    }
    buf[got] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_image(const char *name, size_t len, unsigned seed, size_t flip_at)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t x = seed;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        int c = (x >> 20) & 0x1f;
        fputc(i == flip_at ? c ^ 0x40 : c, f);
    }
    fclose(f);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "%s", otter_test_dir("tool-delta"));
    char out[8192];
    write_image("old.img", 300000, 1, (size_t)-1);
    write_image("new.img", 300000, 1, 200000); /* one byte changed in chunk 3 */
    if (run(out, sizeof out,
            "$OTTER keygen --type ed25519 --out rel && $OTTER keygen --type ed25519 --out other "
            "&& $OTTER root new --pubkey rel.pub --threshold 1 -o root.json && "
            "$OTTER pack -p p -c m -V 1.0 -s 1 -i rootfs=old.img -C 64KiB -k rel.key -o old.zip && "
            "$OTTER pack -p p -c m -V 1.1 -s 1 -i rootfs=new.img -C 64KiB -k rel.key -o new.zip && "
            "$OTTER pack -p p -c m -V 1.0 -s 1 -i rootfs=old.img -C 64KiB -k other.key -o "
            "foreign.zip") != 0) {
        fprintf(stderr, "%s\n", out);
        return -1;
    }
    return 0;
}

static void test_delta_made_and_inspected(void **state)
{
    char out[16384];
    assert_int_equal(run(out, sizeof out,
                         "$OTTER delta --from old.zip --to new.zip --root root.json --key rel.key "
                         "--level 3 --threads 2 -o delta.zip"),
                     0);
    assert_non_null(strstr(out, "delta.zip: 1 of 1 image as deltas from 1.0, "));
    /* checked against its base: every chunk and the image digest */
    assert_int_equal(run(out, sizeof out,
                         "$OTTER inspect delta.zip --source rootfs=old.img "
                         "--full new.zip"),
                     0);
    assert_non_null(strstr(out, "delta from:       1.0"));
    assert_non_null(strstr(out, "(matches)"));
    assert_non_null(strstr(out, "copy            4 chunks  234464 bytes installed, 0 stored"));
    assert_non_null(strstr(out, "saved "));
    assert_non_null(strstr(out, "against the full image's stored"));
    /* without the base the bytes cannot be checked, and it says so */
    assert_int_equal(run(out, sizeof out, "$OTTER inspect delta.zip"), 0);
    assert_non_null(strstr(out, "not checked: a delta image needs --source"));
    /* with the wrong base it is refused */
    assert_int_equal(run(out, sizeof out, "$OTTER inspect delta.zip --source rootfs=new.img"), 1);
    assert_non_null(strstr(out, "source mismatch"));
    /* the JSON form carries the method mix */
    assert_int_equal(run(out, sizeof out, "$OTTER inspect --json delta.zip"), 0);
    assert_non_null(strstr(out, "\"base_size\": 300000"));
}

/* `otter verify --source`: a delta is checked against its base like a device does. */
static void test_delta_verified_against_its_base(void **state)
{
    char out[8192];
    assert_int_equal(run(NULL, 0, "test -s delta.zip"), 0); /* made by the test above */
    assert_int_equal(
        run(out, sizeof out, "$OTTER verify delta.zip --trust root.json --source rootfs=old.img"),
        0);
    assert_non_null(strstr(out, "delta.zip: OK: p 1.1 "));
    assert_non_null(strstr(out, "image rootfs is a delta from 1.0: checked against old.img"));
    /* without its base a delta image cannot be checked: it says which option is missing */
    assert_int_equal(run(out, sizeof out, "$OTTER verify delta.zip --trust root.json"), 2);
    assert_non_null(strstr(out, "image rootfs is a delta from 1.0: give its base with --source "
                                "rootfs=PATH"));
    /* another base: refused before any chunk */
    assert_int_equal(
        run(out, sizeof out, "$OTTER verify delta.zip --trust root.json --source rootfs=new.img"),
        1);
    assert_non_null(strstr(out, "source mismatch"));
    assert_int_equal(run(out, sizeof out, "$OTTER verify delta.zip --trust root.json --source x"),
                     2);
    assert_non_null(strstr(out, "--source: expected IMAGE=PATH"));
}

static void test_untrusted_input_writes_nothing(void **state)
{
    char out[8192];
    assert_int_equal(run(out, sizeof out,
                         "$OTTER delta --from foreign.zip --to new.zip --root root.json "
                         "-o refused.zip"),
                     1);
    assert_non_null(strstr(out, "foreign.zip: manifest.sig"));
    assert_int_equal(run(NULL, 0, "test ! -e refused.zip && ! ls refused.zip.* >/dev/null"), 0);
}

static void test_usage(void **state)
{
    char out[8192];
    assert_int_equal(run(out, sizeof out, "$OTTER delta --help"), 0);
    assert_non_null(strstr(out, "usage: otter delta --from OLD.zip --to NEW.zip"));
    assert_int_equal(run(out, sizeof out, "$OTTER delta --from old.zip -o x.zip"), 2);
    assert_non_null(strstr(out, "--from, --to and -o are required"));
    assert_int_equal(run(out, sizeof out, "$OTTER delta --from old.zip --to new.zip -o x.zip"), 2);
    assert_non_null(strstr(out, "give either --root or --pubkey"));
    assert_int_equal(
        run(out, sizeof out, "$OTTER delta --methods copy,xz --from old.zip --to new.zip -o x.zip"),
        2);
    assert_non_null(strstr(out, "--methods: \"xz\" is not copy, zstd-patch, bsdiff"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_made_and_inspected),
        cmocka_unit_test(test_delta_verified_against_its_base),
        cmocka_unit_test(test_untrusted_input_writes_nothing),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
