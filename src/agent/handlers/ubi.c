/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "ubi" handler: the image goes into a UBI volume on NAND through the
 * kernel's volume update (UBI_IOCVOLUP, <mtd/ubi-user.h>), the way
 * ubiupdatevol does it. The target is the volume's node, /dev/ubiX_Y, or its
 * name on a UBI device, ubiX:NAME (looked up in /sys/class/ubi/ubiX_*\/name,
 * as the kernel's root=ubi0:rootfs_a does), which does not change when
 * volumes are created in another order.
 *
 * Why the volume update and not plain writes: UBI_IOCVOLUP announces the
 * image size (the manifest's, exact), and the kernel sets the volume's update
 * marker on flash before it erases the volume. The marker is cleared only
 * when exactly that many bytes arrived. An update cut short (a refused chunk,
 * a crash, a power cut) leaves the marker set: the volume reads as damaged
 * (EBADF) until the next update, and the kernel marks it so at every attach.
 * A half image can never be mounted or booted: that is this handler's "head
 * written last". Nothing can be resumed either: the next try starts over.
 *
 * Size rule: an image larger than the volume grows it (UBI_IOCRSVOL on
 * /dev/ubiX) to the eraseblocks the image needs, when the UBI device has that
 * many free; otherwise the install is refused before the volume is touched.
 * A volume is never shrunk (the room stays for the next, larger release),
 * and only the target volume changes, never the running slot's.
 *
 * Memory: no buffer here; the kernel collects one eraseblock at a time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mtd/ubi-user.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_file.h"
#include "otter_handler_impl.h"

#define SYSFS "/sys/class/ubi"

struct ubi_vol {
    unsigned dev, id;         /* /dev/ubiX_Y: X and Y */
    uint64_t leb;             /* usable bytes of one of its eraseblocks */
    uint64_t lebs;            /* eraseblocks reserved for it */
    uint64_t free_lebs;       /* the UBI device's available eraseblocks */
    char node[PATH_MAX + 32]; /* its character device */
};

struct ubi_ctx {
    int fd;
    struct ubi_vol v;
};

/* Where /sys and /dev are: "" on a device; a test's directory in test builds. */
static const char *root(void)
{
#ifdef OTTER_TEST_HOOKS
    const char *r = getenv("OTTER_TEST_UBI_ROOT");
    if (r)
        return r;
#endif
    return "";
}

/* A decimal number of at most 9 digits at *s, which moves past it. */
static int number(const char **s, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;
    while (*p >= '0' && *p <= '9' && p - *s < 9)
        v = v * 10 + (unsigned)(*p++ - '0');
    if (p == *s || (*p >= '0' && *p <= '9'))
        return -1;
    *out = v;
    *s = p;
    return 0;
}

/* One value of a sysfs attribute ("123\n" or "rootfs_b\n"), newline cut. */
static int read_attr(const char *path, char *out, size_t size, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, 4096, &buf, &len, err);
    if (ret)
        return ret;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
        len--;
    if (len >= size)
        ret = otter_err_set(err, OTTER_EIO, "%s: value too long", path);
    else
        snprintf(out, size, "%.*s", (int)len, buf);
    free(buf);
    return ret;
}

static int read_u64(const char *path, uint64_t *out, otter_err *err)
{
    char val[32], *end;
    int ret = read_attr(path, val, sizeof val, err);
    if (ret)
        return ret;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || end == val || *end || val[0] == '-')
        return otter_err_set(err, OTTER_EIO, "%s: not a number: '%s'", path, val);
    *out = v;
    return 0;
}

