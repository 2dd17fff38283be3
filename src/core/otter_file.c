/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_file.h"
#include "otter_crash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int otter_file_read_all(const char *path, size_t max, char **out, size_t *out_len, otter_err *err)
{
    int ret = OTTER_EIO;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        otter_err_sys(err, OTTER_EIO, errno, "%s: cannot stat", path);
        goto out;
    }
    if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: too large (%lld bytes, limit %zu)", path,
                            (long long)st.st_size, max);
        goto out;
    }
    size_t cap = 4096, len = 0;
    buf = malloc(cap + 1);
    if (!buf) {
        ret = otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                ret =
                    otter_err_set(err, OTTER_EFORMAT, "%s: too large (limit %zu bytes)", path, max);
                goto out;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *n = realloc(buf, ncap + 1);
            if (!n) {
                ret = otter_err_set(err, OTTER_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = n;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            otter_err_sys(err, OTTER_EIO, errno, "%s: read failed", path);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max) {
            ret = otter_err_set(err, OTTER_EFORMAT, "%s: too large (limit %zu bytes)", path, max);
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    ret = 0;
out:
    free(buf);
    close(fd);
    return ret;
}

int otter_file_write_full(int fd, const void *buf, size_t len, const char *what, otter_err *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return otter_err_sys(err, OTTER_EIO, errno, "%s: write failed", what);
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int otter_file_sync_dir_of(const char *path, otter_err *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return otter_err_set(err, OTTER_EUSAGE, "%s: path too long", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open directory", dir);
    int ret = 0;
    if (fsync(fd) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: fsync of directory failed", dir);
    close(fd);
    return ret;
}

int otter_file_open_temp(const char *path, mode_t mode, char *tmp, size_t tmp_size, int *fd_out,
                         otter_err *err)
{
    *fd_out = -1;
    int n = snprintf(tmp, tmp_size, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    if (n < 0 || (size_t)n >= tmp_size)
        return otter_err_set(err, OTTER_EUSAGE, "%s: path too long", path);
    /* mkostemp: a random name opened O_CREAT|O_EXCL, so never an existing file, a hard link
       or a symlink planted at a name someone guessed (the old "<path>.tmp.<pid>" was
       opened O_TRUNC and followed one). It creates 0600; fchmod gives the caller's mode. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", tmp);
    if (fchmod(fd, mode) < 0) {
        int ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot chmod", tmp);
        close(fd);
        unlink(tmp);
        return ret;
    }
    *fd_out = fd;
    return 0;
}

int otter_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            otter_err *err)
{
    char tmp[PATH_MAX];
    int fd;
    int ret = otter_file_open_temp(path, mode, tmp, sizeof tmp, &fd, err);
    if (ret)
        return ret;
    ret = otter_file_write_full(fd, data, len, tmp, err);
    otter_crash_point("atomic-written");
    if (ret == 0 && fsync(fd) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", tmp);
    if (close(fd) < 0 && ret == 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: close failed", tmp);
    otter_crash_point("atomic-synced");
    if (ret == 0 && rename(tmp, path) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: rename to %s failed", tmp, path);
    otter_crash_point("atomic-renamed");
    if (ret != 0) {
        unlink(tmp);
        return ret;
    }
    return otter_file_sync_dir_of(path, err);
}
