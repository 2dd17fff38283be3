/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per chunk: a copy when the whole chunk is somewhere in the source;
 * otherwise zstd-patch and bsdiff against up to two source ranges (the
 * window of the source holding most of the chunk's 64-byte blocks, and the
 * one around the chunk's own offset) and plain zstd, and the smallest stored size wins
 * at a fast zstd level (ties go to the simpler method); the winner is
 * compressed again at the level asked for, and decoded again with the
 * device's decoder and compared before it is kept.
 */
#include "otter_delta_encode.h"
#include "otter_delta.h"
#include "otter_delta_diff.h"
#include "otter_delta_index.h"
#include "otter_digest.h"
#include "otter_file.h"

#include <lzma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define MAX_THREADS 64

typedef struct result {
    otter_chunk_method method;
    uint64_t src_off;
    uint32_t src_len;
    uint8_t *stored; /* owned; NULL for copy */
    size_t stored_len;
    uint8_t *patch; /* bsdiff: the OTDIFF1 patch before compression (owned) */
    size_t patch_len;
} result;

typedef struct job {
    const uint8_t *old, *nw;
    size_t old_len, new_len;
    uint32_t span;
    int level;
    unsigned methods; /* 1 << method per method allowed */
    int mapped;       /* old and nw are read-only file mappings (otter_delta_drop_pages) */
    size_t count;
    const uint8_t *copy_found;
    const uint64_t *copy_at;
    const otter_delta_index *ix;
    result *res;
    pthread_mutex_t lock;
    size_t next;
    int failed;
    otter_err err;
} job;

/* A worker's tools: its own compressor and decoder. */
typedef struct tools {
    ZSTD_CCtx *cctx;
    otter_delta_dec *dec;
    uint8_t *check; /* decode-back buffer, span bytes */
} tools;

static unsigned log2_ceil(size_t n)
{
    unsigned l = 0;
    while (((size_t)1 << l) < n)
        l++;
    return l;
}

/*
 * Candidates are compared at a fast level (the ranking barely changes with
 * the level, the time does: a 4 MiB prefix at level 19 costs seconds), and
 * only the winner is compressed again at the level asked for.
 */
#define TRIAL_LEVEL 3

/* Table sizes (log2 entries) of the final frames, without and with a prefix: see compress(). */
#define CHAIN_LOG 20
#define HASH_LOG 19
#define PREFIX_CHAIN_LOG 22
#define PREFIX_HASH_LOG 21

static int allowed(const job *j, otter_chunk_method m)
{
    return (j->methods >> (unsigned)m) & 1u;
}

static int trial_level(const job *j)
{
    return j->level < TRIAL_LEVEL ? j->level : TRIAL_LEVEL;
}

/* One zstd frame of src (with prefix when given); NULL on failure. */
static uint8_t *compress(tools *t, int level, const uint8_t *prefix, size_t prefix_len,
                         const uint8_t *src, size_t n, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(n);
    uint8_t *out = malloc(cap);
    if (!out)
        return NULL;
    ZSTD_CCtx_reset(t->cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, level);
    /*
     * Level 19's tables as zstd sizes them take 32 MiB per worker for a
     * 1 MiB chunk and 80 MiB with a 4 MiB prefix (chain log 24, hash log
     * 22); capped as here they take 11 and 24 MiB, and the frames of the
     * measured pairs stay the same size within a few bytes (docs/delta.md).
     */
    if (level > TRIAL_LEVEL) {
        ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_chainLog, prefix ? PREFIX_CHAIN_LOG : CHAIN_LOG);
        ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_hashLog, prefix ? PREFIX_HASH_LOG : HASH_LOG);
    }
    if (prefix) {
        /* The window must reach back over the whole prefix: at most 2^26, the reader's bound. */
        unsigned wlog = log2_ceil(prefix_len + n);
        ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_windowLog,
                               wlog < 10                           ? 10
                               : wlog > OTTER_DELTA_WINDOW_LOG_MAX ? OTTER_DELTA_WINDOW_LOG_MAX
                                                                   : (int)wlog);
        ZSTD_CCtx_refPrefix(t->cctx, prefix, prefix_len);
    }
    size_t z = ZSTD_compress2(t->cctx, out, cap, src, n);
    if (ZSTD_isError(z)) {
        free(out);
        return NULL;
    }
    *out_len = z;
    return out;
}

