/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta images end to end: two real signed packages, otter_delta_make, and
 * the device's reader with the old image as source. For every pair shape
 * (identical, appended, inserted, shuffled, unrelated, empty, 1 byte) the
 * installed bytes equal the new image byte for byte; a tampered delta
 * chunk never reaches the caller, and a wrong or missing source is refused
 * before the first chunk.
 */
#include "otter_test.h"
#include "pkg_fixture.h"

#include "otter_delta_make.h"

#include <fcntl.h>

#define SPAN (64 * 1024)

static otter_key *key;
static otter_trust *trust;
static char dir[PATH_MAX];

static int setup(void **state)
{
    otter_err err;
    if (otter_key_generate("ed25519", &key, &err) != 0)
        return -1;
    trust = fx_trust(&key, 1, 1);
    snprintf(dir, sizeof dir, "%s", otter_test_dir("delta-roundtrip"));
    return 0;
}

static int teardown(void **state)
{
    otter_key_free(key);
    otter_trust_free(trust);
    return 0;
}

/* Binary-like bytes: a small alphabet with runs, so zstd and the diff both have work. */
static void gen(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 7;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (x & 0x300) ? (uint8_t)(x >> 24) & 0x3f : 0;
    }
}

static void pack(const char *out, const char *version, const char *img_path, const char *handler)
{
    const char *models[] = {"m"};
    otter_pkg_input in = {.name = "rootfs", .path = img_path, .handler = handler, .compress = 1};
    const otter_key *keys[] = {key};
    otter_pkg_write_opts wo = {.product = "p",
                               .compatible = models,
                               .compatible_count = 1,
                               .version = version,
                               .security_version = 1,
                               .level = 3,
                               .threads = 1,
                               .chunk_size = SPAN,
                               .keys = keys,
                               .key_count = 1};
    otter_err err;
    assert_otter_ok(otter_pkg_write(out, &wo, &in, 1, &err), err);
}

static unsigned make_methods; /* otter_delta_make_opts.methods of the next deltas (0: all) */

static void make_delta(const char *old_pkg, const char *new_pkg, const char *out)
{
    const otter_key *keys[] = {key};
    otter_delta_make_opts o = {.from = old_pkg,
                               .to = new_pkg,
                               .trust = trust,
                               .keys = keys,
                               .key_count = 1,
                               .level = 3,
                               .threads = 2,
                               .methods = make_methods};
    otter_err err;
    assert_otter_ok(otter_delta_make(out, &o, &err), err);
}

/* Counts of each method in the delta's rootfs, and its stored bytes. */
typedef struct mix {
    size_t chunks[OTTER_METHOD_COUNT];
    uint64_t stored;
    int is_delta;
} mix;

/*
 * Reads pkg like a device with source_path as the source of rootfs and
 * compares every installed byte with want. Returns the method mix.
 */
static mix read_back(const char *pkg, const char *source_path, const uint8_t *want, size_t want_len,
                     unsigned flags)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    otter_err err;
    mix x = {0};
    int fd = open(source_path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_otter_ok(otter_pkg_reader_open_file(pkg, flags, &r, &err), err);
    assert_otter_ok(otter_pkg_reader_set_source(r, "rootfs", fd, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, &err), err);
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 1);
    x.is_delta = otter_manifest_image_is_delta(img);
    for (size_t i = 0; i < img->chunk_count; i++) {
        x.chunks[img->chunks[i].method]++;
        x.stored += img->chunks[i].stored_size;
    }
    size_t got = 0;
    const void *data;
    size_t len;
    int rc;
    while ((rc = otter_pkg_read_chunk(r, &data, &len, &err)) == 1) {
        assert_true(got + len <= want_len);
        assert_memory_equal(data, want + got, len);
        got += len;
    }
    assert_otter_ok(rc, err);
    assert_int_equal(got, want_len);
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 0);
    otter_pkg_reader_free(r);
    close(fd);
    return x;
}

