/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Campaign controls in what DDI offers (issue #15, docs/ddi.md "Maintenance
 * schedules" and "Deferrals"):
 *
 * - maintenanceWindow derived from schedules: the rollout's schedule and
 *   the schedules of the device's groups. The window is available when the
 *   rollout's schedule (if any) is open and, if any of the device's groups
 *   has a schedule, one of those is open. Outside it the device is told
 *   maintenanceWindow "unavailable" and update "skip" with the download
 *   mode unchanged (hawkBit: download ahead, install inside the window).
 *   An action's own maintenance_window (set by an operator) wins over
 *   every schedule: it is the operator's override.
 * - deferral limits as chunk metadata: otter.deferrals_left (absent: no
 *   limit), otter.deferral_max_seconds, otter.urgent; a postponement the
 *   limits do not allow is refused (409) when the device reports it.
 */
#include <stdio.h>
#include <string.h>

#include "otter_campaign.h"
#include "otter_ddi_internal.h"
#include "otter_window.h"

struct group_verdict {
    int any, open;
};

static int judge_group(void *ctx, const char *group, const char *text)
{
    struct group_verdict *v = ctx;
    otter_schedule s;
    otter_err err;
    int open = 0;
    v->any = 1;
    /* A schedule that cannot be judged holds installs back (closed), and says why. */
    if (otter_schedule_parse(text, strlen(text), &s, &err) < 0 ||
        otter_schedule_open(&s, otter_window_now(), &open, &err) < 0)
        fprintf(stderr, "otter-server: group %s: %s\n", group, err.msg);
    v->open |= open;
    return 0;
}

/* *governed: some schedule applies; *open: the window is available now. */
static int window_of(struct ddi_call *c, const otter_campaign *k, int *governed, int *open,
                     otter_err *err)
{
    struct group_verdict g = {0, 0};
    int rollout_open = 1;
    if (k->schedule[0]) {
        otter_schedule s;
        otter_err why;
        rollout_open = 0;
        if (otter_schedule_parse(k->schedule, strlen(k->schedule), &s, &why) < 0 ||
            otter_schedule_open(&s, otter_window_now(), &rollout_open, &why) < 0)
            fprintf(stderr, "otter-server: rollout schedule: %s\n", why.msg);
    }
    if (otter_store_device_schedules(c->ddi->store, c->dev->id, judge_group, &g, err) < 0)
        return err->code;
    *governed = k->schedule[0] || g.any;
    *open = rollout_open && (!g.any || g.open);
    return 0;
}

static void meta_add(json_t *arr, const char *key, const char *value)
{
    json_array_append_new(arr, json_pack("{s:s, s:s}", "key", key, "value", value));
}

static void deferral_meta(const otter_campaign *k, int64_t used, json_t *meta)
{
    char n[24];
    int64_t left = otter_campaign_deferrals_left(k, used);
    if (k->urgent)
        meta_add(meta, "otter.urgent", "1");
    if (left >= 0) {
        snprintf(n, sizeof n, "%lld", (long long)left);
        meta_add(meta, "otter.deferrals_left", n);
    }
    if (k->deferral_seconds > 0 && left != 0) {
        snprintf(n, sizeof n, "%lld", (long long)k->deferral_seconds);
        meta_add(meta, "otter.deferral_max_seconds", n);
    }
}

int ddi_campaign_apply(struct ddi_call *c, const otter_action *a, json_t *dep, json_t *meta)
{
    otter_err err;
    otter_campaign k = OTTER_CAMPAIGN_NONE;
    int found = 0, governed = 0, open = 1;
    int64_t used = 0;
    if (a->rollout_id &&
        (otter_store_campaign_get(c->ddi->store, a->rollout_id, &k, &found, &err) < 0 ||
         otter_store_action_deferrals(c->ddi->store, a->id, &used, &err) < 0))
        return ddi_fail_err(c, &err);
    if (!a->maintenance[0]) {
        if (window_of(c, &k, &governed, &open, &err) < 0)
            return ddi_fail_err(c, &err);
        if (governed)
            json_object_set_new(dep, "maintenanceWindow",
                                json_string(open ? "available" : "unavailable"));
        if (governed && !open)
            json_object_set_new(dep, "update", json_string("skip"));
    }
    if (meta)
        deferral_meta(&k, used, meta);
    return 0;
}

int ddi_deferral_check(struct ddi_call *c, const otter_action *a, const char *choice, int64_t until)
{
    otter_err err;
    otter_campaign k;
    int found = 0;
    int64_t used = 0;
    if (strcmp(choice, "postponed") != 0 || !a->rollout_id)
        return 0;
    if (otter_store_campaign_get(c->ddi->store, a->rollout_id, &k, &found, &err) < 0 ||
        otter_store_action_deferrals(c->ddi->store, a->id, &used, &err) < 0)
        return ddi_fail_err(c, &err);
    if (otter_campaign_deferral_check(&k, used, until - c->now, &err) < 0)
        return ddi_fail(c, 409, "action %lld: %s", (long long)a->id, err.msg);
    return 0;
}
