/* SPDX-License-Identifier: Apache-2.0 */
#include "fleetsim_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

static int watch(fsim_conn *c, int epfd, int op, uint32_t index, uint32_t events, otter_err *err)
{
    struct epoll_event ev = {.events = events, .data.u32 = index};
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "epoll_ctl");
    return 0;
}

void fsim_conn_close(fsim_conn *c, int epfd)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = FSIM_CLOSED;
}

int fsim_conn_start(fsim_conn *c, int epfd, uint32_t index, const struct sockaddr *addr,
                    socklen_t len, otter_err *err)
{
    c->out_off = 0;
    c->in_len = 0;
    c->index = index;
    c->reused = c->fd >= 0;
    if (c->fd >= 0) {
        c->state = FSIM_SENDING;
        return watch(c, epfd, EPOLL_CTL_MOD, index, EPOLLOUT, err);
    }
    c->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "socket");
    if (connect(c->fd, addr, len) < 0 && errno != EINPROGRESS) {
        int e = errno;
        fsim_conn_close(c, epfd);
        return otter_err_sys(err, OTTER_EIO, e, "connect");
    }
    c->state = FSIM_CONNECTING;
    int ret = watch(c, epfd, EPOLL_CTL_ADD, index, EPOLLOUT, err);
    if (ret < 0)
        fsim_conn_close(c, epfd);
    return ret;
}

/* The value of header name in the head (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " \t");
    return NULL;
}

/* 1 when in[] holds a whole answer (fills *a), 0 when more is needed, <0 when unreadable. */
static int parse(fsim_conn *c, fsim_answer *a, otter_err *err)
{
    c->in[c->in_len] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return c->in_len == FSIM_IN_MAX
                   ? otter_err_set(err, OTTER_EFORMAT, "response head over %d bytes", FSIM_IN_MAX)
                   : 0;
    int status = 0;
    if (sscanf(c->in, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100 || status > 599)
        return otter_err_set(err, OTTER_EFORMAT, "not an HTTP/1.x status line");
    *end = '\0'; /* header() reads the head only */
    const char *cl = header(c->in, "Content-Length");
    const char *conn = header(c->in, "Connection");
    const char *te = header(c->in, "Transfer-Encoding");
    int close_after = conn && strncasecmp(conn, "close", 5) == 0;
    *end = '\r';
    if (te)
        return otter_err_set(err, OTTER_EFORMAT, "chunked answers are not understood");
    size_t head = (size_t)(end + 4 - c->in);
    size_t body = 0;
    if (cl) {
        char *e;
        unsigned long long v = strtoull(cl, &e, 10);
        if (e == cl || v > FSIM_IN_MAX - head)
            return otter_err_set(err, OTTER_EFORMAT, "Content-Length '%.20s' too large", cl);
        body = (size_t)v;
    } else if (status != 204 && status != 304 && status >= 200) {
        return otter_err_set(err, OTTER_EFORMAT, "answer without Content-Length");
    }
    if (c->in_len < head + body)
        return 0;
    if (c->in_len > head + body)
        return otter_err_set(err, OTTER_EFORMAT, "more bytes than one answer");
    c->in[head + body] = '\0';
    *a = (fsim_answer){
        .status = status, .body = c->in + head, .body_len = body, .close = close_after};
    return 1;
}

int fsim_conn_event(fsim_conn *c, int epfd, uint32_t events, fsim_answer *a, otter_err *err)
{
    int ret = 0;
    if (c->state == FSIM_IDLE) {
        /* The server closed an idle keep-alive connection: not an error, reconnect later. */
        fsim_conn_close(c, epfd);
        return 0;
    }
    if (c->state == FSIM_CONNECTING) {
        int e = 0;
        socklen_t l = sizeof e;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e) {
            ret = otter_err_sys(err, OTTER_EIO, e ? e : errno, "connect");
            goto fail;
        }
        c->state = FSIM_SENDING;
    }
    if (c->state == FSIM_SENDING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (w < 0) {
            ret = otter_err_sys(err, OTTER_EIO, errno, "send");
            goto fail;
        }
        c->out_off += (size_t)w;
        if (c->out_off < c->out_len)
            return 0;
        c->state = FSIM_RECEIVING;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = c->index};
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
            ret = otter_err_sys(err, OTTER_EIO, errno, "epoll_ctl");
            goto fail;
        }
        return 0;
    }
    if (c->state != FSIM_RECEIVING)
        return 0;
    ssize_t r = recv(c->fd, c->in + c->in_len, FSIM_IN_MAX - c->in_len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0) {
        ret = r == 0 ? otter_err_set(err, OTTER_EIO, "connection closed before the answer")
                     : otter_err_sys(err, OTTER_EIO, errno, "recv");
        goto fail;
    }
    c->in_len += (size_t)r;
    if ((ret = parse(c, a, err)) <= 0) {
        if (ret < 0)
            goto fail;
        return 0;
    }
    if (a->close) {
        /* The answer stays readable in c->in after the socket is gone. */
        fsim_conn_close(c, epfd);
    } else {
        c->state = FSIM_IDLE;
    }
    return 1;
fail:
    fsim_conn_close(c, epfd);
    return ret;
}
