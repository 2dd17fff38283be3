/* SPDX-License-Identifier: Apache-2.0 */
/* The control socket's thread: clients, access, answers, events (otter_control.h). */
#include "otter_control.h"
#include "otter_control_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void wake(otter_control *c)
{
    char b = 1;
    if (write(c->wake[1], &b, 1) < 0) {
        /* full pipe: a wake-up is already pending */
    }
}

int otter_control_listening(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path[0] || strlen(path) >= sizeof sa.sun_path)
        return 0;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int r = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return r;
}

/* Replaces a stale socket file; anything else at the path is left alone (an error), and so is
   a socket a running daemon answers on: two daemons would be two state machines. */
static int clear_path(const char *path, otter_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : otter_err_sys(err, OTTER_EIO, errno, "%s", path);
    if (!S_ISSOCK(st.st_mode))
        return otter_err_set(err, OTTER_EUSAGE, "[control] socket %s: exists and is not a socket",
                             path);
    if (otter_control_listening(path))
        return otter_err_set(err, OTTER_ESTATE,
                             "[control] socket %s: another otter-agentd runs and answers on it",
                             path);
    if (unlink(path) != 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s", path);
    return 0;
}

static int bind_socket(otter_control *c, const char *path, otter_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (path[0] != '/' || strlen(path) >= sizeof sa.sun_path)
        return otter_err_set(
            err, OTTER_EUSAGE,
            "[control] socket: \"%s\" is not an absolute path of at most %zu bytes", path,
            sizeof sa.sun_path - 1);
    int ret = clear_path(path, err);
    if (ret)
        return ret;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->listen_fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "control socket");
    /* Created with no access at all; the mode and group are set before listen(). */
    mode_t old = umask(0777);
    int r = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r != 0)
        return otter_err_sys(err, OTTER_EIO, errno, "[control] socket %s", path);
    c->bound = 1;
    mode_t mode = (mode_t)strtol(c->conf->control_mode, NULL, 8);
    if (c->have_group && chown(path, (uid_t)-1, c->gid) != 0)
        return otter_err_sys(err, OTTER_EIO, errno, "[control] group: chown %s", path);
    if (chmod(path, mode) != 0)
        return otter_err_sys(err, OTTER_EIO, errno, "[control] mode: chmod %s", path);
    if (listen(c->listen_fd, 8) != 0)
        return otter_err_sys(err, OTTER_EIO, errno, "listen on %s", path);
    return 0;
}

int otter_control_open(const otter_agent_conf *conf, otter_control **out, otter_err *err)
{
    *out = NULL;
    otter_control *c = calloc(1, sizeof *c);
    if (!c)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    c->conf = conf;
    c->listen_fd = c->wake[0] = c->wake[1] = -1;
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        c->clients[i].fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    int ret = 0;
    if (conf->control_group[0]) {
        struct group *g = getgrnam(conf->control_group);
        if (!g) {
            ret = otter_err_set(err, OTTER_EUSAGE, "[control] group: no group \"%s\"",
                                conf->control_group);
            goto out;
        }
        c->gid = g->gr_gid;
        c->have_group = 1;
    }
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        ret = otter_err_sys(err, OTTER_EIO, errno, "pipe");
        goto out;
    }
    ret = bind_socket(c, conf->control_socket, err);
out:
    if (ret)
        otter_control_free(c);
    else
        *out = c;
    return ret;
}

int otter_control_start(otter_control *c, otter_err *err)
{
    int e = pthread_create(&c->thread, NULL, control_thread, c);
    if (e)
        return otter_err_sys(err, OTTER_EIO, e, "control thread");
    c->running = 1;
    return 0;
}

void otter_control_free(otter_control *c)
{
    if (!c)
        return;
    if (c->running) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_mutex_unlock(&c->mu);
        wake(c);
        pthread_join(c->thread, NULL);
    }
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (c->clients[i].fd >= 0)
            close(c->clients[i].fd);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    if (c->bound)
        unlink(c->conf->control_socket);
    for (int i = 0; i < 2; i++)
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    otter_control_offer_clear(&c->st.offer);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

/* ---- the daemon's thread ---- */