/* Packs old and new as releases 1.0 and 2.0, makes the delta, reads it back. */
static mix round_trip(const char *name, const uint8_t *old, size_t old_len, const uint8_t *nw,
                      size_t new_len)
{
    char o[PATH_MAX], n[PATH_MAX], op[PATH_MAX], np[PATH_MAX], dp[PATH_MAX];
    snprintf(o, sizeof o, "%s/%s.old.img", dir, name);
    snprintf(n, sizeof n, "%s/%s.new.img", dir, name);
    snprintf(op, sizeof op, "%s/%s.old.zip", dir, name);
    snprintf(np, sizeof np, "%s/%s.new.zip", dir, name);
    snprintf(dp, sizeof dp, "%s/%s.delta.zip", dir, name);
    fx_spit(o, old, old_len);
    fx_spit(n, nw, new_len);
    pack(op, "1.0", o, "raw");
    pack(np, "2.0", n, "raw");
    make_delta(op, np, dp);
    mix x = read_back(dp, o, nw, new_len, OTTER_PKG_HASH_THREAD);
    mix y = read_back(dp, o, nw, new_len, 0); /* checked inline, no worker thread */
    assert_memory_equal(&x, &y, sizeof x);
    return x;
}

#define LEN (10 * SPAN + 1234)

static void test_identical_is_all_copies(void **state)
{
    uint8_t *a = malloc(LEN);
    gen(a, LEN, 1);
    mix x = round_trip("identical", a, LEN, a, LEN);
    assert_true(x.is_delta);
    assert_int_equal(x.chunks[OTTER_METHOD_COPY], 11);
    assert_int_equal(x.stored, 0);
    free(a);
}

static void test_appended(void **state)
{
    uint8_t *a = malloc(LEN + 3 * SPAN);
    gen(a, LEN + 3 * SPAN, 2);
    mix x = round_trip("appended", a, LEN, a, LEN + 3 * SPAN);
    /* the first ten chunks are unchanged */
    assert_true(x.chunks[OTTER_METHOD_COPY] >= 10);
    free(a);
}

static void test_inserted_shifts_everything(void **state)
{
    uint8_t *a = malloc(LEN), *b = malloc(LEN + 7);
    gen(a, LEN, 3);
    memcpy(b, a, 100);
    memcpy(b + 100, "INSERT!", 7);
    memcpy(b + 107, a + 100, LEN - 100);
    mix x = round_trip("inserted", a, LEN, b, LEN + 7);
    /* every chunk moved by 7 bytes: no copy, but patches far below a full image */
    assert_int_equal(x.chunks[OTTER_METHOD_ZSTD], 0);
    assert_true(x.stored < LEN / 50);
    free(a);
    free(b);
}

static void test_shuffled_blocks(void **state)
{
    enum { BLK = 16 * 1024, NB = 40, GROUP = 8 };
    uint8_t *a = malloc(NB * BLK), *b = malloc(NB * BLK);
    gen(a, NB * BLK, 4);
    /* whole chunks permuted across the image: each found and copied */
    for (size_t i = 0; i < NB / 4; i++)
        memcpy(b + i * SPAN, a + ((i * 3 + 1) % (NB / 4)) * SPAN, SPAN);
    mix x = round_trip("shuffled-chunks", a, NB * BLK, b, NB * BLK);
    assert_int_equal(x.chunks[OTTER_METHOD_COPY], NB / 4);
    /* 16 KiB blocks permuted within groups of eight: patches of a few triples each */
    for (size_t i = 0; i < NB; i++)
        memcpy(b + i * BLK, a + (i / GROUP * GROUP + (i * 5 + 3) % GROUP) * BLK, BLK);
    x = round_trip("shuffled-blocks", a, NB * BLK, b, NB * BLK);
    assert_int_equal(x.chunks[OTTER_METHOD_ZSTD], 0);
    assert_true(x.stored < NB * BLK / 50);
    free(a);
    free(b);
}

static void test_unrelated(void **state)
{
    uint8_t *a = malloc(LEN), *b = malloc(LEN);
    gen(a, LEN, 5);
    gen(b, LEN, 6);
    mix x = round_trip("unrelated", a, LEN, b, LEN);
    assert_int_equal(x.chunks[OTTER_METHOD_COPY], 0);
    free(a);
    free(b);
}

static void test_empty_and_one_byte(void **state)
{
    uint8_t one_a = 'a', one_b = 'b', *a = malloc(SPAN);
    gen(a, SPAN, 7);
    mix x = round_trip("empty-new", a, SPAN, a, 0); /* nothing to install: a full empty image */
    assert_false(x.is_delta);
    x = round_trip("empty-old", (const uint8_t *)"", 0, a, SPAN); /* no base: full */
    assert_false(x.is_delta);
    x = round_trip("one-byte", &one_a, 1, &one_b, 1);
    assert_true(x.is_delta);
    x = round_trip("one-byte-same", &one_a, 1, &one_a, 1);
    assert_int_equal(x.chunks[OTTER_METHOD_COPY], 1);
    free(a);
}

