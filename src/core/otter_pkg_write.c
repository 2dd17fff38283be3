/* SPDX-License-Identifier: Apache-2.0 */
/*
 * update.zip writer over libzip: libzip seeks back to fill each local header,
 * so sizes and CRC sit in front of the data and no data descriptor is
 * written (libarchive's writer always sets that flag: measured), which is
 * what a stream reader needs.
 */
#include "otter_pkg.h"
#include "otter_encode.h"
#include "otter_file.h"
#include "otter_pkg_chunker.h"
#include "otter_crypt.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <zstd.h>

/* Levels 1..19 use windows of at most 8 MiB (2^23), the reader's limit:
 * every package we write is readable with bounded memory. */
#define IO_BLOCK (1024 * 1024)

/* A payload prepared for the archive: a temp file (compressed) or the input itself. */
typedef struct payload {
    char path[PATH_MAX];
    int is_temp;
} payload;

static const char *handler_ext(const char *handler)
{
    if (strcmp(handler, "archive") == 0)
        return "tar";
    if (strcmp(handler, "file") == 0)
        return "bin";
    return "img";
}

/* Reads in fully, hashing and counting, and (with cctx) writes zstd to out_fd. */
static int digest_and_compress(int in_fd, const char *in_path, ZSTD_CCtx *cctx, int out_fd,
                               const char *out_path, uint8_t md[OTTER_SHA256_LEN], uint64_t *size,
                               otter_err *err)
{
    int ret = OTTER_ENOMEM;
    uint8_t *ibuf = malloc(IO_BLOCK), *obuf = malloc(IO_BLOCK);
    otter_sha256 *sha = otter_sha256_new();
    uint64_t total = 0;
    if (!ibuf || !obuf || !sha) {
        otter_err_set(err, ret, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read(in_fd, ibuf, IO_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = otter_err_sys(err, OTTER_EIO, errno, "%s: read failed", in_path);
            goto out;
        }
        otter_sha256_update(sha, ibuf, (size_t)n);
        total += (uint64_t)n;
        if (cctx) {
            ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
            ZSTD_inBuffer in = {ibuf, (size_t)n, 0};
            size_t left;
            do {
                ZSTD_outBuffer ob = {obuf, IO_BLOCK, 0};
                left = ZSTD_compressStream2(cctx, &ob, &in, mode);
                if (ZSTD_isError(left)) {
                    ret = otter_err_set(err, OTTER_EIO, "%s: zstd: %s", in_path,
                                        ZSTD_getErrorName(left));
                    goto out;
                }
                ret = otter_file_write_full(out_fd, obuf, ob.pos, out_path, err);
                if (ret)
                    goto out;
            } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
        }
        if (n == 0)
            break;
    }
    otter_sha256_final(sha, md);
    *size = total;
    ret = 0;
out:
    free(ibuf);
    free(obuf);
    otter_sha256_free(sha);
    return ret;
}

static ZSTD_CCtx *make_cctx(int level, int threads, uint64_t pledged)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return NULL;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    /* Workers only pay off on large inputs; small ones stay single-threaded. */
    if (threads > 1 && pledged > 4 * 1024 * 1024)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads);
    ZSTD_CCtx_setPledgedSrcSize(cctx, pledged);
    return cctx;
}

