/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT push wake-up, the device's side (issue #15, docs/agent.md
 * "[push]"): otter-agentd keeps one TLS connection to the broker with the
 * device's own credentials and subscribes to its topic and its groups'
 * (otter_push_msg.h). A "poll" message, and every (re)subscription, makes
 * a poll due: libmosquitto's thread writes to an eventfd the daemon's
 * loop waits on (and calls notify, for a loop that waits on something
 * else: the control API's condition variable). Polling stays the
 * fallback, at the server's interval.
 *
 * Why a poll on every (re)connect instead of a persistent session with
 * QoS 1: a wake-up published while the device was offline (or the broker
 * restarting) is then never lost, whatever the broker kept; a clean
 * session costs the broker no queue per offline device (millions), and
 * the price is one DDI poll per reconnect.
 */
#ifndef OTTER_PUSH_H
#define OTTER_PUSH_H

#include <stddef.h>

#include "otter_agent_conf.h"
#include "otter_err.h"
#include "otter_push_msg.h"

/* Topics a device subscribes to at most: its own and up to 15 groups. */
#define OTTER_PUSH_TOPICS_MAX 16

typedef struct otter_push otter_push;

/* Broker address from [push] url (mqtts://HOST[:PORT], IPv6 in brackets; port 8883 default). */
typedef struct otter_push_addr {
    char host[256];
    int port;
} otter_push_addr;

/*
 * Checks [push] of conf and fills what the connection needs: addr, and
 * topics[0..*n) (the device's, then each of groups). Rules: url is
 * mqtts:// (the wake-up carries no secret, but the password does), a
 * password needs a username, cert needs key, some credential is set,
 * [server] tenant and controller_id can be topic levels. OTTER_EFORMAT
 * naming the key.
 */
int otter_push_conf_check(const otter_agent_conf *conf, otter_push_addr *addr,
                          char topics[][OTTER_PUSH_TOPIC_MAX + 1], size_t *n, otter_err *err);

/*
 * Starts the connection in the background (libmosquitto's thread; it
 * reconnects with back-off, 1 s doubling to 60 s). *out is NULL when
 * [push] url is empty. notify(ctx) (may be NULL) is called from that
 * thread whenever a poll becomes due, after the eventfd was written.
 * conf is borrowed. OTTER_EFORMAT (otter_push_conf_check), OTTER_EIO.
 */
int otter_push_start(const otter_agent_conf *conf, void (*notify)(void *ctx), void *ctx,
                     otter_push **out, otter_err *err);

/* The eventfd that is readable while a poll is due; -1 for NULL. */
int otter_push_fd(const otter_push *p);

/* Clears the due poll; 1 when one was due. NULL: 0. */
int otter_push_take(otter_push *p);

/* Disconnects and frees; NULL is fine. */
void otter_push_free(otter_push *p);

#endif
