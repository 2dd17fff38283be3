/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_artifact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_digest.h"
#include "otter_encode.h"

struct otter_artifact_sink {
    const char *dir;
    char path[4096];
    int fd;
    int committed;
    int failed_errno; /* first write error */
    uint64_t size;
    EVP_MD_CTX *md[3]; /* sha256, sha1, md5 */
    otter_artifact_hashes h;
};

int otter_artifact_sink_new(const char *dir, otter_artifact_sink **out, otter_err *err)
{
    int ret = OTTER_ENOMEM;
    const EVP_MD *algs[3] = {EVP_sha256(), EVP_sha1(), EVP_md5()};
    *out = NULL;
    otter_artifact_sink *s = calloc(1, sizeof *s);
    if (!s)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    s->dir = dir;
    s->fd = -1;
    for (int i = 0; i < 3; i++) {
        s->md[i] = EVP_MD_CTX_new();
        if (!s->md[i] || EVP_DigestInit_ex(s->md[i], algs[i], NULL) != 1) {
            ret = otter_err_set(err, OTTER_EIO, "cannot start digest");
            goto out;
        }
    }
    if ((size_t)snprintf(s->path, sizeof s->path, "%s/.upload-XXXXXX", dir) >= sizeof s->path) {
        ret = otter_err_set(err, OTTER_EUSAGE, "artifacts directory path too long");
        goto out;
    }
    s->fd = mkostemp(s->path, O_CLOEXEC);
    if (s->fd < 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "creating a temporary file in %s", dir);
        s->path[0] = '\0';
        goto out;
    }
    *out = s;
    s = NULL;
    ret = 0;
out:
    otter_artifact_sink_free(s);
    return ret;
}

int otter_artifact_sink_write(otter_artifact_sink *s, const void *data, size_t len)
{
    if (s->failed_errno)
        return OTTER_EIO;
    for (int i = 0; i < 3; i++)
        EVP_DigestUpdate(s->md[i], data, len);
    const char *p = data;
    while (len) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->failed_errno = n < 0 ? errno : EIO;
            return OTTER_EIO;
        }
        p += n;
        len -= (size_t)n;
        s->size += (uint64_t)n;
    }
    return 0;
}

int otter_artifact_sink_finish(otter_artifact_sink *s, otter_artifact_hashes *h, otter_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char *outs[3] = {s->h.sha256, s->h.sha1, s->h.md5};
    if (s->failed_errno)
        return otter_err_sys(err, OTTER_EIO, s->failed_errno, "writing %s", s->path);
    if (fsync(s->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "fsync %s", s->path);
    for (int i = 0; i < 3; i++) {
        if (EVP_DigestFinal_ex(s->md[i], d, &n) != 1)
            return otter_err_set(err, OTTER_EIO, "digest failed");
        otter_hex_encode(d, n, outs[i]);
    }
    s->h.size = s->size;
    *h = s->h;
    return 0;
}

const char *otter_artifact_sink_path(const otter_artifact_sink *s)
{
    return s->path;
}

int otter_artifact_path(const char *dir, const char *sha256, char *buf, size_t cap, otter_err *err)
{
    if (!otter_is_lower_hex(sha256, OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EUSAGE, "not a SHA-256: '%.70s'", sha256);
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, sha256) >= cap)
        return otter_err_set(err, OTTER_EUSAGE, "artifacts directory path too long");
    return 0;
}

static int fsync_dir(const char *dir, otter_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "opening %s", dir);
    int ret = fsync(fd) < 0 ? otter_err_sys(err, OTTER_EIO, errno, "fsync %s", dir) : 0;
    close(fd);
    return ret;
}

int otter_artifact_sink_commit(otter_artifact_sink *s, otter_err *err)
{
    char final[4200];
    int ret = otter_artifact_path(s->dir, s->h.sha256, final, sizeof final, err);
    if (ret < 0)
        return ret;
    /* Read-only for everybody but the server: content-addressed files never change. */
    if (fchmod(s->fd, 0440) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "chmod %s", s->path);
    if (rename(s->path, final) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "renaming %s to %s", s->path, final);
    s->committed = 1;
    return fsync_dir(s->dir, err);
}

void otter_artifact_sink_free(otter_artifact_sink *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (!s->committed && s->path[0])
        unlink(s->path);
    for (int i = 0; i < 3; i++)
        EVP_MD_CTX_free(s->md[i]);
    free(s);
}

int otter_artifact_remove(const char *dir, const char *sha256, otter_err *err)
{
    char path[4200];
    int ret = otter_artifact_path(dir, sha256, path, sizeof path, err);
    if (ret == 0 && unlink(path) < 0 && errno != ENOENT)
        ret = otter_err_sys(err, OTTER_EIO, errno, "removing %s", path);
    return ret;
}

int otter_artifact_sweep(const char *dir, int64_t now, int64_t max_age, unsigned *removed,
                         otter_err *err)
{
    unsigned n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return otter_err_sys(err, OTTER_EIO, errno, "reading %s", dir);
    int fd = dirfd(d);
    for (struct dirent *e; (e = readdir(d));) {
        struct stat st;
        if (strncmp(e->d_name, ".upload-", 8) != 0 ||
            fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            (int64_t)st.st_mtime > now - max_age)
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0)
            n++;
    }
    closedir(d);
    if (removed)
        *removed = n;
    return 0;
}
