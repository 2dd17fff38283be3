/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deployments without rollouts: an operator assigns a release to devices
 * (by name or by group) and each assignment becomes one DDI action; actions
 * can be read and canceled. Rollouts and approvals create and steer the
 * same actions later (rollout_id and stage are set then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_fleet.h"
#include "otter_rollout.h"

static int word_in(const char *w, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(w, *allowed) == 0)
            return 1;
    return 0;
}

struct deploy {
    struct call *c;
    otter_action proto;
    const json_t *compatible; /* the release's models, NULL = any */
    json_t *created;
    json_t *skipped;
    int by_group; /* [push] group_topics and a group deployment: one wake-up for the group */
    int64_t last_id;
    size_t seen;
};

static int assign(struct deploy *dp, const otter_device *d, otter_err *err)
{
    otter_action open_a, a = dp->proto;
    int found = 0;
    int64_t id = 0;
    dp->last_id = d->id;
    dp->seen++;
    int ret = otter_store_action_open(dp->c->api->store, d->id, &open_a, &found, err);
    if (ret < 0)
        return ret;
    if (!otter_release_fits_device(dp->compatible, d))
        /* The device would refuse the package (docs/rollouts.md "Compatible models"). */
        return json_array_append_new(dp->skipped,
                                     json_pack("{s:s, s:s}", "controller_id", d->controller_id,
                                               "reason", "model not compatible")) == 0
                   ? 0
                   : OTTER_ENOMEM;
    if (found && open_a.release_id == a.release_id) {
        /* Assigning what the device is already working on would only queue a duplicate. */
        return json_array_append_new(dp->skipped,
                                     json_pack("{s:s, s:s, s:I}", "controller_id", d->controller_id,
                                               "reason", "already assigned", "action",
                                               (json_int_t)open_a.id)) == 0
                   ? 0
                   : OTTER_ENOMEM;
    }
    a.device_id = d->id;
    if ((ret = otter_store_action_create(dp->c->api->store, &a, dp->c->user.id, dp->c->now, &id,
                                         err)) < 0)
        return ret;
    if (!dp->by_group)
        otter_publish_batch_add(dp->c->api->publish, &dp->c->wake, dp->c->tenant.name,
                                OTTER_PUSH_DEVICE, d->controller_id);
    return json_array_append_new(dp->created, json_pack("{s:I, s:s}", "id", (json_int_t)id,
                                                        "controller_id", d->controller_id)) == 0
               ? 0
               : OTTER_ENOMEM;
}

static int assign_cb(void *ctx, const otter_device *d)
{
    struct deploy *dp = ctx;
    otter_err err;
    int ret = assign(dp, d, &err);
    if (ret < 0)
        fprintf(stderr, "otter-server: deployment: %s\n", err.msg);
    return ret;
}

/* Every device of the group, 1000 at a time (the store's page size). */
static int assign_group(struct deploy *dp, const char *group, otter_err *err)
{
    otter_device_filter f = {.tenant_id = dp->c->tenant.id, .group = group, .limit = 1000};
    for (;;) {
        size_t before = dp->seen;
        f.after_id = dp->last_id;
        int ret = otter_store_device_list(dp->c->api->store, &f, assign_cb, dp, err);
        if (ret < 0)
            return ret == OTTER_ENOMEM ? otter_err_set(err, ret, "out of memory")
                                       : otter_err_set(err, ret, "assigning the group failed");
        if (dp->seen - before < f.limit)
            return 0;
    }
}

/* Assigns the release to every device of group; 0, or the status already answered. */
static int assign_named_group(struct deploy *dp, const char *group)
{
    struct call *c = dp->c;
    otter_err err;
    otter_group g;
    int found = 0;
    if (otter_store_group_get(c->api->store, c->tenant.id, group, &g, &found, &err) < 0)
        return api_fail_err(c, "body.group", &err);
    if (!found)
        return api_fail(c, 400, "body.group", "no group '%s'", group);
    dp->by_group = c->api->cfg->push_group_topics;
    if (assign_group(dp, group, &err) < 0)
        return api_fail_err(c, "body.group", &err);
    if (dp->by_group && json_array_size(dp->created))
        otter_publish_batch_add(c->api->publish, &c->wake, c->tenant.name, OTTER_PUSH_GROUP, group);
    return 0;
}

