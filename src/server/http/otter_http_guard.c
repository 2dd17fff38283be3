/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_http_guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

/* One tracked connection; lives in its MHD socket_context from STARTED to CLOSED. */
struct tracked {
    struct tracked *prev, *next;
    int fd;
    int in_request; /* head in, request not ended: no deadline */
    int shut;       /* shut down already: once is enough */
    uint64_t since; /* start of the wait for the current head (monotonic ns) */
};

struct otter_http_guard {
    pthread_mutex_t lock;
    struct tracked *head;
    uint64_t timeout_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

otter_http_guard *otter_http_guard_new(unsigned head_timeout_s)
{
    otter_http_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    g->timeout_ns = (uint64_t)head_timeout_s * 1000000000u;
    return g;
}

void otter_http_guard_free(otter_http_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void otter_http_guard_started(otter_http_guard *g, struct MHD_Connection *c, void **socket_context)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct tracked *t = ci ? calloc(1, sizeof *t) : NULL;
    *socket_context = t;
    if (!t)
        return; /* untracked: only the idle timeout applies to it */
    t->fd = ci->connect_fd;
    t->since = mono_ns();
    pthread_mutex_lock(&g->lock);
    t->next = g->head;
    if (g->head)
        g->head->prev = t;
    g->head = t;
    pthread_mutex_unlock(&g->lock);
}

void otter_http_guard_closed(otter_http_guard *g, void **socket_context)
{
    struct tracked *t = *socket_context;
    if (!t)
        return;
    pthread_mutex_lock(&g->lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        g->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&g->lock);
    free(t);
    *socket_context = NULL;
}

static struct tracked *tracked_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void otter_http_guard_head_in(otter_http_guard *g, struct MHD_Connection *c)
{
    struct tracked *t = tracked_of(c);
    if (!t)
        return;
    pthread_mutex_lock(&g->lock);
    t->in_request = 1;
    pthread_mutex_unlock(&g->lock);
}

void otter_http_guard_request_done(otter_http_guard *g, struct MHD_Connection *c)
{
    struct tracked *t = tracked_of(c);
    if (!t)
        return;
    pthread_mutex_lock(&g->lock);
    t->in_request = 0;
    t->since = mono_ns();
    pthread_mutex_unlock(&g->lock);
}

void otter_http_guard_reap(otter_http_guard *g)
{
    uint64_t now = mono_ns();
    pthread_mutex_lock(&g->lock);
    for (struct tracked *t = g->head; t; t = t->next) {
        /*
         * A connection that started (or whose request ended) after the clock
         * read above has since > now: unsigned, now - since would be a
         * wait of centuries and the connection shut down just as its
         * request came in (test_http_guard.c; the ASan flake of
         * test_server_rollout_it_pg: "Server returned nothing").
         */
        if (t->in_request || t->shut || t->since > now || now - t->since < g->timeout_ns)
            continue;
        /*
         * Bytes we have not read yet: the lateness is ours (the connection's
         * pool thread is busy, e.g. with a password check), not the client's.
         * A slow client's bytes are read as they come, so its buffer is empty.
         */
        int unread = 0;
        if (ioctl(t->fd, FIONREAD, &unread) == 0 && unread > 0)
            continue;
        /* Not close(): the descriptor stays MHD's until its CLOSED notification. */
        shutdown(t->fd, SHUT_RDWR);
        t->shut = 1;
    }
    pthread_mutex_unlock(&g->lock);
}

/* What the head says about its framing, counted over every field line. */
struct framing {
    unsigned host, content_length, transfer_encoding;
    int length_malformed; /* a Content-Length that is not 1*DIGIT */
    int coding_unknown;   /* a Transfer-Encoding other than "chunked" */
};

static enum MHD_Result count_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        f->host++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->content_length++;
        if (!value || !value[0] || strspn(value, "0123456789") != strlen(value))
            f->length_malformed = 1;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        if (!value || strcasecmp(value, "chunked") != 0)
            f->coding_unknown = 1;
    }
    return MHD_YES;
}

int otter_http_guard_check_head(struct MHD_Connection *c, const char *version, const char **why)
{
    struct framing f = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_field, &f);
    int http10 = strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
    /* RFC 9112 3.2: an HTTP/1.1 request needs exactly one Host (RFC 9110 7.2). */
    if (!http10 && f.host == 0)
        *why = "an HTTP/1.1 request needs a Host header";
    else if (f.host > 1)
        *why = "more than one Host header";
    /*
     * RFC 9112 6.3: both framings, or two lengths, make the end of the body
     * a matter of opinion between us and any proxy in front of us.
     */
    else if (f.transfer_encoding && f.content_length)
        *why = "both Transfer-Encoding and Content-Length";
    else if (f.content_length > 1)
        *why = "more than one Content-Length header";
    else if (f.length_malformed)
        *why = "Content-Length is not a number";
    else if (f.transfer_encoding && http10)
        *why = "Transfer-Encoding in an HTTP/1.0 request";
    else if (f.transfer_encoding > 1)
        *why = "more than one Transfer-Encoding header";
    else if (f.coding_unknown) {
        /* RFC 9112 6.1: a coding we do not implement is 501, and the framing is unknown. */
        *why = "the only transfer coding served is chunked";
        return 501;
    } else
        return 0;
    return 400;
}
