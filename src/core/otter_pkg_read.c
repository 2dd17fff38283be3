/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming update.zip reader over libarchive's streamable zip support.
 * Bytes flow: source callback -> libarchive (local headers, CRC-32) -> zstd
 * (or stored) -> SHA-256 on a second thread -> caller, in fixed buffers.
 */
#include "otter_pkg_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* ---- source plumbing ---- */

static void remember_tail(otter_pkg_reader *r, const uint8_t *p, size_t n)
{
    if (n >= TAIL_KEEP) {
        memcpy(r->tail, p + n - TAIL_KEEP, TAIL_KEEP);
        r->tail_len = TAIL_KEEP;
        return;
    }
    size_t keep = r->tail_len + n > TAIL_KEEP ? TAIL_KEEP - n : r->tail_len;
    memmove(r->tail, r->tail + r->tail_len - keep, keep);
    memcpy(r->tail + keep, p, n);
    r->tail_len = keep + n;
}

ssize_t otter_pkg_rd_pull(otter_pkg_reader *r)
{
    ssize_t n = r->fn(r->ctx, r->inbuf, IN_BLOCK, &r->src_err);
    if (n < 0) {
        r->src_failed = 1;
        return -1;
    }
    remember_tail(r, r->inbuf, (size_t)n);
    r->bytes_in += (uint64_t)n;
    return n;
}

static la_ssize_t la_read(struct archive *a, void *cd, const void **buf)
{
    otter_pkg_reader *r = cd;
    /* A resumed reader: the bytes after the first (raw) entry come first. */
    if (r->leftover_len) {
        *buf = r->leftover;
        la_ssize_t n = (la_ssize_t)r->leftover_len;
        r->leftover_len = 0;
        return n;
    }
    ssize_t n = otter_pkg_rd_pull(r);
    if (n < 0) {
        archive_set_error(a, EIO, "%s", r->src_err.msg);
        return -1;
    }
    *buf = r->inbuf;
    return n;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    otter_pkg_reader *r = ctx;
    for (;;) {
        ssize_t n = read(r->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return otter_err_sys(err, OTTER_EIO, errno, "read failed");
    }
}

/* ---- errors ---- */

int otter_pkg_rd_fail(otter_pkg_reader *r, otter_err *err, int code, const char *fmt, ...)
{
    char msg[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    otter_err_set(&r->fail_err, code, "%s: %s", r->name, msg);
    r->failed = 1;
    if (err)
        *err = r->fail_err;
    return code;
}

/* Turns a libarchive failure into ours: the source's own error wins. */
static int fail_archive(otter_pkg_reader *r, otter_err *err, const char *what)
{
    if (r->src_failed)
        return otter_pkg_rd_fail(r, err, r->src_err.code ? r->src_err.code : OTTER_EIO, "%s: %s",
                                 what, r->src_err.msg);
    const char *why = archive_error_string(r->a);
    return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "%s: truncated or damaged zip (%s)", what,
                             why ? why : "unknown error");
}

static int sticky(otter_pkg_reader *r, otter_err *err)
{
    if (err)
        *err = r->fail_err;
    return r->fail_err.code;
}

/* ---- life cycle ---- */

int otter_pkg_rd_init(otter_pkg_reader *r, otter_pkg_read_fn fn, void *ctx, const char *name,
                      unsigned flags, otter_err *err)
{
    r->fn = fn;
    r->ctx = ctx;
    r->flags = flags;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->inbuf = malloc(IN_BLOCK);
    r->a = archive_read_new();
    r->dctx = ZSTD_createDCtx();
    r->hq = otter_hashq_new(NBUFS, CHUNK, (flags & OTTER_PKG_HASH_THREAD) != 0);
    if (!r->inbuf || !r->a || !r->dctx || !r->hq)
        return otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", name);
    ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
    return r->resume ? 0 : otter_pkg_rd_open_archive(r, err);
}

int otter_pkg_rd_open_archive(otter_pkg_reader *r, otter_err *err)
{
    /* Only the streamable zip reader and no filters: a gzip'd or tar'd
     * "package" is not one. */
    if (archive_read_support_format_zip_streamable(r->a) != ARCHIVE_OK ||
        archive_read_open(r->a, r, NULL, la_read, NULL) != ARCHIVE_OK) {
        int code = r->src_failed ? r->src_err.code : OTTER_EFORMAT;
        return otter_err_set(err, code, "%s: not a zip package (%s)", r->name,
                             r->src_failed ? r->src_err.msg : archive_error_string(r->a));
    }
    return 0;
}

int otter_pkg_reader_new(otter_pkg_read_fn fn, void *ctx, const char *name, unsigned flags,
                         otter_pkg_reader **out, otter_err *err)
{
    otter_pkg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    r->fd = -1;
    int ret = otter_pkg_rd_init(r, fn, ctx, name, flags, err);
    if (ret) {
        otter_pkg_reader_free(r);
        return ret;
    }
    *out = r;
    return 0;
}

int otter_pkg_reader_open_file(const char *path, unsigned flags, otter_pkg_reader **out,
                               otter_err *err)
{
    otter_pkg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    r->fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        free(r);
        return otter_err_sys(err, OTTER_EIO, e, "%s: cannot open", path);
    }
    int ret = otter_pkg_rd_init(r, fd_read, r, path, flags, err);
    if (ret) {
        otter_pkg_reader_free(r);
        return ret;
    }
    *out = r;
    return 0;
}

