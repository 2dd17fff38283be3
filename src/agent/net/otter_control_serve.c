/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control thread: accepts clients it allows (SO_PEERCRED), reads their
 * request lines, answers them from the state under the lock, leaves
 * actions to the daemon's thread (the to-do list) and sends state events
 * to subscribers. It never waits on anything but poll().
 */
#include "otter_control.h"
#include "otter_control_impl.h"
#include "otter_control_pre.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void drop(control_client *cl)
{
    close(cl->fd);
    memset(cl, 0, sizeof *cl);
    cl->fd = -1;
}

/*
 * Writes line whole or drops the client: a client that does not read its
 * events (its socket buffer full) must never hold up the others.
 */
static void send_line(control_client *cl, char *line)
{
    if (!line) {
        drop(cl);
        return;
    }
    size_t n = strlen(line), off = 0;
    while (off < n) {
        ssize_t w = send(cl->fd, line + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            drop(cl);
            break;
        }
        off += (size_t)w;
    }
    free(line);
}

static void send_err(control_client *cl, const char *id, const char *code, const char *msg)
{
    send_line(cl, otter_control_answer_err(id, code, msg));
}

static int peer_allowed(const otter_control *c, int fd, uid_t *uid)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return 0;
    *uid = cr.uid;
    if (cr.uid == 0 || cr.uid == geteuid())
        return 1;
    if (!c->have_group)
        return 0;
    if (cr.gid == c->gid)
        return 1;
    gid_t groups[256];
    len = sizeof groups;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
        return 0;
    for (size_t i = 0; i < len / sizeof groups[0]; i++)
        if (groups[i] == c->gid)
            return 1;
    return 0;
}

static void accept_one(otter_control *c)
{
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    control_client tmp = {.fd = fd};
    if (!peer_allowed(c, fd, &tmp.uid)) {
        /* What they sent is read and dropped: closing on unread data would reset the
           connection before they read why. */
        char junk[512];
        while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
            ;
        send_err(&tmp, "null", "forbidden",
                 "this user may not use the update control socket (root, the daemon's user and "
                 "[control] group only)");
        if (tmp.fd >= 0)
            close(fd);
        return;
    }
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (c->clients[i].fd < 0) {
            c->clients[i] = tmp;
            return;
        }
    send_err(&tmp, "null", "busy", "too many clients of the update control socket (16)");
    if (tmp.fd >= 0)
        close(fd);
}

static char *state_text(otter_control *c)
{
    pthread_mutex_lock(&c->mu);
    char *s = otter_control_state_json(&c->st);
    pthread_mutex_unlock(&c->mu);
    return s;
}

static void answer_state(otter_control *c, control_client *cl, const char *id)
{
    char *s = state_text(c);
    send_line(cl, s ? otter_control_answer_ok(id, s) : NULL);
    free(s);
}

/* The server's deferral limits of the offer (issue #15): "not_allowed" and why, or NULL. */
static const char *refuse_deferral(const otter_control_offer *o, long seconds, char *why, size_t n)
{
    if (o->urgent || (o->deferrals_limited && o->deferrals_left <= 0)) {
        snprintf(why, n, "postpone: %s",
                 o->urgent ? "this is an urgent update, it may not be postponed"
                           : "every postponement this update allows is used");
        return "not_allowed";
    }
    if (o->deferral_max > 0 && seconds > o->deferral_max) {
        snprintf(why, n, "postpone: %ld s is longer than this update allows (%ld s)", seconds,
                 o->deferral_max);
        return "not_allowed";
    }
    return NULL;
}

/*
 * Whether method may be asked in the state now (under the lock). 0, or the
 * error's code with its message in why.
 */
