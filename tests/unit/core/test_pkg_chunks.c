/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Format 2's promise, chunk by chunk: a chunk is handed out only after its
 * digests matched, so a damaged chunk and everything after it never reach
 * a caller (a slot handler), with worker threads or without; and the chunk
 * table is held to what the payload really is.
 */
#include "otter_test.h"
#include "pkg_fixture.h"

#include "otter_digest.h"
#include "otter_sig.h"

#include <zstd.h>

#define SPAN (64 * 1024)
#define ROOTFS_LEN (17 * SPAN + 321) /* 18 chunks, the last one short */

static otter_key *key;
static otter_trust *trust;
static char dir[PATH_MAX], base[PATH_MAX], bad[PATH_MAX], rootfs[PATH_MAX];

static int setup(void **state)
{
    otter_err err;
    if (otter_key_generate("ed25519", &key, &err) != 0)
        return -1;
    snprintf(dir, sizeof dir, "%s", otter_test_dir("pkg-chunks"));
    snprintf(base, sizeof base, "%s/base.zip", dir);
    snprintf(bad, sizeof bad, "%s/bad.zip", dir);
    snprintf(rootfs, sizeof rootfs, "%s/rootfs.img", dir);
    fx_format = 2;
    fx_chunk_size = SPAN;
    fx_pack(base, dir, ROOTFS_LEN, &key, 1);
    trust = fx_trust(&key, 1, 1);
    return 0;
}

static int teardown(void **state)
{
    otter_key_free(key);
    otter_trust_free(trust);
    return 0;
}

/* The base package taken apart: entries and its parsed manifest. */
typedef struct parts {
    fx_entry e[8];
    size_t n;
    otter_manifest *m;
} parts;

static void take_apart(parts *p)
{
    otter_err err;
    p->n = fx_unzip(base, p->e, 8);
    assert_otter_ok(otter_manifest_parse(p->e[0].data, p->e[0].len, "m", &p->m, &err), err);
}

/* Serializes p->m, signs it, zips everything into bad.zip, frees p. */
static void put_together(parts *p)
{
    otter_err err;
    char *json = otter_manifest_serialize_new(p->m);
    otter_sig_list *sigs = otter_sig_list_new();
    assert_otter_ok(otter_sig_list_sign(sigs, key, json, strlen(json), &err), err);
    free((void *)p->e[0].data);
    free((void *)p->e[1].data);
    p->e[0].data = json;
    p->e[0].len = strlen(json);
    p->e[1].data = otter_sig_list_serialize_new(sigs);
    p->e[1].len = strlen(p->e[1].data);
    otter_sig_list_free(sigs);
    fx_zip(bad, p->e, p->n);
    fx_entries_free(p->e, p->n);
    otter_manifest_free(p->m);
}

/*
 * Reads bad.zip's first image with flags; returns what the reader handed
 * out before its verdict (caller frees), its length in *got, the verdict
 * in *ret / err.
 */
static uint8_t *read_rootfs(unsigned flags, size_t *got, int *ret, otter_err *err)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    uint8_t *out = malloc(ROOTFS_LEN + 16 * SPAN);
    *got = 0;
    assert_otter_ok(otter_pkg_reader_open_file(bad, flags, &r, err), *err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, err), *err);
    assert_int_equal(otter_pkg_next_image(r, &img, err), 1);
    const void *data;
    size_t len;
    while ((*ret = otter_pkg_read_chunk(r, &data, &len, err)) == 1) {
        assert_true(*got + len <= ROOTFS_LEN);
        assert_true(len == SPAN || *got + len == ROOTFS_LEN); /* whole chunks only */
        memcpy(out + *got, data, len);
        *got += len;
    }
    otter_pkg_reader_free(r);
    return out;
}

/* Asserts that exactly the first `chunks` chunks came out, byte for byte. */
static void assert_prefix(const uint8_t *got, size_t got_len, size_t chunks)
{
    size_t want_len = 0;
    uint8_t *want = fx_slurp(rootfs, &want_len);
    assert_int_equal(got_len, chunks * SPAN);
    assert_memory_equal(got, want, got_len);
    free(want);
}