/* The volume of ubiX named name: its id Y, from the name attribute of each ubiX_Y. */
static int find_by_name(unsigned dev, const char *name, unsigned *id, otter_err *err)
{
    char dir[PATH_MAX], prefix[32];
    snprintf(dir, sizeof dir, "%s%s", root(), SYSFS);
    snprintf(prefix, sizeof prefix, "ubi%u_", dev);
    DIR *d = opendir(dir);
    if (!d)
        return otter_err_sys(err, OTTER_EUSAGE, errno, "ubi%u:%s: cannot list %s (UBI not loaded?)",
                             dev, name, dir);
    int ret = otter_err_set(err, OTTER_EUSAGE, "ubi%u:%s: no volume of that name on ubi%u", dev,
                            name, dev);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name + strlen(prefix);
        unsigned y;
        char path[PATH_MAX + 300], have[UBI_MAX_VOLUME_NAME + 2];
        otter_err ignored;
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || number(&p, &y) || *p)
            continue;
        snprintf(path, sizeof path, "%s/%s/name", dir, e->d_name);
        if (read_attr(path, have, sizeof have, &ignored) == 0 && strcmp(have, name) == 0) {
            *id = y;
            ret = 0;
            otter_err_clear(err);
            break;
        }
    }
    closedir(d);
    return ret;
}

int otter_handler_is_ubi_name(const char *s)
{
    size_t n = strncmp(s, "ubi", 3) == 0 ? strspn(s + 3, "0123456789") : 0;
    return n > 0 && s[3 + n] == ':' && s[4 + n] != '\0';
}

/* target: /dev/ubiX_Y or ubiX:NAME; fills v->dev, v->id and v->node. */
static int resolve(const char *target, struct ubi_vol *v, otter_err *err)
{
    const char *p = target;
    int ret = 0;
    if (strncmp(p, "/dev/ubi", 8) == 0) {
        p += 8;
        if (number(&p, &v->dev) || *p++ != '_' || number(&p, &v->id) || *p)
            ret = -1;
    } else if (strncmp(p, "ubi", 3) == 0) {
        p += 3;
        size_t n = 0;
        if (number(&p, &v->dev) || *p++ != ':' || (n = strlen(p)) == 0 || n > UBI_MAX_VOLUME_NAME ||
            strchr(p, '/'))
            ret = -1;
        else if ((ret = find_by_name(v->dev, p, &v->id, err)) != 0)
            return ret;
    } else
        ret = -1;
    if (ret)
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s: not a UBI volume (want /dev/ubiX_Y or ubiX:NAME)", target);
    snprintf(v->node, sizeof v->node, "%s/dev/ubi%u_%u", root(), v->dev, v->id);
    return 0;
}

/* The volume's eraseblocks and the device's free ones, from sysfs. */
static int geometry(struct ubi_vol *v, otter_err *err)
{
    char path[PATH_MAX + 64];
    const char *r = root();
    snprintf(path, sizeof path, "%s%s/ubi%u_%u/usable_eb_size", r, SYSFS, v->dev, v->id);
    int ret = read_u64(path, &v->leb, err);
    if (!ret) {
        snprintf(path, sizeof path, "%s%s/ubi%u_%u/reserved_ebs", r, SYSFS, v->dev, v->id);
        ret = read_u64(path, &v->lebs, err);
    }
    if (!ret) {
        snprintf(path, sizeof path, "%s%s/ubi%u/avail_eraseblocks", r, SYSFS, v->dev);
        ret = read_u64(path, &v->free_lebs, err);
    }
    if (!ret && v->leb == 0)
        ret = otter_err_set(err, OTTER_EIO, "ubi%u_%u: eraseblocks of 0 bytes", v->dev, v->id);
    return ret;
}

/*
 * The size rule: *grow_to is 0 when the image fits the volume, else the
 * eraseblocks the volume must have; refused (OTTER_EUSAGE) when the device
 * lacks free ones.
 */
static int plan(const struct ubi_vol *v, uint64_t size, uint64_t *grow_to, otter_err *err)
{
    uint64_t need = size / v->leb + (size % v->leb != 0);
    *grow_to = 0;
    if (need <= v->lebs)
        return 0;
    if (need - v->lebs > v->free_lebs)
        return otter_err_set(err, OTTER_EUSAGE,
                             "ubi%u_%u: image of %" PRIu64 " bytes needs %" PRIu64
                             " eraseblocks of %" PRIu64 " bytes; the volume has %" PRIu64
                             " and ubi%u only %" PRIu64 " free",
                             v->dev, v->id, size, need, v->leb, v->lebs, v->dev, v->free_lebs);
    *grow_to = need;
    return 0;
}

