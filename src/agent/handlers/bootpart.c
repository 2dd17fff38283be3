/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "bootpart" handler: a bootloader image for an eMMC's boot partitions
 * (docs/porting.md, "eMMC boot partitions"). The boot ROM loads the
 * bootloader from whichever of mmcblkXboot0/boot1 the eMMC's EXT_CSD
 * PARTITION_CONFIG enables, with no fallback of its own, so the handler
 * keeps its own two-copy rule whatever the A/B side of the install:
 *   1. read PARTITION_CONFIG (`mmc extcsd read`): the enabled partition is
 *      never written; the other one is (a or b of the slot class, either);
 *   2. clear its force_ro (/sys/block/mmcblkXbootY/force_ro), write the
 *      image, fsync, read it back and compare digests, set force_ro again;
 *   3. only then enable it (`mmc bootpart enable Y+1 ACK /dev/mmcblkX`).
 * A power cut before 3 leaves the old bootloader enabled and whole; the
 * switch itself is one EXT_CSD byte. The bootloader must boot both slot
 * sets (it is what chooses between them): it is switched when its image
 * is finished, before the rest of the install is.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_blkdev.h"
#include "otter_digest.h"
#include "otter_exec.h"
#include "otter_handler_impl.h"

#define TOOL_TIMEOUT 60 /* seconds for one mmc call */

struct bootpart_ctx {
    int fd;
    int part;   /* the boot partition written: 0 or 1 */
    int ack;    /* PARTITION_CONFIG's BOOT_ACK bit, kept */
    int was_ro; /* force_ro before we cleared it */
    uint64_t off;
    otter_sha256 *sha;
    char dev[256];      /* /dev/mmcblk0 */
    char path[264];     /* /dev/mmcblk0boot1 */
    char force_ro[512]; /* /sys/block/mmcblk0boot1/force_ro */
    char mmc[256];
};

/* The mmc tool's report, searched for its PARTITION_CONFIG byte. */
struct extcsd {
    int found;
    unsigned value;
};

static void on_extcsd_line(void *user, const char *line)
{
    struct extcsd *e = user;
    const char *p = strstr(line, "PARTITION_CONFIG: 0x");
    char *end;
    if (!p || e->found)
        return;
    unsigned long v = strtoul(p + 20, &end, 16);
    if (end != p + 20 && v <= 0xff) {
        e->found = 1;
        e->value = (unsigned)v;
    }
}

/* Runs the mmc tool with args; fn (may be NULL: the log) gets its output lines. */
static int run_mmc(const struct bootpart_ctx *c, char *const argv[], otter_exec_line_fn fn,
                   void *user, otter_err *err)
{
    static char path_env[] = "PATH=" OTTER_EXEC_PATH;
    char *envp[] = {path_env, NULL};
    otter_exec *x = NULL;
    int ret = otter_exec_start(argv, envp, 0, TOOL_TIMEOUT, &x, err);
    if (ret)
        return ret;
    otter_exec_set_prefix(x, "mmc");
    if (fn)
        otter_exec_set_line_fn(x, fn, user);
    int status = 0;
    char output[OTTER_EXEC_OUTPUT_MAX + 1];
    ret = otter_exec_wait(x, &status, output, err);
    if (!ret && status != 0)
        ret = otter_err_set(err, OTTER_EIO, "%s %s %s: exited with %d: %s", c->mmc, argv[1],
                            argv[2], status, output[0] ? output : "(no output)");
    return ret;
}

/* Which boot partition the eMMC boots from: sets c->part to the other one. */
static int pick_partition(struct bootpart_ctx *c, otter_err *err)
{
    struct extcsd e = {0};
    char *argv[] = {c->mmc, "extcsd", "read", c->dev, NULL};
    int ret = run_mmc(c, argv, on_extcsd_line, &e, err);
    if (ret)
        return ret;
    if (!e.found)
        return otter_err_set(err, OTTER_EIO, "%s extcsd read %s: no PARTITION_CONFIG in its report",
                             c->mmc, c->dev);
    unsigned enabled = (e.value >> 3) & 7;
    if (enabled != 1 && enabled != 2)
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s boots from neither boot partition (PARTITION_CONFIG 0x%02x): "
                             "the bootpart handler only switches between boot0 and boot1",
                             c->dev, e.value);
    c->part = enabled == 1 ? 1 : 0;
    c->ack = (e.value >> 6) & 1;
    return 0;
}

static int write_knob(const char *path, const char *value, otter_err *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", path);
    ssize_t w = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    if (w != (ssize_t)strlen(value))
        return otter_err_sys(err, OTTER_EIO, w < 0 ? e : EIO, "%s: cannot write %s", path, value);
    return 0;
}

/* /dev/mmcblk0boot1 -> dev /dev/mmcblk0; the partition paths and force_ro follow from it. */
static int split_target(struct bootpart_ctx *c, const char *target, otter_err *err)
{
    size_t n = strlen(target);
    if (n < 6 || n >= sizeof c->dev || strncmp(target + n - 5, "boot", 4) != 0 ||
        (target[n - 1] != '0' && target[n - 1] != '1'))
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s: a bootpart slot is an eMMC boot partition (/dev/mmcblkXboot0 "
                             "or boot1)",
                             target);
    snprintf(c->dev, sizeof c->dev, "%.*s", (int)(n - 5), target);
    return 0;
}