/*
 * Recompiled code: the same bytes with a little-endian 32-bit "address" every
 * 16 to 111 bytes moved by 0x40 (what a rebuild with one function grown does to an
 * executable). The add bytes are mostly zero with a non-zero byte at each
 * address: LZMA2's context-modelled literals code them smaller than zstd, so
 * the chunks are bsdiff-lzma (the new coder, decoded on both reader paths).
 */
/* b is a with a 32-bit field moved by 0x40 every 16 to 111 bytes (moved addresses). */
static void recompiled(uint8_t *a, uint8_t *b)
{
    gen(a, LEN, 9);
    memcpy(b, a, LEN);
    uint32_t r = 99;
    for (size_t i = 0; i + 4 <= LEN; i += 16 + (r >> 7) % 96) {
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        uint32_t v = (uint32_t)a[i] | (uint32_t)a[i + 1] << 8 | (uint32_t)a[i + 2] << 16 |
                     (uint32_t)a[i + 3] << 24;
        v += 0x40;
        for (int k = 0; k < 4; k++)
            b[i + k] = (uint8_t)(v >> (8 * k));
    }
}

static void test_recompiled_is_bsdiff_lzma(void **state)
{
    uint8_t *a = malloc(LEN), *b = malloc(LEN);
    recompiled(a, b);
    mix x = round_trip("recompiled", a, LEN, b, LEN);
    assert_true(x.is_delta);
    assert_true(x.chunks[OTTER_METHOD_BSDIFF_LZMA] >= 8);
    assert_true(x.stored < LEN / 10);
    free(a);
    free(b);
}

/*
 * Dense changes: in every 256 bytes, 32 equal ones (the matcher's anchors)
 * and 224 of which half moved by +-1 or +-2. zstd codes the bsdiff patch
 * about 3:1; LZMA2 would store it 13 % smaller (the code before this test
 * chose bsdiff-lzma for all 11 chunks), but on patches this dense it
 * decodes at a few tens of MB/s on a device, where zstd-coded bsdiff runs
 * at hundreds: LZMA2 is not tried below 4:1 (LZMA_TRY_DENSITY).
 */
static void test_dense_change_is_not_lzma(void **state)
{
    uint8_t *a = malloc(LEN), *b = malloc(LEN);
    gen(a, LEN, 11);
    uint32_t r = 77;
    for (size_t i = 0; i < LEN; i++) {
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        int keep = i % 256 < 32 || (r >> 11) % 2;
        b[i] = keep ? a[i] : (uint8_t)(a[i] + "\x01\xff\x02\xfe"[(r >> 20) % 4]);
    }
    mix x = round_trip("dense", a, LEN, b, LEN);
    assert_true(x.is_delta);
    assert_int_equal(x.chunks[OTTER_METHOD_BSDIFF_LZMA], 0);
    assert_true(x.chunks[OTTER_METHOD_BSDIFF] >= 8);
    free(a);
    free(b);
}

/*
 * Deltas for agents from before a method (--methods): the same recompiled
 * pair without bsdiff-lzma is all bsdiff, read back byte for byte; with
 * zstd-patch alone an identical image has no copy. Unknown names are
 * refused by name.
 */
