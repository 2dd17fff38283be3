/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd runs `otter-agent install|download ... --json` as a child
 * (the slot-writing process never links libcurl) and follows it:
 *   - progress lines become calls to ops->progress,
 *   - {"event": "verified"} (with --confirm-switch) asks ops->verified
 *     whether to switch; the answer goes to the child's standard input,
 *   - about once a second ops->tick may ask to stop the child (a cancel
 *     arrived): it gets SIGTERM and stops cleanly before the switch,
 *   - the last line that is not JSON is the child's verdict (its error).
 */
#ifndef OTTER_DAEMON_CHILD_H
#define OTTER_DAEMON_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include "otter_broker.h"

typedef struct otter_daemon_child_ops {
    void (*progress)(void *ctx, const char *image, uint64_t done, uint64_t total);
    int (*verified)(void *ctx, const char *version); /* 1: switch, 0: stop */
    int (*tick)(void *ctx);                          /* non-zero: stop the child */
    void *ctx;
} otter_daemon_child_ops;

/*
 * Has broker run otter-agent for req with our pipes as its standard input
 * and output, follows it and returns its exit status (2 when it could not
 * run or was killed; 1 when the broker refused the request). why gets its
 * last message line; *stopped is set when the child was stopped by tick
 * or by a "no" from verified.
 */
int otter_daemon_child_run(otter_broker *broker, const otter_broker_req *req,
                           const otter_daemon_child_ops *ops, char *why, size_t why_len,
                           int *stopped);

#endif