/* Keeps cand in best when it is smaller (frees the loser). */
static void consider(result *best, result cand)
{
    if (!cand.stored) {
        free(cand.patch);
        return;
    }
    if (!best->stored || cand.stored_len < best->stored_len) {
        free(best->stored);
        free(best->patch);
        *best = cand;
    } else {
        free(cand.stored);
        free(cand.patch);
    }
}

/* The source range (at most 4 spans) centred on where the chunk's bytes sit in old. */
static void range_for(const job *j, int64_t start_in_old, size_t n, uint64_t *off, uint32_t *len)
{
    size_t r = 4 * (size_t)j->span < j->old_len ? 4 * (size_t)j->span : j->old_len;
    int64_t s = start_in_old - (int64_t)(r - (r > n ? n : r)) / 2;
    if (s < 0)
        s = 0;
    if ((uint64_t)s > j->old_len - r)
        s = (int64_t)(j->old_len - r);
    *off = (uint64_t)s;
    *len = (uint32_t)r;
}

/*
 * zstd-patch into best, the bsdiff patches into bsd (the smallest bsdiff
 * candidate, kept apart: finish() may code its patch with LZMA2 too).
 */
static void try_range(const job *j, tools *t, const uint8_t *chunk, size_t n, uint64_t off,
                      uint32_t len, result *best, result *bsd)
{
    const uint8_t *src = j->old + off;
    if (allowed(j, OTTER_METHOD_ZSTD_PATCH)) {
        result c = {OTTER_METHOD_ZSTD_PATCH, off, len, NULL, 0, NULL, 0};
        c.stored = compress(t, trial_level(j), src, len, chunk, n, &c.stored_len);
        consider(best, c);
    }
    if (!allowed(j, OTTER_METHOD_BSDIFF) && !allowed(j, OTTER_METHOD_BSDIFF_LZMA))
        return;
    int32_t *sa = otter_delta_suffixes(src, len);
    if (!sa)
        return;
    static const unsigned sticky[] = {OTTER_DELTA_STICKY_LOW, OTTER_DELTA_STICKY_HIGH};
    for (size_t k = 0; k < sizeof sticky / sizeof sticky[0]; k++) {
        uint8_t *patch = NULL;
        size_t patch_len = 0;
        otter_err e;
        if (otter_delta_diff(src, len, sa, chunk, n, sticky[k], &patch, &patch_len, &e) != 0)
            break;
        if (patch_len > OTTER_DELTA_PATCH_MAX(j->span)) {
            free(patch);
            continue;
        }
        result b = {OTTER_METHOD_BSDIFF, off, len, NULL, 0, patch, patch_len};
        b.stored = compress(t, trial_level(j), NULL, 0, patch, patch_len, &b.stored_len);
        consider(bsd, b);
    }
    free(sa);
}

/*
 * bsdiff-lzma's stored bytes for an OTDIFF1 patch: props, length, raw LZMA2
 * as `xz -9e` codes it with lc=0 lp=0 pb=0 (the add bytes' context is the
 * byte before, not its position; measured smallest on the bench's binaries),
 * with the smallest dictionary that holds the patch, at most 256 KiB (what a
 * reader allows).
 */
static uint8_t *lzma_patch(const uint8_t *patch, size_t n, size_t *out_len)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, 9 | LZMA_PRESET_EXTREME))
        return NULL;
    uint8_t props = otter_delta_lzma_props(n);
    opt.dict_size = (uint32_t)otter_delta_lzma_dict(props);
    opt.lc = 0;
    opt.lp = 0;
    opt.pb = 0;
    lzma_filter chain[] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    /* LZMA2 stores what does not compress in chunks of 64 KiB with a 3-byte header. */
    size_t cap = OTTER_DELTA_LZMA_HEADER_LEN + n + n / 1024 + 64;
    uint8_t *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = props;
    for (int i = 0; i < 4; i++)
        out[1 + i] = (uint8_t)((uint32_t)n >> (8 * i));
    size_t pos = OTTER_DELTA_LZMA_HEADER_LEN;
    if (lzma_raw_buffer_encode(chain, NULL, patch, n, out, &pos, cap) != LZMA_OK) {
        free(out);
        return NULL;
    }
    *out_len = pos;
    return out;
}