static int open_partition(struct bootpart_ctx *c, uint64_t size, otter_err *err)
{
    const char *base = strrchr(c->dev, '/');
    snprintf(c->path, sizeof c->path, "%sboot%d", c->dev, c->part);
    snprintf(c->force_ro, sizeof c->force_ro, "%s/block/%sboot%d/force_ro", otter_blkdev_sysfs(),
             base ? base + 1 : c->dev, c->part);
    char ro[8] = "";
    FILE *f = fopen(c->force_ro, "re");
    if (!f || !fgets(ro, sizeof ro, f)) {
        int e = errno;
        if (f)
            fclose(f);
        return otter_err_sys(err, OTTER_EIO, e, "%s: cannot read", c->force_ro);
    }
    fclose(f);
    c->was_ro = ro[0] == '1';
    int ret = write_knob(c->force_ro, "0", err);
    if (ret)
        return ret;
    c->fd = open(c->path, O_RDWR | O_CLOEXEC);
    struct stat st;
    uint64_t cap = 0;
    if (c->fd < 0 || fstat(c->fd, &st) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", c->path);
    if (S_ISBLK(st.st_mode) && ioctl(c->fd, BLKGETSIZE64, &cap) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot get its size", c->path);
    if (S_ISREG(st.st_mode))
        cap = (uint64_t)st.st_size;
    else if (!S_ISBLK(st.st_mode))
        return otter_err_set(err, OTTER_EUSAGE, "%s: not a block device", c->path);
    if (size > cap)
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s: image of %" PRIu64 " bytes does not fit the %" PRIu64
                             "-byte boot partition",
                             c->path, size, cap);
    return 0;
}

/* force_ro back as it was, the descriptor closed; frees c. */
static void release(struct bootpart_ctx *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->force_ro[0] && c->was_ro) {
        otter_err ignored;
        write_knob(c->force_ro, "1", &ignored);
    }
    otter_sha256_free(c->sha);
    free(c);
}

int otter_handler_bootpart_open_opts(void **out, const char *target, uint64_t declared_size,
                                     const otter_handler_opts *o, otter_err *err)
{
    struct bootpart_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->fd = -1;
    snprintf(c->mmc, sizeof c->mmc, "%s", o->mmc ? o->mmc : "/usr/bin/mmc");
    c->sha = otter_sha256_new();
    int ret =
        c->sha ? split_target(c, target, err) : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret)
        ret = pick_partition(c, err);
    if (!ret)
        ret = open_partition(c, declared_size, err);
    if (ret) {
        release(c);
        return ret;
    }
    *out = c;
    return 0;
}

static int bootpart_open(void **out, const char *target, uint64_t declared_size, otter_err *err)
{
    static const otter_handler_opts none;
    return otter_handler_bootpart_open_opts(out, target, declared_size, &none, err);
}

static int bootpart_write(void *ctx, const void *buf, size_t len, otter_err *err)
{
    struct bootpart_ctx *c = ctx;
    const unsigned char *p = buf;
    otter_sha256_update(c->sha, buf, len);
    while (len > 0) {
        ssize_t w = pwrite(c->fd, p, len, (off_t)c->off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "%s: write at %" PRIu64 " failed", c->path,
                                 c->off);
        p += w;
        len -= (size_t)w;
        c->off += (uint64_t)w;
    }
    return 0;
}

/* What the partition holds now, from the medium (the cache dropped first), against what we wrote.
 */
static int read_back(struct bootpart_ctx *c, otter_err *err)
{
    uint8_t want[OTTER_SHA256_LEN], got[OTTER_SHA256_LEN];
    otter_sha256_final(c->sha, want);
    otter_sha256_reset(c->sha);
    posix_fadvise(c->fd, 0, 0, POSIX_FADV_DONTNEED);
    enum { BUF = 65536 };
    unsigned char *buf = malloc(BUF);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    for (uint64_t off = 0; off < c->off;) {
        size_t n = c->off - off < BUF ? (size_t)(c->off - off) : BUF;
        ssize_t r = pread(c->fd, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return otter_err_sys(err, OTTER_EIO, r < 0 ? errno : EIO, "%s: read back at %" PRIu64,
                                 c->path, off);
        }
        otter_sha256_update(c->sha, buf, (size_t)r);
        off += (uint64_t)r;
    }
    free(buf);
    otter_sha256_final(c->sha, got);
    if (memcmp(want, got, sizeof want) != 0)
        return otter_err_set(err, OTTER_EIO,
                             "%s: read back differs from what was written: not enabled", c->path);
    return 0;
}

static int bootpart_finish(void *ctx, otter_err *err)
{
    struct bootpart_ctx *c = ctx;
    if (fsync(c->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", c->path);
    int ret = read_back(c, err);
    if (ret)
        return ret;
    if (c->was_ro && (ret = write_knob(c->force_ro, "1", err)) != 0)
        return ret;
    c->was_ro = 0; /* set again: abort need not */
    char part[2] = {(char)('1' + c->part), '\0'}, ack[2] = {(char)('0' + c->ack), '\0'};
    char *argv[] = {c->mmc, "bootpart", "enable", part, ack, c->dev, NULL};
    ret = run_mmc(c, argv, NULL, NULL, err);
    if (ret)
        return ret;
    fprintf(stderr, "otter-agent: %s: boot partition boot%d written and enabled (was boot%d)\n",
            c->dev, c->part, 1 - c->part);
    release(c);
    return 0;
}

/* The partition written is not the enabled one: whatever it holds now boots nothing. */
static void bootpart_abort(void *ctx)
{
    release(ctx);
}

const struct otter_handler_ops otter_handler_bootpart = {
    "bootpart", bootpart_open, bootpart_write, bootpart_finish, bootpart_abort, NULL, NULL};
