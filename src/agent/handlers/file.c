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

const struct otter_handler_ops otter_handler_file = {"file", file_open, file_write, file_finish,
                                                     file_abort};