/*
 * The best bsdiff patch coded with LZMA2 (smaller on executables: context
 * modelled literals). stored is NULL when it failed.
 */
static result lzma_of(const result *b)
{
    result l = {OTTER_METHOD_BSDIFF_LZMA, b->src_off, b->src_len, NULL, 0, NULL, 0};
    if (b->patch)
        l.stored = lzma_patch(b->patch, b->patch_len, &l.stored_len);
    return l;
}

/*
 * l replaces best when it stores LZMA_MIN_GAIN % fewer bytes (else it is
 * freed): LZMA2 decodes at about 30 MB/s where zstd decodes at 1 GB/s, so a
 * bsdiff-lzma chunk costs a device several times the CPU of a zstd-coded
 * one. On the bench's pairs LZMA2 saved 10 to 25 % on every patched chunk
 * of the security updates and the ext4 image, and less than 8 % on 13 of
 * the 20 chunks it won on the major upgrade (docs/delta.md).
 */
#define LZMA_MIN_GAIN 8
static void take_if_smaller(result *best, result *l)
{
    if (l->stored &&
        (uint64_t)l->stored_len * 100 <= (uint64_t)best->stored_len * (100 - LZMA_MIN_GAIN)) {
        free(best->stored);
        free(best->patch);
        *best = *l;
    } else {
        free(l->stored);
    }
    *l = (result){0};
}

/* The winner again at the level asked for (the trials ran at a fast one). */
static void recompress(const job *j, tools *t, const uint8_t *chunk, size_t n, result *best)
{
    if (j->level <= trial_level(j) || best->method == OTTER_METHOD_COPY)
        return;
    result f = *best;
    if (best->method == OTTER_METHOD_BSDIFF)
        f.stored = compress(t, j->level, NULL, 0, best->patch, best->patch_len, &f.stored_len);
    else if (best->method == OTTER_METHOD_ZSTD_PATCH)
        f.stored =
            compress(t, j->level, j->old + best->src_off, best->src_len, chunk, n, &f.stored_len);
    else
        f.stored = compress(t, j->level, NULL, 0, chunk, n, &f.stored_len);
    if (f.stored && f.stored_len < best->stored_len) {
        free(best->stored);
        best->stored = f.stored;
        best->stored_len = f.stored_len;
    } else {
        free(f.stored);
    }
    /*
     * A context keeps its largest tables (11 to 24 MiB at the final level)
     * for the trials that follow; a fresh one lets the worker's suffix
     * array and the final tables take turns instead of adding up.
     */
    ZSTD_CCtx *fresh = ZSTD_createCCtx();
    if (fresh) {
        ZSTD_freeCCtx(t->cctx);
        t->cctx = fresh;
    }
}

/*
 * LZMA2 is tried only on a patch that zstd codes at least LZMA_TRY_DENSITY
 * : 1: its gain over zstd comes from the mostly-zero add bytes of a small
 * change (the security pairs' patches code 10:1 to 70:1). On the bench's
 * major upgrade 20 of 32 patches code 1.8:1 to 3.3:1, LZMA2 gained less
 * than 8 % on all but one of them, for 0.5 s of CPU each (docs/delta.md).
 */
#define LZMA_TRY_DENSITY 4

