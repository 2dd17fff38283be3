/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_pkg_chunker.h"
#include "otter_crypt.h"
#include "otter_digest.h"
#include "otter_encode.h"
#include "otter_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define MAX_WORKERS 16

/* One worker's chunk of a batch: input span in, one frame out. */
typedef struct slot {
    uint8_t *in, *out;
    size_t in_len, out_cap, out_len;
    ZSTD_CCtx *cctx;
    int level;
    int compress;
    size_t zerr;                 /* a ZSTD error code, 0 when fine */
    const otter_crypt_image *ci; /* encrypted images: the key, else NULL */
    uint32_t index;              /* the chunk's index (the nonce and the AAD) */
    int seal_failed;
    otter_manifest_chunk chunk;
    pthread_t thread;
} slot;

/* Encrypted: the clear stored bytes (a frame, or the input) sealed in out, tag appended. */
static void seal_slot(slot *s)
{
    size_t n = s->compress ? s->out_len : s->in_len;
    if (!s->compress)
        memcpy(s->out, s->in, n);
    otter_err e;
    s->seal_failed = otter_crypt_chunk_seal(s->ci, s->index, s->out, n, &e) != 0;
    s->out_len = n + OTTER_CRYPT_TAG_LEN;
    s->chunk.stored_size = (uint32_t)s->out_len;
    otter_sha256_buf(s->out, s->out_len, s->chunk.stored_sha256);
}

static void *encode_slot(void *arg)
{
    slot *s = arg;
    otter_sha256_buf(s->in, s->in_len, s->chunk.sha256);
    s->chunk.size = (uint32_t)s->in_len;
    if (!s->compress && s->ci) {
        seal_slot(s);
        return NULL;
    }
    if (!s->compress) {
        s->chunk.stored_size = (uint32_t)s->in_len;
        memcpy(s->chunk.stored_sha256, s->chunk.sha256, OTTER_SHA256_LEN);
        return NULL;
    }
    size_t n = ZSTD_compressCCtx(s->cctx, s->out, s->out_cap, s->in, s->in_len, s->level);
    if (ZSTD_isError(n)) {
        s->zerr = n;
        return NULL;
    }
    s->out_len = n;
    s->chunk.stored_size = (uint32_t)n;
    otter_sha256_buf(s->out, n, s->chunk.stored_sha256);
    if (s->ci)
        seal_slot(s);
    return NULL;
}

/* Fills buf with up to len bytes (short only at the end of the input). */
static int read_span(int fd, const char *path, uint8_t *buf, size_t len, size_t *got,
                     otter_err *err)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = read(fd, buf + *got, len - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "%s: read failed", path);
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

static int workers_for(int threads)
{
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    return threads > MAX_WORKERS ? MAX_WORKERS : threads;
}

/* Appends chunk c to the image's table, growing it as the input goes on. */
static int append_chunk(otter_manifest_image *img, size_t *cap, const otter_manifest_chunk *c,
                        otter_err *err)
{
    if (img->chunk_count == OTTER_CHUNKS_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "image %s: more than %d chunks of %u bytes",
                             img->name, OTTER_CHUNKS_MAX, img->chunk_size);
    if (img->chunk_count == *cap) {
        size_t more = *cap ? *cap * 2 : 64;
        otter_manifest_chunk *t = realloc(img->chunks, more * sizeof *t);
        if (!t)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        img->chunks = t;
        *cap = more;
    }
    img->chunks[img->chunk_count++] = *c;
    return 0;
}