static void expect_stop_at(unsigned flags, size_t chunk, int code, const char *needle)
{
    size_t got = 0;
    int ret = 0;
    otter_err err;
    uint8_t *out = read_rootfs(flags, &got, &ret, &err);
    assert_otter_error(ret, err, code, needle);
    assert_prefix(out, got, chunk);
    free(out);
}

static void test_whole_image_round_trips(void **state)
{
    parts p;
    take_apart(&p);
    assert_int_equal(p.m->images[0].chunk_count, 18);
    put_together(&p);
    for (unsigned flags = 0; flags <= OTTER_PKG_HASH_THREAD; flags += OTTER_PKG_HASH_THREAD) {
        size_t got = 0;
        int ret = 0;
        otter_err err;
        uint8_t *out = read_rootfs(flags | OTTER_PKG_FULL_DIGEST, &got, &ret, &err);
        assert_otter_ok(ret, err);
        size_t want_len = 0;
        uint8_t *want = fx_slurp(rootfs, &want_len);
        assert_int_equal(got, want_len);
        assert_memory_equal(out, want, got);
        free(want);
        free(out);
    }
}

static void test_entry_offset_locates_chunks(void **state)
{
    /* What a resume asks for: chunk i of an image starts at the entry's data
     * offset plus its stored_offset in the package file. */
    size_t len = 0;
    uint8_t *pkg = fx_slurp(base, &len);
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    assert_otter_ok(otter_pkg_reader_open_file(base, 0, &r, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, &err), err);
    int images = 0;
    while (otter_pkg_next_image(r, &img, &err) == 1) {
        uint64_t at = otter_pkg_entry_offset(r);
        for (size_t i = 0; i < img->chunk_count; i++) {
            const otter_manifest_chunk *c = &img->chunks[i];
            assert_true(at + c->stored_offset + c->stored_size <= len);
            uint8_t md[OTTER_SHA256_LEN];
            otter_sha256_buf(pkg + at + c->stored_offset, c->stored_size, md);
            assert_memory_equal(md, c->stored_sha256, sizeof md);
        }
        images++;
    }
    assert_int_equal(images, 2);
    otter_pkg_reader_free(r);
    free(pkg);
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

/* Resumes base.zip (pkg, len) at image/chunk from `from` (the byte a Range would ask). */
static int resume_read(const uint8_t *pkg, size_t len, uint64_t from, size_t image, size_t chunk,
                       uint64_t entry_offset, uint8_t *out, size_t *got, otter_err *err)
{
    size_t mlen = 0, slen = 0;
    fx_entry e[8];
    size_t n = fx_unzip(base, e, 8);
    mlen = e[0].len;
    slen = e[1].len;
    otter_pkg_resume_point p = {e[0].data, mlen, e[1].data, slen, image, chunk, entry_offset};
    mem_src src = {pkg + from, len - from, 0};
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    int ret =
        otter_pkg_reader_resume(mem_read, &src, "resumed", OTTER_PKG_HASH_THREAD, &p, &r, err);
    fx_entries_free(e, n);
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, NULL, err);
    *got = 0;
    int first = 1;
    while (!ret && (ret = otter_pkg_next_image(r, &img, err)) == 1) {
        if (first)
            assert_string_equal(img->name, m->images[image].name);
        const void *data;
        size_t l;
        while ((ret = otter_pkg_read_chunk(r, &data, &l, err)) == 1) {
            if (first) {
                memcpy(out + *got, data, l);
                *got += l;
            }
        }
        first = 0;
    }
    otter_pkg_reader_free(r);
    return ret;
}