static void test_methods_for_old_agents(void **state)
{
    uint8_t *a = malloc(LEN), *b = malloc(LEN);
    otter_err err;
    recompiled(a, b);
    assert_otter_ok(otter_delta_methods_parse("copy,zstd-patch,bsdiff", &make_methods, &err), err);
    mix x = round_trip("old-agents", a, LEN, b, LEN);
    assert_true(x.is_delta);
    assert_int_equal(x.chunks[OTTER_METHOD_BSDIFF_LZMA], 0);
    assert_int_equal(x.chunks[OTTER_METHOD_ZSTD_PATCH] + x.chunks[OTTER_METHOD_BSDIFF], 11);
    assert_otter_ok(otter_delta_methods_parse("copy,bsdiff", &make_methods, &err), err);
    x = round_trip("bsdiff-only", a, LEN, b, LEN);
    assert_int_equal(x.chunks[OTTER_METHOD_BSDIFF], 11);
    make_methods = 0;
    x = round_trip("all-methods", a, LEN, b, LEN);
    assert_true(x.chunks[OTTER_METHOD_BSDIFF_LZMA] >= 8);
    assert_otter_ok(otter_delta_methods_parse("zstd-patch", &make_methods, &err), err);
    x = round_trip("no-copy", a, LEN, a, LEN);
    assert_int_equal(x.chunks[OTTER_METHOD_COPY], 0);
    assert_int_equal(x.chunks[OTTER_METHOD_ZSTD_PATCH], 11);
    make_methods = 0;
    unsigned m = 0;
    assert_otter_error(otter_delta_methods_parse("copy,lzma", &m, &err), err, OTTER_EUSAGE,
                       "methods: \"lzma\" is not copy, zstd-patch, bsdiff, bsdiff-lzma or zstd");
    assert_otter_error(otter_delta_methods_parse("copy,,bsdiff", &m, &err), err, OTTER_EUSAGE,
                       "methods: \"\" is not");
    assert_otter_error(otter_delta_methods_parse("", &m, &err), err, OTTER_EUSAGE, "is not");
    free(a);
    free(b);
}

/* A delta whose chunks are all patches (a 7-byte insert near the start, one byte changed in each
 * chunk). */
static void make_inserted(char *old_img, char *delta, uint8_t **want, size_t *want_len)
{
    char op[PATH_MAX], np[PATH_MAX], n[PATH_MAX];
    uint8_t *a = malloc(LEN), *b = malloc(LEN + 7);
    gen(a, LEN, 8);
    memcpy(b, a, 50);
    memcpy(b + 50, "INSERT!", 7);
    memcpy(b + 57, a + 50, LEN - 50);
    for (size_t i = 1000; i < LEN; i += SPAN)
        b[i] ^= 0x55;
    snprintf(old_img, PATH_MAX, "%s/t.old.img", dir);
    snprintf(n, sizeof n, "%s/t.new.img", dir);
    snprintf(op, sizeof op, "%s/t.old.zip", dir);
    snprintf(np, sizeof np, "%s/t.new.zip", dir);
    snprintf(delta, PATH_MAX, "%s/t.delta.zip", dir);
    fx_spit(old_img, a, LEN);
    fx_spit(n, b, LEN + 7);
    pack(op, "1.0", old_img, "raw");
    pack(np, "2.0", n, "raw");
    make_delta(op, np, delta);
    free(a);
    *want = b;
    *want_len = LEN + 7;
}

/* Opens pkg with source_path (or none) as rootfs's source, through next_image. */
static int open_with_source(const char *pkg, const char *source_path, otter_pkg_reader **r, int *fd,
                            otter_err *err)
{
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    *fd = source_path ? open(source_path, O_RDONLY | O_CLOEXEC) : -1;
    assert_otter_ok(otter_pkg_reader_open_file(pkg, OTTER_PKG_HASH_THREAD, r, err), *err);
    if (source_path)
        assert_otter_ok(otter_pkg_reader_set_source(*r, "rootfs", *fd, err), *err);
    assert_otter_ok(otter_pkg_read_manifest(*r, trust, &m, NULL, err), *err);
    return otter_pkg_next_image(*r, &img, err);
}

static void test_tampered_chunk_never_reaches_the_caller(void **state)
{
    char old_img[PATH_MAX], delta[PATH_MAX], bad[PATH_MAX];
    uint8_t *want = NULL;
    size_t want_len = 0;
    make_inserted(old_img, delta, &want, &want_len);
    fx_entry e[4];
    size_t n = fx_unzip(delta, e, 4);
    assert_int_equal(n, 3);
    otter_manifest *m = NULL;
    otter_err err;
    assert_otter_ok(otter_manifest_parse(e[0].data, e[0].len, "m", &m, &err), err);
    const otter_manifest_chunk *c3 = &m->images[0].chunks[3];
    assert_true(c3->method == OTTER_METHOD_BSDIFF || c3->method == OTTER_METHOD_BSDIFF_LZMA ||
                c3->method == OTTER_METHOD_ZSTD_PATCH);
    ((uint8_t *)e[2].data)[c3->stored_offset + c3->stored_size / 2] ^= 0x01;
    snprintf(bad, sizeof bad, "%s/t.tampered.zip", dir);
    fx_zip(bad, e, n); /* the signed manifest is unchanged: only chunk 3's bytes differ */

    otter_pkg_reader *r = NULL;
    int fd;
    assert_int_equal(open_with_source(bad, old_img, &r, &fd, &err), 1);
    const void *data;
    size_t len, got = 0;
    int rc;
    while ((rc = otter_pkg_read_chunk(r, &data, &len, &err)) == 1) {
        assert_memory_equal(data, want + got, len);
        got += len;
    }
    assert_otter_error(rc, err, OTTER_EDIGEST, "chunk 3: stored bytes sha256 mismatch");
    assert_int_equal(got, 3 * SPAN); /* chunks 0..2 only: nothing of chunk 3 or later */
    otter_pkg_reader_free(r);
    close(fd);
    otter_manifest_free(m);
    fx_entries_free(e, n);
    free(want);
}

