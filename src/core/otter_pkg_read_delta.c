/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reader's side of delta images: which descriptor is the source of
 * which image, and the whole-source check that comes before any chunk of a
 * delta image is read (docs/package-format.md, "What a device does with a
 * delta image", step 1: the answer must come before the inactive slot is
 * touched).
 */
#include "otter_pkg_internal.h"
#include "otter_encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The source is hashed through a small buffer: a 1 MiB one cost 256 fresh
 * pages (page faults) per check for no faster hashing (bench/delta.sh).
 */
#define HASH_BLOCK (128 * 1024)

static int set_source(otter_pkg_reader *r, const char *image, int fd, int checked, otter_err *err)
{
    if (!otter_ident_valid(image) || fd < 0)
        return otter_err_set(err, OTTER_EUSAGE, "%s: set_source: bad image name or descriptor",
                             r->name);
    size_t i = 0;
    while (i < r->source_count && strcmp(r->sources[i].image, image) != 0)
        i++;
    if (i == OTTER_IMAGES_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "%s: more than %d sources", r->name,
                             OTTER_IMAGES_MAX);
    snprintf(r->sources[i].image, sizeof r->sources[i].image, "%s", image);
    r->sources[i].fd = fd;
    r->sources[i].checked = checked;
    if (i == r->source_count)
        r->source_count++;
    return 0;
}

int otter_pkg_reader_set_source(otter_pkg_reader *r, const char *image, int fd, otter_err *err)
{
    return set_source(r, image, fd, 0, err);
}

int otter_pkg_reader_set_source_checked(otter_pkg_reader *r, const char *image, int fd,
                                        otter_err *err)
{
    return set_source(r, image, fd, 1, err);
}

int otter_pkg_source_matches(int fd, uint64_t base_size, const char *sha256_hex, const char *what,
                             otter_err *err)
{
    int ret = 0;
    uint8_t *buf = malloc(HASH_BLOCK);
    otter_sha256 *sha = otter_sha256_new();
    uint64_t done = 0;
    if (!buf || !sha) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    while (done < base_size) {
        size_t want = base_size - done < HASH_BLOCK ? (size_t)(base_size - done) : HASH_BLOCK;
        ssize_t n = pread(fd, buf, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = otter_err_sys(err, OTTER_EIO, errno, "%s: read failed", what);
            goto out;
        }
        if (n == 0) {
            ret = otter_err_set(err, OTTER_EDIGEST,
                                "source mismatch: %s has %llu bytes, the delta's base %llu", what,
                                (unsigned long long)done, (unsigned long long)base_size);
            goto out;
        }
        otter_sha256_update(sha, buf, (size_t)n);
        done += (uint64_t)n;
    }
    uint8_t md[OTTER_SHA256_LEN];
    char hex[OTTER_SHA256_HEX_LEN + 1];
    otter_sha256_final(sha, md);
    otter_hex_encode(md, sizeof md, hex);
    if (strcmp(hex, sha256_hex) != 0)
        ret = otter_err_set(err, OTTER_EDIGEST,
                            "source mismatch: %s is not the base of this delta (sha256 %s, "
                            "expected %s)",
                            what, hex, sha256_hex);
out:
    free(buf);
    otter_sha256_free(sha);
    return ret;
}

int otter_pkg_delta_start_image(otter_pkg_reader *r, otter_err *err)
{
    const otter_manifest_image *img = r->cur;
    if (!otter_manifest_image_is_delta(img)) {
        otter_chunkq_set_source(r->cq, -1, img->chunk_size);
        return 0;
    }
    int fd = -1, checked = 0;
    for (size_t i = 0; i < r->source_count; i++)
        if (strcmp(r->sources[i].image, img->name) == 0) {
            fd = r->sources[i].fd;
            checked = r->sources[i].checked;
        }
    if (fd < 0)
        return otter_pkg_rd_fail(r, err, OTTER_EUSAGE,
                                 "image %s is a delta from release %s: it needs its source (the "
                                 "active slot of %s), none was given",
                                 img->name, r->manifest->delta_from, img->target);
    if (checked) {
        otter_chunkq_set_source(r->cq, fd, img->chunk_size);
        return 0;
    }
    char what[OTTER_IDENT_MAX + 32];
    snprintf(what, sizeof what, "the source of image %s", img->name);
    otter_err e;
    int ret = otter_pkg_source_matches(fd, img->delta_base_size, img->delta_base_sha256, what, &e);
    if (ret)
        return otter_pkg_rd_fail(r, err, ret, "%s (delta from release %s)", e.msg,
                                 r->manifest->delta_from);
    otter_chunkq_set_source(r->cq, fd, img->chunk_size);
    return 0;
}