/* Assigns the release to each device named in devices (one controller id a line). */
static int assign_names(struct deploy *dp, const char *devices, otter_device *d)
{
    struct call *c = dp->c;
    otter_err err;
    for (const char *p = devices; *p;) {
        size_t n = strcspn(p, "\n");
        char cid[OTTER_STORE_NAME_MAX + 1];
        int found = 0;
        snprintf(cid, sizeof cid, "%.*s", (int)n, p);
        p += n + (p[n] == '\n');
        if (otter_store_device_get(c->api->store, c->tenant.id, cid, d, &found, &err) < 0)
            return api_fail_err(c, "body.devices", &err);
        if (!found)
            return api_fail(c, 400, "body.devices", "no device '%s'", cid);
        if (!otter_release_fits_device(dp->compatible, d))
            return api_fail(c, 409, "body.devices",
                            "device '%s': its model (configData 'model', else the registered "
                            "one) is not in the release's compatible list",
                            cid);
        if (assign(dp, d, &err) < 0)
            return api_fail_err(c, "body.devices", &err);
    }
    return 0;
}

int api_deployments_create(struct call *c)
{
    static const char *const modes[] = {"skip", "attempt", "forced", NULL};
    static const char *const windows[] = {"available", "unavailable", NULL};
    otter_err err;
    otter_release r;
    int status;
    const char *devices = otter_reqjson_str(&c->body, "devices");
    const char *group = otter_reqjson_str(&c->body, "group");
    const char *download = otter_reqjson_str(&c->body, "download");
    const char *update = otter_reqjson_str(&c->body, "update");
    const char *window = otter_reqjson_str(&c->body, "maintenance_window");
    const char *consent = otter_reqjson_str(&c->body, "consent");
    if ((devices != NULL) == (group != NULL))
        return api_fail(c, 400, "body", "give either devices or group");
    if (download && !word_in(download, modes))
        return api_fail(c, 400, "body.download", "download is skip, attempt or forced");
    if (update && !word_in(update, modes))
        return api_fail(c, 400, "body.update", "update is skip, attempt or forced");
    if (window && !word_in(window, windows))
        return api_fail(c, 400, "body.maintenance_window", "available or unavailable");
    if ((status = api_load_release(c, otter_reqjson_int(&c->body, "release"), &r)) != 0) {
        api_fail_where(c, "body.release");
        return status;
    }
    if ((status = api_require_approved(c, &r, "body.release")) != 0)
        return status;
    json_t *compatible = NULL;
    if (otter_release_compatible(c->api->store, c->tenant.id, r.id, &compatible, &err) < 0)
        return api_fail_err(c, "body.release", &err);
    struct deploy dp = {
        .c = c, .compatible = compatible, .created = json_array(), .skipped = json_array()};
    dp.proto.tenant_id = c->tenant.id;
    dp.proto.release_id = r.id;
    snprintf(dp.proto.download, sizeof dp.proto.download, "%s", download ? download : "forced");
    snprintf(dp.proto.update, sizeof dp.proto.update, "%s", update ? update : "forced");
    snprintf(dp.proto.maintenance, sizeof dp.proto.maintenance, "%s", window ? window : "");
    if (otter_fleet_consent(consent, download || update, dp.proto.consent, dp.proto.download,
                            dp.proto.update, &err) < 0) {
        status = api_fail(c, 400, "body.consent", "%s", err.msg);
        goto out_arrays;
    }
    otter_device *d = malloc(sizeof *d);
    if (!d || !dp.created || !dp.skipped) {
        status = api_fail(c, 500, "body", "out of memory");
        goto out;
    }
    if (api_begin(c, &err) < 0) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    if ((status = group ? assign_named_group(&dp, group) : assign_names(&dp, devices, d)) != 0)
        goto out;
    char detail[160];
    snprintf(detail, sizeof detail, "{\"release\":%lld,\"actions\":%zu}", (long long)r.id,
             json_array_size(dp.created));
    char object[160];
    snprintf(object, sizeof object, "%s %s", r.product, r.version);
    if (api_audit(c, "deployment.create", object, detail, &err) < 0) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    status = api_reply(c, 201,
                       json_pack("{s:I, s:O, s:O}", "release", (json_int_t)r.id, "actions",
                                 dp.created, "skipped", dp.skipped));
out:
    free(d);
out_arrays:
    json_decref(compatible);
    json_decref(dp.created);
    json_decref(dp.skipped);
    return status;
}

