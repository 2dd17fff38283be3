/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Format 2 images: the stored bytes of each chunk are read from the zip
 * entry into a slot of the chunk queue, checked (and decoded) on worker
 * threads, and handed out strictly in table order, each only after its
 * digests matched.
 */
#include "otter_pkg_internal.h"
#include "otter_encode.h"

#include <string.h>

int otter_pkg_v2_start_image(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    uint64_t stored = 0;
    if (img->chunk_count) {
        const otter_manifest_chunk *last = &img->chunks[img->chunk_count - 1];
        stored = last->stored_offset + last->stored_size;
    }
    if (r->entry_size != stored)
        return otter_pkg_rd_fail(
            r, err, OTTER_EFORMAT, "image %s: entry holds %llu bytes, its chunk table %llu",
            img->name, (unsigned long long)r->entry_size, (unsigned long long)stored);
    r->chunks_filled = 0;
    otter_chunkq_reset(r->cq);
    if (otter_pkg_delta_start_image(r, err) < 0)
        return r->fail_err.code;
    if (otter_pkg_crypt_start_image(r, err) < 0)
        return r->fail_err.code;
    if (r->whole)
        otter_sha256_reset(r->whole);
    return 0;
}

/* Copies exactly n stored bytes of the current entry into buf. */
static int read_stored(otter_pkg_reader *r, uint8_t *buf, size_t n, size_t index, otter_err *err)
{
    size_t got = 0;
    while (got < n) {
        int rc = otter_pkg_rd_fill_input(r, err);
        if (rc < 0)
            return rc;
        if (r->blk_pos == r->blk_len)
            return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                     "image %s: chunk %zu: entry ends after %zu of %zu stored "
                                     "bytes (truncated)",
                                     r->cur->name, index, got, n);
        size_t take = r->blk_len - r->blk_pos < n - got ? r->blk_len - r->blk_pos : n - got;
        memcpy(buf + got, r->blk + r->blk_pos, take);
        r->blk_pos += take;
        got += take;
    }
    return 0;
}

/* Reads and submits chunks while a slot is free: workers check them meanwhile. */
static int fill_slots(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    while (r->chunks_filled < img->chunk_count && otter_chunkq_can_fill(r->cq)) {
        size_t i = r->chunks_filled;
        const otter_manifest_chunk *c = &img->chunks[i];
        otter_err e;
        uint8_t *buf = otter_chunkq_fill(r->cq, c, img->compression, &e);
        if (!buf)
            return otter_pkg_rd_fail(r, err, e.code, "image %s: %s", img->name, e.msg);
        int rc = read_stored(r, buf, c->stored_size, i, err);
        if (rc < 0)
            return rc;
        otter_chunkq_submit(r->cq, c, img->compression, i, img->name);
        r->chunks_filled++;
    }
    return 0;
}

/* After the last chunk: nothing may follow in the entry, and the whole digest holds. */
static int end_image(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    int rc = otter_pkg_rd_fill_input(r, err);
    if (rc < 0)
        return rc;
    if (r->blk_pos != r->blk_len)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "image %s: bytes after the last chunk of the table", img->name);
    /* Read without a key: the ciphertext went out, checked chunk by chunk. */
    uint64_t want = r->cipher_only ? r->entry_size : img->size;
    if (r->out_total != want)
        return otter_pkg_rd_fail(
            r, err, OTTER_EDIGEST, "image %s: size mismatch (expected %llu bytes, got %llu)",
            img->name, (unsigned long long)want, (unsigned long long)r->out_total);
    if (r->whole && !r->cipher_only) {
        uint8_t md[OTTER_SHA256_LEN];
        char hex[OTTER_SHA256_HEX_LEN + 1];
        otter_sha256_final(r->whole, md);
        otter_hex_encode(md, sizeof md, hex);
        if (strcmp(hex, img->sha256) != 0)
            return otter_pkg_rd_fail(r, err, OTTER_EDIGEST,
                                     "image %s: sha256 mismatch (expected %s, the chunks make %s)",
                                     img->name, img->sha256, hex);
    }
    r->state = ST_BETWEEN;
    return 0;
}

int otter_pkg_v2_read_chunk(otter_pkg_reader *r, const void **data, size_t *len, otter_err *err)
{
    otter_chunkq_release(r->cq);
    int rc = fill_slots(r, err);
    if (rc < 0) {
        otter_chunkq_reset(r->cq);
        return rc;
    }
    if (otter_chunkq_pending(r->cq) == 0)
        return end_image(r, err) < 0 ? r->fail_err.code : 0;
    otter_err e;
    rc = otter_chunkq_take(r->cq, data, len, &e);
    if (rc) {
        otter_chunkq_reset(r->cq);
        return otter_pkg_rd_fail(r, err, rc, "%s", e.msg);
    }
    r->out_total += *len;
    if (r->whole)
        otter_sha256_update(r->whole, *data, *len);
    return 1;
}
