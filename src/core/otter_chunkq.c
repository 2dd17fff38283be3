/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_chunkq.h"
#include "otter_crypt.h"
#include "otter_delta.h"
#include "otter_digest.h"
#include "otter_encode.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* For ZSTD_DECOMPRESSION_MARGIN: a macro (arithmetic), nothing linked statically. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#define MAX_WORKERS 4
#define MAX_SLOTS (MAX_WORKERS + 1)
/* Frames hold at most OTTER_CHUNK_SIZE_MAX; their window never needs more. */
#define WINDOW_LOG_MAX 23

enum slot_state { FREE, FILLED, QUEUED, WORKING, DONE, HANDED };

/*
 * One buffer a slot: a chunk decodes in place. The stored bytes go to the end
 * of a buffer of the chunk's size plus zstd's decompression margin, and the
 * frame is decoded to its start (zstd's in-place decompression), so a chunk
 * needs its size plus about 128 KiB, not its size plus its stored size.
 */
typedef struct slot {
    enum slot_state state;
    uint8_t *buf, *in;
    size_t cap, in_len, out_len;
    const otter_manifest_chunk *chunk;
    otter_compression compression;
    size_t index;
    int src_fd;          /* delta images: the source (borrowed), else -1 */
    uint32_t chunk_span; /* the image's chunk_size (bounds a bsdiff patch) */
    /* Encrypted images: the image's key (borrowed), or cipher_only (no key). */
    const otter_crypt_image *crypt;
    int cipher_only;
    const uint8_t *out; /* what take() hands out: buf, or in for cipher_only */
    char what[OTTER_IDENT_MAX + 1];
    int ret;
    otter_err err;
} slot;

struct otter_chunkq {
    slot slots[MAX_SLOTS];
    size_t nslots;
    /* Ring: slots [taken, submitted) are queued or in work, in order; the
     * one at `filled` is being filled by the caller. */
    size_t submitted, taken, next_job;
    ZSTD_DCtx *inline_dctx;
    otter_delta_dec *inline_delta;
    int src_fd; /* set_source(): copied into each submitted slot */
    uint32_t chunk_span;
    const otter_crypt_image *crypt; /* set_crypt(): likewise */
    int cipher_only;
    unsigned workers;
    pthread_t threads[MAX_WORKERS];
    int stop;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
};

static int grow(uint8_t **buf, size_t *cap, size_t want)
{
    if (*cap >= want)
        return 0;
    uint8_t *p = malloc(want);
    if (!p)
        return -1;
    free(*buf);
    *buf = p;
    *cap = want;
    return 0;
}

static int digest_is(const void *data, size_t len, const uint8_t *want)
{
    uint8_t md[OTTER_SHA256_LEN];
    otter_sha256_buf(data, len, md);
    return memcmp(md, want, sizeof md) == 0;
}

/* Reads exactly len bytes at off (a copy chunk's range) into buf. */
static int pread_full(int fd, uint8_t *buf, size_t len, uint64_t off, otter_err *err)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "reading the source");
        if (n == 0)
            return otter_err_set(err, OTTER_EDIGEST, "the source ends at %llu, before its range",
                                 (unsigned long long)(off + got));
        got += (size_t)n;
    }
    return 0;
}

/* A patch method: the range is mapped read-only (never copied to the heap) and decoded against. */
static int decode_mapped(slot *s, otter_delta_dec *dd, otter_err *err)
{
    const otter_manifest_chunk *c = s->chunk;
    struct stat st;
    /* A regular file shorter than the range would fault on access: refuse first. */
    if (fstat(s->src_fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size < c->source_offset + c->source_size)
        return otter_err_set(err, OTTER_EDIGEST,
                             "the source (%lld bytes) is shorter than its range",
                             (long long)st.st_size);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t start = c->source_offset / page * page;
    size_t lead = (size_t)(c->source_offset - start), map_len = lead + c->source_size;
    void *map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, s->src_fd, (off_t)start);
    if (map == MAP_FAILED)
        return otter_err_sys(err, OTTER_EIO, errno, "mapping the source range");
    int ret = otter_delta_decode(dd, c->method, s->chunk_span, s->in, s->in_len,
                                 (const uint8_t *)map + lead, c->source_size, s->buf, c->size, err);
    munmap(map, map_len);
    return ret;
}

