/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP layer over libmicrohttpd: one listener per address (epoll,
 * internal thread pool), optional TLS, bodies collected up to a limit and
 * refused with 413 beyond it without being buffered. Handlers see a plain
 * request and fill a plain response; nothing else includes microhttpd.h.
 */
#ifndef OTTER_HTTP_H
#define OTTER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

typedef struct otter_http otter_http;

typedef struct otter_http_request {
    const char *method;
    const char *path;   /* percent-decoded path, no query string */
    const char *client; /* numeric client address */
    const char *body;   /* NULL when empty; not NUL-terminated */
    size_t body_len;
    int tls;      /* arrived over HTTPS */
    void *upload; /* the sink of a streamed body (see otter_http_upload), else NULL */
    void *conn;   /* private */
} otter_http_request;

#define OTTER_HTTP_RETRY_AFTER_MAX 24
#define OTTER_HTTP_HEADERS_MAX 8

/*
 * A body produced over time (Server-Sent Events). pull() fills buf and
 * returns the byte count; 0 when it has nothing yet (the connection is
 * parked and pull() asked again within OTTER_HTTP_STREAM_TICK_MS); -1 ends
 * the stream. release() is called once when the connection is done.
 * pull() runs on a server thread: it must not block.
 */
#define OTTER_HTTP_STREAM_TICK_MS 250
#define OTTER_HTTP_STREAMS_MAX 256
/* How often parked paced file bodies (bandwidth caps, otter_http_pace.c) ask again. */
#define OTTER_HTTP_PACE_TICK_MS 20

typedef struct otter_http_stream {
    long (*pull)(void *ctx, char *buf, size_t cap);
    void (*release)(void *ctx);
    void *ctx; /* owned by the stream: given to release() */
} otter_http_stream;

typedef struct otter_http_response {
    int status;
    char *body; /* owned by the response (malloc), may be NULL */
    size_t body_len;
    const char *content_type;                     /* static string; default application/json */
    char retry_after[OTTER_HTTP_RETRY_AFTER_MAX]; /* "" or seconds for a Retry-After header */
    const char *www_authenticate;                 /* static string or NULL */
    /* Extra headers (names static, values owned by the response, freed with it). */
    struct {
        const char *name;
        char *value;
    } headers[OTTER_HTTP_HEADERS_MAX];
    size_t n_headers;
    /*
     * A file body instead of `body`: fd_len bytes of fd from fd_offset, sent
     * with sendfile where possible. The response owns fd (closed after
     * sending) when fd_set is 1.
     */
    int fd_set;
    int fd;
    uint64_t fd_offset;
    uint64_t fd_len;
    /* For static files (the dashboard); other handlers leave these zero. */
    const unsigned char *static_body;  /* sent instead of body (body_len bytes); not freed */
    const char *cache_control;         /* static string; default "no-store" */
    const char *etag;                  /* static string or NULL: an ETag header */
    const char *const *static_headers; /* static {name, value, ..., NULL} list of more headers */
    /* A streamed body instead of `body` when stream.pull is set (status must be 200). */
    otter_http_stream stream;
    /*
     * Optional (issue #12, artifact bytes): sent(sent_ctx, completed, bytes)
     * is called exactly once when the request ends, whatever happened:
     * completed = 1 and bytes = the body length when the whole body went out
     * (a HEAD answer sends none: bytes 0), else 0 and 0. From a pool thread;
     * sent_ctx is the hook's to free.
     */
    void (*sent)(void *ctx, int completed, uint64_t bytes);
    void *sent_ctx;
    /*
     * Optional with fd_set (issue #15, bandwidth caps): the file body is read
     * block by block (no sendfile) and pace(pace_ctx, want) says how many of
     * want bytes may go now; 0 parks the connection, holding no thread, and
     * pace() is asked again within OTTER_HTTP_PACE_TICK_MS. pace_free(pace_ctx)
     * is called once when the response is done or dropped. From pool threads.
     */
    size_t (*pace)(void *ctx, size_t want);
    void (*pace_free)(void *ctx);
    void *pace_ctx;
} otter_http_response;

/* Adds a header with a copy of value; OTTER_ENOMEM or OTTER_EUSAGE when full. */
int otter_http_add_header(otter_http_response *resp, const char *name, const char *value);

/* Called once per complete request, from a pool thread. Must set resp->status. */
typedef void (*otter_http_handler)(void *ctx, const otter_http_request *req,
                                   otter_http_response *resp);