/* A new temporary payload file beside out_path (O_EXCL: never an existing file or link). */
static int make_temp(const char *out_path, payload *pl, int *fd, otter_err *err)
{
    int n = snprintf(pl->path, sizeof pl->path, "%s.payload.XXXXXX", out_path);
    if (n < 0 || (size_t)n >= sizeof pl->path)
        return otter_err_set(err, OTTER_EUSAGE, "%s: path too long", out_path);
    *fd = mkostemp(pl->path, O_CLOEXEC);
    if (*fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", pl->path);
    pl->is_temp = 1;
    return 0;
}

/* Format 1: one zstd stream (or the raw input) per image. */
static int encode_stream(const otter_pkg_write_opts *opts, const otter_pkg_input *in, int in_fd,
                         uint64_t in_size, int out_fd, otter_manifest_image *img, payload *pl,
                         otter_err *err)
{
    ZSTD_CCtx *cctx = NULL;
    if (in->compress) {
        cctx = make_cctx(opts->level, opts->threads, in_size);
        if (!cctx)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    uint8_t md[OTTER_SHA256_LEN];
    int ret = digest_and_compress(in_fd, in->path, cctx, out_fd, pl->path, md, &img->size, err);
    if (!ret)
        otter_hex_encode(md, sizeof md, img->sha256);
    ZSTD_freeCCtx(cctx);
    return ret;
}

/*
 * Encrypted images: a random content key and nonce prefix for img, the key
 * wrapped for every recipient into img->encryption; ci gets what the chunks
 * need (the caller wipes ci->key). chunks: the count in_size makes.
 */
static int seal_setup(const otter_pkg_write_opts *opts, otter_manifest_image *img, uint64_t in_size,
                      otter_crypt_image *ci, otter_err *err)
{
    otter_manifest_encryption *e = calloc(1, sizeof *e);
    if (!e)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    img->encryption = e;
    int ret = otter_crypt_random(ci->key, sizeof ci->key, err);
    if (!ret)
        ret = otter_crypt_random(e->nonce_prefix, sizeof e->nonce_prefix, err);
    for (size_t i = 0; !ret && i < opts->recipient_count; i++)
        ret = otter_crypt_wrap(opts->recipients[i], ci->key, &e->recipients[i], err);
    e->recipient_count = opts->recipient_count;
    memcpy(ci->nonce_prefix, e->nonce_prefix, sizeof ci->nonce_prefix);
    snprintf(ci->name, sizeof ci->name, "%s", img->name);
    ci->chunk_count = (uint32_t)(in_size / img->chunk_size + (in_size % img->chunk_size != 0));
    return ret;
}

/* Format 2 payload: clear, or sealed for the recipients. */
static int encode_chunks(const otter_pkg_write_opts *opts, const otter_pkg_input *in,
                         uint64_t in_size, int in_fd, int out_fd, otter_manifest_image *img,
                         payload *pl, otter_err *err)
{
    if (!opts->recipient_count)
        return otter_pkg_chunk_encode(in_fd, in->path, out_fd, pl->path, opts->level, opts->threads,
                                      img, err);
    otter_crypt_image ci = {0};
    int ret = seal_setup(opts, img, in_size, &ci, err);
    if (!ret)
        ret = otter_pkg_chunk_encode_sealed(in_fd, in->path, out_fd, pl->path, opts->level,
                                            opts->threads, &ci, img, err);
    if (!ret && img->chunk_count != ci.chunk_count)
        ret = otter_err_set(err, OTTER_EIO, "%s: changed while it was packed", in->path);
    OPENSSL_cleanse(&ci, sizeof ci);
    return ret;
}

/* Hashes (and compresses) one input into the manifest image and a payload file. */
static int prepare_image(const char *out_path, const otter_pkg_write_opts *opts, int format,
                         const otter_pkg_input *in, otter_manifest_image *img, payload *pl,
                         otter_err *err)
{
    int ret = 0, in_fd = -1, out_fd = -1;
    snprintf(img->name, sizeof img->name, "%s", in->name);
    snprintf(img->handler, sizeof img->handler, "%s", in->handler ? in->handler : "raw");
    snprintf(img->target, sizeof img->target, "%s", in->target ? in->target : in->name);
    if (in->verity_root_hash)
        snprintf(img->verity_root_hash, sizeof img->verity_root_hash, "%s", in->verity_root_hash);
    /* An encrypted payload is never the input file itself; its entry says what it is. */
    int sealed = format == 2 && opts->recipient_count > 0;
    snprintf(img->file, sizeof img->file, "%.64s.%s%s%s", in->name, handler_ext(img->handler),
             in->compress ? ".zst" : "", sealed ? ".enc" : "");
    img->compression = in->compress ? OTTER_COMPRESSION_ZSTD : OTTER_COMPRESSION_NONE;
    if (format == 2)
        img->chunk_size = opts->chunk_size ? opts->chunk_size : OTTER_CHUNK_SIZE_DEFAULT;
    in_fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", in->path);
    struct stat st;
    if (fstat(in_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: not a regular file", in->path);
        goto out;
    }
    if (in->compress || sealed)
        ret = make_temp(out_path, pl, &out_fd, err);
    else
        snprintf(pl->path, sizeof pl->path, "%s", in->path);
    if (ret)
        goto out;
    if (format == 1)
        ret = encode_stream(opts, in, in_fd, (uint64_t)st.st_size, out_fd, img, pl, err);
    else
        ret = encode_chunks(opts, in, (uint64_t)st.st_size, in_fd, out_fd, img, pl, err);
    if (!ret && !in->compress && img->size != (uint64_t)st.st_size)
        ret = otter_err_set(err, OTTER_EIO, "%s: changed while it was packed", in->path);
out:
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    return ret;
}

static int zip_fail(zip_t *za, const char *path, const char *what, otter_err *err)
{
    return otter_err_set(err, OTTER_EIO, "%s: %s: %s", path, what, zip_strerror(za));
}

/* Opens path with libzip; *za is NULL on error. */
static int open_zip(const char *path, int flags, zip_t **za, otter_err *err)
{
    int zerr = 0;
    *za = zip_open(path, flags, &zerr);
    if (*za)
        return 0;
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    int ret =
        otter_err_set(err, OTTER_EIO, "%s: cannot open as zip: %s", path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return ret;
}

/*
 * Writes the archive: libzip writes a temporary file in the same directory
 * and renames it over path, so readers see the old or the new package, never
 * a half-written one. Frees za either way.
 */
static int close_zip(zip_t *za, const char *path, otter_err *err)
{
    if (zip_close(za) == 0)
        return 0;
    int ret = zip_fail(za, path, "writing", err);
    zip_discard(za);
    return ret;
}

/* Adds a stored entry; the source is consumed (freed by libzip) either way. */
static int add_entry(zip_t *za, const char *out_path, const char *name, zip_source_t *src,
                     time_t mtime, otter_err *err)
{
    if (!src)
        return zip_fail(za, out_path, name, err);
    zip_int64_t idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_fail(za, out_path, name, err);
    }
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) < 0 ||
        zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) < 0)
        return zip_fail(za, out_path, name, err);
    return 0;
}