static void test_resume_at_every_chunk(void **state)
{
    size_t len = 0, want_len = 0;
    uint8_t *pkg = fx_slurp(base, &len);
    uint8_t *want = fx_slurp(rootfs, &want_len);
    uint8_t *out = malloc(ROOTFS_LEN);
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    assert_otter_ok(otter_pkg_reader_open_file(base, 0, &r, &err), err);
    assert_otter_ok(otter_pkg_read_manifest(r, trust, &m, NULL, &err), err);
    for (size_t k = 0; otter_pkg_next_image(r, &img, &err) == 1; k++) {
        uint64_t at = otter_pkg_entry_offset(r);
        for (size_t j = 0; j < img->chunk_count; j++) {
            size_t got = 0;
            uint64_t from = at + img->chunks[j].stored_offset;
            assert_otter_ok(resume_read(pkg, len, from, k, j, at, out, &got, &err), err);
            if (k == 0) { /* the rest of rootfs, byte for byte */
                assert_int_equal(got, want_len - j * SPAN);
                assert_memory_equal(out, want + j * SPAN, got);
            }
            /* One byte off: the chunk's stored digest refuses it. */
            assert_otter_error(resume_read(pkg, len, from + 1, k, j, at, out, &got, &err), err,
                               OTTER_EDIGEST, "sha256 mismatch");
        }
    }
    otter_pkg_reader_free(r);
    /* Cut before the central directory: still a refusal after a resume. */
    size_t got = 0;
    assert_true(otter_err_is_refusal(
        resume_read(pkg, len - 30, len - 30 - 1000, 1, 0, 0, out, &got, &err)));
    free(out);
    free(want);
    free(pkg);
}

static void test_flipped_stored_byte_stops_before_its_chunk(void **state)
{
    /* The zip is rebuilt, so its CRC is valid: only the chunk digest can tell. */
    for (size_t victim = 0; victim < 18; victim += 5) {
        parts p;
        take_apart(&p);
        const otter_manifest_chunk *c = &p.m->images[0].chunks[victim];
        ((uint8_t *)p.e[2].data)[c->stored_offset + c->stored_size / 2] ^= 0x04;
        put_together(&p);
        char needle[96];
        snprintf(needle, sizeof needle, "image rootfs: chunk %zu: stored bytes sha256 mismatch",
                 victim);
        expect_stop_at(OTTER_PKG_HASH_THREAD, victim, OTTER_EDIGEST, needle);
        expect_stop_at(0, victim, OTTER_EDIGEST, needle);
    }
}

static void test_signed_table_that_lies_stops_at_that_chunk(void **state)
{
    /* Stored bytes as signed, but the installed digest of chunk 7 differs. */
    parts p;
    take_apart(&p);
    p.m->images[0].chunks[7].sha256[0] ^= 1;
    put_together(&p);
    expect_stop_at(OTTER_PKG_HASH_THREAD, 7, OTTER_EDIGEST,
                   "image rootfs: chunk 7: sha256 mismatch");
}

/* Replaces chunk 0's stored bytes by frame (len bytes) and fixes the table. */
static void replace_chunk0(parts *p, const void *frame, size_t len)
{
    otter_manifest_image *img = &p->m->images[0];
    otter_manifest_chunk *c = &img->chunks[0];
    size_t old_len = p->e[2].len, old = c->stored_size;
    uint8_t *data = malloc(old_len - old + len);
    memcpy(data, frame, len);
    memcpy(data + len, (const uint8_t *)p->e[2].data + old, old_len - old);
    free((void *)p->e[2].data);
    p->e[2].data = data;
    p->e[2].len = old_len - old + len;
    c->stored_size = (uint32_t)len;
    otter_sha256_buf(frame, len, c->stored_sha256);
    for (size_t i = 1; i < img->chunk_count; i++)
        img->chunks[i].stored_offset =
            img->chunks[i - 1].stored_offset + img->chunks[i - 1].stored_size;
}

static void test_two_frames_in_a_chunk_refused(void **state)
{
    size_t want_len = 0;
    uint8_t *want = fx_slurp(rootfs, &want_len);
    uint8_t frames[2 * SPAN];
    size_t a = ZSTD_compress(frames, sizeof frames, want, SPAN / 2, 3);
    size_t b = ZSTD_compress(frames + a, sizeof frames - a, want + SPAN / 2, SPAN / 2, 3);
    assert_false(ZSTD_isError(a) || ZSTD_isError(b));
    free(want);
    parts p;
    take_apart(&p);
    replace_chunk0(&p, frames, a + b);
    put_together(&p);
    expect_stop_at(OTTER_PKG_HASH_THREAD, 0, OTTER_EFORMAT,
                   "image rootfs: chunk 0: not exactly one zstd frame");
}

