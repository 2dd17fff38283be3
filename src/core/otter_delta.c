/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_delta.h"

#include <lzma.h>
#include <stdlib.h>
#include <string.h>
/* ZSTD_getFrameHeader (the window size check): exported by libzstd, declared as advanced API. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

struct otter_delta_dec {
    ZSTD_DCtx *dctx;
    lzma_stream lz; /* reused: liblzma keeps its dictionary when the next has the same size */
    uint8_t *patch;
    size_t patch_cap;
};

otter_delta_dec *otter_delta_dec_new(void)
{
    otter_delta_dec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->dctx = ZSTD_createDCtx();
    if (!d->dctx) {
        free(d);
        return NULL;
    }
    ZSTD_DCtx_setParameter(d->dctx, ZSTD_d_windowLogMax, OTTER_DELTA_WINDOW_LOG_MAX);
    d->lz = (lzma_stream)LZMA_STREAM_INIT;
    return d;
}

void otter_delta_dec_free(otter_delta_dec *d)
{
    if (!d)
        return;
    ZSTD_freeDCtx(d->dctx);
    lzma_end(&d->lz);
    free(d->patch);
    free(d);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t get_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* The header: magic, and a count of triples that fits the chunk and the patch. */
static int check_count(const uint8_t *patch, size_t len, uint32_t chunk_size, uint32_t *count,
                       otter_err *err)
{
    if (len < OTTER_DELTA_HEADER_LEN || memcmp(patch, OTTER_DELTA_MAGIC, OTTER_DELTA_MAGIC_LEN))
        return otter_err_set(err, OTTER_EFORMAT, "bsdiff: not an OTDIFF1 patch (bad magic)");
    uint32_t n = get_u32(patch + OTTER_DELTA_MAGIC_LEN);
    if (n > chunk_size)
        return otter_err_set(err, OTTER_EFORMAT, "bsdiff: %u control triples, at most %u", n,
                             chunk_size);
    uint64_t ctl_end = OTTER_DELTA_HEADER_LEN + (uint64_t)n * OTTER_DELTA_TRIPLE_LEN;
    if (ctl_end > len)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff: %u control triples need %llu bytes, the patch has %zu", n,
                             (unsigned long long)ctl_end, len);
    *count = n;
    return 0;
}

/*
 * The header and control section (all that is read of patch: len is the
 * whole patch's length): count fits, and the sections add up exactly.
 */
static int check_layout(const uint8_t *patch, size_t len, size_t out_len, uint32_t chunk_size,
                        uint32_t *count, otter_err *err)
{
    uint32_t n = 0;
    int ret = check_count(patch, len, chunk_size, &n, err);
    if (ret)
        return ret;
    uint64_t ctl_end = OTTER_DELTA_HEADER_LEN + (uint64_t)n * OTTER_DELTA_TRIPLE_LEN;
    uint64_t adds = 0, inserts = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = patch + OTTER_DELTA_HEADER_LEN + (size_t)i * OTTER_DELTA_TRIPLE_LEN;
        adds += get_u32(t);
        inserts += get_u32(t + 4);
    }
    if (adds + inserts != out_len)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff: the triples make %llu bytes, the chunk has %zu",
                             (unsigned long long)(adds + inserts), out_len);
    if (ctl_end + adds + inserts != len)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff: sections not consumed exactly (%llu bytes of control, add "
                             "and insert, the patch has %zu)",
                             (unsigned long long)(ctl_end + adds + inserts), len);
    *count = n;
    return 0;
}

/* Moves *p by triple i's seek, refused when it leaves the source range (p in 0..src_len). */
static int seek_within(uint32_t i, int64_t seek, uint64_t *p, size_t src_len, otter_err *err)
{
    /* *p stays inside 0..src_len: compare without overflowing. */
    if ((seek < 0 && (uint64_t)0 - (uint64_t)seek > *p) ||
        (seek > 0 && (uint64_t)seek > src_len - *p))
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff: triple %u seeks %lld from %llu, outside the source range "
                             "of %zu bytes",
                             i, (long long)seek, (unsigned long long)*p, src_len);
    *p = (uint64_t)((int64_t)*p + seek);
    return 0;
}

