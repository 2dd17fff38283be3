/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "raw" handler: the image goes byte for byte to a block device or a
 * regular file (a file-backed slot), which must already exist. The first HEAD bytes are kept in
 * memory and written last, after everything else is on disk: until then
 * the slot starts with zeros (a regular file is truncated, a device gets
 * its head zeroed at open), so a power cut mid-write never leaves a slot
 * whose header looks valid over a half-written body.
 *
 * Options ([slot.NAME] direct, discard): with O_DIRECT the body goes from
 * an aligned buffer straight to the device (no page cache at all); the
 * head and the unaligned tail go through a second, buffered descriptor.
 * discard tells the device after the final fsync that everything behind the
 * image is free (BLKDISCARD): flash wears less and an FTL writes faster
 * next time. Where the device cannot discard, the log says so and the
 * install goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_handler_impl.h"

#define HEAD 4096
/* Writeback in steps: each step is handed to the disk as soon as it is
 * written, and the step before it is waited for and dropped from the page
 * cache. The disk works while we decompress, the final fsync finds little
 * left to do, and dirty memory stays at two steps whatever the image size. */
#define WRITEBACK_STEP (8u << 20)
/* O_DIRECT: a multiple of any logical block size (512, 4096) and of HEAD. */
#define DIRECT_ALIGN 4096u
#define DIRECT_BUF (1u << 20)

struct raw_ctx {
    int fd;
    int dfd; /* O_DIRECT descriptor for the body, -1 without direct */
    int is_block;
    int discard;
    uint64_t dev_size;
    unsigned char *dbuf; /* aligned staging for dfd: DIRECT_BUF bytes from dbuf_off */
    size_t dbuf_len;
    uint64_t dbuf_off;
    uint64_t off;
    uint64_t kicked; /* bytes handed to writeback so far */
    size_t head_len;
    unsigned char head[HEAD];
    char path[256]; /* for messages */
};

static int pwrite_fd(struct raw_ctx *c, int fd, const void *buf, size_t len, uint64_t off,
                     otter_err *err)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return otter_err_sys(err, OTTER_EIO, errno, "%s: write at %" PRIu64 " failed", c->path,
                                 off);
        }
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static int pwrite_full(struct raw_ctx *c, const void *buf, size_t len, uint64_t off, otter_err *err)
{
    return pwrite_fd(c, c->fd, buf, len, off, err);
}

