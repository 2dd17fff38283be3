/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_install_keep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_bootchooser.h"
#include "otter_digest.h"
#include "otter_encode.h"
#include "otter_file.h"
#include "otter_handler.h"

#define COPY_BLOCK (1024 * 1024)

/* The running slot's record of slot class target, or NULL. */
static const otter_state_image *recorded(const otter_device *d, const char *target)
{
    if (d->booted != OTTER_SLOT_A && d->booted != OTTER_SLOT_B)
        return NULL;
    const otter_state_slot *s = &d->state->slots[d->booted];
    for (size_t i = 0; s->present && i < s->n_images; i++)
        if (strcmp(s->images[i].target, target) == 0)
            return &s->images[i];
    return NULL;
}

/* Opens the running copy of class s and checks it holds at least size bytes. */
static int open_running(const otter_device *d, const otter_slot_conf *s, uint64_t size, int *fd,
                        otter_err *err)
{
    const char *path = otter_agent_conf_slot_path(s, d->booted);
    struct stat st;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno,
                             "slot class %s is kept from the running slot %c, whose copy %s "
                             "cannot be read",
                             s->name, otter_bootchooser_letter(d->booted), path);
    if (fstat(*fd, &st) == 0 &&
        (S_ISBLK(st.st_mode) || (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= size)))
        return 0;
    close(*fd);
    *fd = -1;
    return otter_err_set(err, OTTER_EIO,
                         "slot class %s is kept from the running slot %c, whose copy %s is not a "
                         "file or device of at least %llu bytes",
                         s->name, otter_bootchooser_letter(d->booted), path,
                         (unsigned long long)size);
}

int otter_install_keep_check(const otter_device *d, const otter_manifest *m, int factory,
                             otter_err *err)
{
    for (size_t i = 0; m->replaces_count && i < d->conf->n_slots; i++) {
        const otter_slot_conf *s = &d->conf->slots[i];
        if (otter_manifest_replaces(m, s->name))
            continue;
        if (factory)
            return otter_err_set(err, OTTER_EUSAGE,
                                 "a partial package (slot class %s missing) cannot be a factory "
                                 "image: the first image must be whole",
                                 s->name);
        const otter_state_image *rec = recorded(d, s->name);
        if (!rec)
            return otter_err_set(err, OTTER_ESTATE,
                                 "partial package: the running slot has no recorded %s image to "
                                 "keep; install a complete package",
                                 s->name);
        if (strcmp(s->handler, "raw") != 0 && strcmp(s->handler, "file") != 0)
            return otter_err_set(err, OTTER_ECOMPAT,
                                 "partial package: slot class %s (handler %s) cannot be copied "
                                 "from the running slot (raw and file only); the package must "
                                 "carry it",
                                 s->name, s->handler);
        int fd = -1;
        int ret = open_running(d, s, rec->size, &fd, err);
        if (ret)
            return ret;
        close(fd);
    }
    return 0;
}

/* Streams size bytes of fd into h, hashing them; 0 when their digest is want. */
static int copy_verified(int fd, otter_handler *h, uint64_t size, const char *want,
                         unsigned char *buf, const char *what, otter_err *err)
{
    otter_sha256 *sha = otter_sha256_new();
    if (!sha)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    uint64_t off = 0;
    int ret = 0;
    while (!ret && off < size) {
        size_t n = size - off < COPY_BLOCK ? (size_t)(size - off) : COPY_BLOCK;
        ssize_t got = pread(fd, buf, n, (off_t)off);
        if (got <= 0) {
            ret = otter_err_sys(err, OTTER_EIO, got < 0 ? errno : EIO, "%s: read at %llu", what,
                                (unsigned long long)off);
            break;
        }
        otter_sha256_update(sha, buf, (size_t)got);
        ret = otter_handler_write(h, buf, (size_t)got, err);
        off += (uint64_t)got;
    }
    uint8_t digest[OTTER_SHA256_LEN];
    otter_sha256_final(sha, digest);
    otter_sha256_free(sha);
    char hex[OTTER_SHA256_HEX_LEN + 1];
    otter_hex_encode(digest, sizeof digest, hex);
    if (!ret && strcmp(hex, want) != 0)
        ret = otter_err_set(err, OTTER_EDIGEST,
                            "%s: sha256 %s, the running slot's record says %s (changed since it "
                            "was installed)",
                            what, hex, want);
    return ret;
}

static int copy_class(otter_device *d, const otter_slot_conf *s, int side, unsigned char *buf,
                      otter_err *err)
{
    const otter_state_image *rec = recorded(d, s->name);
    char what[200];
    snprintf(what, sizeof what, "kept slot class %s (from slot %c)", s->name,
             otter_bootchooser_letter(d->booted));
    if (!rec)
        return otter_err_set(err, OTTER_ESTATE, "%s: no record", what);
    int fd = -1;
    otter_handler *h = NULL;
    int ret = open_running(d, s, rec->size, &fd, err);
    if (!ret)
        ret =
            otter_handler_open(s->handler, otter_agent_conf_slot_path(s, side), rec->size, &h, err);
    if (!ret)
        ret = copy_verified(fd, h, rec->size, rec->sha256, buf, what, err);
    if (!ret) {
        ret = otter_handler_finish(h, err);
        h = NULL;
    }
    otter_handler_abort(h);
    if (fd >= 0)
        close(fd);
    return ret;
}

int otter_install_keep_copy(otter_device *d, const otter_manifest *m, int side, otter_err *err)
{
    if (!m->replaces_count)
        return 0;
    unsigned char *buf = malloc(COPY_BLOCK);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = 0;
    for (size_t i = 0; !ret && i < d->conf->n_slots; i++)
        if (!otter_manifest_replaces(m, d->conf->slots[i].name))
            ret = copy_class(d, &d->conf->slots[i], side, buf, err);
    free(buf);
    return ret;
}

size_t otter_install_keep_images(const otter_device *d, const otter_manifest *m,
                                 otter_state_image *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; m->replaces_count && i < d->conf->n_slots && n < max; i++) {
        const otter_state_image *rec = recorded(d, d->conf->slots[i].name);
        if (!otter_manifest_replaces(m, d->conf->slots[i].name) && rec)
            out[n++] = *rec;
    }
    return n;
}
