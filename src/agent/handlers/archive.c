/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "archive" handler: the image is a tar stream unpacked into a
 * directory slot. libarchive reads with a pull model and we are fed by
 * push, so the extraction runs in a thread that reads from one end of a
 * socket pair while write() sends into the other: the kernel's socket
 * buffer is the only queue, memory stays constant, and a slow disk simply
 * blocks the sender. A socket pair rather than a pipe because send() with
 * MSG_NOSIGNAL turns "the extractor gave up" into EPIPE instead of SIGPIPE.
 *
 * Hostile tars: every entry is checked by us (no absolute path, no ".."
 * component, relative symlink targets that stay inside the slot (absolute
 * ones are paths of the booted system, never followed), hardlink targets
 * inside the slot and not symlinks, only files, directories and links) before libarchive
 * sees it, and libarchive extracts with ARCHIVE_EXTRACT_SECURE_SYMLINKS
 * and ARCHIVE_EXTRACT_SECURE_NODOTDOT on top. Entries are rewritten to
 * absolute paths under the slot's real path (a thread cannot chdir on its
 * own), which is why ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS cannot be set:
 * our own check refuses absolute names before the rewrite.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_handler_impl.h"
#include "otter_fmt.h"

#define READ_BLOCK 65536

struct archive_ctx {
    int tx; /* our end: write() sends here */
    int rx; /* the extractor's end; owned by the thread once started */
    pthread_t thread;
    int running; /* thread started and not joined */
    int ret;     /* the thread's result, valid after join */
    otter_err err;
    char dir[PATH_MAX];
};

/* Removes everything inside the slot directory, never following links. */
static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (ftw->level == 0)
        return 0;
    return remove(path) == 0 ? 0 : -1;
}

static int clear_dir(const char *dir, otter_err *err)
{
    if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot clear the slot directory", dir);
    return 0;
}

/* Walks "a/b/../c" components; returns the depth reached, or -1 if it ever goes above 0. */
static int walk(const char *path, int depth, int skip_last)
{
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, "/");
        int last = p[n] == '\0';
        if (!(skip_last && last) && n > 0 && !(n == 1 && p[0] == '.')) {
            if (n == 2 && p[0] == '.' && p[1] == '.') {
                if (--depth < 0)
                    return -1;
            } else {
                depth++;
            }
        }
        p += n + (p[n] == '/');
    }
    return depth;
}

static int has_dotdot(const char *path)
{
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n + (p[n] == '/');
    }
    return 0;
}

static int check_name(const char *what, const char *name, otter_err *err)
{
    if (!name || !*name)
        return otter_err_set(err, OTTER_EFORMAT, "tar entry with an empty %s", what);
    if (name[0] == '/')
        return otter_err_set(err, OTTER_EFORMAT, "tar entry '%.200s': absolute %s refused", name,
                             what);
    if (has_dotdot(name))
        return otter_err_set(err, OTTER_EFORMAT, "tar entry '%.200s': '..' in %s refused", name,
                             what);
    if (strlen(name) > PATH_MAX / 2)
        return otter_err_set(err, OTTER_EFORMAT, "tar entry: %s too long", what);
    return 0;
}

/* Our own checks, then the rewrite under the slot directory. */
static int vet_entry(struct archive_ctx *c, struct archive_entry *e, otter_err *err)
{
    const char *name = archive_entry_pathname(e);
    int ret = check_name("path", name, err);
    if (ret)
        return ret;
    const char *hard = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (hard) {
        if ((ret = check_name("hardlink target", hard, err)))
            return otter_err_prefix(err, "tar entry '%.200s'", name);
    } else if (type == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        if (!target || !*target)
            return otter_err_set(err, OTTER_EFORMAT, "tar entry '%.200s': empty symlink", name);
        /* An absolute target means a path in the booted system (/etc/localtime
         * -> /usr/share/zoneinfo/UTC in any rootfs) and is never followed
         * here: SECURE_SYMLINKS refuses to extract through a link. A relative
         * target that climbs out of the slot has no such use: refused. */
        if (target[0] != '/' && walk(target, walk(name, 0, 1), 0) < 0)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "tar entry '%.200s': symlink to '%.200s' leaves the slot", name,
                                 target);
    } else if (type != AE_IFREG && type != AE_IFDIR) {
        return otter_err_set(err, OTTER_EFORMAT,
                             "tar entry '%.200s': only files, directories and links are allowed",
                             name);
    }
    char full[PATH_MAX];
    if (hard) {
        /*
         * link() does not follow symlinks: a hardlink to an in-slot symlink
         * would re-anchor its relative target at another depth, out of the
         * slot. Only links to what is not a symlink are allowed.
         */
        struct stat st;
        if (otter_fmt(full, sizeof full, err, "hardlink target in the slot", "%s/%s", c->dir,
                      hard) < 0)
            return otter_err_prefix(err, "tar entry '%.200s'", name);
        if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "tar entry '%.200s': hardlink to symlink '%.200s' refused", name,
                                 hard);
        archive_entry_copy_hardlink(e, full);
    }
    if (otter_fmt(full, sizeof full, err, "path in the slot", "%s/%s", c->dir, name) < 0)
        return otter_err_prefix(err, "tar entry '%.200s'", name);
    archive_entry_copy_pathname(e, full);
    return 0;
}