static int zero_head(struct raw_ctx *c, otter_err *err)
{
    static const unsigned char zeros[HEAD];
    int ret = pwrite_full(c, zeros, HEAD, 0, err);
    if (ret == 0 && fsync(c->fd) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", c->path);
    return ret;
}

static int check_target(struct raw_ctx *c, uint64_t size, otter_err *err)
{
    struct stat st;
    if (fstat(c->fd, &st) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot stat", c->path);
    if (S_ISREG(st.st_mode)) {
        if (ftruncate(c->fd, 0) < 0 || fsync(c->fd) < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot truncate", c->path);
        return 0;
    }
    if (!S_ISBLK(st.st_mode))
        return otter_err_set(err, OTTER_EUSAGE, "%s: not a block device or regular file", c->path);
    uint64_t dev_size = 0;
    if (ioctl(c->fd, BLKGETSIZE64, &dev_size) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot get the device size", c->path);
    if (size > dev_size)
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s: image of %" PRIu64 " bytes does not fit the %" PRIu64
                             "-byte device",
                             c->path, size, dev_size);
    c->is_block = 1;
    c->dev_size = dev_size;
    return dev_size >= HEAD ? zero_head(c, err) : 0;
}

static void raw_free(struct raw_ctx *c)
{
    if (c->dfd >= 0)
        close(c->dfd);
    free(c->dbuf);
    free(c);
}

/* The O_DIRECT descriptor and its aligned buffer. */
static int open_direct(struct raw_ctx *c, otter_err *err)
{
    c->dfd = open(c->path, O_WRONLY | O_CLOEXEC | O_DIRECT);
    if (c->dfd < 0)
        return otter_err_sys(
            err, OTTER_EUSAGE, errno,
            "%s: cannot open with O_DIRECT (not on this file system or device: set direct = no)",
            c->path);
    void *buf = NULL;
    int e = posix_memalign(&buf, DIRECT_ALIGN, DIRECT_BUF);
    if (e)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->dbuf = buf;
    return 0;
}

int otter_handler_raw_open_opts(void **out, const char *target, uint64_t declared_size,
                                const otter_handler_opts *o, otter_err *err)
{
    struct raw_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->dfd = -1;
    c->discard = o->discard;
    snprintf(c->path, sizeof c->path, "%s", target);
    /* Never created: a missing /dev/mmcblk0p3 must not become a file in /dev. */
    c->fd = open(target, O_WRONLY | O_CLOEXEC);
    if (c->fd < 0) {
        int e = errno;
        free(c);
        return otter_err_sys(err, OTTER_EIO, e, "%s: cannot open", target);
    }
    int ret = check_target(c, declared_size, err);
    if (!ret && o->direct)
        ret = open_direct(c, err);
    if (ret) {
        close(c->fd);
        raw_free(c);
        return ret;
    }
    *out = c;
    return 0;
}

static int raw_open(void **out, const char *target, uint64_t declared_size, otter_err *err)
{
    static const otter_handler_opts none;
    return otter_handler_raw_open_opts(out, target, declared_size, &none, err);
}

/*
 * An unfinished slot, continued: its bytes up to offset are already there
 * (the caller re-hashed them) and its head comes from the caller, since it
 * was held back. Nothing is truncated or zeroed.
 */
static int raw_resume(void **out, const char *target, uint64_t declared_size, uint64_t offset,
                      const uint8_t *head, size_t head_len, const char *partial, otter_err *err)
{
    (void)partial; /* the slot itself */
    size_t want = declared_size < HEAD ? (size_t)declared_size : HEAD;
    if (head_len != want || offset < head_len)
        return otter_err_set(err, OTTER_EUSAGE, "%s: resume needs the first %zu bytes", target,
                             want);
    struct raw_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->dfd = -1; /* a resumed write goes through the page cache */
    snprintf(c->path, sizeof c->path, "%s", target);
    c->fd = open(target, O_WRONLY | O_CLOEXEC);
    struct stat st;
    int ret = 0;
    if (c->fd < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", target);
    else if (fstat(c->fd, &st) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot stat", target);
    else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: not a block device or regular file", target);
    if (ret) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return ret;
    }
    c->is_block = S_ISBLK(st.st_mode);
    memcpy(c->head, head, head_len);
    c->head_len = HEAD; /* complete: later bytes go to the slot */
    c->off = c->kicked = offset;
    *out = c;
    return 0;
}

/* Best effort: errors here show up again, for certain, at the final fsync. */
static void stream_writeback(struct raw_ctx *c)
{
    uint64_t from = c->kicked, len = c->off - c->kicked;
    sync_file_range(c->fd, (off64_t)from, (off64_t)len, SYNC_FILE_RANGE_WRITE);
    if (from >= WRITEBACK_STEP) {
        uint64_t older = from - WRITEBACK_STEP;
        sync_file_range(c->fd, (off64_t)older, WRITEBACK_STEP,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER);
        posix_fadvise(c->fd, (off_t)older, WRITEBACK_STEP, POSIX_FADV_DONTNEED);
    }
    c->kicked = c->off;
}

/* Body bytes through the aligned buffer: whole buffers go out with O_DIRECT. */
static int direct_write(struct raw_ctx *c, const unsigned char *p, size_t len, otter_err *err)
{
    while (len > 0) {
        if (c->dbuf_len == 0)
            c->dbuf_off = c->off; /* HEAD, then whole buffers: always aligned */
        size_t n = DIRECT_BUF - c->dbuf_len < len ? DIRECT_BUF - c->dbuf_len : len;
        memcpy(c->dbuf + c->dbuf_len, p, n);
        c->dbuf_len += n;
        c->off += n;
        p += n;
        len -= n;
        if (c->dbuf_len == DIRECT_BUF) {
            int ret = pwrite_fd(c, c->dfd, c->dbuf, DIRECT_BUF, c->dbuf_off, err);
            if (ret)
                return ret;
            c->dbuf_len = 0;
        }
    }
    return 0;
}

/* The buffer's aligned part with O_DIRECT, its tail (under one block) buffered. */
static int direct_flush(struct raw_ctx *c, otter_err *err)
{
    size_t aligned = c->dbuf_len & ~(size_t)(DIRECT_ALIGN - 1);
    int ret = pwrite_fd(c, c->dfd, c->dbuf, aligned, c->dbuf_off, err);
    if (!ret)
        ret = pwrite_full(c, c->dbuf + aligned, c->dbuf_len - aligned, c->dbuf_off + aligned, err);
    c->dbuf_len = 0;
    return ret;
}

/* Best effort: the device after the image is free. Said in the log either way. */
static void discard_rest(struct raw_ctx *c)
{
    uint64_t from = (c->off + DIRECT_ALIGN - 1) & ~(uint64_t)(DIRECT_ALIGN - 1);
    uint64_t to = c->dev_size & ~(uint64_t)(DIRECT_ALIGN - 1);
    if (!c->is_block || to <= from)
        return;
    uint64_t range[2] = {from, to - from};
    if (ioctl(c->fd, BLKDISCARD, range) == 0)
        fprintf(stderr, "otter-agent: %s: discarded %" PRIu64 " bytes after the image\n", c->path,
                to - from);
    else
        fprintf(stderr,
                "otter-agent: %s: no discard after the image (%s): the rest of the device is "
                "left as it was\n",
                c->path, strerror(errno));
}

static int raw_write(void *ctx, const void *buf, size_t len, otter_err *err)
{
    struct raw_ctx *c = ctx;
    const unsigned char *p = buf;
    if (c->head_len < HEAD) {
        size_t n = HEAD - c->head_len < len ? HEAD - c->head_len : len;
        memcpy(c->head + c->head_len, p, n);
        c->head_len += n;
        c->off += n;
        p += n;
        len -= n;
    }
    if (len == 0)
        return 0;
    if (c->dfd >= 0)
        return direct_write(c, p, len, err);
    int ret = pwrite_full(c, p, len, c->off, err);
    c->off += len;
    if (ret == 0 && c->off - c->kicked >= WRITEBACK_STEP)
        stream_writeback(c);
    return ret;
}

static int raw_finish(void *ctx, otter_err *err)
{
    struct raw_ctx *c = ctx;
    int ret = c->dfd >= 0 ? direct_flush(c, err) : 0;
    if (ret)
        return ret;
    /* Body durable first, then the head: the order is the point. */
    if (fsync(c->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", c->path);
    size_t head = c->off < c->head_len ? (size_t)c->off : c->head_len;
    ret = pwrite_full(c, c->head, head, 0, err);
    if (ret)
        return ret;
    if (fsync(c->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", c->path);
    if (c->discard)
        discard_rest(c);
    if (close(c->fd) < 0) {
        c->fd = -1;
        return otter_err_sys(err, OTTER_EIO, errno, "%s: close failed", c->path);
    }
    raw_free(c);
    return 0;
}

static void raw_abort(void *ctx)
{
    struct raw_ctx *c = ctx;
    if (c->fd >= 0) {
        if (c->is_block) {
            otter_err ignored;
            zero_head(c, &ignored);
        } else if (ftruncate(c->fd, 0) == 0) {
            fsync(c->fd);
        }
        close(c->fd);
    }
    raw_free(c);
}

static const char *raw_partial(const void *ctx)
{
    return ((const struct raw_ctx *)ctx)->path;
}

const struct otter_handler_ops otter_handler_raw = {"raw",     raw_open,   raw_write,  raw_finish,
                                                    raw_abort, raw_resume, raw_partial};