static const char *refuse(otter_control *c, const otter_control_req *r, char *why, size_t n)
{
    const otter_control_state *st = &c->st;
    int p = st->phase, offer = st->have_offer;
    const char *name = otter_control_method_name(r->method);
    int ok = 1;
    switch (r->method) {
    case OTTER_CONTROL_DOWNLOAD:
        ok = offer && p == OTTER_CONTROL_AVAILABLE;
        break;
    case OTTER_CONTROL_START:
    case OTTER_CONTROL_POSTPONE:
        ok = offer && (p == OTTER_CONTROL_AVAILABLE || p == OTTER_CONTROL_READY);
        break;
    case OTTER_CONTROL_CANCEL:
        ok = p == OTTER_CONTROL_DOWNLOADING;
        break;
    case OTTER_CONTROL_DECLINE:
        ok = offer && st->offer.consent;
        break;
    case OTTER_CONTROL_INSTALL_FILE: /* nothing else in progress, no switch waiting */
        ok = p == OTTER_CONTROL_IDLE || p == OTTER_CONTROL_AVAILABLE || p == OTTER_CONTROL_READY ||
             p == OTTER_CONTROL_FAILED;
        break;
    }
    if (!ok) {
        snprintf(why, n, "%s: not possible while the update state is \"%s\"%s", name,
                 otter_control_phase_name(p),
                 r->method == OTTER_CONTROL_DECLINE ? " and nothing asks for consent" : "");
        return "state";
    }
    if (r->method == OTTER_CONTROL_POSTPONE && r->seconds > c->conf->control_postpone_max) {
        snprintf(why, n,
                 "postpone: %ld s is longer than this device allows ([control] "
                 "postpone_max = %ld s)",
                 r->seconds, c->conf->control_postpone_max);
        return "bad_request";
    }
    if (r->method == OTTER_CONTROL_POSTPONE)
        return refuse_deferral(&st->offer, r->seconds, why, n);
    return NULL;
}

/*
 * install_file names a file: only root and the owner of [ui] upload_dir (the
 * local page's front, which wrote it there) may ask for one, one at a time.
 * The package is verified like any other before a byte is written; this
 * keeps other members of [control] group from racing the front with a name.
 */
static const char *upload_refused(otter_control *c, const control_client *cl, char *why, size_t n)
{
    struct stat st;
    int owner = stat(c->conf->ui_upload_dir, &st) == 0 && st.st_uid == cl->uid;
    if (cl->uid != 0 && !owner) {
        snprintf(why, n,
                 "install_file: only root and the owner of [ui] upload_dir (%s) may name an "
                 "upload",
                 c->conf->ui_upload_dir);
        return "forbidden";
    }
    if (c->todo.file[0]) {
        snprintf(why, n, "install_file: another upload waits to be installed");
        return "busy";
    }
    return NULL;
}

/* Start, download, install_file: the cheap preconditions now, so the answer says why not. */
static const char *precheck(otter_control *c, const otter_control_req *r, char *why, size_t n)
{
    if (r->method != OTTER_CONTROL_START && r->method != OTTER_CONTROL_DOWNLOAD &&
        r->method != OTTER_CONTROL_INSTALL_FILE)
        return NULL;
    int what =
        r->method == OTTER_CONTROL_DOWNLOAD ? OTTER_CONTROL_PRE_DOWNLOAD : OTTER_CONTROL_PRE_START;
    if (r->method == OTTER_CONTROL_START && c->st.phase == OTTER_CONTROL_AVAILABLE)
        what |= OTTER_CONTROL_PRE_DOWNLOAD; /* streaming: downloads too */
    uint64_t size = c->st.offer.size;
    if (r->method == OTTER_CONTROL_INSTALL_FILE) { /* the upload's size (0 when unreadable) */
        char path[4200];
        struct stat fs;
        snprintf(path, sizeof path, "%s/%s", c->conf->ui_upload_dir, r->file);
        size = stat(path, &fs) == 0 ? (uint64_t)fs.st_size : 0;
    }
    otter_control_state tmp = {0};
    if (otter_control_pre_check(c->conf, size, what, &tmp) == 0) {
        /* Met now (the charger went in): the old reasons must not grey Start out. */
        if (c->st.n_blockers) {
            c->st.n_blockers = 0;
            c->seq++;
        }
        return NULL;
    }
    size_t off =
        (size_t)snprintf(why, n, "%s is not possible yet:", otter_control_method_name(r->method));
    for (size_t i = 0; i < tmp.n_blockers && off < n; i++)
        off += (size_t)snprintf(why + off, n - off, "%s %s", i ? ";" : "", tmp.blocker_why[i]);
    /* The state shows them too: a UI greys Start out with the reason. */
    c->st.n_blockers = tmp.n_blockers;
    memcpy(c->st.blocker_what, tmp.blocker_what, sizeof tmp.blocker_what);
    memcpy(c->st.blocker_why, tmp.blocker_why, sizeof tmp.blocker_why);
    c->seq++;
    return "preconditions";
}