static int load_action(struct call *c, otter_action *a)
{
    otter_err err;
    int found = 0;
    int64_t id = api_id_param(c->param[0]);
    if (id && otter_store_action_get(c->api->store, id, a, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found || a->tenant_id != c->tenant.id)
        return api_fail(c, 404, "path", "no action '%.20s'", c->param[0]);
    return 0;
}

int api_actions_get(struct call *c)
{
    otter_action a;
    int status = load_action(c, &a);
    if (status)
        return status;
    return api_reply(c, 200, api_action_doc(c, &a, 1));
}

int api_actions_cancel(struct call *c)
{
    otter_err err;
    otter_action a;
    int status = load_action(c, &a);
    if (status)
        return status;
    /*
     * Not yet seen by the device: canceled at once. Already running: the
     * device is told through DDI cancelAction and confirms with feedback.
     */
    otter_action_state next;
    otter_action_result result;
    int moved = 0;
    if (otter_action_step(&a, OTTER_ACTION_EV_CANCEL, &next, &result, &moved, &err) < 0)
        return api_fail(c, 409, "path", "%s", err.msg);
    char object[32];
    snprintf(object, sizeof object, "%lld", (long long)a.id);
    if (api_begin(c, &err) < 0 ||
        otter_store_action_set_status(c->api->store, a.id, otter_action_state_word(next),
                                      otter_action_result_word(result), c->now, &err) < 0 ||
        api_audit(c, "action.cancel", object, NULL, &err) < 0 ||
        (next == OTTER_ACTION_CANCELING &&
         otter_publish_batch_action(c->api->publish, &c->wake, c->api->store, c->tenant.name, a.id,
                                    &err) < 0))
        return api_fail_err(c, "path", &err);
    snprintf(a.status, sizeof a.status, "%s", otter_action_state_word(next));
    a.updated_at = c->now;
    return api_reply(c, 200, api_action_doc(c, &a, 0));
}

/*
 * Opens or closes an open action's maintenance window: a device told
 * "unavailable" downloads and waits; "available" lets it install at its
 * next poll (DDI deploymentBase carries the window).
 */
int api_actions_maintenance(struct call *c)
{
    static const char *const windows[] = {"available", "unavailable", NULL};
    otter_err err;
    otter_action a;
    int status = load_action(c, &a);
    if (status)
        return status;
    const char *w = otter_reqjson_str(&c->body, "maintenance_window");
    if (!word_in(w, windows))
        return api_fail(c, 400, "body.maintenance_window", "available or unavailable");
    otter_action_state st = otter_action_state_of(&a);
    if (st != OTTER_ACTION_SCHEDULED && st != OTTER_ACTION_RUNNING)
        return api_fail(c, 409, "path", "action %lld is %s: its window no longer matters",
                        (long long)a.id, a.status);
    char object[32], detail[64];
    snprintf(object, sizeof object, "%lld", (long long)a.id);
    snprintf(detail, sizeof detail, "{\"maintenance_window\":\"%s\"}", w);
    if (api_begin(c, &err) < 0 ||
        otter_store_action_set_maintenance(c->api->store, a.id, w, c->now, &err) < 0 ||
        api_audit(c, "action.maintenance", object, detail, &err) < 0 ||
        (w[0] == 'a' && otter_publish_batch_action(c->api->publish, &c->wake, c->api->store,
                                                   c->tenant.name, a.id, &err) < 0))
        return api_fail_err(c, "path", &err);
    snprintf(a.maintenance, sizeof a.maintenance, "%s", w);
    a.updated_at = c->now;
    return api_reply(c, 200, api_action_doc(c, &a, 0));
}
