/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta decoder's bounds (docs/package-format.md, "Delta images"): a
 * valid OTDIFF1 patch applies; every hostile layout is refused with a
 * message saying what, before a byte outside its buffers is touched.
 */
#include "otter_test.h"
#include "otter_delta.h"

#include <lzma.h>
#include <zstd.h>

#define SPAN 65536

static uint8_t src[1000];

/* Builds an OTDIFF1 patch: triples, then adds, then inserts. */
typedef struct patch {
    uint8_t b[4096];
    size_t len;
} patch;

static void put_u32(patch *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p->b[p->len++] = (uint8_t)(v >> (8 * i));
}

static void put_i64(patch *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p->b[p->len++] = (uint8_t)((uint64_t)v >> (8 * i));
}

static void begin(patch *p, uint32_t count)
{
    memcpy(p->b, "OTDIFF1", 8);
    p->len = 8;
    put_u32(p, count);
}

static void triple(patch *p, uint32_t add, uint32_t insert, int64_t seek)
{
    put_u32(p, add);
    put_u32(p, insert);
    put_i64(p, seek);
}

static void bytes(patch *p, uint8_t v, size_t n)
{
    memset(p->b + p->len, v, n);
    p->len += n;
}

static int setup(void **state)
{
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    return 0;
}

static int apply(const patch *p, uint8_t *out, size_t out_len, otter_err *err)
{
    return otter_delta_patch_apply(p->b, p->len, src, sizeof src, out, out_len, SPAN, err);
}

static void test_valid_patch_applies(void **state)
{
    patch p;
    uint8_t out[30];
    otter_err err;
    begin(&p, 2);
    triple(&p, 10, 5, 90);   /* src[0..10) + 1, "xxxxx", then p = 100 */
    triple(&p, 15, 0, -115); /* src[100..115) + 0, back to p = 0 */
    bytes(&p, 1, 10);
    bytes(&p, 0, 15);
    bytes(&p, 'x', 5);
    assert_otter_ok(apply(&p, out, sizeof out, &err), err);
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i], (uint8_t)(src[i] + 1));
    assert_memory_equal(out + 10, "xxxxx", 5);
    assert_memory_equal(out + 15, src + 100, 15);
}

static void test_hostile_layouts_refused(void **state)
{
    patch p;
    uint8_t out[64];
    otter_err err;

    begin(&p, 1);
    triple(&p, 4, 0, 0);
    bytes(&p, 0, 4);
    p.b[0] = 'X';
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT, "bad magic");

    begin(&p, SPAN + 1); /* count above chunk_size */
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT,
                       "65537 control triples, at most 65536");

    begin(&p, 1000); /* count larger than the patch holds */
    triple(&p, 4, 0, 0);
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT,
                       "1000 control triples need 16012 bytes");

    begin(&p, 1); /* seek below the range */
    triple(&p, 4, 0, -5);
    bytes(&p, 0, 4);
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT,
                       "triple 0 seeks -5 from 4, outside the source range");

    begin(&p, 1); /* seek past the range, and the largest seek there is */
    triple(&p, 4, 0, 997);
    bytes(&p, 0, 4);
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT, "seeks 997 from 4");
    begin(&p, 1);
    triple(&p, 4, 0, INT64_MIN);
    bytes(&p, 0, 4);
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT, "outside the source range");

    begin(&p, 2); /* add reading past the range */
    triple(&p, 0, 0, 990);
    triple(&p, 20, 0, 0);
    bytes(&p, 0, 20);
    assert_otter_error(apply(&p, out, 20, &err), err, OTTER_EFORMAT,
                       "triple 1 reads 20 source bytes at 990, the range has 1000");

    begin(&p, 1); /* sections longer than the triples say */
    triple(&p, 4, 2, 0);
    bytes(&p, 0, 4);
    bytes(&p, 'a', 3);
    assert_otter_error(apply(&p, out, 6, &err), err, OTTER_EFORMAT,
                       "sections not consumed exactly");

    begin(&p, 1); /* and shorter */
    triple(&p, 4, 2, 0);
    bytes(&p, 0, 4);
    bytes(&p, 'a', 1);
    assert_otter_error(apply(&p, out, 6, &err), err, OTTER_EFORMAT,
                       "sections not consumed exactly");

    begin(&p, 1); /* output of another size than the chunk */
    triple(&p, 4, 2, 0);
    bytes(&p, 0, 4);
    bytes(&p, 'a', 2);
    assert_otter_error(apply(&p, out, 7, &err), err, OTTER_EFORMAT,
                       "the triples make 6 bytes, the chunk has 7");

    begin(&p, 2); /* counts whose sum wraps 32 bits */
    triple(&p, 0xffffffffu, 0, 0);
    triple(&p, 5, 0, 0);
    assert_otter_error(apply(&p, out, 4, &err), err, OTTER_EFORMAT, "the triples make 4294967300");
}

/* A zstd frame of n bytes of patch content. */
static size_t frame_of(const void *content, size_t n, uint8_t *out, size_t cap)
{
    size_t z = ZSTD_compress(out, cap, content, n, 3);
    assert_false(ZSTD_isError(z));
    return z;
}