static void queue(otter_control *c, const otter_control_req *r)
{
    otter_control_todo *t = &c->todo;
    switch (r->method) {
    case OTTER_CONTROL_CHECK:
        t->check = 1;
        break;
    case OTTER_CONTROL_DOWNLOAD:
        t->download = 1;
        break;
    case OTTER_CONTROL_START:
        t->start = 1;
        t->no_reboot = r->no_reboot;
        break;
    case OTTER_CONTROL_DECLINE:
        t->decline = 1;
        break;
    case OTTER_CONTROL_VERIFY:
        t->verify = 1;
        break;
    case OTTER_CONTROL_INSTALL_FILE:
        snprintf(t->file, sizeof t->file, "%s", r->file);
        break;
    case OTTER_CONTROL_CANCEL:
        c->cancel = 1;
        break;
    case OTTER_CONTROL_POSTPONE:
        t->postpone = r->seconds;
        c->st.postponed_until = (long long)time(NULL) + r->seconds;
        c->seq++;
        break;
    }
    if (c->st.have_offer)
        snprintf(t->action, sizeof t->action, "%s", c->st.offer.action);
    pthread_cond_signal(&c->cv);
}

static void handle(otter_control *c, control_client *cl, const char *line, size_t len)
{
    otter_control_req r;
    otter_err err;
    const char *code = NULL;
    if (otter_control_req_parse(line, len, &r, &code, &err) != 0) {
        send_err(cl, r.id, code, err.msg);
        return;
    }
    if (r.method == OTTER_CONTROL_STATUS || r.method == OTTER_CONTROL_SUBSCRIBE) {
        cl->subscribed |= r.method == OTTER_CONTROL_SUBSCRIBE;
        answer_state(c, cl, r.id);
        return;
    }
    char why[1024];
    pthread_mutex_lock(&c->mu);
    code = refuse(c, &r, why, sizeof why);
    if (!code && r.method == OTTER_CONTROL_INSTALL_FILE)
        code = upload_refused(c, cl, why, sizeof why);
    if (!code)
        code = precheck(c, &r, why, sizeof why);
    if (!code)
        queue(c, &r);
    pthread_mutex_unlock(&c->mu);
    if (code) {
        send_err(cl, r.id, code, why);
        return;
    }
    char result[64];
    snprintf(result, sizeof result, "{\"accepted\":\"%s\"}", otter_control_method_name(r.method));
    send_line(cl, otter_control_answer_ok(r.id, result));
}

/* Reads what cl sent and handles each whole line; an oversized one is answered once. */
static void read_client(otter_control *c, control_client *cl)
{
    ssize_t n = recv(cl->fd, cl->in + cl->used, sizeof cl->in - cl->used, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        drop(cl);
        return;
    }
    cl->used += (size_t)n;
    char *start = cl->in, *nl;
    while (cl->fd >= 0 && (nl = memchr(start, '\n', cl->used - (size_t)(start - cl->in)))) {
        size_t len = (size_t)(nl - start);
        if (!cl->discarding && len)
            handle(c, cl, start, len);
        cl->discarding = 0;
        start = nl + 1;
    }
    if (cl->fd < 0)
        return;
    cl->used -= (size_t)(start - cl->in);
    memmove(cl->in, start, cl->used);
    if (cl->used == sizeof cl->in) {
        if (!cl->discarding) {
            char msg[128];
            snprintf(msg, sizeof msg, "request: longer than %d bytes in one line; ignored",
                     OTTER_CONTROL_MAX_REQ);
            send_err(cl, "null", "too_long", msg);
        }
        cl->discarding = 1;
        cl->used = 0;
    }
}

static void broadcast(otter_control *c, unsigned long *sent)
{
    pthread_mutex_lock(&c->mu);
    unsigned long seq = c->seq;
    char *s = seq != *sent ? otter_control_state_json(&c->st) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (!s)
        return;
    *sent = seq;
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (c->clients[i].fd >= 0 && c->clients[i].subscribed)
            send_line(&c->clients[i], otter_control_event("state", s));
    free(s);
}

void *control_thread(void *arg)
{
    otter_control *c = arg;
    unsigned long sent = 0;
    struct pollfd p[CONTROL_MAX_CLIENTS + 2];
    for (;;) {
        p[0] = (struct pollfd){c->listen_fd, POLLIN, 0};
        p[1] = (struct pollfd){c->wake[0], POLLIN, 0};
        for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
            p[i + 2] = (struct pollfd){c->clients[i].fd, POLLIN, 0};
        if (poll(p, CONTROL_MAX_CLIENTS + 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            char b[64];
            while (read(c->wake[0], b, sizeof b) > 0)
                ;
            pthread_mutex_lock(&c->mu);
            int stop = c->stop;
            pthread_mutex_unlock(&c->mu);
            if (stop)
                break;
        }
        for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
            if (c->clients[i].fd >= 0 && p[i + 2].revents)
                read_client(c, &c->clients[i]);
        if (p[0].revents)
            accept_one(c);
        broadcast(c, &sent);
    }
    return NULL;
}