static void test_frame_larger_than_its_chunk_refused(void **state)
{
    /* A signed bomb: 8 MiB of zeros in chunk 0's frame, the table says 64 KiB. */
    size_t zeros_len = 8u << 20;
    uint8_t *zeros = calloc(1, zeros_len);
    uint8_t frame[4096];
    size_t n = ZSTD_compress(frame, sizeof frame, zeros, zeros_len, 19);
    assert_false(ZSTD_isError(n));
    free(zeros);
    parts p;
    take_apart(&p);
    replace_chunk0(&p, frame, n);
    put_together(&p);
    expect_stop_at(OTTER_PKG_HASH_THREAD, 0, OTTER_EFORMAT, "image rootfs: chunk 0: zstd: ");
}

static void test_entry_longer_than_table_refused(void **state)
{
    parts p;
    take_apart(&p);
    uint8_t *data = malloc(p.e[2].len + 1);
    memcpy(data, p.e[2].data, p.e[2].len);
    data[p.e[2].len] = 0;
    free((void *)p.e[2].data);
    p.e[2].data = data;
    p.e[2].len++;
    put_together(&p);
    /* Refused when the image starts, before any chunk is read. */
    otter_err err;
    assert_otter_error(fx_read_all(bad, trust, NULL, &err), err, OTTER_EFORMAT,
                       "image rootfs: entry holds ");
    assert_non_null(strstr(err.msg, " bytes, its chunk table "));
}

static void test_whole_digest_checked_by_tools_only(void **state)
{
    /* Every chunk as signed, but the whole-image sha256 does not add up: the
     * signer's mistake. A device trusts the signed chunks; verify catches it. */
    parts p;
    take_apart(&p);
    p.m->images[0].sha256[0] = p.m->images[0].sha256[0] == 'a' ? 'b' : 'a';
    put_together(&p);
    size_t got = 0;
    int ret = 0;
    otter_err err;
    uint8_t *out = read_rootfs(OTTER_PKG_HASH_THREAD, &got, &ret, &err);
    assert_otter_ok(ret, err);
    free(out);
    out = read_rootfs(OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST, &got, &ret, &err);
    assert_otter_error(ret, err, OTTER_EDIGEST, "image rootfs: sha256 mismatch (expected ");
    free(out);
}

static void test_pack_refuses_a_manifest_readers_refuse(void **state)
{
    /* 256 MiB of zeros in 64 KiB chunks: 4,096 chunks, a manifest over 1 MiB. */
    char zeros[PATH_MAX], out[PATH_MAX];
    snprintf(zeros, sizeof zeros, "%s/zeros-256m.img", dir);
    snprintf(out, sizeof out, "%s/too-many-chunks.zip", dir);
    FILE *f = fopen(zeros, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 256 << 20), 0);
    fclose(f);
    const char *models[] = {"m"};
    otter_pkg_input in[] = {{.name = "rootfs", .path = zeros, .compress = 1}};
    otter_pkg_write_opts o = {.product = "gw",
                              .compatible = models,
                              .compatible_count = 1,
                              .version = "1",
                              .level = 1,
                              .chunk_size = SPAN};
    otter_err err;
    assert_otter_error(otter_pkg_write(out, &o, in, 1, &err), err, OTTER_EUSAGE,
                       "readers take at most 1048576: fewer chunks (a larger --chunk-size)");
    assert_int_equal(access(out, F_OK), -1);
    unlink(zeros);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_image_round_trips),
        cmocka_unit_test(test_entry_offset_locates_chunks),
        cmocka_unit_test(test_resume_at_every_chunk),
        cmocka_unit_test(test_flipped_stored_byte_stops_before_its_chunk),
        cmocka_unit_test(test_signed_table_that_lies_stops_at_that_chunk),
        cmocka_unit_test(test_two_frames_in_a_chunk_refused),
        cmocka_unit_test(test_frame_larger_than_its_chunk_refused),
        cmocka_unit_test(test_entry_longer_than_table_refused),
        cmocka_unit_test(test_whole_digest_checked_by_tools_only),
        cmocka_unit_test(test_pack_refuses_a_manifest_readers_refuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
