/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP layer's front door, private to otter_http*.c (it sees
 * libmicrohttpd): the checks a request head must pass before any handler
 * sees it (RFC 9112 framing: Host, Content-Length, Transfer-Encoding), and
 * a deadline for the whole head of every request.
 *
 * libmicrohttpd's own connection timeout restarts on every byte, so a
 * client that sends its head one byte a second keeps a connection (and a
 * slot of max_connections) for as long as it likes. The guard tracks every
 * connection from its start (or from the end of its previous request) to
 * the moment its head is in; one past head_timeout whose bytes have all
 * been read (so the wait is the client's, not a busy pool thread's) is
 * shut down (shutdown(2): libmicrohttpd then sees the end of the stream
 * and closes it itself). A connection in a request (reading its body, sending its
 * answer, or an event stream) is not the guard's business.
 */
#ifndef OTTER_HTTP_GUARD_H
#define OTTER_HTTP_GUARD_H

#include <microhttpd.h>
#include <stdint.h>

typedef struct otter_http_guard otter_http_guard;

/* A new guard whose heads must be in within head_timeout_s seconds; NULL when out of memory. */
otter_http_guard *otter_http_guard_new(unsigned head_timeout_s);

/* Frees g; every connection must have been closed (otter_http_guard_closed). NULL is allowed. */
void otter_http_guard_free(otter_http_guard *g);

/*
 * From MHD's connection notification: STARTED begins tracking c (its
 * entry goes into *socket_context), CLOSED stops it. libmicrohttpd calls
 * CLOSED before it closes the socket, so the guard never shuts down a
 * descriptor that was reused by another connection.
 */
void otter_http_guard_started(otter_http_guard *g, struct MHD_Connection *c, void **socket_context);
void otter_http_guard_closed(otter_http_guard *g, void **socket_context);

/* The head of c's current request is in: no deadline until the request ends. */
void otter_http_guard_head_in(otter_http_guard *g, struct MHD_Connection *c);

/* c's request ended: the head of the next one on the connection has its own deadline from now. */
void otter_http_guard_request_done(otter_http_guard *g, struct MHD_Connection *c);

/* Shuts down every connection whose head is late (called a few times a second). */
void otter_http_guard_reap(otter_http_guard *g);

/*
 * Checks the head of a request (version as MHD gives it). Returns 0 when
 * it may be served, else the status to refuse it with (400, or 501 for a
 * transfer coding other than chunked) and sets *why to a static message.
 * A refused request must be answered with "Connection: close": after a
 * head whose framing is ambiguous, nothing that follows on the connection
 * can be trusted to be a request of its own (request smuggling).
 */
int otter_http_guard_check_head(struct MHD_Connection *c, const char *version, const char **why);

#endif
