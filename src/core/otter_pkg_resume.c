/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resuming a format 2 package at a chunk (docs/package-format.md, "Resuming
 * at a chunk"): the source starts inside an image entry, at a chunk's first
 * stored byte. That entry's rest is read without libarchive (the bytes are
 * checked chunk by chunk against the signed table as always); the bytes after
 * it are handed to libarchive, which reads the following entries and the
 * central directory like in any other read.
 */
#include "otter_pkg_internal.h"

#include <stdlib.h>
#include <string.h>

int otter_pkg_reader_resume(otter_pkg_read_fn fn, void *ctx, const char *name, unsigned flags,
                            const otter_pkg_resume_point *p, otter_pkg_reader **out, otter_err *err)
{
    if (flags & OTTER_PKG_FULL_DIGEST)
        return otter_err_set(err, OTTER_EUSAGE, "%s: a resumed read cannot hash images whole",
                             name);
    if (p->manifest_len > OTTER_MANIFEST_MAX || p->sig_len > OTTER_SIG_FILE_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "%s: saved manifest or signatures too large",
                             name);
    otter_pkg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    r->fd = -1;
    r->resume = 1;
    r->resume_image = p->image;
    r->resume_chunk = p->chunk;
    r->resume_offset = p->entry_offset;
    r->manifest_bytes = malloc(p->manifest_len + 1);
    r->resume_sig = malloc(p->sig_len + 1);
    int ret = r->manifest_bytes && r->resume_sig
                  ? otter_pkg_rd_init(r, fn, ctx, name, flags, err)
                  : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (ret) {
        otter_pkg_reader_free(r);
        return ret;
    }
    memcpy(r->manifest_bytes, p->manifest, p->manifest_len);
    r->manifest_bytes[p->manifest_len] = '\0';
    r->manifest_len = p->manifest_len;
    memcpy(r->resume_sig, p->sig, p->sig_len);
    r->resume_sig[p->sig_len] = '\0';
    r->resume_sig_len = p->sig_len;
    *out = r;
    return 0;
}

int otter_pkg_resume_check(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest *m = r->manifest;
    if (m->format != 2)
        return otter_pkg_rd_fail(r, err, OTTER_EUSAGE, "only format 2 packages resume");
    if (r->resume_image >= m->image_count ||
        r->resume_chunk >= m->images[r->resume_image].chunk_count)
        return otter_pkg_rd_fail(r, err, OTTER_EUSAGE,
                                 "resume point image %zu chunk %zu is not in the package",
                                 r->resume_image, r->resume_chunk);
    r->next_index = r->resume_image;
    return 0;
}

/* The resumed image: its entry's rest comes straight from the source. */
static int start_raw_image(otter_pkg_reader *r, const otter_manifest_image **img, otter_err *err)
{
    const otter_manifest_image *want = &r->manifest->images[r->resume_image];
    const otter_manifest_chunk *last = &want->chunks[want->chunk_count - 1];
    r->cur = want;
    r->next_index = r->resume_image + 1;
    r->entry_size = last->stored_offset + last->stored_size;
    r->entry_offset = r->resume_offset;
    r->blk = NULL;
    r->blk_len = r->blk_pos = 0;
    r->entry_eof = 0;
    r->state = ST_IMAGE;
    if (otter_pkg_v2_start_image(r, err) < 0)
        return r->fail_err.code;
    r->chunks_filled = r->resume_chunk;
    r->out_total = (uint64_t)r->resume_chunk * want->chunk_size;
    r->raw_left = r->entry_size - want->chunks[r->resume_chunk].stored_offset;
    r->raw_mode = 1;
    r->resume = 2;
    *img = want;
    return 1;
}

int otter_pkg_resume_next(otter_pkg_reader *r, const otter_manifest_image **img, otter_err *err)
{
    if (r->resume == 1)
        return start_raw_image(r, img, err);
    if (r->resume == 3)
        return 2;
    /* The resumed image ended: the next entry's header (or the central
     * directory) starts right after it. */
    r->raw_mode = 0;
    r->resume = 3;
    if (r->next_index == r->manifest->image_count) {
        r->archive_closed = 1; /* only the central directory is left: check_trailer reads it */
        return 2;
    }
    r->stream_base = r->resume_offset + r->entry_size;
    otter_err e;
    if (otter_pkg_rd_open_archive(r, &e) != 0)
        return otter_pkg_rd_fail(r, err, e.code, "after image %s: %s", r->cur->name, e.msg);
    return 2;
}

int otter_pkg_resume_fill(otter_pkg_reader *r, otter_err *err)
{
    while (r->blk_pos == r->blk_len && !r->entry_eof) {
        if (r->raw_left == 0) {
            r->entry_eof = 1;
            break;
        }
        ssize_t n = otter_pkg_rd_pull(r);
        if (n < 0)
            return otter_pkg_rd_fail(r, err, r->src_err.code ? r->src_err.code : OTTER_EIO,
                                     "image %s: %s", r->cur->name, r->src_err.msg);
        if (n == 0) {
            r->entry_eof = 1; /* the chunk being read reports the truncation */
            break;
        }
        size_t take = (uint64_t)n < r->raw_left ? (size_t)n : (size_t)r->raw_left;
        r->blk = r->inbuf;
        r->blk_len = take;
        r->blk_pos = 0;
        r->raw_left -= take;
        if ((size_t)n > take) {
            if (!r->leftover && !(r->leftover = malloc(OTTER_PKG_IN_BLOCK)))
                return otter_pkg_rd_fail(r, err, OTTER_ENOMEM, "out of memory");
            memcpy(r->leftover, r->inbuf + take, (size_t)n - take);
            r->leftover_len = (size_t)n - take;
        }
    }
    return 0;
}