/* The trial winner among best and bsd at the level asked for, then LZMA2 for bsd's patch. */
static void finish(const job *j, tools *t, const uint8_t *chunk, size_t n, result *best,
                   result *bsd)
{
    int try_lzma = allowed(j, OTTER_METHOD_BSDIFF_LZMA) && bsd->stored &&
                   (uint64_t)bsd->stored_len * LZMA_TRY_DENSITY <= bsd->patch_len &&
                   (uint64_t)bsd->stored_len <= 2 * (uint64_t)best->stored_len;
    if (allowed(j, OTTER_METHOD_BSDIFF) && bsd->stored && bsd->stored_len < best->stored_len) {
        free(best->stored);
        free(best->patch);
        *best = *bsd;
        *bsd = (result){0};
    }
    result l = {0};
    if (try_lzma)
        l = lzma_of(best->method == OTTER_METHOD_BSDIFF ? best : bsd);
    /* LZMA2 is weighed against the final size of the best zstd-coded candidate. */
    recompress(j, t, chunk, n, best);
    take_if_smaller(best, &l);
    free(bsd->stored);
    free(bsd->patch);
}

/* The device's decoder on the winner: a maker bug must not reach a package. */
static int decodes_back(const job *j, tools *t, const result *r, const uint8_t *chunk, size_t n,
                        otter_err *err)
{
    if (r->method == OTTER_METHOD_ZSTD) {
        size_t got = ZSTD_decompress(t->check, j->span, r->stored, r->stored_len);
        if (ZSTD_isError(got) || got != n || memcmp(t->check, chunk, n) != 0)
            return otter_err_set(err, OTTER_EFORMAT, "zstd frame does not decode back");
        return 0;
    }
    int ret = otter_delta_decode(t->dec, r->method, j->span, r->stored, r->stored_len,
                                 j->old + r->src_off, r->src_len, t->check, n, err);
    if (!ret && memcmp(t->check, chunk, n) != 0)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s does not decode back",
                            otter_chunk_method_name(r->method));
    return ret;
}

static int encode_chunk(const job *j, tools *t, size_t i, result *best, otter_err *err)
{
    uint64_t at = (uint64_t)i * j->span;
    size_t n = j->new_len - at < j->span ? (size_t)(j->new_len - at) : j->span;
    const uint8_t *chunk = j->nw + at;
    memset(best, 0, sizeof *best);
    if (j->copy_found[i] && allowed(j, OTTER_METHOD_COPY)) {
        *best = (result){OTTER_METHOD_COPY, j->copy_at[i], (uint32_t)n, NULL, 0, NULL, 0};
        return 0;
    }
    result z = {OTTER_METHOD_ZSTD, 0, 0, NULL, 0, NULL, 0};
    z.stored = compress(t, trial_level(j), NULL, 0, chunk, n, &z.stored_len);
    if (!z.stored)
        return otter_err_set(err, OTTER_ENOMEM, "chunk %zu: zstd failed", i);
    consider(best, z);
    /*
     * The range around the chunk's own offset (right for small updates: the
     * bytes moved little), and the window of the source that holds most of
     * the chunk's blocks when it lies elsewhere (moved content).
     */
    uint64_t off0, off1 = 0, start = 0;
    uint32_t len0, len1 = 0;
    result bsd = {0};
    range_for(j, (int64_t)at, n, &off0, &len0);
    try_range(j, t, chunk, n, off0, len0, best, &bsd);
    if (otter_delta_index_range(j->ix, chunk, n, len0, &start)) {
        range_for(j, (int64_t)start, len0, &off1, &len1);
        uint64_t apart = off1 > off0 ? off1 - off0 : off0 - off1;
        if (apart > len0 / 4)
            try_range(j, t, chunk, n, off1, len1, best, &bsd);
    }
    finish(j, t, chunk, n, best, &bsd);
    free(best->patch);
    best->patch = NULL;
    int ret = decodes_back(j, t, best, chunk, n, err);
    if (j->mapped) { /* the pages this chunk read leave the RSS (neighbours refault them) */
        otter_delta_drop_pages(chunk, n);
        otter_delta_drop_pages(j->old + off0, len0);
        otter_delta_drop_pages(j->old + off1, len1);
    }
    if (ret)
        otter_err_prefix(err, "chunk %zu", i);
    return ret;
}