void otter_pkg_reader_free(otter_pkg_reader *r)
{
    if (!r)
        return;
    if (r->a)
        archive_read_free(r->a);
    if (r->fd >= 0)
        close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    otter_hashq_free(r->hq);
    otter_chunkq_free(r->cq);
    otter_sha256_free(r->whole);
    otter_pkg_crypt_free(r);
    free(r->inbuf);
    free(r->leftover);
    free(r->resume_sig);
    free(r->manifest_bytes);
    free(r->hook_bytes[OTTER_HOOK_PRE]);
    free(r->hook_bytes[OTTER_HOOK_POST]);
    otter_manifest_free(r->manifest);
    otter_sig_list_free(r->sigs);
    free(r);
}

/* ---- entries ---- */

/* Names are compared and printed: refuse anything that is not a plain file name. */
static int entry_name_ok(const char *name)
{
    return name && name[0] && !strchr(name, '/') && !strchr(name, '\\') && !strstr(name, "..") &&
           strlen(name) <= OTTER_FILE_NAME_MAX;
}

/*
 * Moves to the next zip entry and checks what every entry must be: a
 * plain name, a regular file, its size in the local header (no data
 * descriptor), stored, not encrypted. Returns 1 with *name, 0 at the
 * central directory, or a negative code.
 */
static int next_entry(otter_pkg_reader *r, const char **name, otter_err *err)
{
    struct archive_entry *e = NULL;
    int rc = archive_read_next_header(r->a, &e);
    if (rc == ARCHIVE_EOF)
        return 0;
    if (rc != ARCHIVE_OK)
        return fail_archive(r, err, "reading entry header");
    const char *n = archive_entry_pathname(e);
    if (!entry_name_ok(n))
        return otter_pkg_rd_fail(
            r, err, OTTER_EFORMAT,
            "entry name \"%.64s\" refused (must be a plain file name, no '/' or '..')", n ? n : "");
    if (archive_entry_filetype(e) != AE_IFREG)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "entry \"%s\" is not a regular file", n);
    if (!archive_entry_size_is_set(e))
        return otter_pkg_rd_fail(
            r, err, OTTER_EFORMAT,
            "entry \"%s\" has no size in its local header (data descriptor): not streamable", n);
    if (archive_entry_is_encrypted(e))
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "entry \"%s\" is encrypted", n);
    /* libarchive names the entry's method in the format name. */
    const char *fmt = archive_format_name(r->a);
    if (!fmt || !strstr(fmt, "uncompressed"))
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "entry \"%s\" is compressed (%s); entries must be stored", n,
                                 fmt ? fmt : "unknown method");
    r->entry_size = (uint64_t)archive_entry_size(e);
    /* libarchive has consumed the local header: its position is where the
     * entry's data starts in the package (what a resume asks a Range from). */
    r->entry_offset = r->stream_base + (uint64_t)archive_filter_bytes(r->a, 0);
    *name = n;
    return 1;
}

