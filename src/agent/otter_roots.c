/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_roots.h"
#include "otter_file.h"
#include "otter_fmt.h"
#include "otter_rootchain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int otter_roots_pending_path(const otter_agent_conf *conf, char *out, size_t size, otter_err *err)
{
    /* Where the daemon keeps ddi.json (otter_daemon_record.c): its own directory. */
    int own = conf->server_daemon_user && conf->server_daemon_user[0];
    int ret = otter_fmt(out, size, err, "pending root chain", "%s%s/roots.json", conf->state_dir,
                        own ? "/daemon" : "");
    return ret < 0 ? ret : 0;
}

/*
 * Reads the pending chain. With [server] daemon_user it lies in the
 * daemon's own directory, and this runs as root: a symlink, a FIFO or a
 * device planted there is refused, never followed, waited on or read.
 * *text is NULL when there is no pending chain.
 */
static int read_pending(const char *path, char **text, size_t *len, otter_err *err)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? 0 : otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", path);
    struct stat st;
    int ret = 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > OTTER_ROOTCHAIN_MAX)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: not a regular file of at most %d bytes", path,
                            OTTER_ROOTCHAIN_MAX);
    char *buf = ret ? NULL : malloc((size_t)st.st_size + 1);
    if (!ret && !buf)
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
    size_t got = 0;
    while (!ret && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ret = otter_err_sys(err, OTTER_EIO, n < 0 ? errno : EIO, "%s: read failed", path);
        else
            got += (size_t)n;
    }
    close(fd);
    if (ret) {
        free(buf);
        return ret;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

/* Writes the accepted root's exact bytes over [trust] root; *trust becomes it. */
static int adopt(const otter_agent_conf *conf, const otter_rootchain_entry *e, otter_trust **trust,
                 otter_trust *next, otter_err *err)
{
    int ret = otter_file_write_atomic(conf->trust_root, e->root, e->root_len, 0644, err);
    if (ret) {
        otter_trust_free(next);
        return otter_err_prefix(err, "adopting trust root version %lld", (long long)e->version);
    }
    fprintf(stderr, "otter-agent: trust root version %lld adopted (was %lld): %s\n",
            (long long)e->version, (long long)otter_trust_version(*trust), conf->trust_root);
    otter_trust_free(*trust);
    *trust = next;
    return 0;
}

int otter_roots_adopt(const otter_agent_conf *conf, otter_trust **trust, otter_err *err)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    otter_rootchain *chain = NULL;
    otter_trust *next = NULL;
    size_t at = 0;
    int ret = otter_roots_pending_path(conf, path, sizeof path, err);
    if (!ret)
        ret = read_pending(path, &text, &len, err);
    if (ret || !text)
        return ret;
    ret = otter_rootchain_parse(text, len, path, &chain, err);
    free(text);
    if (ret)
        return ret;
    otter_err walk;
    int wret = otter_rootchain_walk(*trust, chain, &next, &at, &walk);
    if (next)
        ret = adopt(conf, &chain->entries[at], trust, next, err);
    otter_rootchain_free(chain);
    if (!ret && wret) {
        *err = walk;
        ret = otter_err_prefix(err, "%s", path);
    }
    return ret;
}