static void *worker(void *arg)
{
    job *j = arg;
    tools t = {ZSTD_createCCtx(), otter_delta_dec_new(), malloc(j->span)};
    otter_err e;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        int stop = j->failed || i >= j->count;
        pthread_mutex_unlock(&j->lock);
        if (stop)
            break;
        int ret = t.cctx && t.dec && t.check ? encode_chunk(j, &t, i, &j->res[i], &e)
                                             : otter_err_set(&e, OTTER_ENOMEM, "out of memory");
        if (ret) {
            pthread_mutex_lock(&j->lock);
            if (!j->failed)
                j->err = e;
            j->failed = 1;
            pthread_mutex_unlock(&j->lock);
        }
    }
    ZSTD_freeCCtx(t.cctx);
    otter_delta_dec_free(t.dec);
    free(t.check);
    return NULL;
}

static int run_pool(job *j, int threads, otter_err *err)
{
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if ((size_t)threads > j->count)
        threads = j->count ? (int)j->count : 1;
    pthread_t tid[MAX_THREADS];
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, j) != 0)
            break;
    if (!started)
        worker(j); /* no thread at all: do it here */
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (j->failed) {
        *err = j->err;
        return err->code;
    }
    return 0;
}

/* The chosen results into the chunk table and the payload file, in order. */
static int write_results(const job *j, otter_manifest_image *img, int out_fd, const char *out_path,
                         otter_err *err)
{
    uint64_t stored_at = 0;
    for (size_t i = 0; i < j->count; i++) {
        const result *r = &j->res[i];
        otter_manifest_chunk *c = &img->chunks[i];
        uint64_t at = (uint64_t)i * j->span;
        c->size = (uint32_t)(j->new_len - at < j->span ? j->new_len - at : j->span);
        otter_sha256_buf(j->nw + at, c->size, c->sha256);
        if (j->mapped)
            otter_delta_drop_pages(j->nw + at, c->size);
        c->method = r->method;
        c->source_offset = r->method == OTTER_METHOD_ZSTD ? 0 : r->src_off;
        c->source_size = r->method == OTTER_METHOD_ZSTD ? 0 : r->src_len;
        c->stored_offset = stored_at;
        c->stored_size = (uint32_t)r->stored_len;
        memset(c->stored_sha256, 0, sizeof c->stored_sha256);
        if (r->stored_len) {
            otter_sha256_buf(r->stored, r->stored_len, c->stored_sha256);
            int ret = otter_file_write_full(out_fd, r->stored, r->stored_len, out_path, err);
            if (ret)
                return ret;
        }
        stored_at += r->stored_len;
    }
    return 0;
}

int otter_delta_encode_image(const uint8_t *old, size_t old_len, const uint8_t *new_bytes,
                             size_t new_len, int level, int threads, unsigned methods, int mapped,
                             otter_manifest_image *img, int out_fd, const char *out_path,
                             otter_err *err)
{
    uint32_t span = img->chunk_size;
    size_t count = new_len / span + (new_len % span != 0);
    job j = {.old = old,
             .nw = new_bytes,
             .old_len = old_len,
             .new_len = new_len,
             .span = span,
             .level = level,
             .methods = (methods ? methods : ~0u) | 1u << OTTER_METHOD_ZSTD,
             .mapped = mapped,
             .count = count};
    uint8_t *found = calloc(count, 1);
    uint64_t *where = calloc(count, sizeof *where);
    j.res = calloc(count, sizeof *j.res);
    j.ix = otter_delta_index_new(old, old_len, mapped);
    pthread_mutex_init(&j.lock, NULL);
    int ret = otter_manifest_image_alloc_chunks(img, count, err);
    if (!ret &&
        (!found || !where || !j.res || !j.ix ||
         otter_delta_find_copies(old, old_len, new_bytes, new_len, span, mapped, found, where)))
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
    j.copy_found = found;
    j.copy_at = where;
    if (!ret)
        ret = run_pool(&j, threads, err);
    if (!ret)
        ret = write_results(&j, img, out_fd, out_path, err);
    for (size_t i = 0; j.res && i < count; i++)
        free(j.res[i].stored);
    free(j.res);
    free(found);
    free(where);
    otter_delta_index_free((otter_delta_index *)j.ix);
    pthread_mutex_destroy(&j.lock);
    return ret;
}