/* A delta chunk: stored digest first, then the bytes made from the source range. */
static int check_delta_chunk(slot *s, otter_delta_dec *dd)
{
    const otter_manifest_chunk *c = s->chunk;
    otter_err e;
    int ret;
    if (c->method != OTTER_METHOD_COPY && !digest_is(s->in, s->in_len, c->stored_sha256))
        return otter_err_set(&s->err, OTTER_EDIGEST,
                             "image %s: chunk %zu: stored bytes sha256 mismatch", s->what,
                             s->index);
    if (s->src_fd < 0)
        ret = otter_err_set(&e, OTTER_ESTATE, "a %s chunk, but no source was given",
                            otter_chunk_method_name(c->method));
    else if (!dd)
        ret = otter_err_set(&e, OTTER_ENOMEM, "out of memory");
    else if (c->method == OTTER_METHOD_COPY)
        ret = pread_full(s->src_fd, s->buf, c->size, c->source_offset, &e);
    else
        ret = decode_mapped(s, dd, &e);
    if (ret)
        return otter_err_set(&s->err, ret, "image %s: chunk %zu (%s): %s", s->what, s->index,
                             otter_chunk_method_name(c->method), e.msg);
    if (!digest_is(s->buf, c->size, c->sha256))
        return otter_err_set(&s->err, OTTER_EDIGEST, "image %s: chunk %zu: sha256 mismatch",
                             s->what, s->index);
    s->out_len = c->size;
    return 0;
}

/*
 * An encrypted chunk: the ciphertext's signed digest first, then (with a key)
 * decryption in place and the GCM tag. 1: done (cipher_only: the ciphertext
 * is handed out), 0: go on with the clear bytes, or a negative code.
 */
static int open_sealed(slot *s)
{
    const otter_manifest_chunk *c = s->chunk;
    if (!digest_is(s->in, s->in_len, c->stored_sha256))
        return otter_err_set(&s->err, OTTER_EDIGEST,
                             "image %s: chunk %zu: ciphertext sha256 mismatch", s->what, s->index);
    if (s->cipher_only) {
        s->out = s->in;
        s->out_len = s->in_len;
        return 1;
    }
    otter_err e;
    if (otter_crypt_chunk_open(s->crypt, (uint32_t)s->index, s->in, s->in_len, &e) != 0)
        return otter_err_set(&s->err, e.code, "image %s: %s", s->what, e.msg);
    s->in_len -= OTTER_CRYPT_TAG_LEN;
    return 0;
}

