/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet simulator's MQTT side (issue #15, push wake-up): one broker
 * connection per simulated device, subscribed to the device's own topic
 * at QoS 1, as otter-agentd's [push] is (otter_push_topic builds it, the
 * payload is checked with otter_push_payload_parse). libmosquitto's
 * non-threaded API: every socket is in the simulator's epoll set (data.u32
 * = FSIM_MQTT_TAG | device), so 10,000 devices need no thread each.
 * The agent's ways are kept: a connection lost is retried after 1 s,
 * doubling to 60 s; after every (re)subscription the device polls once.
 */
#ifndef FLEETSIM_MQTT_H
#define FLEETSIM_MQTT_H

#include <stdint.h>

#include "otter_err.h"

/* Marks an epoll event as an MQTT socket's; the low bits are the device. */
#define FSIM_MQTT_TAG 0x80000000u

enum { FSIM_MQTT_SUBSCRIBED, FSIM_MQTT_MESSAGE, FSIM_MQTT_LOST };

/* Called for device d on each of the events above (from the simulator's own loop). */
typedef void (*fsim_mqtt_fn)(void *ctx, int d, int event);

typedef struct fsim_mqtt fsim_mqtt;

typedef struct fsim_mqtt_counts {
    uint64_t connects;   /* connections made (CONNECT sent) */
    uint64_t failed;     /* connection attempts that failed (broker down) */
    uint64_t subscribed; /* subscriptions granted (every reconnection subscribes again) */
    uint64_t messages;   /* wake-ups received */
    uint64_t ignored;    /* messages that were not exactly the wake-up */
    uint64_t lost;       /* connections lost */
    uint64_t refused;    /* CONNECT or SUBSCRIBE refused by the broker */
    long up;             /* devices subscribed right now */
} fsim_mqtt_counts;

/*
 * Prepares n clients for broker (127.0.0.1:PORT or [::1]:PORT only) with
 * topics <prefix>/<tenant>/dev/<cids[d]>. Connections are made by
 * fsim_mqtt_tick, a bounded number per call. OTTER_EUSAGE for a bad
 * broker or topic, OTTER_ENOMEM.
 */
int fsim_mqtt_new(fsim_mqtt **out, const char *broker, const char *prefix, const char *tenant,
                  char *const *cids, long n, int epfd, fsim_mqtt_fn fn, void *ctx, otter_err *err);

/* Moves device d's connection on after an epoll event on its socket. */
void fsim_mqtt_event(fsim_mqtt *m, int d, uint32_t events);

/* Connects and reconnects whoever is due, keeps connections alive; now: monotonic ns. */
void fsim_mqtt_tick(fsim_mqtt *m, int64_t now);

void fsim_mqtt_counts_get(const fsim_mqtt *m, fsim_mqtt_counts *out);

/* Disconnects and frees everything (m may be NULL). */
void fsim_mqtt_free(fsim_mqtt *m);

#endif
