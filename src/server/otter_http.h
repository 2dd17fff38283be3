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
    void *conn; /* private */
} otter_http_request;

#define OTTER_HTTP_RETRY_AFTER_MAX 24

typedef struct otter_http_response {
    int status;
    char *body; /* owned by the response (malloc), may be NULL */
    size_t body_len;
    const char *content_type;                     /* static string; default application/json */
    char retry_after[OTTER_HTTP_RETRY_AFTER_MAX]; /* "" or seconds for a Retry-After header */
    const char *www_authenticate;                 /* static string or NULL */
    /* For static files (the dashboard); API handlers leave these zero. */
    const unsigned char *static_body; /* sent instead of body (body_len bytes); not freed */
    const char *cache_control;        /* static string; default "no-store" */
    const char *etag;                 /* static string or NULL: an ETag header */
    const char *const *headers;       /* static {name, value, ..., NULL} list of more headers */
} otter_http_response;

/* Called once per complete request, from a pool thread. Must set resp->status. */
typedef void (*otter_http_handler)(void *ctx, const otter_http_request *req,
                                   otter_http_response *resp);

typedef struct otter_http_opts {
    unsigned threads;
    unsigned connection_timeout; /* seconds */
    unsigned max_connections;
    uint64_t max_body;
    const char *cert_pem; /* TLS when both set: PEM text, not paths */
    const char *key_pem;
} otter_http_opts;

/* A header or query argument value (borrowed for the duration of the handler), or NULL. */
const char *otter_http_header(const otter_http_request *req, const char *name);
const char *otter_http_query(const otter_http_request *req, const char *name);

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

/* Stops accepting, finishes in-flight requests, frees h. NULL is allowed. */
void otter_http_stop(otter_http *h);

#endif