/* The whole check of one chunk: stored digest, one frame, size, installed digest. */
static int check_chunk(slot *s, ZSTD_DCtx *dctx, otter_delta_dec *dd)
{
    const otter_manifest_chunk *c = s->chunk;
    s->out = s->buf;
    if (c->method != OTTER_METHOD_ZSTD)
        return check_delta_chunk(s, dd);
    int sealed = s->crypt || s->cipher_only;
    if (sealed) {
        int rc = open_sealed(s);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    if (s->compression == OTTER_COMPRESSION_NONE) {
        if (!digest_is(s->buf, s->in_len, c->sha256))
            return otter_err_set(&s->err, OTTER_EDIGEST, "image %s: chunk %zu: sha256 mismatch",
                                 s->what, s->index);
        s->out_len = s->in_len;
        return 0;
    }
    /* No decoder sees a byte the signed table does not vouch for (when sealed:
     * the signed ciphertext, opened under its tag). */
    if (!sealed && !digest_is(s->in, s->in_len, c->stored_sha256))
        return otter_err_set(&s->err, OTTER_EDIGEST,
                             "image %s: chunk %zu: stored bytes sha256 mismatch", s->what,
                             s->index);
    if (ZSTD_findFrameCompressedSize(s->in, s->in_len) != s->in_len)
        return otter_err_set(&s->err, OTTER_EFORMAT,
                             "image %s: chunk %zu: not exactly one zstd frame", s->what, s->index);
    /* Output capacity is the chunk's size: a frame that says more stops there. */
    size_t n = ZSTD_decompressDCtx(dctx, s->buf, c->size, s->in, s->in_len);
    if (ZSTD_isError(n))
        return otter_err_set(&s->err, OTTER_EFORMAT, "image %s: chunk %zu: zstd: %s", s->what,
                             s->index, ZSTD_getErrorName(n));
    if (n != c->size)
        return otter_err_set(&s->err, OTTER_EFORMAT,
                             "image %s: chunk %zu: %zu bytes decoded, the table says %u", s->what,
                             s->index, n, c->size);
    if (!digest_is(s->buf, n, c->sha256))
        return otter_err_set(&s->err, OTTER_EDIGEST, "image %s: chunk %zu: sha256 mismatch",
                             s->what, s->index);
    s->out_len = n;
    return 0;
}

static ZSTD_DCtx *new_dctx(void)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (d)
        ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
    return d;
}

static void *worker(void *arg)
{
    otter_chunkq *q = arg;
    ZSTD_DCtx *dctx = new_dctx();
    otter_delta_dec *dd = otter_delta_dec_new(); /* a patch buffer per worker */
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && q->next_job == q->submitted)
            pthread_cond_wait(&q->work, &q->lock);
        if (q->stop)
            break;
        slot *s = &q->slots[q->next_job++ % q->nslots];
        s->state = WORKING;
        pthread_mutex_unlock(&q->lock);
        s->ret =
            dctx ? check_chunk(s, dctx, dd) : otter_err_set(&s->err, OTTER_ENOMEM, "out of memory");
        pthread_mutex_lock(&q->lock);
        s->state = DONE;
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    ZSTD_freeDCtx(dctx);
    otter_delta_dec_free(dd);
    return NULL;
}

unsigned otter_chunkq_default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

otter_chunkq *otter_chunkq_new(unsigned workers)
{
    otter_chunkq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->workers = workers > MAX_WORKERS ? MAX_WORKERS : workers;
    q->nslots = q->workers + 1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    q->src_fd = -1;
    q->inline_dctx = q->workers ? NULL : new_dctx();
    q->inline_delta = q->workers ? NULL : otter_delta_dec_new();
    if (!q->workers && (!q->inline_dctx || !q->inline_delta)) {
        otter_chunkq_free(q);
        return NULL;
    }
    for (unsigned i = 0; i < q->workers; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0) {
            q->workers = i; /* only those started are joined */
            otter_chunkq_free(q);
            return NULL;
        }
    }
    return q;
}

void otter_chunkq_free(otter_chunkq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_broadcast(&q->work);
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->workers; i++)
        pthread_join(q->threads[i], NULL);
    for (size_t i = 0; i < MAX_SLOTS; i++)
        free(q->slots[i].buf);
    ZSTD_freeDCtx(q->inline_dctx);
    otter_delta_dec_free(q->inline_delta);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done);
    free(q);
}

size_t otter_chunkq_pending(const otter_chunkq *q)
{
    return q->submitted - q->taken;
}

int otter_chunkq_can_fill(const otter_chunkq *q)
{
    return q->slots[q->submitted % q->nslots].state == FREE;
}

