/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_source.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 16

struct otter_source {
    int fd;
    pid_t pid;
    int done;
    const volatile sig_atomic_t *cancel;
};

void otter_source_set_cancel(otter_source *s, const volatile sig_atomic_t *flag)
{
    s->cancel = flag;
}

int otter_source_sibling(const char *name, char *buf, size_t size, otter_err *err)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "/proc/self/exe");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    if ((size_t)snprintf(buf, size, "%s/%s", self, name) >= size)
        return otter_err_set(err, OTTER_EUSAGE, "path too long");
    return 0;
}

/* The ids the child takes: run_as's, when we are root and run_as names a user (*drop set). */
static int lookup_user(const char *run_as, uid_t *uid, gid_t *gid, int *drop, otter_err *err)
{
    *drop = 0;
    if (!run_as || !*run_as || geteuid() != 0)
        return 0;
    errno = 0;
    const struct passwd *pw = getpwnam(run_as);
    if (!pw && errno)
        return otter_err_sys(err, OTTER_EIO, errno, "fetch_user %s: cannot look it up", run_as);
    if (!pw)
        return otter_err_set(err, OTTER_EUSAGE, "fetch_user %s: no such user", run_as);
    if (pw->pw_uid == 0)
        return otter_err_set(err, OTTER_EUSAGE, "fetch_user %s: is root", run_as);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    *drop = 1;
    return 0;
}

/* In the child, before exec: no supplementary groups, then the group, then the user; and
 * root must be gone for good (setuid(0) fails), or the child does not run at all. */
static void drop_to(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || setuid(0) == 0) {
        fprintf(stderr, "otter-agent: cannot drop privileges for otter-fetch: %s\n",
                strerror(errno));
        _exit(2);
    }
}

int otter_source_spawn(const char *fetch_path, const char *url, const char *const *args,
                       size_t nargs, const char *run_as, otter_source **out, otter_err *err)
{
    if (nargs > MAX_ARGS)
        return otter_err_set(err, OTTER_EUSAGE, "too many download options");
    uid_t uid = 0;
    gid_t gid = 0;
    int drop;
    int ret = lookup_user(run_as, &uid, &gid, &drop, err);
    if (ret)
        return ret;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "pipe");
    otter_source *s = calloc(1, sizeof *s);
    if (!s) {
        close(p[0]);
        close(p[1]);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    const char *argv[MAX_ARGS + 3];
    size_t argc = 0;
    argv[argc++] = fetch_path;
    for (size_t i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    argv[argc++] = url;
    argv[argc] = NULL;
    s->pid = fork();
    if (s->pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        free(s);
        return otter_err_sys(err, OTTER_EIO, e, "fork");
    }
    if (s->pid == 0) {
        dup2(p[1], 1);
        if (drop)
            drop_to(uid, gid);
        execv(fetch_path, (char *const *)argv);
        fprintf(stderr, "otter-agent: cannot run %s: %s\n", fetch_path, strerror(errno));
        _exit(2);
    }
    close(p[1]);
    s->fd = p[0];
    *out = s;
    return 0;
}

ssize_t otter_source_read(void *ctx, void *buf, size_t len, otter_err *err)
{
    otter_source *s = ctx;
    for (;;) {
        if (s->cancel && *s->cancel)
            return otter_err_set(err, OTTER_ECANCELED, "download canceled");
        if (s->cancel) {
            /* Wait in short steps: a stalled server must not delay a cancel. */
            struct pollfd p = {s->fd, POLLIN, 0};
            int r = poll(&p, 1, 250);
            if (r == 0 || (r < 0 && errno == EINTR))
                continue;
        }
        ssize_t n = read(s->fd, buf, len);
        if (n > 0)
            return n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return otter_err_sys(err, OTTER_EIO, errno, "reading the download");
        break;
    }
    /* End of the pipe: the download is complete only if the child says so. */
    int status = 0;
    if (!s->done && waitpid(s->pid, &status, 0) == s->pid)
        s->done = 1;
    else if (!s->done)
        return otter_err_sys(err, OTTER_EIO, errno, "waiting for the download");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
        return otter_err_set(err, OTTER_ESIG, "download refused: server TLS verification failed");
    /* s10-cdn: otter-fetch's exit statuses for what a CDN origin says to a bad link. */
    static const char *const refusal[] = {
        "HTTP 403 Forbidden (a tampered link, or not this device's)", "HTTP 404 Not Found",
        "HTTP 410 Gone (an expired link, or a withdrawn update)"};
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 3 && WEXITSTATUS(status) <= 5)
        return otter_err_set(err, OTTER_EIO, "download refused: %s",
                             refusal[WEXITSTATUS(status) - 3]);
    return otter_err_set(err, OTTER_EIO, "download failed (otter-fetch exit status %d)",
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

void otter_source_free(otter_source *s)
{
    if (!s)
        return;
    close(s->fd);
    if (!s->done) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    free(s);
}
