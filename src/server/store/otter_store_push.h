/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's one query for push wake-up (issue #15, otter_publish.h):
 * which devices of a rollout have an action a wake-up is for. Read only.
 * Conventions as otter_store.h.
 */
#ifndef OTTER_STORE_PUSH_H
#define OTTER_STORE_PUSH_H

#include <stdint.h>

#include "otter_err.h"

typedef int (*otter_store_push_cb)(void *ctx, const char *controller_id);

/*
 * Calls cb with the controller id of each device whose action in
 * rollout_id is in status (e.g. "scheduled") and in a stage up to
 * up_to_stage (< 0: any stage), in device order.
 */
int otter_store_push_devices(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                             const char *status, otter_store_push_cb cb, void *ctx, otter_err *err);

/* Calls cb with the controller id of the device of action_id (not at all when there is none). */
int otter_store_push_device_of(otter_store *s, int64_t action_id, otter_store_push_cb cb, void *ctx,
                               otter_err *err);

#endif