/*
 * Streamed request bodies (release uploads): when the headers of a request
 * are in, open() decides what happens to its body:
 *   returns 1 and sets *sink: every body chunk goes to write(sink, ...),
 *     bounded by *limit (set by open; 413 beyond it, also for chunked
 *     bodies); the handler then sees req->upload = sink;
 *   returns 0: the body is collected in memory up to max_body as usual;
 *   returns -1: the request is refused before its body is read: the
 *     handler runs at once with no body (e.g. it answers 401/403) and its
 *     response is sent; the body is never read.
 * write() returns 0, or negative to give up (the body is then dropped and
 * the handler sees req->upload = sink with its own error state). close()
 * is called once for every sink when the request ends, whatever happened.
 */
typedef struct otter_http_upload {
    int (*open)(void *ctx, const otter_http_request *req, void **sink, uint64_t *limit);
    int (*write)(void *sink, const void *data, size_t len);
    void (*close)(void *sink);
} otter_http_upload;

/*
 * Optional accounting of every request (the server's metrics); all three
 * run on pool threads, must be thread-safe and must not block:
 *   classify(ctx, path) when a request's headers are in: returns a route
 *     number that is handed back to done();
 *   done(ctx, route, status, completed, head, body_bytes, nanos) once per
 *     request that got an answer: its status, whether the response went
 *     out in full, HEAD or not, the body length, nanoseconds from its
 *     headers to its end;
 *   connection(ctx, +1 / -1) when a client connection opens or closes.
 */
typedef struct otter_http_observer {
    int (*classify)(void *ctx, const char *path);
    void (*done)(void *ctx, int route, int status, int completed, int head, uint64_t body_bytes,
                 uint64_t nanos);
    void (*connection)(void *ctx, int delta);
    void *ctx;
} otter_http_observer;

typedef struct otter_http_opts {
    unsigned threads;
    unsigned connection_timeout; /* seconds of silence before a connection is closed */
    unsigned head_timeout;       /* seconds for a whole request head (0: 30) */
    unsigned max_connections;
    unsigned max_connections_per_ip; /* 0: no limit */
    uint64_t max_body;
    const char *cert_pem; /* TLS when both set: PEM text, not paths */
    const char *key_pem;
    int request_client_cert;             /* TLS: ask clients for a certificate (optional) */
    const otter_http_upload *upload;     /* NULL: every body is collected in memory */
    const otter_http_observer *observer; /* NULL: no accounting */
    /*
     * Slow requests (password checks): slow(ctx, req) says which; their
     * handler runs on slow_threads threads of their own while the
     * connection is parked, so the pool keeps answering everyone else; with
     * 4 x slow_threads waiting already, one more gets 503 at once. NULL:
     * every handler runs on the pool.
     */
    int (*slow)(void *ctx, const otter_http_request *req);
    unsigned slow_threads;
} otter_http_opts;

/* A header or query argument value (borrowed for the duration of the handler), or NULL. */
const char *otter_http_header(const otter_http_request *req, const char *name);
const char *otter_http_query(const otter_http_request *req, const char *name);

/*
 * The certificate the client presented in the TLS handshake (the first of
 * its chain), as DER borrowed from the TLS session for the duration of the
 * handler: returns 1 with *der and *len, or 0 when there is none (plain
 * HTTP, none sent, or the listener does not ask: opts.request_client_cert).
 * Nothing is verified here: the caller does (otter_devcert_verify()).
 */
int otter_http_client_cert(const otter_http_request *req, const unsigned char **der, size_t *len);

/* True when this libmicrohttpd was built with TLS. */
int otter_http_tls_supported(void);

/*
 * Starts listening on hostport ("127.0.0.1:0" picks a free port). Caller
 * stops it with otter_http_stop(). OTTER_EUSAGE for TLS without support or
 * a bad address, OTTER_EIO when binding fails.
 */
int otter_http_start(const char *hostport, const otter_http_opts *opts, otter_http_handler handler,
                     void *ctx, otter_http **out, otter_err *err);

/* The bound port (the chosen one when started with port 0). */
unsigned otter_http_port(const otter_http *h);

/*
 * Stops accepting, ends open streams, finishes in-flight requests, frees
 * h. NULL is allowed.
 */
void otter_http_stop(otter_http *h);

#endif