static void test_frames_checked(void **state)
{
    static uint8_t big[2 * SPAN + 65537], frame[ZSTD_COMPRESSBOUND(sizeof big)], out[64];
    otter_delta_dec *d = otter_delta_dec_new();
    otter_err err;
    assert_non_null(d);
    /* bsdiff: content above 2 x chunk_size + 64 KiB refused before it is decoded */
    size_t z = frame_of(big, sizeof big, frame, sizeof frame);
    assert_otter_error(
        otter_delta_decode(d, OTTER_METHOD_BSDIFF, SPAN, frame, z, src, sizeof src, out, 4, &err),
        err, OTTER_EFORMAT, "bsdiff: patch of 196609 bytes, at most 196608");
    /* a valid patch in a frame applies; with a byte after the frame it is refused */
    patch p;
    begin(&p, 1);
    triple(&p, 8, 0, 0);
    bytes(&p, 0, 8);
    z = frame_of(p.b, p.len, frame, sizeof frame);
    assert_otter_ok(
        otter_delta_decode(d, OTTER_METHOD_BSDIFF, SPAN, frame, z, src, sizeof src, out, 8, &err),
        err);
    assert_memory_equal(out, src, 8);
    frame[z] = 0;
    assert_otter_error(otter_delta_decode(d, OTTER_METHOD_BSDIFF, SPAN, frame, z + 1, src,
                                          sizeof src, out, 8, &err),
                       err, OTTER_EFORMAT, "not exactly one zstd frame");
    /* zstd-patch: a frame that decodes to more than the chunk stops there */
    z = frame_of(src, 64, frame, sizeof frame);
    assert_otter_error(otter_delta_decode(d, OTTER_METHOD_ZSTD_PATCH, SPAN, frame, z, src,
                                          sizeof src, out, 32, &err),
                       err, OTTER_EFORMAT, "zstd-patch: zstd");
    assert_otter_ok(otter_delta_decode(d, OTTER_METHOD_ZSTD_PATCH, SPAN, frame, z, src, sizeof src,
                                       out, 64, &err),
                    err);
    /* copy: the range is the chunk */
    assert_otter_error(
        otter_delta_decode(d, OTTER_METHOD_COPY, SPAN, NULL, 0, src, 10, out, 11, &err), err,
        OTTER_EFORMAT, "copy:");
    otter_delta_dec_free(d);
}

/* bsdiff-lzma's stored bytes: props, length (as given), raw LZMA2 with dictionary dict. */
static size_t lzma_of(const patch *p, uint8_t props, uint32_t len, uint32_t dict, uint8_t *out,
                      size_t cap)
{
    lzma_options_lzma opt;
    assert_false(lzma_lzma_preset(&opt, 6));
    opt.dict_size = dict;
    lzma_filter chain[] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    out[0] = props;
    for (int i = 0; i < 4; i++)
        out[1 + i] = (uint8_t)(len >> (8 * i));
    size_t pos = OTTER_DELTA_LZMA_HEADER_LEN;
    assert_int_equal(lzma_raw_buffer_encode(chain, NULL, p->b, p->len, out, &pos, cap), LZMA_OK);
    return pos;
}

static int decode_lzma(otter_delta_dec *d, const uint8_t *stored, size_t n, uint8_t *out,
                       size_t out_len, otter_err *err)
{
    return otter_delta_decode(d, OTTER_METHOD_BSDIFF_LZMA, SPAN, stored, n, src, sizeof src, out,
                              out_len, err);
}

