/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by otter_http.c (requests) and otter_http_send.c (answers) only.
 */
#ifndef OTTER_HTTP_INTERNAL_H
#define OTTER_HTTP_INTERNAL_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "otter_http.h"
#include "otter_http_guard.h"
#include "otter_http_lane.h"

struct otter_http {
    struct MHD_Daemon *d;
    otter_http_handler handler;
    void *ctx;
    uint64_t max_body;
    unsigned port;
    int tls;
    const otter_http_upload *upload;
    const otter_http_observer *observer;
    otter_http_guard *guard; /* head checks and the head deadline */
    otter_http_lane *lane;   /* where slow handlers run, or NULL */
    int (*slow)(void *ctx, const otter_http_request *req);
    /*
     * Streams with nothing to say are parked (MHD_suspend_connection) and
     * woken together by the ticker thread, so a quiet stream costs neither
     * a thread nor a busy loop. MHD must not be stopped with a connection
     * parked: stopping sets closing under the lock, wakes everyone, and
     * streams end instead of parking again.
     */
    pthread_mutex_t streams_lock;
    pthread_cond_t streams_cond;
    struct MHD_Connection *parked[OTTER_HTTP_STREAMS_MAX];
    size_t n_parked;
    struct otter_http_paced *paced; /* parked paced file bodies (otter_http_pace.c) */
    size_t n_streams;
    int closing;
    int ticker_started;
    pthread_t ticker;
};

/* One open stream: what pull() needs to park its connection. */
struct stream_conn {
    struct otter_http *h;
    struct MHD_Connection *c;
    otter_http_stream s;
};

/* Per-request state between the calls MHD makes while the body arrives. */
struct pending {
    char *buf;
    size_t len;
    size_t cap;
    int too_large;
    int answered;   /* a response was queued before the body (refused upload) */
    int refused;    /* refused upload whose small body is read and dropped first */
    void *sink;     /* streamed body (upload->open said so) */
    uint64_t limit; /* bytes the sink accepts */
    uint64_t streamed;
    int sink_failed;
    char *path;
    char client[INET6_ADDRSTRLEN + 8];
    /* For the observer: what was answered, and when the headers came in. */
    int route;
    int status;
    int head;
    uint64_t body_bytes;
    uint64_t start_ns;
    void (*sent)(void *ctx, int completed, uint64_t bytes); /* the response's hook, or NULL */
    void *sent_ctx;
    /* The slow lane: 1 while the handler runs there, 2 when its answer waits, 3 sent. */
    int lane;
    const char *method; /* MHD's, valid for the request */
    struct otter_http *h;
    struct MHD_Connection *c;
    otter_http_response lane_resp;
};

static inline uint64_t otter_http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Frees what r owns (body, headers, descriptor). */
void otter_http_response_clear(otter_http_response *r);
/* Queues r (and frees what it owns); p, when given, keeps status and length for the observer. */
enum MHD_Result otter_http_send_response(struct MHD_Connection *c, otter_http_response *r,
                                         struct pending *p);
/* Queues a streamed response; the stream is released in every case. */
enum MHD_Result otter_http_send_stream(struct otter_http *h, struct MHD_Connection *c,
                                       otter_http_response *r);
/* Refuses a request whose head is malformed and closes the connection after the answer. */
enum MHD_Result otter_http_send_bad_head(struct MHD_Connection *c, struct pending *p, int status,
                                         const char *why);
enum MHD_Result otter_http_send_413(struct MHD_Connection *c, struct pending *p);
/*
 * A paced file body for r (r->pace set; otter_http_pace.c): takes r's pace
 * and, when the caller then clears r->fd_set, its descriptor; NULL on failure.
 */
struct MHD_Response *otter_http_paced_new(struct otter_http *h, struct MHD_Connection *c,
                                          otter_http_response *r);
/* Under streams_lock: resumes every parked paced body (the ticker). */
void otter_http_paced_resume(struct otter_http *h);
/* The thread that wakes parked streams and reaps late heads, every OTTER_HTTP_STREAM_TICK_MS. */
void *otter_http_ticker_main(void *arg);

#endif
