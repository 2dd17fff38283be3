/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's campaign controls (otter_store_windows.h). None of these
 * writes changes a base poll's answer: the maintenance window and the
 * deferral limits are read afresh whenever a device reads its
 * deploymentBase, so all of them are quiet writes.
 */
#include <string.h>

#include "otter_sql.h"

int otter_store_campaign_set(otter_store *s, int64_t rollout_id, const otter_campaign *c,
                             otter_err *err)
{
    return otter_sql_write_quiet(s, "setting the rollout's campaign controls", NULL, err,
                                 "INSERT INTO rollout_campaign(rollout_id, schedule, deferral_max,"
                                 " deferral_seconds, urgent) VALUES (?, ?, ?, ?, ?)"
                                 " ON CONFLICT (rollout_id) DO UPDATE SET"
                                 " schedule = excluded.schedule,"
                                 " deferral_max = excluded.deferral_max,"
                                 " deferral_seconds = excluded.deferral_seconds,"
                                 " urgent = excluded.urgent",
                                 "itiii", rollout_id, c->schedule, c->deferral_max,
                                 c->deferral_seconds, (int64_t)(c->urgent != 0));
}

static int campaign_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    otter_campaign *c = ctx;
    if (otter_sql_copy(st, 0, c->schedule, sizeof c->schedule, err) < 0)
        return OTTER_EFORMAT;
    c->deferral_max = otter_sql_int(st, 1);
    c->deferral_seconds = otter_sql_int(st, 2);
    c->urgent = otter_sql_int(st, 3) != 0;
    return 1;
}

int otter_store_campaign_get(otter_store *s, int64_t rollout_id, otter_campaign *out, int *found,
                             otter_err *err)
{
    *out = OTTER_CAMPAIGN_NONE;
    int ret = otter_sql_read(s, "reading the rollout's campaign controls", campaign_row, out, err,
                             "SELECT schedule, deferral_max, deferral_seconds, urgent"
                             " FROM rollout_campaign WHERE rollout_id = ?",
                             "i", rollout_id);
    *found = ret == 1;
    return ret < 0 ? ret : 0;
}

int otter_store_group_schedule_set(otter_store *s, int64_t group_id, const char *schedule,
                                   otter_err *err)
{
    if (!*schedule)
        return otter_sql_write_quiet(s, "removing the group's schedule", NULL, err,
                                     "DELETE FROM group_schedules WHERE group_id = ?", "i",
                                     group_id);
    return otter_sql_write_quiet(s, "setting the group's schedule", NULL, err,
                                 "INSERT INTO group_schedules(group_id, schedule) VALUES (?, ?)"
                                 " ON CONFLICT (group_id) DO UPDATE SET"
                                 " schedule = excluded.schedule",
                                 "it", group_id, schedule);
}

struct text_buf {
    char *buf;
    size_t size;
};

static int text_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    struct text_buf *t = ctx;
    return otter_sql_copy(st, 0, t->buf, t->size, err) < 0 ? OTTER_EFORMAT : 1;
}

int otter_store_group_schedule_get(otter_store *s, int64_t group_id, char *buf, size_t size,
                                   otter_err *err)
{
    struct text_buf t = {buf, size};
    buf[0] = '\0';
    int ret =
        otter_sql_read(s, "reading the group's schedule", text_row, &t, err,
                       "SELECT schedule FROM group_schedules WHERE group_id = ?", "i", group_id);
    return ret < 0 ? ret : 0;
}

struct schedule_walk {
    otter_store_schedule_cb cb;
    void *ctx;
};

static int schedule_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    struct schedule_walk *w = ctx;
    const char *name = otter_sql_text(st, 0), *schedule = otter_sql_text(st, 1);
    return w->cb(w->ctx, name ? name : "", schedule ? schedule : "");
}

int otter_store_device_schedules(otter_store *s, int64_t device_id, otter_store_schedule_cb cb,
                                 void *ctx, otter_err *err)
{
    struct schedule_walk w = {cb, ctx};
    int ret = otter_sql_read(s, "reading the device's group schedules", schedule_row, &w, err,
                             "SELECT g.name, gs.schedule FROM group_members m"
                             " JOIN device_groups g ON g.id = m.group_id"
                             " JOIN group_schedules gs ON gs.group_id = m.group_id"
                             " WHERE m.device_id = ? ORDER BY g.name",
                             "i", device_id);
    return ret < 0 ? ret : 0;
}

int otter_store_action_deferrals(otter_store *s, int64_t action_id, int64_t *out, otter_err *err)
{
    *out = 0;
    int ret = otter_sql_read(s, "reading the action's deferrals", otter_sql_int_row, out, err,
                             "SELECT deferrals FROM actions WHERE id = ?", "i", action_id);
    return ret < 0 ? ret : 0;
}

int otter_store_action_defer(otter_store *s, int64_t action_id, otter_err *err)
{
    return otter_sql_write_quiet(s, "counting a deferral", NULL, err,
                                 "UPDATE actions SET deferrals = deferrals + 1 WHERE id = ?", "i",
                                 action_id);
}

struct deferral_sums {
    int64_t total, exhausted;
};

static int sums_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    struct deferral_sums *d = ctx;
    d->total = otter_sql_int(st, 0);
    d->exhausted = otter_sql_int(st, 1);
    return 1;
}

int otter_store_rollout_deferrals(otter_store *s, int64_t rollout_id, int64_t deferral_max,
                                  int64_t *total, int64_t *exhausted, otter_err *err)
{
    struct deferral_sums d = {0, 0};
    int ret = otter_sql_read(
        s, "counting the rollout's deferrals", sums_row, &d, err,
        "SELECT coalesce(sum(deferrals), 0),"
        " coalesce(sum(CASE WHEN ? >= 0 AND deferrals >= ? AND status IN ('scheduled','running')"
        " THEN 1 ELSE 0 END), 0) FROM actions WHERE rollout_id = ? AND superseded_by IS NULL",
        "iii", deferral_max, deferral_max, rollout_id);
    *total = d.total;
    *exhausted = d.exhausted;
    return ret < 0 ? ret : 0;
}
