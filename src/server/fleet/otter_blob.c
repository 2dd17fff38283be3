/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_artifact.h"
#include "otter_encode.h"

/* Reads up to cap bytes (fewer only at the end of the file); -1 on an error. */
static ssize_t read_full(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Each chunk of fd into the store as base64 text. */
static int put_chunks(otter_store *s, int fd, const char *path, const char *sha256,
                      int64_t n_chunks, otter_err *err)
{
    int ret = 0;
    unsigned char *buf = malloc(OTTER_BLOB_CHUNK);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    for (int64_t seq = 0; seq < n_chunks && ret == 0; seq++) {
        ssize_t n = read_full(fd, buf, OTTER_BLOB_CHUNK);
        if (n <= 0) {
            ret = otter_err_sys(err, OTTER_EIO, n < 0 ? errno : EIO, "reading %s", path);
            break;
        }
        char *b64 = otter_base64_encode_new(buf, (size_t)n);
        ret = b64 ? otter_store_blob_chunk_put(s, sha256, seq, b64, err)
                  : otter_err_set(err, OTTER_ENOMEM, "out of memory");
        free(b64);
    }
    free(buf);
    return ret;
}

int otter_blob_put(otter_store *s, const char *dir, const char *sha256, int64_t now, otter_err *err)
{
    struct stat st;
    char path[4200];
    int exists = 0, fd = -1;
    int ret = otter_artifact_path(dir, sha256, path, sizeof path, err);
    if (ret < 0)
        return ret;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "opening %s", path);
        goto out;
    }
    int64_t size = (int64_t)st.st_size;
    int64_t n_chunks = (size + OTTER_BLOB_CHUNK - 1) / OTTER_BLOB_CHUNK;
    ret = otter_store_blob_begin(s, sha256, size, n_chunks, now, &exists, err);
    if (ret == 0 && !exists)
        ret = put_chunks(s, fd, path, sha256, n_chunks, err);
out:
    if (fd >= 0)
        close(fd);
    return ret < 0 ? otter_err_prefix(err, "artifact %.12s into the database", sha256) : 0;
}

struct fill {
    otter_artifact_sink *sink;
    otter_err *err;
    int failed;
};

static int fill_chunk(void *ctx, const char *b64)
{
    struct fill *f = ctx;
    uint8_t *raw = NULL;
    size_t len = 0;
    int ret = otter_base64_decode_new(b64, OTTER_BLOB_CHUNK, &raw, &len, f->err);
    if (ret == 0 && otter_artifact_sink_write(f->sink, raw, len) < 0)
        ret = otter_err_set(f->err, OTTER_EIO, "writing %s", otter_artifact_sink_path(f->sink));
    free(raw);
    f->failed = ret < 0;
    return ret;
}

/* Writes every chunk into the sink and checks the result against sha256 and size. */
static int fill(otter_store *s, otter_artifact_sink *sink, const char *sha256, int64_t size,
                int64_t n_chunks, otter_err *err)
{
    otter_artifact_hashes h;
    struct fill f = {sink, err, 0};
    int found = 0, ret = 0;
    for (int64_t seq = 0; seq < n_chunks && ret == 0; seq++) {
        ret = otter_store_blob_chunk_get(s, sha256, seq, fill_chunk, &f, &found, err);
        if (ret == 0 && !found)
            ret = otter_err_set(err, OTTER_EDIGEST, "chunk %lld is missing", (long long)seq);
    }
    if (ret == 0)
        ret = otter_artifact_sink_finish(sink, &h, err);
    if (ret == 0 && (strcmp(h.sha256, sha256) != 0 || (int64_t)h.size != size))
        ret = otter_err_set(err, OTTER_EDIGEST,
                            "the stored bytes have SHA-256 %.12s and %lld bytes, not %.12s and "
                            "%lld: not used",
                            h.sha256, (long long)h.size, sha256, (long long)size);
    return ret;
}

int otter_blob_local(otter_store *s, const char *dir, const char *sha256, otter_err *err)
{
    char path[4200];
    otter_artifact_sink *sink = NULL;
    int64_t size = 0, n_chunks = 0;
    int found = 0;
    int ret = otter_artifact_path(dir, sha256, path, sizeof path, err);
    if (ret < 0 || access(path, F_OK) == 0)
        return ret;
    if ((ret = otter_store_blob_get(s, sha256, &size, &n_chunks, &found, err)) < 0)
        goto out;
    if (!found) {
        ret = otter_err_set(err, OTTER_ESTATE, "neither in %s nor in the database", dir);
        goto out;
    }
    if ((ret = otter_artifact_sink_new(dir, &sink, err)) == 0 &&
        (ret = fill(s, sink, sha256, size, n_chunks, err)) == 0)
        ret = otter_artifact_sink_commit(sink, err);
out:
    otter_artifact_sink_free(sink);
    return ret < 0 ? otter_err_prefix(err, "artifact %.12s", sha256) : 0;
}