/* Reads a small entry whole into a new buffer (NUL-terminated). */
int otter_pkg_rd_small_entry(otter_pkg_reader *r, const char *what, size_t max, char **out,
                             size_t *out_len, otter_err *err)
{
    if (r->entry_size > max)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "%s: too large (%llu bytes, limit %zu)",
                                 what, (unsigned long long)r->entry_size, max);
    size_t len = (size_t)r->entry_size;
    char *buf = malloc(len + 1);
    if (!buf)
        return otter_pkg_rd_fail(r, err, OTTER_ENOMEM, "%s: out of memory", what);
    size_t got = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(r->a, buf + got, len + 1 - got);
        if (n < 0) {
            free(buf);
            return fail_archive(r, err, what);
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > len)
            break;
    }
    if (got != len) {
        free(buf);
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "%s: %zu bytes, header says %zu", what, got,
                                 len);
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int otter_pkg_rd_expect_entry(otter_pkg_reader *r, const char *want, const char *position,
                              otter_err *err)
{
    const char *name = NULL;
    int rc = next_entry(r, &name, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "no %s entry: expected %s", position, want);
    if (strcmp(name, want) != 0)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "%s entry is \"%s\", expected %s", position,
                                 name, want);
    return 0;
}

int otter_pkg_read_manifest(otter_pkg_reader *r, const otter_trust *trust, const otter_manifest **m,
                            otter_trust_result *res, otter_err *err)
{
    if (r->failed)
        return sticky(r, err);
    if (r->state != ST_START)
        return otter_err_set(err, OTTER_ESTATE, "%s: manifest already read", r->name);
    if (!trust && !(r->flags & OTTER_PKG_UNVERIFIED))
        return otter_err_set(err, OTTER_EUSAGE, "%s: no trust root to verify against", r->name);
    char *sig_bytes = NULL;
    size_t sig_len = 0;
    int ret = 0;
    if (r->resume) { /* kept from the first read; verified again below */
        sig_bytes = r->resume_sig;
        sig_len = r->resume_sig_len;
        r->resume_sig = NULL;
    } else {
        ret = otter_pkg_rd_expect_entry(r, "manifest.json", "first", err);
        if (!ret)
            ret = otter_pkg_rd_small_entry(r, "manifest.json", OTTER_MANIFEST_MAX,
                                           &r->manifest_bytes, &r->manifest_len, err);
        if (!ret)
            ret = otter_pkg_rd_expect_entry(r, "manifest.sig", "second", err);
        if (!ret)
            ret = otter_pkg_rd_small_entry(r, "manifest.sig", OTTER_SIG_FILE_MAX, &sig_bytes,
                                           &sig_len, err);
    }
    if (ret)
        goto out;
    otter_err e;
    ret = otter_sig_list_parse(sig_bytes, sig_len, "manifest.sig", &r->sigs, &e);
    if (ret) {
        otter_pkg_rd_fail(r, err, ret, "%s", e.msg);
        goto out;
    }
    /* Signatures first: untrusted JSON reaches the manifest parser only
     * when it was signed by the release keys. */
    if (trust) {
        ret = otter_trust_verify(trust, r->manifest_bytes, r->manifest_len, r->sigs, res, &e);
        if (ret) {
            otter_pkg_rd_fail(r, err, ret, "manifest.sig: %s", e.msg);
            goto out;
        }
    } else if (res) {
        memset(res, 0, sizeof *res);
    }
    ret =
        otter_manifest_parse(r->manifest_bytes, r->manifest_len, "manifest.json", &r->manifest, &e);
    if (ret) {
        otter_pkg_rd_fail(r, err, ret, "%s", e.msg);
        goto out;
    }
#ifdef __GLIBC__
    /* The parse tree of a large chunk table is gone: give its heap pages back
     * before the chunk buffers are taken, so the two peaks do not add up. */
    malloc_trim(0);
#endif
    if (r->manifest->format == 2) {
        unsigned workers = !(r->flags & OTTER_PKG_HASH_THREAD) ? 0
                           : r->workers                        ? r->workers
                                                               : otter_chunkq_default_workers();
        r->cq = otter_chunkq_new(workers);
        r->whole = (r->flags & OTTER_PKG_FULL_DIGEST) ? otter_sha256_new() : NULL;
        if (!r->cq || ((r->flags & OTTER_PKG_FULL_DIGEST) && !r->whole)) {
            ret = otter_pkg_rd_fail(r, err, OTTER_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (r->resume && (ret = otter_pkg_resume_check(r, err)) != 0)
        goto out;
    if ((ret = otter_pkg_crypt_unwrap_all(r, err)) != 0)
        goto out;
    if ((ret = otter_pkg_rd_read_hooks(r, err)) != 0)
        goto out;
    r->state = ST_MANIFEST;
    *m = r->manifest;
out:
    free(sig_bytes);
    return ret;
}

const char *otter_pkg_manifest_bytes(const otter_pkg_reader *r, size_t *len)
{
    *len = r->manifest_len;
    return r->manifest_bytes;
}

const otter_sig_list *otter_pkg_signatures(const otter_pkg_reader *r)
{
    return r->sigs;
}

uint64_t otter_pkg_entry_size(const otter_pkg_reader *r)
{
    return r->entry_size;
}

void otter_pkg_reader_set_workers(otter_pkg_reader *r, unsigned workers)
{
    r->workers = workers;
}

uint64_t otter_pkg_entry_offset(const otter_pkg_reader *r)
{
    return r->entry_offset;
}

uint64_t otter_pkg_bytes_in(const otter_pkg_reader *r)
{
    return r->bytes_in;
}

/* Says why an entry name is not the one expected next. */
static int wrong_entry(otter_pkg_reader *r, const char *name, const char *expected, otter_err *err)
{
    const otter_manifest *m = r->manifest;
    if (strcmp(name, "manifest.json") == 0 || strcmp(name, "manifest.sig") == 0)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "duplicate entry \"%s\"", name);
    for (size_t i = 0; i < m->image_count; i++) {
        if (strcmp(m->images[i].file, name) != 0)
            continue;
        if (i < r->next_index)
            return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "duplicate entry \"%s\"", name);
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "entry \"%s\" out of order (expected \"%s\")", name, expected);
    }
    return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "unexpected entry \"%s\" (not in the manifest)",
                             name);
}

