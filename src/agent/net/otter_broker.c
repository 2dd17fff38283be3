/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two sides of the installer broker: the daemon's calls (sent over the
 * socket, or done in place for a local handle) and the broker's loop.
 * Messages are SOCK_SEQPACKET records; answers are "ok", "refused MSG",
 * "error MSG", "exit N" and "status JSON".
 */
#include "otter_broker.h"
#include "otter_broker_run.h"
#include "otter_broker_wire.h"
#include "otter_install.h"
#include "otter_spool.h"
#include "otter_fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ANSWER (128 * 1024) /* a status: eleven fields of up to 1 KiB, JSON-escaped */

struct otter_broker {
    const char *conf_path;
    const otter_agent_conf *conf;
    int sock;     /* to the broker; -1: local */
    pid_t broker; /* the broker process, or -1 */
    pid_t child;  /* local: the running otter-agent, or -1 */
};

/* Sends req and reads the answer into buf; 0 for "ok"/"status", else the broker's error. */
static int ask(otter_broker *b, const otter_broker_req *req, const int *fds, int nfds, char *buf,
               size_t size, otter_err *err)
{
    char text[OTTER_BROKER_MAX_REQ + 1];
    int got[2], ngot;
    int ret = otter_broker_req_format(req, text, sizeof text, err);
    if (ret)
        return ret;
    if (otter_broker_wire_send(b->sock, text, fds, nfds) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "installer broker: cannot send");
    ssize_t n = otter_broker_wire_recv(b->sock, buf, size, got, &ngot);
    for (int i = 0; i < ngot; i++)
        close(got[i]);
    if (n <= 0)
        return otter_err_set(err, OTTER_EIO, "installer broker: gone");
    if (strcmp(buf, "ok") == 0 || strncmp(buf, "status ", 7) == 0)
        return 0;
    if (strncmp(buf, "refused ", 8) == 0)
        return otter_err_set(err, OTTER_EFORMAT, "%s", buf + 8);
    return otter_err_set(err, OTTER_EIO, "%s", strncmp(buf, "error ", 6) == 0 ? buf + 6 : buf);
}

int otter_broker_spawn(otter_broker *b, const otter_broker_req *req, int in_fd, int out_fd,
                       otter_err *err)
{
    if (b->sock < 0)
        return otter_broker_run_agent(b->conf_path, b->conf, req, in_fd, out_fd, &b->child, err);
    char buf[OTTER_ERR_MSG_MAX + 16];
    int fds[2] = {in_fd, out_fd};
    return ask(b, req, fds, 2, buf, sizeof buf, err);
}