static void test_wrong_or_missing_source_refused(void **state)
{
    char old_img[PATH_MAX], delta[PATH_MAX], other[PATH_MAX], shorter[PATH_MAX];
    uint8_t *want = NULL, *a = malloc(LEN);
    size_t want_len = 0;
    make_inserted(old_img, delta, &want, &want_len);
    snprintf(other, sizeof other, "%s/t.other.img", dir);
    snprintf(shorter, sizeof shorter, "%s/t.short.img", dir);
    gen(a, LEN, 8);
    a[LEN / 2] ^= 1; /* one bit from the real base */
    fx_spit(other, a, LEN);
    fx_spit(shorter, a, LEN / 2);
    otter_pkg_reader *r = NULL;
    otter_err err;
    int fd;
    assert_otter_error(open_with_source(delta, other, &r, &fd, &err), err, OTTER_EDIGEST,
                       "source mismatch: the source of image rootfs is not the base of this "
                       "delta");
    assert_non_null(strstr(err.msg, "(delta from release 1.0)"));
    /* the error sticks: no chunk can be read after it */
    const void *data;
    size_t len;
    assert_int_equal(otter_pkg_read_chunk(r, &data, &len, &err), OTTER_EDIGEST);
    otter_pkg_reader_free(r);
    close(fd);
    assert_otter_error(open_with_source(delta, shorter, &r, &fd, &err), err, OTTER_EDIGEST,
                       "source mismatch");
    otter_pkg_reader_free(r);
    close(fd);
    assert_otter_error(open_with_source(delta, NULL, &r, &fd, &err), err, OTTER_EUSAGE,
                       "image rootfs is a delta from release 1.0: it needs its source");
    otter_pkg_reader_free(r);

    /* the check on its own, as the agent runs it before it touches a slot */
    const otter_manifest *m = NULL;
    assert_otter_ok(otter_pkg_reader_open_file(delta, 0, &r, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, &err), err);
    const otter_manifest_image *img = &m->images[0];
    fd = open(old_img, O_RDONLY | O_CLOEXEC);
    assert_otter_ok(otter_pkg_source_matches(fd, img->delta_base_size, img->delta_base_sha256,
                                             "active slot rootfs", &err),
                    err);
    close(fd);
    fd = open(other, O_RDONLY | O_CLOEXEC);
    assert_otter_error(otter_pkg_source_matches(fd, img->delta_base_size, img->delta_base_sha256,
                                                "active slot rootfs", &err),
                       err, OTTER_EDIGEST, "source mismatch: active slot rootfs is not the base");
    close(fd);
    otter_pkg_reader_free(r);
    free(a);
    free(want);
}

/* Packs the images (name, path, handler, compress) of one release. */
static void pack_many(const char *out, const char *version, const otter_pkg_input *in, size_t n)
{
    const char *models[] = {"m"};
    const otter_key *keys[] = {key};
    otter_pkg_write_opts wo = {.product = "p",
                               .compatible = models,
                               .compatible_count = 1,
                               .version = version,
                               .security_version = 1,
                               .level = 3,
                               .threads = 1,
                               .chunk_size = SPAN,
                               .keys = keys,
                               .key_count = 1};
    otter_err err;
    assert_otter_ok(otter_pkg_write(out, &wo, in, n, &err), err);
}