static void test_lzma_streams_checked(void **state)
{
    static uint8_t stored[8192], out[64];
    otter_delta_dec *d = otter_delta_dec_new();
    otter_err err;
    assert_non_null(d);
    patch p;
    begin(&p, 1);
    triple(&p, 8, 0, 0);
    bytes(&p, 0, 7);
    bytes(&p, 1, 1);
    /* the smallest dictionary: props 0, 4 KiB; the patch applies */
    assert_int_equal(otter_delta_lzma_props(p.len), 0);
    assert_int_equal(otter_delta_lzma_props(4097), 1);
    assert_int_equal(otter_delta_lzma_dict(1), 6144);
    assert_int_equal(otter_delta_lzma_props(200000), 12);                             /* 256 KiB */
    assert_int_equal(otter_delta_lzma_props(OTTER_DELTA_PATCH_MAX(1024 * 1024)), 12); /* at most */
    size_t n = lzma_of(&p, 0, (uint32_t)p.len, 4096, stored, sizeof stored);
    assert_otter_ok(decode_lzma(d, stored, n, out, 8, &err), err);
    assert_memory_equal(out, src, 7);
    assert_int_equal(out[7], (uint8_t)(src[7] + 1));
    /* a dictionary larger than the patch needs, up to the 4 GiB a hostile package may ask */
    stored[0] = 1;
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "LZMA2 dictionary props 1 (6144 bytes) for a 36-byte patch, at most props 0 "
                       "(4096 bytes)");
    stored[0] = 40;
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "props 40 (4294967295 bytes)");
    stored[0] = 255;
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "dictionary props 255");
    /* above 256 KiB whatever the patch's length */
    n = lzma_of(&p, 13, 1000000, 4096, stored, sizeof stored);
    assert_otter_error(otter_delta_decode(d, OTTER_METHOD_BSDIFF_LZMA, 1024 * 1024, stored, n, src,
                                          sizeof src, out, 8, &err),
                       err, OTTER_EFORMAT,
                       "props 13 (393216 bytes) for a 1000000-byte patch, at most props 12 "
                       "(262144 bytes)");
    /* lengths out of range: above 2 x chunk_size + 64 KiB, below a header */
    n = lzma_of(&p, 0, 2 * SPAN + 65537, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "bsdiff-lzma: patch of 196609 bytes, not 12..196608");
    n = lzma_of(&p, 0, 11, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "patch of 11 bytes");
    /* a length the triples do not add up to: refused from the control section */
    n = lzma_of(&p, 0, (uint32_t)p.len - 1, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "sections not consumed exactly (36 bytes of control, add and insert, the "
                       "patch has 35)");
    n = lzma_of(&p, 0, (uint32_t)p.len + 1, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "the patch has 37");
    /* a stream longer or shorter than its length, bytes after it, a cut stream, no stream */
    patch more = p, less = p;
    bytes(&more, 9, 1);
    less.len--;
    n = lzma_of(&more, 0, (uint32_t)p.len, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "decodes to more than its 36 bytes");
    n = lzma_of(&less, 0, (uint32_t)p.len, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, out, 8, &err), err, OTTER_EFORMAT,
                       "stops after 35 of its 36 bytes");
    n = lzma_of(&p, 0, (uint32_t)p.len, 4096, stored, sizeof stored);
    stored[n] = 0;
    assert_otter_error(decode_lzma(d, stored, n + 1, out, 8, &err), err, OTTER_EFORMAT,
                       "ends with 1 bytes left");
    assert_otter_error(decode_lzma(d, stored, n - 1, out, 8, &err), err, OTTER_EFORMAT,
                       "bsdiff-lzma: ");
    assert_otter_error(decode_lzma(d, stored, OTTER_DELTA_LZMA_HEADER_LEN, out, 8, &err), err,
                       OTTER_EFORMAT, "not even a header and a stream");
    /* the patch's own checks still apply: here an output of another size */
    assert_otter_error(decode_lzma(d, stored, n, out, 9, &err), err, OTTER_EFORMAT,
                       "the triples make 8 bytes, the chunk has 9");
    otter_delta_dec_free(d);
}

/*
 * bsdiff-lzma decodes straight into the chunk (adds summed in place, then
 * inserts) when the stored bytes lie apart from it, and through the patch
 * buffer when they overlap: both make what the patch applied whole makes,
 * and both refuse a seek outside the range before writing.
 */
static void test_lzma_streamed_as_applied(void **state)
{
    static uint8_t stored[8192], buf[8192], want[30];
    otter_delta_dec *d = otter_delta_dec_new();
    otter_err err;
    assert_non_null(d);
    patch p;
    begin(&p, 3);
    triple(&p, 10, 5, 90);
    triple(&p, 0, 3, 0);
    triple(&p, 12, 0, -112);
    bytes(&p, 1, 10);
    bytes(&p, 0xff, 12);
    bytes(&p, 'x', 5);
    bytes(&p, 'y', 3);
    assert_otter_ok(apply(&p, want, sizeof want, &err), err);
    size_t n = lzma_of(&p, 0, (uint32_t)p.len, 4096, stored, sizeof stored);
    memset(buf, 0xaa, sizeof buf);
    assert_otter_ok(decode_lzma(d, stored, n, buf, sizeof want, &err), err);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(buf[sizeof want], 0xaa); /* not a byte past the chunk */
    /* the stored bytes at the chunk's start: decoded whole first */
    memcpy(buf, stored, n);
    assert_otter_ok(decode_lzma(d, buf, n, buf, sizeof want, &err), err);
    assert_memory_equal(buf, want, sizeof want);
    /* a seek outside the range, either way */
    begin(&p, 2);
    triple(&p, 4, 0, 2000);
    triple(&p, 4, 0, 0);
    bytes(&p, 0, 8);
    n = lzma_of(&p, 0, (uint32_t)p.len, 4096, stored, sizeof stored);
    assert_otter_error(decode_lzma(d, stored, n, buf + 4096, 8, &err), err, OTTER_EFORMAT,
                       "triple 0 seeks 2000 from 4, outside the source range");
    memcpy(buf, stored, n);
    assert_otter_error(decode_lzma(d, buf, n, buf, 8, &err), err, OTTER_EFORMAT,
                       "triple 0 seeks 2000 from 4, outside the source range");
    otter_delta_dec_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_patch_applies),
        cmocka_unit_test(test_hostile_layouts_refused),
        cmocka_unit_test(test_frames_checked),
        cmocka_unit_test(test_lzma_streams_checked),
        cmocka_unit_test(test_lzma_streamed_as_applied),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