/* Every triple's source reads and seeks stay inside the range (0..src_len). */
static int check_seeks(const uint8_t *ctl, uint32_t count, size_t src_len, otter_err *err)
{
    uint64_t p = 0;
    for (uint32_t i = 0; i < count; i++, ctl += OTTER_DELTA_TRIPLE_LEN) {
        uint32_t add = get_u32(ctl);
        int64_t seek = get_i64(ctl + 8);
        if (add > src_len - p)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "bsdiff: triple %u reads %u source bytes at %llu, the range "
                                 "has %zu",
                                 i, add, (unsigned long long)p, src_len);
        p += add;
        if (seek_within(i, seek, &p, src_len, err) < 0)
            return OTTER_EFORMAT;
    }
    return 0;
}

/* out += src, byte by byte (the add section decoded in place); vectorized like add_bytes. */
static void add_in_place(uint8_t *restrict out, const uint8_t *restrict src, size_t n)
{
    size_t k = 0;
    for (; k + 32 <= n; k += 32)
        for (size_t i = 0; i < 32; i++)
            out[k + i] = (uint8_t)(out[k + i] + src[k + i]);
    for (; k < n; k++)
        out[k] = (uint8_t)(out[k] + src[k]);
}

/*
 * out = src + diff, byte by byte. restrict (the caller's contract: out
 * overlaps neither) lets the compiler add 16 bytes at a time: this
 * loop runs over every byte of a patched chunk.
 */
static void add_bytes(uint8_t *restrict out, const uint8_t *restrict src,
                      const uint8_t *restrict diff, size_t n)
{
    size_t k = 0;
    /* blocks of a fixed size: what gcc -O2's cheapest vectorizer takes */
    for (; k + 32 <= n; k += 32)
        for (size_t i = 0; i < 32; i++)
            out[k + i] = (uint8_t)(src[k + i] + diff[k + i]);
    for (; k < n; k++)
        out[k] = (uint8_t)(src[k] + diff[k]);
}

int otter_delta_patch_apply(const uint8_t *patch, size_t patch_len, const uint8_t *src,
                            size_t src_len, uint8_t *out, size_t out_len, uint32_t chunk_size,
                            otter_err *err)
{
    uint32_t count = 0;
    int ret = check_layout(patch, patch_len, out_len, chunk_size, &count, err);
    if (ret)
        return ret;
    const uint8_t *ctl = patch + OTTER_DELTA_HEADER_LEN;
    const uint8_t *diff = ctl + (size_t)count * OTTER_DELTA_TRIPLE_LEN;
    uint64_t add_total = 0;
    for (uint32_t i = 0; i < count; i++)
        add_total += get_u32(ctl + (size_t)i * OTTER_DELTA_TRIPLE_LEN);
    const uint8_t *extra = diff + add_total;
    uint64_t p = 0; /* source position, always within 0..src_len */
    size_t o = 0;
    for (uint32_t i = 0; i < count; i++, ctl += OTTER_DELTA_TRIPLE_LEN) {
        uint32_t add = get_u32(ctl), insert = get_u32(ctl + 4);
        int64_t seek = get_i64(ctl + 8);
        if (add > src_len - p)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "bsdiff: triple %u reads %u source bytes at %llu, the range "
                                 "has %zu",
                                 i, add, (unsigned long long)p, src_len);
        add_bytes(out + o, src + p, diff, add);
        o += add;
        diff += add;
        p += add;
        memcpy(out + o, extra, insert);
        o += insert;
        extra += insert;
        if (seek_within(i, seek, &p, src_len, err) < 0)
            return OTTER_EFORMAT;
    }
    return 0;
}

/* Decodes exactly one zstd frame of stored into out (out_len bytes exactly). */
static int decode_frame(otter_delta_dec *d, const char *what, const uint8_t *stored,
                        size_t stored_len, const void *prefix, size_t prefix_len, uint8_t *out,
                        size_t out_len, otter_err *err)
{
    if (ZSTD_findFrameCompressedSize(stored, stored_len) != stored_len)
        return otter_err_set(err, OTTER_EFORMAT, "%s: not exactly one zstd frame", what);
    ZSTD_frameHeader fh;
    if (ZSTD_getFrameHeader(&fh, stored, stored_len) != 0 || fh.frameType != ZSTD_frame)
        return otter_err_set(err, OTTER_EFORMAT, "%s: bad zstd frame header", what);
    if (fh.windowSize > (1ull << OTTER_DELTA_WINDOW_LOG_MAX))
        return otter_err_set(err, OTTER_EFORMAT, "%s: zstd window of %llu bytes, at most %llu",
                             what, (unsigned long long)fh.windowSize,
                             1ull << OTTER_DELTA_WINDOW_LOG_MAX);
    ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_only);
    size_t rc = prefix ? ZSTD_DCtx_refPrefix(d->dctx, prefix, prefix_len) : 0;
    if (ZSTD_isError(rc))
        return otter_err_set(err, OTTER_EFORMAT, "%s: zstd: %s", what, ZSTD_getErrorName(rc));
    /* Capacity is the expected size: a frame that says more stops there. */
    size_t n = ZSTD_decompressDCtx(d->dctx, out, out_len, stored, stored_len);
    if (ZSTD_isError(n))
        return otter_err_set(err, OTTER_EFORMAT, "%s: zstd: %s", what, ZSTD_getErrorName(n));
    if (n != out_len)
        return otter_err_set(err, OTTER_EFORMAT, "%s: %zu bytes decoded, expected %zu", what, n,
                             out_len);
    return 0;
}

