/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard follows a campaign (issue #15, docs/rollouts.md "Changing
 * the campaign controls", "Push state"):
 *
 * - GET/PUT /rollouts/{rollout}/campaign: a rollout's schedule, deferral
 *   limits and urgent flag after its creation. PUT replaces all three,
 *   audited (rollout.campaign). Devices already in the rollout follow the
 *   new values at once, because DDI judges them on every request
 *   (otter_ddi_campaign.c): the next maintenanceWindow comes from the new
 *   schedule, the deferrals a device used count against a lowered limit,
 *   an urgent rollout refuses every further postponement. A running
 *   rollout's offered devices get a push wake-up to learn it.
 * - GET /push: the server's publisher (configured, connected, counters).
 * - GET /rollouts/{rollout}/push: that and the wake-ups sent for the
 *   rollout's stages (this server's record, otter_publish_wakeups).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_campaign.h"
#include "otter_json.h"
#include "otter_reqjson.h"
#include "otter_rollout.h"

#define CAMPAIGN_BODY_MAX (16 * 1024)
#define WAKEUPS_MAX 50

/* The tenant's rollout {rollout} into *r (caller frees), or answers 404. */
static int load(struct call *c, otter_rollout **r)
{
    otter_err err;
    int found = 0;
    int64_t id = api_id_param(c->param[0]);
    *r = malloc(sizeof **r);
    if (!*r)
        return api_fail(c, 500, "path", "out of memory");
    if (id && otter_rollout_load(c->api->store, c->tenant.id, id, *r, &found, &err) < 0) {
        free(*r);
        *r = NULL;
        return api_fail_err(c, "path", &err);
    }
    if (!found) {
        free(*r);
        *r = NULL;
        return api_fail(c, 404, "path", "no rollout '%.20s'", c->param[0]);
    }
    return 0;
}

/* {rollout, maintenance_schedule, window_open_now?, deferrals{max, max_seconds}, urgent}. */
static int reply(struct call *c, const otter_rollout *r)
{
    json_t *doc = json_pack("{s:I}", "rollout", (json_int_t)r->id);
    api_campaign_doc_add(c, doc, r->id);
    return api_reply(c, 200, doc);
}

int api_rollout_campaign_get(struct call *c)
{
    otter_rollout *r;
    int status = load(c, &r);
    if (status)
        return status;
    status = reply(c, r);
    free(r);
    return status;
}

/*
 * Body {"maintenance_schedule": {...} | null, "deferrals": {max?, max_seconds?} | null,
 * "urgent": bool}: every key, so that what is not sent is never silently kept or lost.
 */
static int parse_body(struct call *c, otter_campaign *k, char *where, otter_err *err)
{
    static const char *const known[] = {"maintenance_schedule", "deferrals", "urgent", NULL};
    json_t *root = NULL;
    int ret;
    snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body");
    if (otter_reqjson_depth(c->req->body, c->req->body_len, (unsigned)c->api->cfg->json_depth) >
        (size_t)c->api->cfg->json_depth)
        return otter_err_set(err, OTTER_EFORMAT, "JSON nested deeper than allowed");
    if ((ret = otter_json_load(c->req->body, c->req->body_len, CAMPAIGN_BODY_MAX, "body", &root,
                               err)) < 0)
        return ret;
    if (!json_is_object(root))
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "body: want {\"maintenance_schedule\", \"deferrals\", \"urgent\"}");
    else if ((ret = otter_json_known_keys(root, known, "body", err)) == 0) {
        for (size_t i = 0; ret == 0 && known[i]; i++)
            if (!json_object_get(root, known[i])) {
                snprintf(where, OTTER_CAMPAIGN_WHERE_MAX, "body.%s", known[i]);
                ret = otter_err_set(err, OTTER_EFORMAT,
                                    "body.%s: missing (PUT sets every campaign control; null "
                                    "for none, urgent false)",
                                    known[i]);
            }
    }
    if (ret == 0)
        ret = otter_campaign_from_json(root, k, where, err);
    json_decref(root);
    return ret;
}

/* The audit detail: the controls as stored, compact JSON (caller frees). */
static char *detail_of(const otter_rollout *r, const otter_campaign *k)
{
    json_t *doc = json_pack("{s:I}", "rollout", (json_int_t)r->id);
    char *text = NULL;
    if (doc) {
        otter_campaign_doc_add(doc, k);
        text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    }
    json_decref(doc);
    return text;
}

int api_rollout_campaign_set(struct call *c)
{
    otter_err err;
    otter_campaign *k = malloc(sizeof *k);
    otter_rollout *r = NULL;
    char where[OTTER_CAMPAIGN_WHERE_MAX], *detail = NULL;
    int status = k ? load(c, &r) : api_fail(c, 500, "path", "out of memory");
    if (status)
        goto out;
    if (strcmp(r->state, "finished") == 0 || strcmp(r->state, "canceled") == 0) {
        status = api_fail(c, 409, "path", "rollout %s is %s: its campaign controls no longer apply",
                          r->name, r->state);
        goto out;
    }
    if (parse_body(c, k, where, &err) < 0) {
        status = api_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, where, "%s", err.msg);
        goto out;
    }
    if (!(detail = detail_of(r, k))) {
        status = api_fail(c, 500, "body", "out of memory");
        goto out;
    }
    /* Offered devices of a running rollout poll at once: the window may have opened. */
    if (api_begin(c, &err) < 0 || otter_store_campaign_set(c->api->store, r->id, k, &err) < 0 ||
        api_audit(c, "rollout.campaign", r->name, detail, &err) < 0 ||
        (strcmp(r->state, "running") == 0 &&
         otter_publish_batch_rollout(c->api->publish, &c->wake, c->api->store, c->tenant.name,
                                     r->id, r->current_stage, "scheduled", &err) < 0)) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    otter_rollout_touch();
    status = reply(c, r);
out:
    free(detail);
    free(r);
    free(k);
    return status;
}

/* {enabled, connected, published, dropped, queued}: the server's publisher, all tenants. */
static json_t *publisher_doc(struct call *c)
{
    otter_publish_stats st;
    otter_publish_stats_get(c->api->publish, &st);
    return json_pack("{s:b, s:b, s:I, s:I, s:I}", "enabled", st.enabled, "connected", st.connected,
                     "published", (json_int_t)st.published, "dropped", (json_int_t)st.dropped,
                     "queued", (json_int_t)st.queued);
}

int api_tenant_push_get(struct call *c)
{
    return api_reply(c, 200, publisher_doc(c));
}

static int add_wakeup(void *ctx, const otter_publish_wakeup *w)
{
    json_t *e = json_pack("{s:o, s:o, s:s, s:I, s:I}", "at", api_time(w->at), "stage",
                          w->stage >= 0 ? json_integer((json_int_t)w->stage) : json_null(), "kind",
                          strcmp(w->kind, "canceling") == 0 ? "cancel" : "offer", "devices",
                          (json_int_t)w->devices, "dropped", (json_int_t)w->dropped);
    return json_array_append_new(ctx, e);
}

int api_rollout_push_get(struct call *c)
{
    otter_rollout *r;
    int status = load(c, &r);
    if (status)
        return status;
    json_t *doc = publisher_doc(c), *arr = json_array();
    if (doc && arr) {
        otter_publish_wakeups(c->api->publish, r->id, WAKEUPS_MAX, add_wakeup, arr);
        json_object_set_new(doc, "rollout", json_integer((json_int_t)r->id));
        json_object_set(doc, "wakeups", arr);
    }
    json_decref(arr);
    free(r);
    return api_reply(c, 200, doc);
}
