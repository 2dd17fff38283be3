/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Both packages are read with the device's own reader (trust root, chunk
 * digests, whole-image digests) into temporary files next to the output,
 * mapped read-only; the delta is encoded from those, so it is made only
 * from verified bytes.
 */
#include "otter_delta_make.h"
#include "otter_delta_encode.h"
#include "otter_pkg.h"
#include "otter_file.h"
#include "otter_pkg_chunker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* One verified package: its manifest and each image's installed bytes in a temp file. */
typedef struct side {
    otter_manifest *m;
    char paths[OTTER_IMAGES_MAX][PATH_MAX];
    int fds[OTTER_IMAGES_MAX];
    /* Its install hooks (verified by the reader), carried into the delta as they are. */
    char hook_paths[OTTER_HOOKS][PATH_MAX];
    int hook_fds[OTTER_HOOKS];
} side;

static void side_free(side *s)
{
    for (size_t i = 0; i < OTTER_IMAGES_MAX; i++) {
        if (s->fds[i] > 0) {
            close(s->fds[i]);
            unlink(s->paths[i]);
        }
    }
    for (size_t i = 0; i < OTTER_HOOKS; i++) {
        if (s->hook_fds[i] > 0) {
            close(s->hook_fds[i]);
            unlink(s->hook_paths[i]);
        }
    }
    otter_manifest_free(s->m);
}

static int temp_beside(const char *out_path, const char *what, char *path, int *fd, otter_err *err)
{
    int n = snprintf(path, PATH_MAX, "%s.%s.XXXXXX", out_path, what);
    if (n < 0 || n >= PATH_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "%s: path too long", out_path);
    *fd = mkostemp(path, O_CLOEXEC);
    if (*fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", path);
    return 0;
}

/* Reads the current image's installed bytes into fd. */
static int extract_image(otter_pkg_reader *r, int fd, const char *path, otter_err *err)
{
    const void *data;
    size_t len;
    int rc;
    while ((rc = otter_pkg_read_chunk(r, &data, &len, err)) == 1) {
        int ret = otter_file_write_full(fd, data, len, path, err);
        if (ret)
            return ret;
    }
    return rc;
}

/* The package's hooks into temp files (the reader checked them against the signed manifest). */
static int save_hooks(const otter_pkg_reader *r, const char *out_path, side *s, otter_err *err)
{
    for (int i = 0; i < OTTER_HOOKS; i++) {
        size_t len = 0;
        const char *bytes = otter_pkg_hook(r, i, &len);
        if (!bytes)
            continue;
        int ret = temp_beside(out_path, otter_manifest_hook_name(i), s->hook_paths[i],
                              &s->hook_fds[i], err);
        if (!ret)
            ret = otter_file_write_full(s->hook_fds[i], bytes, len, s->hook_paths[i], err);
        if (ret)
            return ret;
    }
    return 0;
}

static int read_side(const char *pkg, const char *tag, const char *out_path,
                     const otter_trust *trust, side *s, otter_err *err)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    /* CIPHERTEXT only so that an encrypted image is refused below by name. */
    unsigned flags = OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST | OTTER_PKG_CIPHERTEXT;
    int ret = otter_pkg_reader_open_file(pkg, flags, &r, err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, NULL, err);
    for (size_t i = 0; !ret && i < m->image_count; i++)
        if (m->images[i].encryption)
            ret = otter_err_set(err, OTTER_EUSAGE,
                                "%s: image %s: encrypted images cannot be delta bases or targets "
                                "yet (docs/package-format.md, \"Encrypted images\")",
                                pkg, m->images[i].name);
    if (!ret) { /* our own copy: the reader's goes with it */
        size_t len = 0;
        const char *bytes = otter_pkg_manifest_bytes(r, &len);
        ret = otter_manifest_parse(bytes, len, pkg, &s->m, err);
    }
    if (!ret)
        ret = save_hooks(r, out_path, s, err);
    for (size_t i = 0; !ret && (ret = otter_pkg_next_image(r, &img, err)) == 1; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s%zu", tag, i);
        ret = temp_beside(out_path, what, s->paths[i], &s->fds[i], err);
        if (!ret)
            ret = extract_image(r, s->fds[i], s->paths[i], err);
    }
    otter_pkg_reader_free(r);
    return ret;
}