static void test_mixed_package(void **state)
{
    char p[6][PATH_MAX], op[PATH_MAX], np[PATH_MAX], dp[PATH_MAX];
    const char *names[6] = {"m.rootfs.old", "m.app.old", "m.rootfs.new",
                            "m.app.new",    "m.extra",   "m.conf.new"};
    uint8_t *a = malloc(LEN), *b = malloc(LEN), *app = malloc(3000), *app2 = malloc(3000),
            *extra = malloc(5000);
    gen(a, LEN, 9);
    memcpy(b, a, LEN);
    b[5 * SPAN + 9] ^= 0x5a;
    gen(app, 3000, 10);
    memcpy(app2, app, 3000);
    memcpy(app2 + 100, "v2", 2);
    gen(extra, 5000, 11);
    const uint8_t *data[6] = {a, app, b, app2, extra, extra};
    size_t lens[6] = {LEN, 3000, LEN, 3000, 5000, 5000};
    for (int i = 0; i < 6; i++) {
        snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
        fx_spit(p[i], data[i], lens[i]);
    }
    snprintf(op, sizeof op, "%s/m.old.zip", dir);
    snprintf(np, sizeof np, "%s/m.new.zip", dir);
    snprintf(dp, sizeof dp, "%s/m.delta.zip", dir);
    otter_pkg_input old_in[] = {
        {.name = "rootfs", .path = p[0], .handler = "raw", .compress = 1},
        {.name = "app", .path = p[1], .handler = "file", .compress = 0},
        {.name = "conf", .path = p[4], .handler = "file", .target = "conf-a", .compress = 1},
    };
    otter_pkg_input new_in[] = {
        {.name = "rootfs", .path = p[2], .handler = "raw", .compress = 1},
        {.name = "app", .path = p[3], .handler = "file", .compress = 0},
        {.name = "extra", .path = p[4], .handler = "raw", .compress = 1}, /* new: no base */
        {.name = "conf", .path = p[5], .handler = "file", .target = "conf-b", .compress = 1},
    };
    pack_many(op, "1.0", old_in, 3);
    pack_many(np, "2.0", new_in, 4);
    make_delta(op, np, dp);

    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    otter_err err;
    int fd_root = open(p[0], O_RDONLY | O_CLOEXEC), fd_app = open(p[1], O_RDONLY | O_CLOEXEC);
    assert_otter_ok(otter_pkg_reader_open_file(dp, OTTER_PKG_HASH_THREAD, &r, &err), err);
    assert_otter_ok(otter_pkg_reader_set_source(r, "app", fd_app, &err), err);
    assert_otter_ok(otter_pkg_reader_set_source(r, "rootfs", fd_root, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, &err), err);
    assert_string_equal(m->delta_from, "1.0");
    assert_string_equal(m->version, "2.0");
    const uint8_t *want[4] = {b, app2, extra, extra};
    const size_t want_len[4] = {LEN, 3000, 5000, 5000};
    const int is_delta[4] = {1, 1, 0, 0}; /* conf moved to another target: no base */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(otter_pkg_next_image(r, &img, &err), 1);
        assert_int_equal(otter_manifest_image_is_delta(img), is_delta[i]);
        size_t got = 0, len;
        const void *d;
        int rc;
        while ((rc = otter_pkg_read_chunk(r, &d, &len, &err)) == 1) {
            assert_memory_equal(d, want[i] + got, len);
            got += len;
        }
        assert_otter_ok(rc, err);
        assert_int_equal(got, want_len[i]);
    }
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 0);
    otter_pkg_reader_free(r);
    close(fd_root);
    close(fd_app);
    free(a);
    free(b);
    free(app);
    free(app2);
    free(extra);
}

typedef struct mem_src {
    const uint8_t *data;
    size_t len, pos;
} mem_src;

static ssize_t mem_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    mem_src *m = ctx;
    size_t n = m->len - m->pos < len ? m->len - m->pos : len;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