/* Grows the volume to lebs eraseblocks, through the UBI device (/dev/ubiX). */
static int grow(const struct ubi_vol *v, uint64_t lebs, otter_err *err)
{
    char node[PATH_MAX + 32];
    snprintf(node, sizeof node, "%s/dev/ubi%u", root(), v->dev);
    int fd = open(node, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", node);
    struct ubi_rsvol_req req = {.bytes = (int64_t)(lebs * v->leb), .vol_id = (int32_t)v->id};
    int ret = 0;
    if (ioctl(fd, UBI_IOCRSVOL, &req) < 0)
        ret =
            otter_err_sys(err, OTTER_EIO, errno,
                          "%s: cannot grow volume %u from %" PRIu64 " to %" PRIu64 " eraseblocks%s",
                          node, v->id, v->lebs, lebs, errno == EBUSY ? " (it is in use)" : "");
    close(fd);
    return ret;
}

/* Starts the volume update of size bytes on the open volume: from here it reads as damaged. */
static int start_update(struct ubi_ctx *c, uint64_t size, otter_err *err)
{
    struct stat st;
    if (fstat(c->fd, &st) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot stat", c->v.node);
    if (!S_ISCHR(st.st_mode))
        return otter_err_set(err, OTTER_EUSAGE, "%s: not a UBI volume (no character device)",
                             c->v.node);
    int64_t bytes = (int64_t)size;
    if (ioctl(c->fd, UBI_IOCVOLUP, &bytes) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot start the volume update%s",
                             c->v.node, errno == EBUSY ? " (it is in use: mounted?)" : "");
    return 0;
}

static int ubi_open(void **out, const char *target, uint64_t declared_size, otter_err *err)
{
    if (declared_size > INT64_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "%s: image too large", target);
    struct ubi_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->fd = -1;
    uint64_t grow_to = 0;
    int ret = resolve(target, &c->v, err);
    if (!ret)
        ret = geometry(&c->v, err);
    if (!ret)
        ret = plan(&c->v, declared_size, &grow_to, err);
    /* Before the volume is opened: the resize wants nobody else holding it. */
    if (!ret && grow_to)
        ret = grow(&c->v, grow_to, err);
    if (!ret) {
        c->fd = open(c->v.node, O_WRONLY | O_CLOEXEC);
        if (c->fd < 0)
            ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", c->v.node);
    }
    if (!ret)
        ret = start_update(c, declared_size, err);
    if (ret) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return ret;
    }
    *out = c;
    return 0;
}

static int ubi_write(void *ctx, const void *buf, size_t len, otter_err *err)
{
    struct ubi_ctx *c = ctx;
    return otter_file_write_full(c->fd, buf, len, c->v.node, err);
}

/* After the last byte: the kernel has cleared the update marker (and checked a static
 * volume's CRC); the sysfs attributes say so, which is checked rather than assumed. */
static int check_done(const struct ubi_vol *v, otter_err *err)
{
    static const char *const attrs[] = {"upd_marker", "corrupted"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX + 64];
        uint64_t val = 0;
        snprintf(path, sizeof path, "%s%s/ubi%u_%u/%s", root(), SYSFS, v->dev, v->id, attrs[i]);
        int ret = read_u64(path, &val, err);
        if (ret)
            return ret;
        if (val)
            return otter_err_set(err, OTTER_EIO, "ubi%u_%u: %s is set after the update", v->dev,
                                 v->id, attrs[i]);
    }
    return 0;
}

static int ubi_finish(void *ctx, otter_err *err)
{
    struct ubi_ctx *c = ctx;
    if (fsync(c->fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: fsync failed", c->v.node);
    int fd = c->fd;
    c->fd = -1;
    if (close(fd) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: close failed", c->v.node);
    int ret = check_done(&c->v, err);
    if (ret)
        return ret;
    free(c);
    return 0;
}

/* Closing mid-update is the invalidation: the kernel keeps the update marker set. */
static void ubi_abort(void *ctx)
{
    struct ubi_ctx *c = ctx;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* No resume (a volume update always starts over) and no partial file. */
const struct otter_handler_ops otter_handler_ubi = {"ubi",     ubi_open, ubi_write, ubi_finish,
                                                    ubi_abort, NULL,     NULL};