/*
 * The patch buffer holds len bytes (at most OTTER_DELTA_PATCH_MAX). It grows
 * once to the image's bound rather than by each patch's few extra bytes:
 * a new buffer costs fresh pages, and untouched pages cost nothing.
 */
static int patch_buffer(otter_delta_dec *d, uint32_t chunk_size, size_t len, otter_err *err)
{
    if (d->patch && d->patch_cap >= len)
        return 0;
    size_t want = OTTER_DELTA_PATCH_MAX(chunk_size) > len ? OTTER_DELTA_PATCH_MAX(chunk_size) : len;
    uint8_t *p = malloc(want ? want : 1);
    if (!p)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory for a %zu-byte patch", want);
    free(d->patch);
    d->patch = p;
    d->patch_cap = want;
    return 0;
}

/* bsdiff: the frame's content is the patch; its size is known only from the frame. */
static int decode_bsdiff(otter_delta_dec *d, uint32_t chunk_size, const uint8_t *stored,
                         size_t stored_len, const uint8_t *src, size_t src_len, uint8_t *out,
                         size_t out_len, otter_err *err)
{
    size_t max = OTTER_DELTA_PATCH_MAX(chunk_size);
    unsigned long long len = ZSTD_getFrameContentSize(stored, stored_len);
    if (len == ZSTD_CONTENTSIZE_ERROR || len == ZSTD_CONTENTSIZE_UNKNOWN)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff: the zstd frame does not state its content size");
    if (len > max)
        return otter_err_set(err, OTTER_EFORMAT, "bsdiff: patch of %llu bytes, at most %zu", len,
                             max);
    int ret = patch_buffer(d, chunk_size, (size_t)len, err);
    if (!ret)
        ret = decode_frame(d, "bsdiff", stored, stored_len, NULL, 0, d->patch, (size_t)len, err);
    if (!ret)
        ret = otter_delta_patch_apply(d->patch, (size_t)len, src, src_len, out, out_len, chunk_size,
                                      err);
    return ret;
}

uint64_t otter_delta_lzma_dict(unsigned props)
{
    return (uint64_t)(2 | (props & 1)) << (props / 2 + 11);
}

uint8_t otter_delta_lzma_props(size_t len)
{
    unsigned p = 0;
    while (p < OTTER_DELTA_LZMA_PROPS_MAX && otter_delta_lzma_dict(p) < len)
        p++;
    return (uint8_t)p;
}

/* Starts the raw LZMA2 decoder on in (the whole stream after the header). */
static int lzma_start(otter_delta_dec *d, unsigned props, const uint8_t *in, size_t in_len,
                      otter_err *err)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, 0))
        return otter_err_set(err, OTTER_ENOMEM, "bsdiff-lzma: liblzma has no LZMA2");
    opt.dict_size = (uint32_t)otter_delta_lzma_dict(props);
    lzma_filter chain[] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    lzma_ret lr = lzma_raw_decoder(&d->lz, chain);
    if (lr != LZMA_OK)
        return otter_err_set(err, lr == LZMA_MEM_ERROR ? OTTER_ENOMEM : OTTER_EFORMAT,
                             "bsdiff-lzma: cannot start the LZMA2 decoder (liblzma %d)", (int)lr);
    d->lz.next_in = in;
    d->lz.avail_in = in_len;
    return 0;
}

/*
 * The next n bytes of the patch (of len in all) into dst. The stream must
 * hold them: one that ends before is refused.
 */