/* Resumes the delta (bytes pkg, len; manifest and sig in e) at chunk j of image 0. */
static int resume_at(const uint8_t *pkg, size_t len, const fx_entry *e, uint64_t entry_offset,
                     size_t j, uint64_t from, int src_fd, uint8_t *out, size_t *got, otter_err *err)
{
    otter_pkg_resume_point p = {e[0].data, e[0].len, e[1].data, e[1].len, 0, j, entry_offset};
    mem_src src = {pkg + from, len - from, 0};
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    int ret =
        otter_pkg_reader_resume(mem_read, &src, "resumed", OTTER_PKG_HASH_THREAD, &p, &r, err);
    if (!ret)
        ret = otter_pkg_reader_set_source(r, "rootfs", src_fd, err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, NULL, err);
    if (!ret && (ret = otter_pkg_next_image(r, &img, err)) == 1) {
        const void *d;
        size_t l;
        *got = 0;
        while ((ret = otter_pkg_read_chunk(r, &d, &l, err)) == 1) {
            memcpy(out + *got, d, l);
            *got += l;
        }
    }
    if (!ret)
        ret = otter_pkg_next_image(r, &img, err);
    otter_pkg_reader_free(r);
    return ret;
}

static void test_resume_at_every_chunk(void **state)
{
    char o[PATH_MAX], n[PATH_MAX], op[PATH_MAX], np[PATH_MAX], dp[PATH_MAX], other[PATH_MAX];
    size_t new_len = LEN + SPAN;
    uint8_t *a = malloc(new_len), *b = malloc(new_len), *out = malloc(new_len);
    gen(a, new_len, 12);
    memcpy(b, a, new_len);
    b[2 * SPAN + 77] ^= 1; /* chunks 2 and 5 patched, the rest copied, one appended */
    b[5 * SPAN + 3] ^= 1;
    snprintf(o, sizeof o, "%s/r.old.img", dir);
    snprintf(n, sizeof n, "%s/r.new.img", dir);
    snprintf(other, sizeof other, "%s/r.other.img", dir);
    snprintf(op, sizeof op, "%s/r.old.zip", dir);
    snprintf(np, sizeof np, "%s/r.new.zip", dir);
    snprintf(dp, sizeof dp, "%s/r.delta.zip", dir);
    fx_spit(o, a, LEN);
    fx_spit(other, b, LEN);
    fx_spit(n, b, new_len);
    pack(op, "1.0", o, "raw");
    pack(np, "2.0", n, "raw");
    make_delta(op, np, dp);

    size_t len = 0;
    uint8_t *pkg = fx_slurp(dp, &len);
    fx_entry e[4];
    size_t ne = fx_unzip(dp, e, 4);
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    int fd = open(o, O_RDONLY | O_CLOEXEC), bad_fd = open(other, O_RDONLY | O_CLOEXEC);
    assert_otter_ok(otter_pkg_reader_open_file(dp, 0, &r, &err), err);
    assert_otter_ok(otter_pkg_reader_set_source(r, "rootfs", fd, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, &err), err);
    assert_int_equal(otter_pkg_next_image(r, &img, &err), 1);
    uint64_t at = otter_pkg_entry_offset(r);
    size_t copies = 0;
    for (size_t j = 0; j < img->chunk_count; j++) {
        size_t got = 0;
        uint64_t from = at + img->chunks[j].stored_offset;
        copies += img->chunks[j].method == OTTER_METHOD_COPY;
        assert_otter_ok(resume_at(pkg, len, e, at, j, from, fd, out, &got, &err), err);
        assert_int_equal(got, new_len - j * SPAN);
        assert_memory_equal(out, b + j * SPAN, got);
        /* the source is checked again after the power cut */
        assert_otter_error(resume_at(pkg, len, e, at, j, from, bad_fd, out, &got, &err), err,
                           OTTER_EDIGEST, "source mismatch");
    }
    assert_true(copies >= 8);
    otter_pkg_reader_free(r);
    fx_entries_free(e, ne);
    close(fd);
    close(bad_fd);
    free(pkg);
    free(a);
    free(b);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_is_all_copies),
        cmocka_unit_test(test_appended),
        cmocka_unit_test(test_inserted_shifts_everything),
        cmocka_unit_test(test_shuffled_blocks),
        cmocka_unit_test(test_unrelated),
        cmocka_unit_test(test_empty_and_one_byte),
        cmocka_unit_test(test_recompiled_is_bsdiff_lzma),
        cmocka_unit_test(test_dense_change_is_not_lzma),
        cmocka_unit_test(test_methods_for_old_agents),
        cmocka_unit_test(test_mixed_package),
        cmocka_unit_test(test_resume_at_every_chunk),
        cmocka_unit_test(test_tampered_chunk_never_reaches_the_caller),
        cmocka_unit_test(test_wrong_or_missing_source_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
