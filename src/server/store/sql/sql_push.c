/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's query for push wake-up (otter_store_push.h), on either
 * engine (otter_sql.h): the devices of a rollout whose action waits in a
 * given status, by the actions' rollout index.
 */

#include <stdint.h>

#include "otter_sql.h"

struct push_rows {
    otter_store_push_cb cb;
    void *ctx;
};

static int push_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    struct push_rows *r = ctx;
    const char *cid = otter_sql_text(st, 0);
    if (cid && r->cb(r->ctx, cid) < 0)
        return otter_err_set(err, OTTER_ENOMEM, "listing devices to wake: out of memory");
    return 0;
}

int otter_store_push_devices(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                             const char *status, otter_store_push_cb cb, void *ctx, otter_err *err)
{
    struct push_rows r = {cb, ctx};
    int64_t upto = up_to_stage < 0 ? INT64_MAX : up_to_stage;
    return otter_sql_read(
        s, "listing devices to wake", push_row, &r, err,
        "SELECT d.controller_id FROM actions a JOIN devices d ON d.id = a.device_id"
        " WHERE a.rollout_id = ? AND a.status = ?"
        " AND coalesce(a.stage, 0) <= ? ORDER BY d.id",
        "iti", rollout_id, status, upto);
}

int otter_store_push_device_of(otter_store *s, int64_t action_id, otter_store_push_cb cb, void *ctx,
                               otter_err *err)
{
    struct push_rows r = {cb, ctx};
    return otter_sql_read(
        s, "finding the device to wake", push_row, &r, err,
        "SELECT d.controller_id FROM actions a JOIN devices d ON d.id = a.device_id"
        " WHERE a.id = ?",
        "i", action_id);
}