static int copy_data(struct archive *in, struct archive *out, const char *name, otter_err *err)
{
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(in, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return otter_err_set(err, OTTER_EFORMAT, "tar entry '%.200s': %s", name,
                                 archive_error_string(in));
        if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
            return otter_err_set(err, OTTER_EIO, "tar entry '%.200s': %s", name,
                                 archive_error_string(out));
    }
}

static int extract(struct archive_ctx *c, otter_err *err)
{
    int ret = OTTER_ENOMEM;
    struct archive *in = archive_read_new();
    struct archive *out = archive_write_disk_new();
    if (!in || !out) {
        otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    int flags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM;
    if (geteuid() == 0)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(out, flags);
    archive_read_support_format_tar(in);
    if (archive_read_open_fd(in, c->rx, READ_BLOCK) != ARCHIVE_OK) {
        ret = otter_err_set(err, OTTER_EFORMAT, "not a tar stream: %s", archive_error_string(in));
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            ret = otter_err_set(err, OTTER_EFORMAT, "bad tar stream: %s", archive_error_string(in));
            goto out;
        }
        char name[256];
        snprintf(name, sizeof name, "%s",
                 archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
        if ((ret = vet_entry(c, e, err)))
            goto out;
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            ret = otter_err_set(err, OTTER_EFORMAT, "tar entry '%s': %s", name,
                                archive_error_string(out));
            goto out;
        }
        if (archive_entry_size(e) > 0 && (ret = copy_data(in, out, name, err)))
            goto out;
        if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
            ret = otter_err_set(err, OTTER_EIO, "tar entry '%s': %s", name,
                                archive_error_string(out));
            goto out;
        }
    }
    /* Directory permissions and times are applied at close. */
    if (archive_write_close(out) != ARCHIVE_OK) {
        ret = otter_err_set(err, OTTER_EIO, "%s", archive_error_string(out));
        goto out;
    }
    ret = 0;
out:
    archive_read_free(in);
    archive_write_free(out);
    return ret;
}

static void *extract_main(void *arg)
{
    struct archive_ctx *c = arg;
    c->ret = extract(c, &c->err);
    if (c->ret == 0) {
        /* Tar padding after the end marker: take it so the sender never sees EPIPE. */
        char sink[4096];
        while (read(c->rx, sink, sizeof sink) > 0)
            ;
    }
    close(c->rx); /* on error this is what tells the sender to stop */
    return NULL;
}

static int join(struct archive_ctx *c, otter_err *err)
{
    if (c->running) {
        pthread_join(c->thread, NULL);
        c->running = 0;
    }
    if (c->ret) {
        if (err) {
            err->code = c->err.code;
            memcpy(err->msg, c->err.msg, sizeof err->msg);
            otter_err_prefix(err, "%s", c->dir);
        }
        return c->ret;
    }
    return 0;
}

static int archive_open(void **out, const char *target, uint64_t declared_size, otter_err *err)
{
    struct archive_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->tx = c->rx = -1;
    struct stat st;
    /* The real path: SECURE_SYMLINKS must not trip over links above the slot. */
    if (!realpath(target, c->dir) || stat(c->dir, &st) < 0) {
        int e = errno;
        free(c);
        return otter_err_sys(err, OTTER_EIO, e, "%s: slot directory unusable", target);
    }
    if (!S_ISDIR(st.st_mode)) {
        free(c);
        return otter_err_set(err, OTTER_EUSAGE, "%s: not a directory", target);
    }
    int sv[2];
    int ret = clear_dir(c->dir, err);
    if (ret == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "socketpair failed");
    if (ret) {
        free(c);
        return ret;
    }
    c->tx = sv[0];
    c->rx = sv[1];
    int r = pthread_create(&c->thread, NULL, extract_main, c);
    if (r != 0) {
        close(c->tx);
        close(c->rx);
        free(c);
        return otter_err_sys(err, OTTER_EIO, r, "cannot start the extraction thread");
    }
    c->running = 1;
    *out = c;
    return 0;
}

static int archive_write(void *ctx, const void *buf, size_t len, otter_err *err)
{
    struct archive_ctx *c = ctx;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(c->tx, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            int ret = join(c, err);
            return ret ? ret : otter_err_set(err, OTTER_EIO, "%s: extractor stopped", c->dir);
        }
        if (n < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "%s: feeding the extractor", c->dir);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int archive_finish(void *ctx, otter_err *err)
{
    struct archive_ctx *c = ctx;
    shutdown(c->tx, SHUT_WR); /* end of stream for the extractor */
    int ret = join(c, err);
    if (ret)
        return ret;
    /* libarchive does not fsync; one syncfs covers every file it wrote. */
    int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: sync failed", c->dir);
        if (fd >= 0)
            close(fd);
        return ret;
    }
    close(fd);
    close(c->tx);
    free(c);
    return 0;
}

static void archive_abort(void *ctx)
{
    struct archive_ctx *c = ctx;
    shutdown(c->tx, SHUT_RDWR); /* the extractor sees a truncated stream and stops */
    join(c, NULL);
    close(c->tx);
    otter_err ignored;
    clear_dir(c->dir, &ignored);
    free(c);
}

const struct otter_handler_ops otter_handler_archive = {
    "archive", archive_open, archive_write, archive_finish, archive_abort, NULL, NULL};