/*
 * After the last entry: the rest of the stream must be the central directory
 * and its end record, complete and counting our entries. This is what tells
 * a cut-off download from a whole package.
 */
static int check_trailer(otter_pkg_reader *r, otter_err *err)
{
    uint64_t before = r->bytes_in;
    for (;;) {
        ssize_t n = otter_pkg_rd_pull(r);
        if (n < 0)
            return otter_pkg_rd_fail(r, err, r->src_err.code, "reading the central directory: %s",
                                     r->src_err.msg);
        if (n == 0)
            break;
        if (r->bytes_in - before > TRAILER_MAX)
            return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                     "more than %d bytes after the last entry", TRAILER_MAX);
    }
    const uint8_t *eocd = r->tail + r->tail_len - 22;
    if (r->tail_len < 22 || memcmp(eocd, "PK\5\6", 4) != 0 || eocd[20] || eocd[21])
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "no end of central directory record at the end (truncated?)");
    unsigned entries = eocd[10] | (unsigned)eocd[11] << 8;
    size_t want = r->manifest->image_count + 2 + r->hook_entries;
    if (entries != 0xffff && entries != want)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "central directory lists %u entries, expected %zu", entries, want);
    return 0;
}

int otter_pkg_next_image(otter_pkg_reader *r, const otter_manifest_image **img, otter_err *err)
{
    if (r->failed)
        return sticky(r, err);
    if (r->state == ST_START)
        return otter_err_set(err, OTTER_ESTATE, "%s: read the manifest first", r->name);
    if (r->state == ST_DONE)
        return 0;
    while (r->state == ST_IMAGE) {
        const void *data;
        size_t len;
        int rc = otter_pkg_read_chunk(r, &data, &len, err);
        if (rc < 0)
            return rc;
    }
    if (r->resume) { /* the first image of a resumed read starts mid-entry */
        int rc = otter_pkg_resume_next(r, img, err);
        if (rc != 2)
            return rc;
    }
    const char *name = NULL;
    int rc = r->next_index == r->manifest->image_count && r->archive_closed
                 ? 0
                 : next_entry(r, &name, err);
    if (rc < 0)
        return rc;
    if (r->next_index == r->manifest->image_count) {
        if (rc == 1)
            return wrong_entry(r, name, "the end of the package", err);
        rc = check_trailer(r, err);
        if (rc < 0)
            return rc;
        r->state = ST_DONE;
        return 0;
    }
    const otter_manifest_image *want = &r->manifest->images[r->next_index];
    if (rc == 0)
        return otter_pkg_rd_fail(r, err, OTTER_EFORMAT,
                                 "missing entry \"%s\" for image %s (truncated?)", want->file,
                                 want->name);
    if (strcmp(name, want->file) != 0)
        return wrong_entry(r, name, want->file, err);
    r->cur = want;
    r->next_index++;
    r->out_total = 0;
    r->entry_consumed = 0;
    r->blk = NULL;
    r->blk_len = r->blk_pos = 0;
    r->entry_eof = 0;
    r->zret = 1;
    ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
    r->state = ST_IMAGE;
    if (r->manifest->format == 2 && otter_pkg_v2_start_image(r, err) < 0)
        return r->fail_err.code;
    *img = want;
    return 1;
}

