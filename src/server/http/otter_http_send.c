/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What otter_http.c sends: a handler's response (body, file or embedded
 * bytes) with the headers every answer carries, event streams and the
 * ticker that wakes them, and the refusals made before any handler runs.
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otter_http_guard.h"
#include "otter_http_internal.h"

static const char too_large_body[] =
    "{\"error\":{\"code\":\"payload_too_large\","
    "\"message\":\"request body larger than the configured limit\",\"where\":\"body\"}}";

void otter_http_response_clear(otter_http_response *r)
{
    free(r->body);
    r->body = NULL;
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->headers[i].value);
    r->n_headers = 0;
    if (r->fd_set && r->fd >= 0)
        close(r->fd);
    r->fd_set = 0;
    if (r->sent) /* never handed to a request: nothing was sent */
        r->sent(r->sent_ctx, 0, 0);
    r->sent = NULL;
    if (r->pace_free)
        r->pace_free(r->pace_ctx);
    r->pace = NULL;
    r->pace_free = NULL;
}

/* The handler's headers and the ones every answer carries; frees r's owned parts. */
static void add_headers(struct MHD_Response *resp, otter_http_response *r, const char *default_type)
{
    for (size_t i = 0; i < r->n_headers; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    otter_http_response_clear(r);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : default_type);
    MHD_add_response_header(resp, "Cache-Control",
                            r->cache_control ? r->cache_control : "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

enum MHD_Result otter_http_send_response(struct MHD_Connection *c, otter_http_response *r,
                                         struct pending *p)
{
    const char *body = r->body ? r->body : "";
    size_t len = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    struct MHD_Response *resp;
    if (p) {
        p->status = r->status;
        p->body_bytes = r->fd_set ? r->fd_len : r->static_body ? r->body_len : len;
        /* The request's end (on_completed) tells the hook how it went. */
        p->sent = r->sent;
        p->sent_ctx = r->sent_ctx;
        r->sent = NULL;
    }
    if (r->fd_set) {
        /* MHD owns the descriptor from here (closed when the response is destroyed). */
        resp = r->pace && p && p->h
                   ? otter_http_paced_new(p->h, c, r)
                   : MHD_create_response_from_fd_at_offset64(r->fd_len, r->fd, r->fd_offset);
        if (resp)
            r->fd_set = 0;
    } else if (r->static_body) {
        /* Embedded bytes live as long as the program: sent in place. */
        resp = MHD_create_response_from_buffer(r->body_len, (void *)r->static_body,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        /* MHD copies the buffer; we free ours in every case. */
        resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    }
    if (!resp) {
        otter_http_response_clear(r);
        return MHD_NO;
    }
    add_headers(resp, r, "application/json");
    if (r->retry_after[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
    if (r->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_authenticate);
    if (r->etag)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    for (const char *const *h = r->static_headers; h && h[0] && h[1]; h += 2)
        MHD_add_response_header(resp, h[0], h[1]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_conn *sc = cls;
    struct otter_http *h = sc->h;
    pthread_mutex_lock(&h->streams_lock);
    int closing = h->closing;
    pthread_mutex_unlock(&h->streams_lock);
    if (closing)
        return MHD_CONTENT_READER_END_OF_STREAM;
    long n = sc->s.pull(sc->s.ctx, buf, max);
    if (n > 0)
        return (ssize_t)n;
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&h->streams_lock);
    if (h->closing) {
        pthread_mutex_unlock(&h->streams_lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* At most OTTER_HTTP_STREAMS_MAX streams exist, so there is always room. */
    h->parked[h->n_parked++] = sc->c;
    MHD_suspend_connection(sc->c);
    pthread_mutex_unlock(&h->streams_lock);
    return 0;
}

static void stream_free(void *cls)
{
    struct stream_conn *sc = cls;
    pthread_mutex_lock(&sc->h->streams_lock);
    sc->h->n_streams--;
    pthread_mutex_unlock(&sc->h->streams_lock);
    sc->s.release(sc->s.ctx);
    free(sc);
}

void *otter_http_ticker_main(void *arg)
{
    struct otter_http *h = arg;
    uint64_t next_stream = 0, next_pace = 0; /* monotonic; next_pace 0: not armed */
    pthread_mutex_lock(&h->streams_lock);
    for (;;) {
        uint64_t now = otter_http_now_ns();
        if (h->closing || now >= next_stream) {
            for (size_t i = 0; i < h->n_parked; i++)
                MHD_resume_connection(h->parked[i]);
            h->n_parked = 0;
            /* The same tick shuts down connections whose request head is late. */
            otter_http_guard_reap(h->guard);
            next_stream = now + OTTER_HTTP_STREAM_TICK_MS * 1000000ull;
        }
        /* Paced bodies (bandwidth caps) wait a short tick of their own. */
        if (h->closing || (next_pace && now >= next_pace)) {
            otter_http_paced_resume(h);
            next_pace = 0;
        }
        if (h->closing)
            break;
        if (h->paced && !next_pace)
            next_pace = now + OTTER_HTTP_PACE_TICK_MS * 1000000ull;
        uint64_t wake = next_pace && next_pace < next_stream ? next_pace : next_stream;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (wake - now);
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        /* Any wake-up (stop, a body parked, a timeout) goes round the loop again. */
        pthread_cond_timedwait(&h->streams_cond, &h->streams_lock, &until);
    }
    pthread_mutex_unlock(&h->streams_lock);
    return NULL;
}

static const char too_many_streams_body[] =
    "{\"error\":{\"code\":\"unavailable\","
    "\"message\":\"too many open event streams, try again later\",\"where\":\"path\"}}";

/* Queues a streamed response; the stream is released in every case. */
enum MHD_Result otter_http_send_stream(struct otter_http *h, struct MHD_Connection *c,
                                       otter_http_response *r)
{
    struct stream_conn *sc = calloc(1, sizeof *sc);
    pthread_mutex_lock(&h->streams_lock);
    int full = h->n_streams >= OTTER_HTTP_STREAMS_MAX || h->closing;
    if (!full && sc)
        h->n_streams++;
    pthread_mutex_unlock(&h->streams_lock);
    if (full || !sc) {
        r->stream.release(r->stream.ctx);
        r->stream.pull = NULL;
        free(sc);
        otter_http_response_clear(r);
        otter_http_response busy = {.status = 503, .body = strdup(too_many_streams_body)};
        snprintf(busy.retry_after, sizeof busy.retry_after, "5");
        return otter_http_send_response(c, &busy, NULL); /* event streams are not counted */
    }
    sc->h = h;
    sc->c = c;
    sc->s = r->stream;
    r->stream.pull = NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, sc, stream_free);
    if (!resp) {
        stream_free(sc);
        otter_http_response_clear(r);
        return MHD_NO;
    }
    add_headers(resp, r, "text/event-stream");
    /* Tells proxies that buffer (nginx) to pass events through at once. */
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static const char *const close_connection[] = {"Connection", "close", NULL};

/* Refuses a request whose head is malformed and closes the connection after the answer. */
enum MHD_Result otter_http_send_bad_head(struct MHD_Connection *c, struct pending *p, int status,
                                         const char *why)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"where\":\"header\"}}",
             status == 501 ? "not_implemented" : "bad_request", why);
    otter_http_response r = {
        .status = status, .body = strdup(body), .static_headers = close_connection};
    return otter_http_send_response(c, &r, p);
}

enum MHD_Result otter_http_send_413(struct MHD_Connection *c, struct pending *p)
{
    otter_http_response r = {.status = 413, .body = strdup(too_large_body)};
    return otter_http_send_response(c, &r, p);
}