static void now_utc(char *buf, size_t size, time_t *t)
{
    *t = time(NULL);
    struct tm tm;
    gmtime_r(t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int build_manifest(const otter_pkg_write_opts *opts, otter_manifest *m, time_t *mtime,
                          otter_err *err)
{
    if (opts->compatible_count > OTTER_COMPATIBLE_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "more than %d compatible models",
                             OTTER_COMPATIBLE_MAX);
    snprintf(m->product, sizeof m->product, "%s", opts->product);
    snprintf(m->version, sizeof m->version, "%s", opts->version);
    m->security_version = opts->security_version;
    for (size_t i = 0; i < opts->compatible_count; i++)
        snprintf(m->compatible[i], sizeof m->compatible[i], "%s", opts->compatible[i]);
    m->compatible_count = opts->compatible_count;
    now_utc(m->created, sizeof m->created, mtime);
    if (opts->created)
        snprintf(m->created, sizeof m->created, "%s", opts->created);
    for (size_t i = 0; opts->notes && i < opts->notes->count; i++) {
        int ret =
            otter_manifest_notes_add(&m->notes, opts->notes->n[i].lang, opts->notes->n[i].text,
                                     strlen(opts->notes->n[i].text), err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Checks values up front so a typo fails before minutes of compression. */
static int check_inputs(const otter_pkg_write_opts *opts, const otter_pkg_input *inputs, size_t n,
                        otter_err *err)
{
    if (n < 1 || n > OTTER_IMAGES_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "%zu images, allowed 1..%d", n, OTTER_IMAGES_MAX);
    if (opts->level < 1 || opts->level > 19)
        return otter_err_set(err, OTTER_EUSAGE, "level %d out of range 1..19", opts->level);
    if (opts->format != 0 && opts->format != 1 && opts->format != 2)
        return otter_err_set(err, OTTER_EUSAGE, "format %d is not 1 or 2", opts->format);
    if (opts->recipient_count && opts->format == 1)
        return otter_err_set(err, OTTER_EUSAGE, "encrypted images need format 2");
    if (opts->recipient_count > OTTER_CRYPT_RECIPIENTS_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "%zu recipients, at most %d", opts->recipient_count,
                             OTTER_CRYPT_RECIPIENTS_MAX);
    uint32_t span = opts->chunk_size;
    if (span && (span < OTTER_CHUNK_SIZE_MIN || span > OTTER_CHUNK_SIZE_MAX || (span & (span - 1))))
        return otter_err_set(err, OTTER_EUSAGE,
                             "chunk size %u is not a power of two from 64 KiB to 8 MiB", span);
    for (size_t i = 0; i < n; i++)
        if (!otter_ident_valid(inputs[i].name))
            return otter_err_set(err, OTTER_EUSAGE, "image name \"%s\" is not valid",
                                 inputs[i].name);
    return 0;
}

/* Reads install hook `which` of m from its path into *buf, checked against m. */
static int load_hook(const otter_manifest *m, int which, const char *const *paths, char **buf,
                     size_t *len, otter_err *err)
{
    const otter_manifest_hook *h = &m->hooks[which];
    const char *name = otter_manifest_hook_name(which);
    if (!h->file[0])
        return 0;
    if (!paths || !paths[which])
        return otter_err_set(err, OTTER_EUSAGE,
                             "the manifest names install hook %s but no file was given for it "
                             "(otter pack --pre-install/--post-install)",
                             name);
    int ret = otter_file_read_all(paths[which], OTTER_HOOK_MAX, buf, len, err);
    if (ret)
        return otter_err_prefix(err, "hook %s", name);
    char got[OTTER_SHA256_HEX_LEN + 1];
    otter_sha256_hex(*buf, *len, got);
    if (*len != h->size || strcmp(got, h->sha256) != 0)
        return otter_err_set(err, OTTER_EDIGEST, "hook %s: %s changed while packing", name,
                             paths[which]);
    return 0;
}

int otter_pkg_write_manifest(const char *out_path, const otter_manifest *m,
                             const char *const *payload_paths, const otter_key *const *keys,
                             size_t key_count, otter_err *err)
{
    return otter_pkg_write_manifest_hooks(out_path, m, payload_paths, NULL, keys, key_count, err);
}

int otter_pkg_write_manifest_hooks(const char *out_path, const otter_manifest *m,
                                   const char *const *payload_paths, const char *const *hook_paths,
                                   const otter_key *const *keys, size_t key_count, otter_err *err)
{
    otter_sig_list *sigs = otter_sig_list_new();
    char *manifest_json = NULL, *sig_json = NULL, *hook[OTTER_HOOKS] = {NULL, NULL};
    size_t hook_len[OTTER_HOOKS] = {0, 0};
    zip_t *za = NULL;
    time_t mtime = time(NULL);
    int ret = sigs ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret && (ret = otter_manifest_validate(m, err)) != 0)
        otter_err_prefix(err, "manifest");
    for (int i = 0; !ret && i < OTTER_HOOKS; i++)
        ret = load_hook(m, i, hook_paths, &hook[i], &hook_len[i], err);
    if (ret)
        goto out;
    manifest_json = otter_manifest_serialize_new(m);
    if (!manifest_json) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    /* Every reader refuses a larger one: say so here, with the way out. */
    if (strlen(manifest_json) > OTTER_MANIFEST_MAX) {
        ret = otter_err_set(err, OTTER_EUSAGE,
                            "manifest.json would be %zu bytes, readers take at most %d: fewer "
                            "chunks (a larger --chunk-size) or fewer images",
                            strlen(manifest_json), OTTER_MANIFEST_MAX);
        goto out;
    }
    for (size_t i = 0; i < key_count; i++) {
        ret = otter_sig_list_sign(sigs, keys[i], manifest_json, strlen(manifest_json), err);
        if (ret)
            goto out;
    }
    sig_json = otter_sig_list_serialize_new(sigs);
    if (!sig_json) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    ret = open_zip(out_path, ZIP_CREATE | ZIP_TRUNCATE, &za, err);
    if (ret)
        goto out;
    ret = add_entry(za, out_path, "manifest.json",
                    zip_source_buffer(za, manifest_json, strlen(manifest_json), 0), mtime, err);
    if (!ret)
        ret = add_entry(za, out_path, "manifest.sig",
                        zip_source_buffer(za, sig_json, strlen(sig_json), 0), mtime, err);
    for (int i = 0; !ret && i < OTTER_HOOKS; i++)
        if (hook[i])
            ret = add_entry(za, out_path, m->hooks[i].file,
                            zip_source_buffer(za, hook[i], hook_len[i], 0), mtime, err);
    for (size_t i = 0; !ret && i < m->image_count; i++)
        ret = add_entry(za, out_path, m->images[i].file,
                        zip_source_file(za, payload_paths[i], 0, -1), mtime, err);
    if (ret)
        goto out;
    ret = close_zip(za, out_path, err);
    za = NULL;
out:
    if (za)
        zip_discard(za);
    free(manifest_json);
    free(sig_json);
    free(hook[OTTER_HOOK_PRE]);
    free(hook[OTTER_HOOK_POST]);
    otter_sig_list_free(sigs);
    return ret;
}

/* The hooks and the partial flag of opts into m (hook files read to be hashed). */
static int describe_extras(const otter_pkg_write_opts *opts, otter_manifest *m, otter_err *err)
{
    for (int i = 0; i < OTTER_HOOKS; i++) {
        if (!opts->hooks[i])
            continue;
        char *buf = NULL;
        size_t len = 0;
        int ret = otter_file_read_all(opts->hooks[i], OTTER_HOOK_MAX, &buf, &len, err);
        if (!ret && len == 0)
            ret = otter_err_set(err, OTTER_EUSAGE, "%s: empty", opts->hooks[i]);
        if (ret) {
            free(buf);
            return otter_err_prefix(err, "hook %s", otter_manifest_hook_name(i));
        }
        otter_manifest_hook *h = &m->hooks[i];
        snprintf(h->file, sizeof h->file, "%s.hook", otter_manifest_hook_name(i));
        h->size = len;
        otter_sha256_hex(buf, len, h->sha256);
        free(buf);
    }
    for (size_t i = 0; opts->partial && i < m->image_count; i++)
        snprintf(m->replaces[m->replaces_count++], sizeof m->replaces[0], "%s",
                 m->images[i].target);
    return 0;
}

int otter_pkg_write(const char *out_path, const otter_pkg_write_opts *opts,
                    const otter_pkg_input *inputs, size_t input_count, otter_err *err)
{
    otter_manifest *m = otter_manifest_new();
    payload *pls = calloc(input_count ? input_count : 1, sizeof *pls);
    time_t mtime = 0;
    int ret = OTTER_ENOMEM;
    if (!m || !pls) {
        otter_err_set(err, ret, "out of memory");
        goto out;
    }
    ret = check_inputs(opts, inputs, input_count, err);
    if (!ret)
        ret = build_manifest(opts, m, &mtime, err);
    m->format = opts->format ? opts->format : 2;
    for (size_t i = 0; !ret && i < input_count; i++) {
        ret =
            prepare_image(out_path, opts, (int)m->format, &inputs[i], &m->images[i], &pls[i], err);
        m->image_count = i + 1;
    }
    if (!ret)
        ret = describe_extras(opts, m, err);
    if (ret)
        goto out;
    const char *paths[OTTER_IMAGES_MAX];
    for (size_t i = 0; i < input_count; i++)
        paths[i] = pls[i].path;
    ret = otter_pkg_write_manifest_hooks(out_path, m, paths, opts->hooks, opts->keys,
                                         opts->key_count, err);
out:
    for (size_t i = 0; pls && i < input_count; i++)
        if (pls[i].is_temp)
            unlink(pls[i].path);
    free(pls);
    otter_manifest_free(m);
    return ret;
}

int otter_pkg_sign(const char *path, const otter_key *const *keys, size_t key_count, otter_err *err)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    otter_sig_list *sigs = otter_sig_list_new();
    char *sig_json = NULL;
    zip_t *za = NULL;
    int ret = sigs ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret)
        ret = otter_pkg_reader_open_file(path, OTTER_PKG_UNVERIFIED | OTTER_PKG_CIPHERTEXT, &r,
                                         err); /* signing needs no content key */
    if (!ret)
        ret = otter_pkg_read_manifest(r, NULL, &m, NULL, err);
    if (ret)
        goto out;
    *sigs = *otter_pkg_signatures(r);
    size_t len = 0;
    const char *bytes = otter_pkg_manifest_bytes(r, &len);
    for (size_t i = 0; i < key_count; i++) {
        ret = otter_sig_list_sign(sigs, keys[i], bytes, len, err);
        if (ret)
            goto out;
    }
    sig_json = otter_sig_list_serialize_new(sigs);
    if (!sig_json) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    ret = open_zip(path, 0, &za, err);
    if (ret)
        goto out;
    /* The reader checked that entry 1 is manifest.sig. */
    zip_source_t *src = zip_source_buffer(za, sig_json, strlen(sig_json), 0);
    if (!src || zip_file_replace(za, 1, src, 0) < 0) {
        zip_source_free(src);
        ret = zip_fail(za, path, "replacing manifest.sig", err);
        goto out;
    }
    if (zip_set_file_compression(za, 1, ZIP_CM_STORE, 0) < 0) {
        ret = zip_fail(za, path, "manifest.sig", err);
        goto out;
    }
    ret = close_zip(za, path, err);
    za = NULL;
out:
    if (za)
        zip_discard(za);
    free(sig_json);
    otter_sig_list_free(sigs);
    otter_pkg_reader_free(r);
    return ret;
}