static const otter_manifest_image *base_of(const side *old, const otter_manifest_image *img,
                                           size_t *index)
{
    for (size_t i = 0; i < old->m->image_count; i++) {
        const otter_manifest_image *o = &old->m->images[i];
        if (strcmp(o->name, img->name) == 0 && strcmp(o->target, img->target) == 0 &&
            strcmp(o->handler, "archive") != 0 && strcmp(img->handler, "archive") != 0 &&
            o->size > 0 && img->size > 0) {
            *index = i;
            return o;
        }
    }
    return NULL;
}

static int map_file(int fd, size_t len, const char *path, const uint8_t **out, otter_err *err)
{
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot map", path);
    *out = p;
    return 0;
}

/* A delta image: NEW's bytes made from OLD's, chunk by chunk. */
static int make_delta_image(const otter_delta_make_opts *o, const side *old, size_t oi,
                            const side *nw, size_t ni, otter_manifest_image *img, int out_fd,
                            const char *out_path, otter_err *err)
{
    const otter_manifest_image *base = &old->m->images[oi];
    const uint8_t *a = NULL, *b = NULL;
    snprintf(img->delta_base_sha256, sizeof img->delta_base_sha256, "%s", base->sha256);
    img->delta_base_size = base->size;
    img->compression = OTTER_COMPRESSION_ZSTD;
    int ret = map_file(old->fds[oi], base->size, old->paths[oi], &a, err);
    if (!ret)
        ret = map_file(nw->fds[ni], img->size, nw->paths[ni], &b, err);
    if (!ret)
        ret = otter_delta_encode_image(a, base->size, b, img->size, o->level, o->threads,
                                       o->methods, 1, img, out_fd, out_path, err);
    if (a)
        munmap((void *)a, base->size);
    if (b)
        munmap((void *)b, img->size);
    if (ret)
        otter_err_prefix(err, "image %s", img->name);
    return ret;
}

