/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT push wake-up, the server's side (issue #15, docs/operations.md
 * "Push wake-up"): when an action becomes available to a device (a
 * rollout starts or advances, a deployment, a cancel, a maintenance
 * window opens) the server publishes "poll" to the device's topic or its
 * group's (otter_push_msg.h), and the device polls DDI at once.
 *
 * A request handler never waits for the broker: otter_publish_send()
 * only moves topics into a bounded queue; one publisher thread hands them
 * to libmosquitto, whose own thread keeps the connection (reconnecting
 * with back-off). A wake-up that finds the queue full or the broker
 * unreachable is dropped and counted: polling still reaches every device,
 * only later. Nothing here is needed for correctness.
 */
#ifndef OTTER_PUBLISH_H
#define OTTER_PUBLISH_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_server_config.h"
#include "otter_store.h"

typedef struct otter_publish otter_publish;

/*
 * Connects to [push] broker in the background and starts the publisher.
 * *out is NULL when [push] broker is not set (push off). cfg is borrowed
 * and must outlive the publisher. OTTER_ENOMEM, OTTER_EIO (libmosquitto
 * refused the settings: a TLS file it cannot read).
 */
int otter_publish_new(const otter_server_config *cfg, otter_publish **out, otter_err *err);

/* Stops the threads and disconnects; what is still queued is dropped. NULL is fine. */
void otter_publish_free(otter_publish *p);

/* Counters for /metrics and the API; p may be NULL (all zero, enabled 0). */
typedef struct otter_publish_stats {
    int enabled;        /* [push] broker is set */
    int connected;      /* the broker accepted our connection and it is up now */
    uint64_t published; /* wake-ups handed to the broker */
    uint64_t dropped;   /* wake-ups lost: queue full, broker down, topic refused */
    uint64_t queued;    /* waiting now */
} otter_publish_stats;
void otter_publish_stats_get(otter_publish *p, otter_publish_stats *st);

/*
 * The Prometheus text of the counters (otter_publish_* series), written
 * with put(putctx, fmt, ...); ctx is the otter_publish (may be NULL).
 */
void otter_publish_render(void *ctx, void (*put)(void *putctx, const char *fmt, ...), void *putctx);

/*
 * Wake-ups collected while a request runs and sent only once its
 * transaction committed (a device woken before the commit would find
 * nothing new). A batch is a growing list of topics, at most [push] queue
 * long (more are counted as dropped when sent).
 */
typedef struct otter_publish_batch otter_publish_batch;

/*
 * Adds the topic of a device (kind OTTER_PUSH_DEVICE, name its controller
 * id) or group (OTTER_PUSH_GROUP) of tenant to *b (made on first use).
 * p NULL (push off): nothing. A name that cannot be a topic is skipped
 * (logged): a wake-up is never worth failing a request for.
 */
void otter_publish_batch_add(otter_publish *p, otter_publish_batch **b, const char *tenant,
                             int kind, const char *name);

/*
 * Adds the devices of rollout_id (of tenant) that have an action in
 * stage 0..up_to_stage with status ("scheduled", "canceling"), read in
 * the caller's transaction; up_to_stage < 0: every stage. p NULL: nothing.
 */
int otter_publish_batch_rollout(otter_publish *p, otter_publish_batch **b, otter_store *s,
                                const char *tenant, int64_t rollout_id, int64_t up_to_stage,
                                const char *status, otter_err *err);

/* Adds the device of action_id (of tenant), read in the caller's transaction. p NULL: nothing. */
int otter_publish_batch_action(otter_publish *p, otter_publish_batch **b, otter_store *s,
                               const char *tenant, int64_t action_id, otter_err *err);

/* Queues every topic of b (never blocks) and frees b. p or b NULL: frees b only. */
void otter_publish_send(otter_publish *p, otter_publish_batch *b);

/* Frees b without sending (the request failed). NULL is fine. */
void otter_publish_batch_free(otter_publish_batch *b);

/*
 * The wake-ups sent for rollouts (the dashboard follows a campaign by
 * them): each otter_publish_send() of a batch filled by
 * otter_publish_batch_rollout() leaves one record, the newest
 * OTTER_PUBLISH_LOG_MAX of this server instance kept in memory (a restart
 * forgets them; several instances each keep their own).
 */
#define OTTER_PUBLISH_LOG_MAX 512
typedef struct otter_publish_wakeup {
    int64_t rollout_id;
    int64_t at;       /* unix seconds, when queued */
    int64_t stage;    /* up to this stage (-1: every stage) */
    char kind[12];    /* "scheduled" (an offer) or "canceling" (a cancel) */
    uint64_t devices; /* topics queued for the publisher */
    uint64_t dropped; /* topics that found the queue full */
} otter_publish_wakeup;

/*
 * Calls fn for the records of rollout_id, newest first, at most max of
 * them; p NULL: none. fn returns nonzero to stop.
 */
void otter_publish_wakeups(otter_publish *p, int64_t rollout_id, size_t max,
                           int (*fn)(void *ctx, const otter_publish_wakeup *w), void *ctx);

/* The kinds of otter_publish_batch_add (otter_push_msg.h). */
#include "otter_push_msg.h"

#endif