int otter_broker_alive(otter_broker *b)
{
    if (b->sock >= 0 && b->broker <= 0) { /* a broker service: alive while its socket is */
        struct pollfd p = {b->sock, 0, 0};
        return poll(&p, 1, 0) == 0 || !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
    }
    if (b->sock < 0 || b->broker <= 0)
        return 1;
    pid_t r;
    while ((r = waitpid(b->broker, NULL, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == b->broker)
        b->broker = -1; /* reaped: gone for good */
    return r == 0;
}

void otter_broker_stop(otter_broker *b)
{
    if (b->sock < 0) {
        if (b->child > 0)
            kill(b->child, SIGTERM);
        return;
    }
    otter_broker_wire_send(b->sock, "stop", NULL, 0); /* no answer: the exit status follows */
}

int otter_broker_wait(otter_broker *b)
{
    int status = 0;
    if (b->sock < 0) {
        if (b->child <= 0)
            return 2;
        while (waitpid(b->child, &status, 0) < 0 && errno == EINTR)
            ;
        b->child = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    }
    char buf[64];
    int fds[2], nfds;
    ssize_t n;
    while ((n = otter_broker_wire_recv(b->sock, buf, sizeof buf, fds, &nfds)) > 0) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        int rc;
        if (sscanf(buf, "exit %d", &rc) == 1)
            return rc;
    }
    return 2;
}

int otter_broker_clear_spool(otter_broker *b, otter_err *err)
{
    if (b->sock < 0)
        return otter_spool_clear(b->conf->server_spool, err);
    char buf[OTTER_ERR_MSG_MAX + 16];
    otter_broker_req req = {.op = OTTER_BROKER_CLEAR_SPOOL};
    return ask(b, &req, NULL, 0, buf, sizeof buf, err);
}

void otter_broker_reboot(otter_broker *b, const char *version)
{
    if (b->sock < 0) {
        if (b->conf->reboot_command[0])
            otter_install_run_reboot(b->conf, version);
        return;
    }
    /* The version is only a hint to the command: a word the request can carry. */
    otter_broker_req req = {.op = OTTER_BROKER_REBOOT};
    snprintf(req.version, sizeof req.version, "%s", version && *version ? version : "-");
    for (char *p = req.version; *p; p++)
        if (*p <= ' ' || *p > '~')
            *p = '_';
    char buf[OTTER_ERR_MSG_MAX + 16];
    otter_err err;
    ask(b, &req, NULL, 0, buf, sizeof buf, &err);
}

int otter_broker_drop_upload(otter_broker *b, const char *name, otter_err *err)
{
    if (b->sock < 0)
        return otter_broker_run_drop_upload(b->conf, name, err);
    char buf[OTTER_ERR_MSG_MAX + 16];
    otter_broker_req req = {.op = OTTER_BROKER_DROP_UPLOAD};
    snprintf(req.upload, sizeof req.upload, "%s", name);
    return ask(b, &req, NULL, 0, buf, sizeof buf, err);
}

int otter_broker_status(otter_broker *b, otter_daemon_status *st, otter_err *err)
{
    if (b->sock < 0) {
        otter_daemon_status_read(b->conf_path, b->conf, st);
        return 0;
    }
    char *buf = malloc(MAX_ANSWER);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    otter_broker_req req = {.op = OTTER_BROKER_STATUS};
    int ret = ask(b, &req, NULL, 0, buf, MAX_ANSWER, err);
    if (!ret)
        ret = otter_daemon_status_from_json(buf + 7, strlen(buf + 7), st, err);
    free(buf);
    return ret;
}

/* The ids of [server] daemon_user: a user that exists and is not root. */
static int lookup(const char *name, uid_t *uid, gid_t *gid, otter_err *err)
{
    errno = 0;
    const struct passwd *pw = getpwnam(name);
    if (!pw && errno)
        return otter_err_sys(err, OTTER_EIO, errno, "daemon_user %s: cannot look it up", name);
    if (!pw)
        return otter_err_set(err, OTTER_EUSAGE, "daemon_user %s: no such user", name);
    if (pw->pw_uid == 0)
        return otter_err_set(err, OTTER_EUSAGE, "daemon_user %s: is root", name);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/*
 * <state dir>/daemon, the user's own (0700): ddi.json lives there. A
 * ddi.json of a daemon that ran as root moves in (replacing an older one),
 * so a result waiting to be reported survives the change. Never followed
 * through a symlink (rename and lchown act on a planted link itself).
 */
static int prepare_dir(const otter_agent_conf *conf, uid_t uid, gid_t gid, otter_err *err)
{
    char dir[PATH_MAX], old[PATH_MAX], rec[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s/daemon", conf->state_dir) >= sizeof dir ||
        (size_t)snprintf(old, sizeof old, "%s/ddi.json", conf->state_dir) >= sizeof old ||
        (size_t)snprintf(rec, sizeof rec, "%s/ddi.json", dir) >= sizeof rec)
        return otter_err_set(err, OTTER_EUSAGE, "%s: state dir path too long", conf->state_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: not a directory", dir);
    int bad = fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0;
    int e = errno;
    close(fd);
    if (bad)
        return otter_err_sys(err, OTTER_EIO, e, "%s: cannot give it to the daemon user", dir);
    /* Only a root daemon writes <state dir>/ddi.json: when it is there, it is the newest. */
    if (access(old, F_OK) == 0 && rename(old, rec) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot move into %s", old, dir);
    if (lchown(rec, uid, gid) < 0 && errno != ENOENT)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot give it to the daemon user", rec);
    return 0;
}

/* For good: no supplementary groups, the group, the user; root must not come back. */
static int drop_to(uid_t uid, gid_t gid, otter_err *err)
{
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "cannot drop privileges");
    if (setuid(0) == 0 || geteuid() == 0 || getegid() != gid)
        return otter_err_set(err, OTTER_EIO, "cannot drop privileges: root came back");
    return 0;
}

static int start_broker(otter_broker *b, otter_err *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "socketpair");
    fflush(NULL);
    b->broker = fork();
    if (b->broker < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return otter_err_sys(err, OTTER_EIO, e, "fork");
    }
    if (b->broker == 0) {
        close(sv[0]);
        _exit(otter_broker_serve(sv[1], b->conf_path, b->conf));
    }
    close(sv[1]);
    b->sock = sv[0];
    return 0;
}

/* A daemon started as daemon_user: its broker is a service listening at path. */
static int connect_broker(otter_broker *b, const char *path, otter_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return otter_err_set(err, OTTER_EUSAGE, "OTTER_BROKER_SOCKET %s: path too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return otter_err_sys(err, OTTER_EIO, e, "installer broker %s: cannot connect", path);
    }
    b->sock = fd;
    return 0;
}

int otter_broker_serve_peer(int sock, const char *conf_path, const otter_agent_conf *conf,
                            otter_err *err)
{
    /* Set by lookup(); the initial values match no peer (-O3 cannot see that it always sets). */
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    struct ucred peer;
    socklen_t len = sizeof peer;
    if (!conf->server_daemon_user[0])
        return otter_err_set(err, OTTER_EUSAGE, "broker: [server] daemon_user is not set");
    int ret = lookup(conf->server_daemon_user, &uid, &gid, err);
    if (ret)
        return ret;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "broker: no peer credentials on the socket");
    /* Only the daemon may ask: any other local user would get installs and reboots. */
    if (peer.uid != uid)
        return otter_err_set(err, OTTER_EUSAGE, "broker: peer uid %u is not daemon_user %s",
                             (unsigned)peer.uid, conf->server_daemon_user);
    otter_broker_serve(sock, conf_path, conf);
    return 0;
}

int otter_broker_open(const char *conf_path, const otter_agent_conf *conf, otter_broker **out,
                      otter_err *err)
{
    otter_broker *b = calloc(1, sizeof *b);
    if (!b)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    *b =
        (otter_broker){.conf_path = conf_path, .conf = conf, .sock = -1, .broker = -1, .child = -1};
    uid_t uid = 0;
    gid_t gid = 0;
    int ret = 0;
    if (conf->server_daemon_user[0] && geteuid() == 0) {
        ret = lookup(conf->server_daemon_user, &uid, &gid, err);
        if (!ret)
            ret = prepare_dir(conf, uid, gid, err);
        if (!ret)
            ret = start_broker(b, err);
        if (!ret)
            ret = drop_to(uid, gid, err);
    } else if (conf->server_daemon_user[0]) {
        /* Started as that user already: its broker is a service (OTTER_BROKER_SOCKET), or
         * there is none (nothing needs root then, or fails as it would). Its directory is
         * its own to make. */
        char dir[PATH_MAX];
        const char *sock = getenv("OTTER_BROKER_SOCKET");
        ret = otter_fmt(dir, sizeof dir, err, "daemon directory", "%s/daemon", conf->state_dir);
        if (!ret && mkdir(dir, 0700) < 0 && errno != EEXIST)
            ret = otter_err_sys(err, OTTER_EIO, errno, "%s: cannot create", dir);
        if (!ret && sock && *sock)
            ret = connect_broker(b, sock, err);
    }
    if (ret) {
        otter_broker_free(b);
        return ret;
    }
    *out = b;
    return 0;
}

void otter_broker_free(otter_broker *b)
{
    if (!b)
        return;
    if (b->sock >= 0)
        close(b->sock);
    if (b->broker > 0)
        while (waitpid(b->broker, NULL, 0) < 0 && errno == EINTR)
            ;
    free(b);
}