/* A full image: NEW's installed bytes in chunks again (the same span and compression). */
static int make_full_image(const otter_delta_make_opts *o, const side *nw, size_t ni,
                           otter_manifest_image *img, int out_fd, const char *out_path,
                           otter_err *err)
{
    if (lseek(nw->fds[ni], 0, SEEK_SET) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: seek", nw->paths[ni]);
    return otter_pkg_chunk_encode(nw->fds[ni], nw->paths[ni], out_fd, out_path, o->level,
                                  o->threads, img, err);
}

static void copy_top(const otter_manifest *from, otter_manifest *m)
{
    m->format = 2;
    snprintf(m->product, sizeof m->product, "%s", from->product);
    snprintf(m->version, sizeof m->version, "%s", from->version);
    snprintf(m->created, sizeof m->created, "%s", from->created);
    m->security_version = from->security_version;
    m->compatible_count = from->compatible_count;
    memcpy(m->compatible, from->compatible, sizeof m->compatible);
    /* Hooks are carried as they are (their files from NEW: save_hooks). */
    memcpy(m->hooks, from->hooks, sizeof m->hooks);
    m->replaces_count = from->replaces_count;
    memcpy(m->replaces, from->replaces, sizeof m->replaces);
}

/* Every image of NEW into m and a payload file each. */
static int make_images(const char *out_path, const otter_delta_make_opts *o, const side *old,
                       const side *nw, otter_manifest *m, char (*payloads)[PATH_MAX],
                       int *payload_fds, const char **paths, otter_err *err)
{
    int ret = 0;
    for (size_t i = 0; !ret && i < nw->m->image_count; i++) {
        const otter_manifest_image *src = &nw->m->images[i];
        otter_manifest_image *img = &m->images[i];
        m->image_count = i + 1;
        snprintf(img->name, sizeof img->name, "%s", src->name);
        snprintf(img->file, sizeof img->file, "%s", src->file);
        snprintf(img->handler, sizeof img->handler, "%s", src->handler);
        snprintf(img->target, sizeof img->target, "%s", src->target);
        snprintf(img->sha256, sizeof img->sha256, "%s", src->sha256);
        img->size = src->size;
        img->compression = src->compression;
        img->chunk_size = src->chunk_size ? src->chunk_size : OTTER_CHUNK_SIZE_DEFAULT;
        ret = temp_beside(out_path, "payload", payloads[i], &payload_fds[i], err);
        if (ret)
            break;
        /* compression none: the installed bytes are the payload */
        paths[i] = img->compression == OTTER_COMPRESSION_NONE ? nw->paths[i] : payloads[i];
        size_t oi = 0;
        if (base_of(old, src, &oi)) {
            ret = make_delta_image(o, old, oi, nw, i, img, payload_fds[i], payloads[i], err);
            snprintf(m->delta_from, sizeof m->delta_from, "%s", old->m->version);
            paths[i] = payloads[i];
        } else {
            ret = make_full_image(o, nw, i, img, payload_fds[i], payloads[i], err);
        }
    }
    return ret;
}

int otter_delta_make(const char *out_path, const otter_delta_make_opts *o, otter_err *err)
{
    /*
     * Each worker allocates and frees a suffix array (16 MiB with 1 MiB
     * chunks) and zstd's final-level tables (up to 24 MiB) per chunk.
     * glibc's mmap threshold grows to the size of the first such block
     * freed, and later ones then stay in the thread's arena after free:
     * the two added up per worker. A fixed threshold gives each back to
     * the kernel when freed (security pair: peak RSS 100 -> 59 MiB).
     */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    side old = {0}, nw = {0};
    otter_manifest *m = otter_manifest_new();
    char payloads[OTTER_IMAGES_MAX][PATH_MAX];
    int payload_fds[OTTER_IMAGES_MAX] = {0};
    int ret = m ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret && !o->trust)
        ret = otter_err_set(err, OTTER_EUSAGE, "a trust root is needed to verify both packages");
    if (!ret && (o->level < 1 || o->level > 19))
        ret = otter_err_set(err, OTTER_EUSAGE, "level %d out of range 1..19", o->level);
    if (!ret)
        ret = read_side(o->from, "old", out_path, o->trust, &old, err);
    if (!ret)
        ret = read_side(o->to, "new", out_path, o->trust, &nw, err);
    if (!ret && strcmp(old.m->product, nw.m->product) != 0)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s is for product %s, %s for %s", o->from,
                            old.m->product, o->to, nw.m->product);
    if (!ret && old.m->delta_from[0])
        ret = otter_err_set(err, OTTER_EUSAGE, "%s is a delta package itself: use the full one",
                            o->from);
    if (!ret && nw.m->delta_from[0])
        ret = otter_err_set(err, OTTER_EUSAGE, "%s is a delta package itself: use the full one",
                            o->to);
    const char *paths[OTTER_IMAGES_MAX] = {0};
    if (!ret) {
        copy_top(nw.m, m);
        ret = make_images(out_path, o, &old, &nw, m, payloads, payload_fds, paths, err);
    }
    const char *hooks[OTTER_HOOKS];
    for (int i = 0; i < OTTER_HOOKS; i++)
        hooks[i] = nw.hook_fds[i] > 0 ? nw.hook_paths[i] : NULL;
    if (!ret)
        ret = otter_pkg_write_manifest_hooks(out_path, m, paths, hooks, o->keys, o->key_count, err);
    for (size_t i = 0; i < OTTER_IMAGES_MAX; i++) {
        if (payload_fds[i] > 0) {
            close(payload_fds[i]);
            unlink(payloads[i]);
        }
    }
    side_free(&old);
    side_free(&nw);
    otter_manifest_free(m);
    return ret;
}

int otter_delta_methods_parse(const char *list, unsigned *mask, otter_err *err)
{
    unsigned m = OTTER_DELTA_METHOD_BIT(OTTER_METHOD_ZSTD);
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        unsigned i = 0;
        while (i < OTTER_METHOD_COUNT &&
               (strlen(otter_chunk_method_name((otter_chunk_method)i)) != n ||
                strncmp(otter_chunk_method_name((otter_chunk_method)i), p, n) != 0))
            i++;
        if (i == OTTER_METHOD_COUNT)
            return otter_err_set(err, OTTER_EUSAGE,
                                 "methods: \"%.*s\" is not copy, zstd-patch, bsdiff, bsdiff-lzma "
                                 "or zstd",
                                 (int)(n > 32 ? 32 : n), p);
        m |= OTTER_DELTA_METHOD_BIT(i);
        if (!p[n])
            break;
        p += n + 1;
    }
    *mask = m;
    return 0;
}
