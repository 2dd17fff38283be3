/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Format 1 images: one zstd stream (or raw bytes) per image, decompressed
 * in fixed buffers and hashed on a second thread; size and SHA-256 are
 * judged at the image's end (the caller throws away what it got on a
 * refusal). Format 2 is in otter_pkg_read_chunks.c.
 */
#include "otter_pkg_internal.h"
#include "otter_encode.h"

#include <string.h>

/* The image's bytes ended: size and digest decide. */
static int finish_image(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    if (img->compression == OTTER_COMPRESSION_ZSTD && r->zret != 0)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "image %s: zstd stream ends early (truncated payload)", img->name);
    if (r->out_total != img->size)
        return otter_pkg_rd_fail(
            r, err, OTTER_EDIGEST, "image %s: size mismatch (expected %llu bytes, got %llu)",
            img->name, (unsigned long long)img->size, (unsigned long long)r->out_total);
    uint8_t md[OTTER_SHA256_LEN];
    char hex[OTTER_SHA256_HEX_LEN + 1];
    otter_hashq_finish(r->hq, md);
    otter_hex_encode(md, sizeof md, hex);
    if (strcmp(hex, img->sha256) != 0)
        return otter_pkg_rd_fail(r, err, OTTER_EDIGEST,
                                 "image %s: sha256 mismatch (expected %s, got %s)", img->name,
                                 img->sha256, hex);
    r->state = ST_BETWEEN;
    return 0;
}

int otter_pkg_v1_read_chunk(otter_pkg_reader *r, const void **data, size_t *len, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    uint8_t *out = otter_hashq_acquire(r->hq);
    /* Never produce more than one byte past the declared size. */
    uint64_t room = img->size - (r->out_total < img->size ? r->out_total : img->size) + 1;
    size_t cap = room < CHUNK ? (size_t)room : CHUNK;
    size_t produced = 0;
    while (produced == 0) {
        int rc = otter_pkg_rd_fill_input(r, err);
        if (rc < 0)
            return rc;
        int no_input = r->blk_pos == r->blk_len;
        if (img->compression == OTTER_COMPRESSION_NONE) {
            if (no_input)
                break;
            size_t n = r->blk_len - r->blk_pos < cap ? r->blk_len - r->blk_pos : cap;
            memcpy(out, r->blk + r->blk_pos, n);
            r->blk_pos += n;
            produced = n;
        } else {
            ZSTD_inBuffer in = {r->blk, r->blk_len, r->blk_pos};
            ZSTD_outBuffer ob = {out, cap, 0};
            size_t zr = ZSTD_decompressStream(r->dctx, &ob, &in);
            if (ZSTD_isError(zr))
                return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "image %s: zstd: %s", img->name,
                                         ZSTD_getErrorName(zr));
            /* No input left and nothing more came out: the stream is over,
             * and zret keeps what the last real step said. */
            if (no_input && ob.pos == 0)
                break;
            r->zret = zr;
            r->blk_pos = in.pos;
            produced = ob.pos;
        }
    }
    if (produced == 0)
        return finish_image(r, err) < 0 ? r->fail_err.code : 0;
    r->out_total += produced;
    if (r->out_total > img->size)
        return otter_pkg_rd_fail(r, err, OTTER_EDIGEST,
                                 "image %s: larger than the declared %llu bytes", img->name,
                                 (unsigned long long)img->size);
    otter_hashq_submit(r->hq, produced);
    *data = out;
    *len = produced;
    return 1;
}
