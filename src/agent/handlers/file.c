/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "file" handler: the image is one file, replaced atomically. Bytes go
 * to a new temp file beside it (otter_file_open_temp: a random name opened
 * O_EXCL, so nothing planted at a guessed name is ever written through);
 * finish fsyncs it, renames it over the target and fsyncs the directory, so
 * after a crash the target is old or new, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_file.h"
#include "otter_handler_impl.h"

struct file_ctx {
    int fd;
    char target[PATH_MAX];
    char tmp[PATH_MAX];
};

static int file_open(void **out, const char *target, uint64_t declared_size, otter_err *err)
{
    struct file_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int n = snprintf(c->target, sizeof c->target, "%s", target);
    if (n < 0 || (size_t)n >= sizeof c->target) {
        free(c);
        return otter_err_set(err, OTTER_EUSAGE, "%s: path too long", target);
    }
    int ret = otter_file_open_temp(target, 0644, c->tmp, sizeof c->tmp, &c->fd, err);
    if (ret) {
        free(c);
        return ret;
    }
    *out = c;
    return 0;
}

static int file_write(void *ctx, const void *buf, size_t len, otter_err *err)
{
    struct file_ctx *c = ctx;
    return otter_file_write_full(c->fd, buf, len, c->tmp, err);
}

static int file_finish(void *ctx, otter_err *err)
{
    struct file_ctx *c = ctx;
    if (fsync(c->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", c->tmp);
    if (close(c->fd) < 0) {
        c->fd = -1;
        return otter_err_sys(err, OTTER_EIO, errno, "%s: close failed", c->tmp);
    }
    c->fd = -1;
    if (rename(c->tmp, c->target) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: rename to %s failed", c->tmp, c->target);
    int ret = otter_file_sync_dir_of(c->target, err);
    if (ret)
        return ret; /* renamed but maybe not durable: abort() below finds no temp file */
    free(c);
    return 0;
}

static void file_abort(void *ctx)
{
    struct file_ctx *c = ctx;
    if (c->fd >= 0)
        close(c->fd);
    unlink(c->tmp);
    free(c);
}

/* A temp file this handler made for target: "<target>.tmp.<pid>.<6 of [A-Za-z0-9]>". */
static int is_our_temp(const char *target, const char *partial)
{
    size_t n = strlen(target);
    if (strncmp(partial, target, n) != 0 || strncmp(partial + n, ".tmp.", 5) != 0)
        return 0;
    const char *p = partial + n + 5;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || p[digits] != '.')
        return 0;
    p += digits + 1;
    return strlen(p) == 6 &&
           strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 6;
}

/*
 * Continues the temp file of an unfinished install: its bytes up to offset
 * were re-hashed by the caller; anything after them is cut off. Only a temp
 * file of this target (by name, a regular file, not a link) is taken.
 */
static int file_resume(void **out, const char *target, uint64_t declared_size, uint64_t offset,
                       const uint8_t *head, size_t head_len, const char *partial, otter_err *err)
{
    (void)declared_size;
    (void)head;
    (void)head_len;
    if (!is_our_temp(target, partial))
        return otter_err_set(err, OTTER_EUSAGE, "%s: not a temp file of %s", partial, target);
    struct file_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    snprintf(c->target, sizeof c->target, "%s", target);
    snprintf(c->tmp, sizeof c->tmp, "%s", partial);
    c->fd = open(partial, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    int ret = 0;
    if (c->fd < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", partial);
    else if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < offset)
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: not a regular file of at least %llu bytes",
                            partial, (unsigned long long)offset);
    else if (ftruncate(c->fd, (off_t)offset) < 0 || lseek(c->fd, (off_t)offset, SEEK_SET) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot continue at %llu", partial,
                            (unsigned long long)offset);
    if (ret) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return ret;
    }
    *out = c;
    return 0;
}

static const char *file_partial(const void *ctx)
{
    return ((const struct file_ctx *)ctx)->tmp;
}

const struct otter_handler_ops otter_handler_file = {
    "file", file_open, file_write, file_finish, file_abort, file_resume, file_partial};
