/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet simulator's HTTP/1.1 client connections: non-blocking sockets
 * driven by the simulator's epoll loop, keep-alive, one request in flight
 * per connection, answers read by Content-Length. Only what otter-server
 * sends is understood (no chunked bodies): anything else is an error.
 */
#ifndef FLEETSIM_CONN_H
#define FLEETSIM_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "otter_err.h"

#define FSIM_OUT_MAX 1024
#define FSIM_IN_MAX 16384

enum fsim_state { FSIM_CLOSED, FSIM_CONNECTING, FSIM_IDLE, FSIM_SENDING, FSIM_RECEIVING };

typedef struct fsim_conn {
    int fd;
    enum fsim_state state;
    uint32_t index; /* epoll data of its socket */
    int reused;     /* the request went out on a kept-alive socket */
    int device;     /* the device whose request is in flight, -1 when none */
    int kind;       /* what the simulator asked (its own numbering) */
    int64_t sent_ns;
    char out[FSIM_OUT_MAX];
    size_t out_len, out_off;
    char in[FSIM_IN_MAX + 1];
    size_t in_len;
} fsim_conn;

/* What a finished exchange gave. */
typedef struct fsim_answer {
    int status;       /* HTTP status */
    const char *body; /* borrowed from the connection, NUL-terminated, until the next request */
    size_t body_len;
    int close; /* the server closes the connection after it */
} fsim_answer;

/*
 * Starts sending out[0..out_len) on c, connecting first when c has no
 * socket (addr/len: the server). Registers the socket with epfd (data.u32
 * = index). OTTER_EIO when the socket cannot be created or registered.
 */
int fsim_conn_start(fsim_conn *c, int epfd, uint32_t index, const struct sockaddr *addr,
                    socklen_t len, otter_err *err);

/*
 * Moves c on after an epoll event. Returns 0 when more is to come, 1 when
 * an answer is complete (*a set; c is idle again or closed), or a negative
 * otter_code (the socket is closed; OTTER_EIO for I/O failures, OTTER_EFORMAT
 * for an answer we cannot read).
 */
int fsim_conn_event(fsim_conn *c, int epfd, uint32_t events, fsim_answer *a, otter_err *err);

/* Closes c's socket (if any); the connection can be started again. */
void fsim_conn_close(fsim_conn *c, int epfd);

#endif
