/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_spool.h"
#include "otter_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct otter_spool {
    otter_pkg_read_fn inner;
    void *inner_ctx;
    int fd;
    uint64_t written, max;
    int committed;
    char part[PATH_MAX];
    char final[PATH_MAX];
};

int otter_spool_path(const char *dir, char *buf, size_t size, otter_err *err)
{
    if ((size_t)snprintf(buf, size, "%s/update.zip", dir) >= size)
        return otter_err_set(err, OTTER_EUSAGE, "%s: spool path too long", dir);
    return 0;
}

int otter_spool_open(const char *dir, uint64_t max_bytes, otter_pkg_read_fn inner, void *inner_ctx,
                     otter_spool **out, otter_err *err)
{
    otter_spool *s = calloc(1, sizeof *s);
    int ret = OTTER_ENOMEM;
    if (!s)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    s->fd = -1;
    s->inner = inner;
    s->inner_ctx = inner_ctx;
    s->max = max_bytes;
    if ((ret = otter_spool_path(dir, s->final, sizeof s->final, err)) != 0)
        goto out;
    snprintf(s->part, sizeof s->part, "%s.part", s->final);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create the spool", dir);
        goto out;
    }
    /* A package from an earlier action must not be taken for this one. */
    if ((ret = otter_spool_clear(dir, err)) != 0)
        goto out;
    /* Cleared just above, so it must be new: O_EXCL|O_NOFOLLOW never writes through a
       file or symlink that appeared at the fixed name in between. */
    s->fd = open(s->part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", s->part);
        goto out;
    }
    *out = s;
    s = NULL;
    ret = 0;
out:
    otter_spool_free(s);
    return ret;
}

ssize_t otter_spool_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    otter_spool *s = ctx;
    ssize_t n = s->inner(s->inner_ctx, buf, len, err);
    if (n <= 0)
        return n;
    if (s->written + (uint64_t)n > s->max)
        return otter_err_set(err, OTTER_EFORMAT,
                             "package larger than the spool's limit (%llu bytes)",
                             (unsigned long long)s->max);
    int ret = otter_file_write_full(s->fd, buf, (size_t)n, s->part, err);
    if (ret)
        return ret;
    s->written += (uint64_t)n;
    return n;
}

int otter_spool_commit(otter_spool *s, otter_err *err)
{
    static char rest[64 * 1024];
    ssize_t n;
    /* The verifier may stop before the zip's central directory: keep it too,
     * so the later install reads the very bytes that were verified. */
    while ((n = otter_spool_read(s, rest, sizeof rest, err)) > 0)
        ;
    if (n < 0)
        return (int)n;
    if (fsync(s->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: fsync", s->part);
    if (rename(s->part, s->final) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: rename", s->part);
    s->committed = 1;
    return otter_file_sync_dir_of(s->final, err);
}

void otter_spool_free(otter_spool *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (!s->committed && s->part[0])
        unlink(s->part);
    free(s);
}

int otter_spool_clear(const char *dir, otter_err *err)
{
    char path[PATH_MAX], part[PATH_MAX + 8];
    int ret = otter_spool_path(dir, path, sizeof path, err);
    if (ret)
        return ret;
    snprintf(part, sizeof part, "%s.part", path);
    if ((unlink(path) < 0 && errno != ENOENT) || (unlink(part) < 0 && errno != ENOENT))
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot clear the spool", dir);
    return 0;
}
