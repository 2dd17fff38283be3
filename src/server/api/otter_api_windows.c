/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Campaign controls in the management API (issue #15, docs/rollouts.md
 * "Maintenance schedules", "Deferrals"): a device group's maintenance
 * schedule (GET/PUT /groups/{group}/maintenance-schedule), and a
 * rollout's schedule and deferral limits, stored with the rollout and
 * shown in its document and its stats.
 */
#include <stdio.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_campaign.h"
#include "otter_json.h"
#include "otter_window.h"

#define SCHEDULE_BODY_MAX (16 * 1024)

/* The schedule text as {schedule, open_now}: open_now judged at the server's clock. */
static void schedule_add(json_t *doc, const char *text)
{
    otter_schedule s;
    otter_err err;
    int open = 0;
    if (!*text || otter_schedule_parse(text, strlen(text), &s, &err) < 0) {
        json_object_set_new(doc, "maintenance_schedule", json_null());
        return;
    }
    json_object_set_new(doc, "maintenance_schedule", otter_schedule_json(&s));
    if (otter_schedule_open(&s, otter_window_now(), &open, &err) < 0)
        open = 0;
    json_object_set_new(doc, "window_open_now", json_boolean(open));
}

static int group_doc(struct call *c, const otter_group *g, int status)
{
    otter_err err;
    char text[OTTER_STORE_SCHEDULE_MAX + 1];
    if (otter_store_group_schedule_get(c->api->store, g->id, text, sizeof text, &err) < 0)
        return api_fail_err(c, "path", &err);
    json_t *doc = json_pack("{s:s}", "group", g->name);
    if (doc)
        schedule_add(doc, text);
    return api_reply(c, status, doc);
}

int api_groups_schedule_get(struct call *c)
{
    otter_group g;
    int status = api_load_group(c, &g);
    return status ? status : group_doc(c, &g, 200);
}

/* Body {"maintenance_schedule": {time_zone, windows} | null}. */
static int parse_group_body(struct call *c, char *text, size_t size, char *where, otter_err *err)
{
    static const char *const known[] = {"maintenance_schedule", NULL};
    json_t *root = NULL;
    otter_schedule s;
    int ret = 0;
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "body");
    text[0] = '\0';
    if (otter_reqjson_depth(c->req->body, c->req->body_len, (unsigned)c->api->cfg->json_depth) >
        (size_t)c->api->cfg->json_depth)
        return otter_err_set(err, OTTER_EFORMAT, "JSON nested deeper than allowed");
    if ((ret = otter_json_load(c->req->body, c->req->body_len, SCHEDULE_BODY_MAX, "body", &root,
                               err)) < 0)
        return ret;
    const json_t *v = json_object_get(root, "maintenance_schedule");
    if (!json_is_object(root))
        ret = otter_err_set(err, OTTER_EFORMAT, "body: want {\"maintenance_schedule\": ...}");
    else if ((ret = otter_json_known_keys(root, known, "body", err)) == 0 && !v)
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "body.maintenance_schedule: missing (null removes the schedule)");
    else if (ret == 0 && !json_is_null(v) &&
             (ret = otter_schedule_from_json(v, "body.maintenance_schedule", &s, where, err)) == 0)
        ret = otter_schedule_text(&s, text, size, err);
    json_decref(root);
    return ret;
}

int api_groups_schedule_set(struct call *c)
{
    otter_err err;
    otter_group g;
    char text[OTTER_STORE_SCHEDULE_MAX + 1], where[OTTER_WINDOW_WHERE_MAX];
    int status = api_load_group(c, &g);
    if (status)
        return status;
    if (parse_group_body(c, text, sizeof text, where, &err) < 0)
        return api_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, where, "%s", err.msg);
    if (api_begin(c, &err) < 0 ||
        otter_store_group_schedule_set(c->api->store, g.id, text, &err) < 0 ||
        api_audit(c, "group.schedule", g.name, text[0] ? text : "null", &err) < 0)
        return api_fail_err(c, "path", &err);
    return group_doc(c, &g, 200);
}

static int add_group_schedule(void *ctx, const otter_group *g)
{
    struct call *c = ctx;
    otter_err err;
    char text[OTTER_STORE_SCHEDULE_MAX + 1];
    json_t *arr = json_object_get(c->out, "groups");
    if (otter_store_group_schedule_get(c->api->store, g->id, text, sizeof text, &err) < 0)
        return err.code;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *doc = json_array_get(arr, i);
        if (strcmp(json_string_value(json_object_get(doc, "name")), g->name) == 0)
            schedule_add(doc, text);
    }
    return 0;
}

int api_groups_schedules_add(struct call *c)
{
    otter_err err;
    if (c->out &&
        otter_store_group_list(c->api->store, c->tenant.id, add_group_schedule, c, &err) < 0)
        return api_fail_err(c, "groups", &err);
    return 200;
}

/* ---- rollouts ---- */

int api_campaign_store(struct call *c, int64_t rollout_id, otter_err *err)
{
    otter_campaign k;
    char where[OTTER_CAMPAIGN_WHERE_MAX];
    /* The body passed otter_rollout_request_parse, which checks these keys the same way. */
    int ret = otter_campaign_request_parse(c->req->body, c->req->body_len,
                                           (unsigned)c->api->cfg->json_depth, &k, where, err);
    if (ret == 0)
        ret = otter_store_campaign_set(c->api->store, rollout_id, &k, err);
    return ret;
}

void api_campaign_doc_add(struct call *c, json_t *doc, int64_t rollout_id)
{
    otter_campaign k;
    otter_err err;
    int found = 0;
    if (!doc || otter_store_campaign_get(c->api->store, rollout_id, &k, &found, &err) < 0)
        return;
    otter_campaign_doc_add(doc, &k);
    if (k.schedule[0])
        schedule_add(doc, k.schedule);
}

int api_campaign_stats_add(otter_store *store, json_t *doc, int64_t rollout_id, otter_err *err)
{
    otter_campaign k;
    int64_t total = 0, exhausted = 0;
    int found = 0;
    if (!doc)
        return 0;
    int ret = otter_store_campaign_get(store, rollout_id, &k, &found, err);
    if (ret == 0)
        ret = otter_store_rollout_deferrals(store, rollout_id, k.deferral_max, &total, &exhausted,
                                            err);
    if (ret == 0)
        json_object_set_new(
            doc, "deferrals",
            json_pack("{s:I, s:I, s:o, s:b}", "total", (json_int_t)total, "exhausted",
                      (json_int_t)exhausted, "max",
                      k.deferral_max >= 0 ? json_integer(k.deferral_max) : json_null(), "urgent",
                      k.urgent));
    return ret == 0 ? api_skipped_stats_add(store, doc, rollout_id, err) : ret;
}
