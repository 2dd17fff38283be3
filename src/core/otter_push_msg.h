/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT push wake-up (issue #15, docs/operations.md "Push wake-up"): the
 * topic names and the one message both sides agree on. The server and
 * the agent build topics here, so they cannot drift apart, and the agent
 * parses the payload here (untrusted bytes from the broker: fuzz_push).
 *
 *   <prefix>/<tenant>/dev/<controller id>   one device
 *   <prefix>/<tenant>/group/<group>         every device of a group
 *
 * The payload is the four bytes "poll": a wake-up carries no data, so a
 * forged one can make a device poll its server early and nothing else.
 */
#ifndef OTTER_PUSH_MSG_H
#define OTTER_PUSH_MSG_H

#include <stddef.h>

#include "otter_err.h"

/* A topic is at most this many bytes (NUL excluded). */
#define OTTER_PUSH_TOPIC_MAX 255
/* The prefix: 1..64 bytes of [A-Za-z0-9._-] and inner '/'. */
#define OTTER_PUSH_PREFIX_MAX 64
/* The wake-up message. */
#define OTTER_PUSH_PAYLOAD "poll"

enum { OTTER_PUSH_DEVICE = 0, OTTER_PUSH_GROUP = 1 };

/* 0 when prefix is a valid topic prefix, else OTTER_EFORMAT naming the fault. */
int otter_push_prefix_check(const char *prefix, otter_err *err);

/*
 * Writes the topic of a device (kind OTTER_PUSH_DEVICE, name = controller
 * id) or a group of tenant into out (cap bytes). Names must be 1..128 bytes
 * without '/', '+', '#', NUL or control characters (MQTT wildcards would
 * widen a subscription or an ACL): OTTER_EFORMAT otherwise, or when the
 * topic does not fit.
 */
int otter_push_topic(const char *prefix, const char *tenant, int kind, const char *name, char *out,
                     size_t cap, otter_err *err);

/* 0 when buf[0..len) is exactly the wake-up message, else OTTER_EFORMAT. */
int otter_push_payload_parse(const void *buf, size_t len, otter_err *err);

#endif