/* Writes one finished batch in order; updates the whole-image hash. */
static int emit_batch(slot *slots, int n, int out_fd, const char *out_path,
                      otter_manifest_image *img, size_t *cap, uint64_t *stored_at,
                      otter_sha256 *whole, otter_err *err)
{
    for (int i = 0; i < n; i++) {
        slot *s = &slots[i];
        if (s->zerr)
            return otter_err_set(err, OTTER_EIO, "image %s: zstd: %s", img->name,
                                 ZSTD_getErrorName(s->zerr));
        if (s->seal_failed)
            return otter_err_set(err, OTTER_EIO, "image %s: chunk %u: encryption failed", img->name,
                                 s->index);
        otter_sha256_update(whole, s->in, s->in_len);
        s->chunk.stored_offset = *stored_at;
        *stored_at += s->chunk.stored_size;
        if (s->compress || s->ci) {
            int ret = otter_file_write_full(out_fd, s->out, s->out_len, out_path, err);
            if (ret)
                return ret;
        }
        int ret = append_chunk(img, cap, &s->chunk, err);
        if (ret)
            return ret;
        img->size += s->in_len;
    }
    return 0;
}

static void free_slots(slot *slots, int n)
{
    for (int i = 0; i < n; i++) {
        free(slots[i].in);
        free(slots[i].out);
        ZSTD_freeCCtx(slots[i].cctx);
    }
}

int otter_pkg_chunk_encode(int in_fd, const char *in_path, int out_fd, const char *out_path,
                           int level, int threads, otter_manifest_image *img, otter_err *err)
{
    return otter_pkg_chunk_encode_sealed(in_fd, in_path, out_fd, out_path, level, threads, NULL,
                                         img, err);
}

int otter_pkg_chunk_encode_sealed(int in_fd, const char *in_path, int out_fd, const char *out_path,
                                  int level, int threads, const otter_crypt_image *ci,
                                  otter_manifest_image *img, otter_err *err)
{
    slot slots[MAX_WORKERS];
    int workers = workers_for(threads), compress = img->compression == OTTER_COMPRESSION_ZSTD;
    size_t span = img->chunk_size, cap = 0;
    uint64_t stored_at = 0;
    otter_sha256 *whole = otter_sha256_new();
    int ret = whole ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    memset(slots, 0, sizeof slots);
    for (int i = 0; !ret && i < workers; i++) {
        slot *s = &slots[i];
        s->compress = compress;
        s->level = level;
        s->in = malloc(span);
        s->ci = ci;
        s->out_cap = (compress ? ZSTD_compressBound(span)
                      : ci     ? span
                               : 0) +
                     (ci ? OTTER_CRYPT_TAG_LEN : 0);
        s->out = s->out_cap ? malloc(s->out_cap) : NULL;
        s->cctx = compress ? ZSTD_createCCtx() : NULL;
        if (!s->in || (s->out_cap && !s->out) || (compress && !s->cctx))
            ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    img->size = 0;
    img->chunk_count = 0;
    for (int eof = 0; !ret && !eof;) {
        int n = 0;
        while (!ret && n < workers && !eof) {
            ret = read_span(in_fd, in_path, slots[n].in, span, &slots[n].in_len, err);
            eof = slots[n].in_len < span;
            if (!ret && slots[n].in_len > 0)
                n++;
        }
        int started = 0;
        /* Spawn failures fall back to encoding on this thread. */
        for (int i = 0; !ret && i < n; i++) {
            slots[i].zerr = 0;
            slots[i].seal_failed = 0;
            slots[i].index = (uint32_t)(img->chunk_count + (size_t)i);
            if (n > 1 && pthread_create(&slots[i].thread, NULL, encode_slot, &slots[i]) == 0)
                started |= 1 << i;
            else
                encode_slot(&slots[i]);
        }
        for (int i = 0; i < n; i++)
            if (started & (1 << i))
                pthread_join(slots[i].thread, NULL);
        if (!ret)
            ret = emit_batch(slots, n, out_fd, out_path, img, &cap, &stored_at, whole, err);
    }
    if (!ret) {
        uint8_t md[OTTER_SHA256_LEN];
        otter_sha256_final(whole, md);
        otter_hex_encode(md, sizeof md, img->sha256);
    }
    free_slots(slots, workers);
    otter_sha256_free(whole);
    return ret;
}