static int lzma_read(otter_delta_dec *d, uint8_t *dst, size_t n, size_t len, otter_err *err)
{
    if (!n)
        return 0;
    d->lz.next_out = dst;
    d->lz.avail_out = n;
    lzma_ret lr;
    /* liblzma says LZMA_BUF_ERROR after a second call without progress: this ends. */
    do
        lr = lzma_code(&d->lz, LZMA_FINISH);
    while (lr == LZMA_OK && d->lz.avail_out);
    if (lr == LZMA_MEM_ERROR)
        return otter_err_set(err, OTTER_ENOMEM, "bsdiff-lzma: out of memory");
    if (d->lz.avail_out && (lr == LZMA_BUF_ERROR || lr == LZMA_STREAM_END))
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff-lzma: the LZMA2 stream stops after %llu of its %zu bytes",
                             (unsigned long long)d->lz.total_out, len);
    if (lr != LZMA_OK && lr != LZMA_STREAM_END)
        return otter_err_set(err, OTTER_EFORMAT, "bsdiff-lzma: corrupt LZMA2 data (liblzma %d)",
                             (int)lr);
    return 0;
}

/* After the patch's len bytes the stream must end, and the stored bytes with it. */
static int lzma_end_check(otter_delta_dec *d, size_t len, otter_err *err)
{
    uint8_t extra;
    d->lz.next_out = &extra;
    d->lz.avail_out = 1;
    lzma_ret lr;
    do
        lr = lzma_code(&d->lz, LZMA_FINISH);
    while (lr == LZMA_OK && d->lz.avail_out);
    if (!d->lz.avail_out)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff-lzma: the LZMA2 stream decodes to more than its %zu bytes",
                             len);
    if (lr == LZMA_MEM_ERROR)
        return otter_err_set(err, OTTER_ENOMEM, "bsdiff-lzma: out of memory");
    if (lr != LZMA_STREAM_END)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff-lzma: corrupt or cut LZMA2 data after %zu bytes (liblzma %d)",
                             len, (int)lr);
    if (d->lz.avail_in)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff-lzma: the LZMA2 stream ends with %zu bytes left",
                             d->lz.avail_in);
    return 0;
}

/* The whole patch into the patch buffer (when out overlaps the stored bytes). */
static int run_lzma(otter_delta_dec *d, unsigned props, const uint8_t *in, size_t in_len,
                    size_t len, otter_err *err)
{
    int ret = lzma_start(d, props, in, in_len, err);
    if (!ret)
        ret = lzma_read(d, d->patch, len, len, err);
    if (!ret)
        ret = lzma_end_check(d, len, err);
    return ret;
}

/*
 * The patch decoded straight into out: header and control triples into
 * the patch buffer (16 bytes a triple), checked whole; then the add
 * section lands where each triple's output goes and the source is added
 * in place; then the insert section fills the gaps. No pass writes and
 * reads back a patch-sized buffer (fresh pages and a memory pass a chunk:
 * bench/delta.sh's apply CPU time).
 */
static int stream_lzma(otter_delta_dec *d, unsigned props, const uint8_t *in, size_t in_len,
                       size_t len, const uint8_t *src, size_t src_len, uint8_t *out, size_t out_len,
                       uint32_t chunk_size, otter_err *err)
{
    uint32_t count = 0;
    int ret = lzma_start(d, props, in, in_len, err);
    if (!ret)
        ret = lzma_read(d, d->patch, OTTER_DELTA_HEADER_LEN, len, err);
    if (!ret)
        ret = check_count(d->patch, len, chunk_size, &count, err);
    size_t ctl_len = (size_t)count * OTTER_DELTA_TRIPLE_LEN;
    if (!ret)
        ret = lzma_read(d, d->patch + OTTER_DELTA_HEADER_LEN, ctl_len, len, err);
    if (!ret)
        ret = check_layout(d->patch, len, out_len, chunk_size, &count, err);
    if (!ret)
        ret = check_seeks(d->patch + OTTER_DELTA_HEADER_LEN, count, src_len, err);
    const uint8_t *ctl = d->patch + OTTER_DELTA_HEADER_LEN;
    uint64_t p = 0;
    size_t o = 0;
    for (uint32_t i = 0; !ret && i < count; i++, ctl += OTTER_DELTA_TRIPLE_LEN) {
        uint32_t add = get_u32(ctl);
        ret = lzma_read(d, out + o, add, len, err);
        if (!ret)
            add_in_place(out + o, src + p, add);
        o += add + get_u32(ctl + 4);
        p = (uint64_t)((int64_t)(p + add) + get_i64(ctl + 8));
    }
    ctl = d->patch + OTTER_DELTA_HEADER_LEN;
    o = 0;
    for (uint32_t i = 0; !ret && i < count; i++, ctl += OTTER_DELTA_TRIPLE_LEN) {
        uint32_t add = get_u32(ctl), insert = get_u32(ctl + 4);
        ret = lzma_read(d, out + o + add, insert, len, err);
        o += add + insert;
    }
    if (!ret)
        ret = lzma_end_check(d, len, err);
    return ret;
}