uint8_t *otter_chunkq_fill(otter_chunkq *q, const otter_manifest_chunk *c,
                           otter_compression compression, otter_err *err)
{
    slot *s = &q->slots[q->submitted % q->nslots];
    if (s->state != FREE) {
        otter_err_set(err, OTTER_ESTATE, "no free chunk slot");
        return NULL;
    }
    /* A stored chunk is its own output when not compressed; a frame goes to
     * the end of its chunk's size plus the margin (in-place decoding). */
    size_t need = c->stored_size;
    if (compression != OTTER_COMPRESSION_NONE) {
        size_t in_place = (size_t)c->size + ZSTD_DECOMPRESSION_MARGIN(c->size, ZSTD_BLOCKSIZE_MAX);
        /* Encrypted: the tag follows the frame, so the frame still ends where
         * in-place decoding needs it once the tag is stripped. */
        if (q->crypt)
            in_place += OTTER_CRYPT_TAG_LEN;
        need = in_place > need ? in_place : need;
    }
    if (grow(&s->buf, &s->cap, need) < 0) {
        otter_err_set(err, OTTER_ENOMEM, "out of memory for a %u-byte chunk", c->size);
        return NULL;
    }
    s->in_len = c->stored_size;
    s->in = s->buf + need - c->stored_size;
    return s->in;
}

void otter_chunkq_submit(otter_chunkq *q, const otter_manifest_chunk *c,
                         otter_compression compression, size_t index, const char *what)
{
    pthread_mutex_lock(&q->lock);
    slot *s = &q->slots[q->submitted % q->nslots];
    s->chunk = c;
    s->compression = compression;
    s->index = index;
    s->src_fd = q->src_fd;
    s->chunk_span = q->chunk_span;
    s->crypt = q->crypt;
    s->cipher_only = q->cipher_only;
    snprintf(s->what, sizeof s->what, "%s", what);
    s->ret = 0;
    s->state = QUEUED;
    q->submitted++;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
}

static void release_handed(otter_chunkq *q)
{
    for (size_t i = 0; i < q->nslots; i++)
        if (q->slots[i].state == HANDED)
            q->slots[i].state = FREE;
}

void otter_chunkq_release(otter_chunkq *q)
{
    pthread_mutex_lock(&q->lock);
    release_handed(q);
    pthread_mutex_unlock(&q->lock);
}

int otter_chunkq_take(otter_chunkq *q, const void **data, size_t *len, otter_err *err)
{
    pthread_mutex_lock(&q->lock);
    release_handed(q);
    if (q->taken == q->submitted) {
        pthread_mutex_unlock(&q->lock);
        return otter_err_set(err, OTTER_ESTATE, "no chunk submitted");
    }
    slot *s = &q->slots[q->taken % q->nslots];
    if (!q->workers) {
        q->next_job++;
        s->ret = check_chunk(s, q->inline_dctx, q->inline_delta);
        s->state = DONE;
    }
    while (s->state != DONE)
        pthread_cond_wait(&q->done, &q->lock);
    q->taken++;
    s->state = HANDED;
    pthread_mutex_unlock(&q->lock);
    if (s->ret) {
        *err = s->err;
        return s->ret;
    }
    *data = s->out;
    *len = s->out_len;
    return 0;
}

void otter_chunkq_reset(otter_chunkq *q)
{
    pthread_mutex_lock(&q->lock);
    /* Jobs not started are dropped; those in a worker finish first. */
    q->next_job = q->submitted;
    for (;;) {
        int busy = 0;
        for (size_t i = 0; i < q->nslots; i++)
            busy |= q->slots[i].state == WORKING;
        if (!busy)
            break;
        pthread_cond_wait(&q->done, &q->lock);
    }
    for (size_t i = 0; i < q->nslots; i++)
        q->slots[i].state = FREE;
    q->taken = q->submitted;
    pthread_mutex_unlock(&q->lock);
}

void otter_chunkq_set_source(otter_chunkq *q, int fd, uint32_t chunk_size)
{
    pthread_mutex_lock(&q->lock);
    q->src_fd = fd;
    q->chunk_span = chunk_size;
    pthread_mutex_unlock(&q->lock);
}

void otter_chunkq_set_crypt(otter_chunkq *q, const otter_crypt_image *ci, int cipher_only)
{
    pthread_mutex_lock(&q->lock);
    q->crypt = ci;
    q->cipher_only = cipher_only;
    pthread_mutex_unlock(&q->lock);
}