int otter_pkg_rd_fill_input(otter_pkg_reader *r, otter_err *err)
{
    if (r->raw_left || r->raw_mode)
        return otter_pkg_resume_fill(r, err);
    while (r->blk_pos == r->blk_len && !r->entry_eof) {
        const void *blk;
        size_t len;
        la_int64_t offset;
        int rc = archive_read_data_block(r->a, &blk, &len, &offset);
        if (rc == ARCHIVE_EOF) {
            r->entry_eof = 1;
            break;
        }
        if (rc != ARCHIVE_OK) {
            char what[160];
            snprintf(what, sizeof what, "image %s", r->cur->name);
            return fail_archive(r, err, what);
        }
        if ((uint64_t)offset != r->entry_consumed)
            return otter_pkg_rd_fail(r, err, OTTER_EFORMAT, "image %s: sparse zip data refused",
                                     r->cur->name);
        r->entry_consumed += len;
        r->blk = blk;
        r->blk_len = len;
        r->blk_pos = 0;
    }
    return 0;
}

int otter_pkg_read_chunk(otter_pkg_reader *r, const void **data, size_t *len, otter_err *err)
{
    if (r->failed)
        return sticky(r, err);
    if (r->state != ST_IMAGE)
        return otter_err_set(err, OTTER_ESTATE, "%s: no image is being read", r->name);
    if (r->manifest->format == 2)
        return otter_pkg_v2_read_chunk(r, data, len, err);
    return otter_pkg_v1_read_chunk(r, data, len, err);
}