/*
 * bsdiff-lzma: the header says the patch's length and the dictionary; a
 * dictionary larger than the patch needs is refused before anything is
 * allocated (liblzma allocates the whole dictionary up front).
 */
static int decode_bsdiff_lzma(otter_delta_dec *d, uint32_t chunk_size, const uint8_t *stored,
                              size_t stored_len, const uint8_t *src, size_t src_len, uint8_t *out,
                              size_t out_len, otter_err *err)
{
    if (stored_len <= OTTER_DELTA_LZMA_HEADER_LEN)
        return otter_err_set(err, OTTER_EFORMAT,
                             "bsdiff-lzma: %zu stored bytes, not even a header and a stream",
                             stored_len);
    unsigned props = stored[0];
    size_t len = get_u32(stored + 1), max = OTTER_DELTA_PATCH_MAX(chunk_size);
    if (len < OTTER_DELTA_HEADER_LEN || len > max)
        return otter_err_set(err, OTTER_EFORMAT, "bsdiff-lzma: patch of %zu bytes, not %d..%zu",
                             len, OTTER_DELTA_HEADER_LEN, max);
    unsigned allowed = otter_delta_lzma_props(len);
    if (props > allowed)
        return otter_err_set(
            err, OTTER_EFORMAT,
            "bsdiff-lzma: LZMA2 dictionary props %u (%llu bytes) for a %zu-byte "
            "patch, at most props %u (%llu bytes)",
            props, props > 39 ? 0xffffffffull : (unsigned long long)otter_delta_lzma_dict(props),
            len, allowed, (unsigned long long)otter_delta_lzma_dict(allowed));
    int ret = patch_buffer(d, chunk_size, len, err);
    const uint8_t *in = stored + OTTER_DELTA_LZMA_HEADER_LEN;
    size_t in_len = stored_len - OTTER_DELTA_LZMA_HEADER_LEN;
    /* The stored bytes usually lie after out in one buffer (chunkq's in-place
     * layout); a patch longer than its chunk may overlap out: decode it whole. */
    uintptr_t o0 = (uintptr_t)out, s0 = (uintptr_t)stored;
    if (!ret && (s0 >= o0 + out_len || o0 >= s0 + stored_len))
        return stream_lzma(d, props, in, in_len, len, src, src_len, out, out_len, chunk_size, err);
    if (!ret)
        ret = run_lzma(d, props, in, in_len, len, err);
    if (!ret)
        ret = otter_delta_patch_apply(d->patch, len, src, src_len, out, out_len, chunk_size, err);
    return ret;
}

int otter_delta_decode(otter_delta_dec *d, otter_chunk_method method, uint32_t chunk_size,
                       const uint8_t *stored, size_t stored_len, const uint8_t *src, size_t src_len,
                       uint8_t *out, size_t out_len, otter_err *err)
{
    switch (method) {
    case OTTER_METHOD_COPY:
        if (stored_len != 0 || src_len != out_len)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "copy: %zu stored bytes and a %zu-byte range for %zu bytes",
                                 stored_len, src_len, out_len);
        memcpy(out, src, out_len);
        return 0;
    case OTTER_METHOD_ZSTD_PATCH:
        if (!src_len)
            return otter_err_set(err, OTTER_EFORMAT, "zstd-patch: empty source range");
        return decode_frame(d, "zstd-patch", stored, stored_len, src, src_len, out, out_len, err);
    case OTTER_METHOD_BSDIFF:
        return decode_bsdiff(d, chunk_size, stored, stored_len, src, src_len, out, out_len, err);
    case OTTER_METHOD_BSDIFF_LZMA:
        return decode_bsdiff_lzma(d, chunk_size, stored, stored_len, src, src_len, out, out_len,
                                  err);
    default:
        return otter_err_set(err, OTTER_EFORMAT, "method %d is not a delta method", (int)method);
    }
}