void otter_control_take(otter_control *c, otter_control_todo *t)
{
    pthread_mutex_lock(&c->mu);
    *t = c->todo;
    t->file[0] = '\0';
    char file[sizeof c->todo.file];
    memcpy(file, c->todo.file, sizeof file);
    memset(&c->todo, 0, sizeof c->todo);
    memcpy(c->todo.file, file, sizeof file);
    pthread_mutex_unlock(&c->mu);
}

int otter_control_take_file(otter_control *c, char *name, size_t size)
{
    pthread_mutex_lock(&c->mu);
    int have = c->todo.file[0] != '\0';
    snprintf(name, size, "%s", c->todo.file);
    c->todo.file[0] = '\0';
    pthread_mutex_unlock(&c->mu);
    return have;
}

static int todo_empty(const otter_control_todo *t)
{
    return !t->check && !t->download && !t->start && !t->decline && !t->verify && !t->postpone &&
           !t->file[0];
}

void otter_control_check_now(otter_control *c)
{
    pthread_mutex_lock(&c->mu);
    c->todo.check = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

int otter_control_wait(otter_control *c, long seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    int woken = 0;
    pthread_mutex_lock(&c->mu);
    while (todo_empty(&c->todo) && pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
        ;
    woken = !todo_empty(&c->todo);
    pthread_mutex_unlock(&c->mu);
    return woken;
}

int otter_control_cancel_asked(otter_control *c)
{
    pthread_mutex_lock(&c->mu);
    int asked = c->cancel;
    c->cancel = 0;
    pthread_mutex_unlock(&c->mu);
    return asked;
}

/* Each setter: change under the lock, count the change, wake the thread to send it. */
#define CHANGE(c, body)                                                                            \
    do {                                                                                           \
        pthread_mutex_lock(&(c)->mu);                                                              \
        body;                                                                                      \
        (c)->seq++;                                                                                \
        pthread_mutex_unlock(&(c)->mu);                                                            \
        wake(c);                                                                                   \
    } while (0)

void otter_control_set_phase(otter_control *c, int phase, int percent, const char *reason)
{
    CHANGE(c, {
        c->st.phase = phase;
        c->st.percent = percent;
        snprintf(c->st.reason, sizeof c->st.reason, "%s", reason ? reason : "");
        if (phase != OTTER_CONTROL_AVAILABLE && phase != OTTER_CONTROL_READY)
            c->st.postponed_until = 0;
    });
}

void otter_control_set_offer(otter_control *c, const otter_control_offer *offer)
{
    CHANGE(c, {
        if (!offer || !c->st.have_offer || strcmp(offer->action, c->st.offer.action) != 0)
            c->st.postponed_until = 0;
        otter_control_offer_clear(&c->st.offer);
        c->st.have_offer = offer && otter_control_offer_copy(&c->st.offer, offer) == 0;
    });
}

void otter_control_set_checked(otter_control *c, const char *error)
{
    CHANGE(c, {
        c->st.checks++;
        if (!error || !error[0])
            c->st.last_check = (long long)time(NULL);
        snprintf(c->st.check_error, sizeof c->st.check_error, "%s", error ? error : "");
    });
}

void otter_control_set_verified(otter_control *c, const char *failure, const char *message)
{
    CHANGE(c, {
        c->st.verifies++;
        snprintf(c->st.verify_failure, sizeof c->st.verify_failure, "%s", failure);
        snprintf(c->st.verify_message, sizeof c->st.verify_message, "%s", message);
    });
}

void otter_control_set_refused(otter_control *c, const char *why)
{
    CHANGE(c, {
        c->st.refusals++;
        snprintf(c->st.refusal, sizeof c->st.refusal, "%s", why);
    });
}

void otter_control_set_postponed(otter_control *c, long long until)
{
    CHANGE(c, c->st.postponed_until = until);
}

void otter_control_set_blockers(otter_control *c, const otter_control_state *src)
{
    CHANGE(c, {
        c->st.n_blockers = src->n_blockers;
        memcpy(c->st.blocker_what, src->blocker_what, sizeof c->st.blocker_what);
        memcpy(c->st.blocker_why, src->blocker_why, sizeof c->st.blocker_why);
    });
}

void otter_control_get(otter_control *c, otter_control_state *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    memset(&out->offer, 0, sizeof out->offer);
    otter_control_offer_copy(&out->offer, &c->st.offer);
    pthread_mutex_unlock(&c->mu);
}
