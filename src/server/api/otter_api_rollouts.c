/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Approvals and staged rollouts over the management API. A release rolls
 * out in its tenant (by rollout or direct deployment) only once an
 * approver of that tenant approved it; revoking the approval pauses its
 * running rollouts and withdraws its direct deployments not started yet.
 * Which moves are allowed is otter_fleet's rule; this file makes their
 * side effects, records who did what, and shapes the documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_store_follow.h"
#include "otter_fleet.h"
#include "otter_rollout.h"

/* ---- approvals ---- */

int api_approval_get(struct call *c, int64_t release_id, otter_approval *a, otter_err *err)
{
    int found = 0;
    int ret = otter_store_approval_get(c->api->store, release_id, a, &found, err);
    if (ret == 0 && !found)
        snprintf(a->state, sizeof a->state, "%s",
                 otter_approval_state_word(OTTER_APPROVAL_PENDING));
    return ret;
}

json_t *api_approval_doc(const otter_approval *a)
{
    int decided = otter_approval_state_of(a) != OTTER_APPROVAL_PENDING;
    return json_pack("{s:s, s:o, s:o, s:s}", "state", a->state, "by",
                     decided ? json_string(a->decided_by_name) : json_null(), "at",
                     decided ? api_time(a->decided_at) : json_null(), "comment", a->comment);
}

/* Answers 409 unless release_id is approved in the caller's tenant. */
int api_require_approved(struct call *c, const otter_release *r, const char *where)
{
    otter_err err;
    otter_approval a;
    if (api_approval_get(c, r->id, &a, &err) < 0)
        return api_fail_err(c, where, &err);
    if (!otter_approval_allows_rollout(otter_approval_state_of(&a)))
        return api_fail(c, 409, where,
                        "release %lld (%s %s) is %s in tenant '%s': an approver must approve it "
                        "first",
                        (long long)r->id, r->product, r->version, a.state, c->tenant.name);
    return 0;
}

static int pause_for_revoke(void *ctx, const otter_rollout *r)
{
    struct call *c = ctx;
    otter_err err;
    if (otter_rollout_state_of(r) != OTTER_ROLLOUT_RUNNING)
        return 0;
    otter_rollout p = *r;
    if (otter_rollout_apply(&p, OTTER_ROLLOUT_EV_APPROVAL_REVOKED, "approval revoked", &err) < 0 ||
        otter_store_rollout_update(c->api->store, &p, c->now, &err) < 0) {
        fprintf(stderr, "otter-server: pausing rollout %lld: %s\n", (long long)r->id, err.msg);
        return err.code;
    }
    return 0;
}

/* The decision's audit entry: {release, comment[, withdrawn]}. */
static int audit_decision(struct call *c, const char *action, const char *object,
                          const otter_approval *a, int64_t withdrawn, otter_err *err)
{
    json_t *detail =
        json_pack("{s:I, s:s}", "release", (json_int_t)a->release_id, "comment", a->comment);
    if (detail && !otter_approval_allows_rollout(otter_approval_state_of(a)))
        json_object_set_new(detail, "withdrawn", json_integer(withdrawn));
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    if (!text)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = api_audit(c, action, object, text, err);
    free(text);
    return ret;
}

/* approve, reject, revoke: which states each may be taken from is otter_fleet's rule. */
static int decide(struct call *c, otter_approval_event ev)
{
    otter_err err;
    otter_release r;
    otter_approval a;
    int status = api_load_release(c, api_id_param(c->param[0]), &r);
    if (status)
        return status;
    if (api_approval_get(c, r.id, &a, &err) < 0)
        return api_fail_err(c, "path", &err);
    const char *comment = otter_reqjson_str(&c->body, "comment");
    otter_approval next = {.release_id = r.id, .decided_by = c->user.id, .decided_at = c->now};
    snprintf(next.state, sizeof next.state, "%s", a.state);
    if (otter_approval_decide(r.id, &next, ev, &err) < 0)
        return api_fail(c, 409, "path", "%s", err.msg);
    snprintf(next.decided_by_name, sizeof next.decided_by_name, "%s", c->user.name);
    snprintf(next.comment, sizeof next.comment, "%s", comment ? comment : "");
    char object[160], action[32];
    snprintf(object, sizeof object, "%s %s", r.product, r.version);
    snprintf(action, sizeof action, "release.%s", otter_approval_event_verb(ev));
    int64_t withdrawn = 0;
    int stops = !otter_approval_allows_rollout(otter_approval_state_of(&next));
    int ret = api_begin(c, &err);
    if (ret == 0)
        ret = otter_store_approval_set(c->api->store, &next, &err);
    /*
     * Not approved any more: nothing of it may keep rolling out. Running
     * rollouts pause (their actions wait for a new approval); direct
     * deployments no device has started are withdrawn (canceled).
     */
    if (ret == 0 && stops)
        ret = otter_store_rollout_list(c->api->store, c->tenant.id, 0, r.id, pause_for_revoke, c,
                                       &err);
    if (ret == 0 && stops)
        ret = otter_store_release_withdraw_actions(c->api->store, r.id, c->now, &withdrawn, &err);
    if (ret == 0)
        ret = audit_decision(c, action, object, &next, withdrawn, &err);
    if (ret < 0)
        return api_fail_err(c, "path", &err);
    otter_rollout_touch();
    return api_reply(c, 200, api_approval_doc(&next));
}

int api_release_approve(struct call *c)
{
    return decide(c, OTTER_APPROVAL_EV_APPROVE);
}

int api_release_reject(struct call *c)
{
    return decide(c, OTTER_APPROVAL_EV_REJECT);
}

int api_release_revoke(struct call *c)
{
    return decide(c, OTTER_APPROVAL_EV_REVOKE);
}

struct approvals_walk {
    struct call *c;
    json_t *arr;
    const char *state; /* NULL = every state, else a valid state word */
    otter_err err;
};

static int add_approval(void *ctx, const otter_release *r)
{
    struct approvals_walk *w = ctx;
    otter_approval a;
    int ret = api_approval_get(w->c, r->id, &a, &w->err);
    if (ret < 0)
        return ret;
    if (w->state && strcmp(w->state, a.state) != 0)
        return 0;
    json_t *e = json_pack("{s:{s:I, s:s, s:s, s:I, s:o}, s:o}", "release", "id", (json_int_t)r->id,
                          "product", r->product, "version", r->version, "security_version",
                          (json_int_t)r->security_version, "created_at", api_time(r->created_at),
                          "approval", api_approval_doc(&a));
    return json_array_append_new(w->arr, e) == 0 ? 0 : OTTER_ENOMEM;
}

int api_approvals_list(struct call *c)
{
    struct approvals_walk w = {
        .c = c, .arr = json_array(), .state = otter_http_query(c->req, "state")};
    if (w.state && otter_approval_state_parse(w.state) == OTTER_APPROVAL_UNKNOWN) {
        json_decref(w.arr);
        return api_fail(c, 400, "query.state", "state is pending, approved, rejected or revoked");
    }
    if (!w.arr ||
        otter_store_release_list(c->api->store, c->tenant.id, 0, add_approval, &w, &w.err) < 0) {
        json_decref(w.arr);
        return api_fail_err(c, "approvals", &w.err);
    }
    return api_reply(c, 200, json_pack("{s:o}", "approvals", w.arr));
}

/* ---- rollouts ---- */

static int brief_release(void *ctx, const otter_release *r)
{
    json_t *doc = ctx;
    json_object_set_new(doc, "product", json_string(r->product));
    json_object_set_new(doc, "version", json_string(r->version));
    return 0;
}

static json_t *rollout_doc(struct call *c, const otter_rollout *r)
{
    otter_err err;
    json_t *filter = json_loads(r->filter, 0, NULL);
    json_t *stages = json_array();
    for (size_t i = 0; stages && i < r->n_stages; i++)
        json_array_append_new(stages,
                              json_pack("{s:I, s:i, s:i, s:i, s:I}", "index", (json_int_t)i,
                                        "percent", r->stages[i].percent, "success_threshold",
                                        r->stages[i].success_threshold, "failure_threshold",
                                        r->stages[i].failure_threshold, "min_devices",
                                        (json_int_t)r->stages[i].min_devices));
    json_t *release = json_pack("{s:I}", "id", (json_int_t)r->release_id);
    if (release)
        (void)otter_store_release_list(c->api->store, r->tenant_id, r->release_id, brief_release,
                                       release, &err);
    json_t *doc = json_pack(
        "{s:I, s:s, s:o, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:I, s:s, "
        "s:o, s:o}",
        "id", (json_int_t)r->id, "name", r->name, "release", release, "state", r->state,
        "pause_reason", r->pause_reason, "current_stage", (json_int_t)r->current_stage, "filter",
        filter ? filter : json_object(), "stages", stages, "download", r->download, "update",
        r->update, "consent", r->consent[0] ? r->consent : "auto", "maintenance_window",
        r->maintenance[0] ? json_string(r->maintenance) : json_null(), "devices",
        (json_int_t)r->devices, "created_by", r->created_by_name, "created_at",
        api_time(r->created_at), "updated_at", api_time(r->updated_at));
    api_campaign_doc_add(c, doc, r->id);
    api_bwcap_doc_add(c, doc, r->id); /* issue #15: bandwidth caps */
    return doc;
}

/* Loads rollout {rollout} of the tenant into a new otter_rollout, or answers 404. */
static int load_rollout(struct call *c, otter_rollout **out)
{
    otter_err err;
    int found = 0;
    int64_t id = api_id_param(c->param[0]);
    *out = NULL;
    otter_rollout *r = malloc(sizeof *r);
    if (!r)
        return api_fail(c, 500, "path", "out of memory");
    if (id && otter_rollout_load(c->api->store, c->tenant.id, id, r, &found, &err) < 0) {
        free(r);
        return api_fail_err(c, "path", &err);
    }
    if (!found) {
        free(r);
        return api_fail(c, 404, "path", "no rollout '%.20s'", c->param[0]);
    }
    *out = r;
    return 0;
}

/* Parses the body of create and preview; on success *r and *filter are set (caller frees). */
static int parse_rollout(struct call *c, otter_rollout **r, json_t **filter, otter_release *rel)
{
    otter_err err;
    char where[OTTER_ROLLOUT_WHERE_MAX];
    *r = calloc(1, sizeof **r);
    *filter = NULL;
    if (!*r)
        return api_fail(c, 500, "body", "out of memory");
    if (otter_rollout_request_parse(c->req->body, c->req->body_len,
                                    (unsigned)c->api->cfg->json_depth, *r, filter, where,
                                    &err) < 0) {
        free(*r);
        *r = NULL;
        return api_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, where, "%s", err.msg);
    }
    (*r)->tenant_id = c->tenant.id;
    int status = api_load_release(c, (*r)->release_id, rel);
    if (status) {
        api_fail_where(c, "body.release");
        json_decref(*filter);
        free(*r);
        *r = NULL;
        *filter = NULL;
    }
    return status;
}

int api_rollouts_preview(struct call *c)
{
    otter_err err;
    otter_rollout *r;
    json_t *filter;
    otter_release rel;
    otter_rollout_plan plan;
    int status = parse_rollout(c, &r, &filter, &rel);
    if (status)
        return status;
    /* Buckets depend on the rollout id: preview with the id the rollout will most likely get. */
    r->id = 0;
    int ret =
        otter_rollout_plan_make(c->api->store, r, filter, rel.version, 0, 0, c->now, &plan, &err);
    json_t *stages = json_array();
    for (size_t i = 0; ret == 0 && stages && i < r->n_stages; i++)
        json_array_append_new(stages, json_pack("{s:I, s:i, s:I}", "index", (json_int_t)i,
                                                "percent", r->stages[i].percent, "devices",
                                                (json_int_t)plan.per_stage[i]));
    json_decref(filter);
    free(r);
    if (ret < 0) {
        json_decref(stages);
        return api_fail_err(c, "body", &err);
    }
    return api_reply(c, 200,
                     json_pack("{s:I, s:o, s:{s:I, s:I, s:I, s:I}}", "devices",
                               (json_int_t)plan.devices, "stages", stages, "left_out", "busy",
                               (json_int_t)plan.busy, "current", (json_int_t)plan.current,
                               "outside", (json_int_t)plan.outside, "incompatible",
                               (json_int_t)plan.incompatible));
}

int api_rollouts_create(struct call *c)
{
    otter_err err;
    otter_rollout *r;
    json_t *filter;
    otter_release rel;
    int64_t id = 0;
    int status = parse_rollout(c, &r, &filter, &rel);
    if (status)
        return status;
    json_decref(filter);
    r->created_by = c->user.id;
    snprintf(r->created_by_name, sizeof r->created_by_name, "%s", c->user.name);
    char detail[96];
    snprintf(detail, sizeof detail, "{\"release\":%lld}", (long long)rel.id);
    if (api_begin(c, &err) < 0 ||
        otter_store_rollout_create(c->api->store, r, c->now, &id, &err) < 0 ||
        api_campaign_store(c, id, &err) < 0 || api_bwcap_store(c, id, &err) < 0 ||
        api_audit(c, "rollout.create", r->name, detail, &err) < 0) {
        free(r);
        return api_fail_err(c, "body", &err);
    }
    int found = 0;
    if (otter_rollout_load(c->api->store, c->tenant.id, id, r, &found, &err) < 0 || !found) {
        free(r);
        return api_fail_err(c, "body", &err);
    }
    status = api_reply(c, 201, rollout_doc(c, r));
    free(r);
    return status;
}

static int add_rollout(void *ctx, const otter_rollout *r)
{
    struct call *c = ctx;
    return json_array_append_new(json_object_get(c->out, "rollouts"), rollout_doc(c, r)) == 0
               ? 0
               : OTTER_ENOMEM;
}

int api_rollouts_list(struct call *c)
{
    otter_err err;
    api_reply(c, 200, json_pack("{s:[]}", "rollouts"));
    if (!c->out ||
        otter_store_rollout_list(c->api->store, c->tenant.id, 0, 0, add_rollout, c, &err) < 0)
        return api_fail_err(c, "rollouts", &err);
    return 200;
}

int api_rollouts_get(struct call *c)
{
    otter_rollout *r;
    int status = load_rollout(c, &r);
    if (status)
        return status;
    status = api_reply(c, 200, rollout_doc(c, r));
    free(r);
    return status;
}

int api_rollouts_stats(struct call *c)
{
    otter_err err;
    otter_rollout *r;
    otter_rollout_stats st;
    int status = load_rollout(c, &r);
    if (status)
        return status;
    if (otter_rollout_stats_get(c->api->store, r, &st, &err) < 0 ||
        otter_rollout_stats_users(c->api->store, r, &st, &err) < 0 ||
        otter_rollout_stats_traffic(c->api->store, r, &st, &err) < 0)
        status = api_fail_err(c, "path", &err);
    else if ((status = api_reply(c, 200, otter_rollout_stats_doc(r, &st, api_time(c->now)))) ==
                 200 &&
             api_campaign_stats_add(c->api->store, c->out, r->id, &err) < 0)
        status = api_fail_err(c, "path", &err);
    free(r);
    return status;
}

/*
 * What a move does besides its new state (set by otter_rollout_apply):
 * start targets the devices and makes their actions; resume accepts the
 * failures so far or retries them; cancel cancels the open actions.
 */
static int steer_effects(struct call *c, otter_rollout *r, otter_rollout_event ev,
                         const otter_release *rel, int64_t *retried, otter_err *err)
{
    if (ev == OTTER_ROLLOUT_EV_START) {
        otter_rollout_plan plan;
        json_t *filter = json_loads(r->filter, 0, NULL);
        int ret = filter ? otter_rollout_plan_make(c->api->store, r, filter, rel->version, 1,
                                                   c->user.id, c->now, &plan, err)
                         : otter_err_set(err, OTTER_EFORMAT, "stored filter is not JSON");
        json_decref(filter);
        if (ret == 0)
            r->devices = plan.devices;
        if (ret == 0) /* issue #15: the stats show who the model filter left out */
            ret = otter_store_rollout_skipped_set(c->api->store, r->id, plan.incompatible, err);
        return ret;
    }
    if (ev == OTTER_ROLLOUT_EV_RESUME) {
        otter_rollout_stats now_st;
        int ret = 0;
        if (otter_reqjson_bool(&c->body, "retry_failed") &&
            (ret = otter_store_rollout_retry_failed(c->api->store, r->id, r->current_stage,
                                                    c->user.id, c->now, retried, err)) < 0)
            return ret;
        if ((ret = otter_rollout_stats_get(c->api->store, r, &now_st, err)) < 0)
            return ret;
        r->accepted_failures = now_st.total.failure;
        return 0;
    }
    if (ev == OTTER_ROLLOUT_EV_CANCEL)
        return otter_store_rollout_cancel_actions(c->api->store, r->id, c->now, err);
    return 0;
}

/*
 * Push (otter_publish.h): the devices an action just became available to,
 * sent once the transaction committed. A running rollout's held-back
 * actions of the stages reached so far (start, advance, resume; a device
 * woken before and still not polling gets another), or the running
 * actions a cancel turned into cancelAction.
 */
static int wake_devices(struct call *c, const otter_rollout *r, otter_rollout_event ev,
                        otter_err *err)
{
    otter_publish *p = c->api->publish;
    if (ev == OTTER_ROLLOUT_EV_CANCEL)
        return otter_publish_batch_rollout(p, &c->wake, c->api->store, c->tenant.name, r->id, -1,
                                           "canceling", err);
    if (ev == OTTER_ROLLOUT_EV_PAUSE || strcmp(r->state, "running") != 0)
        return 0;
    return otter_publish_batch_rollout(p, &c->wake, c->api->store, c->tenant.name, r->id,
                                       r->current_stage, "scheduled", err);
}

/*
 * start, pause, resume, advance, cancel: each checks the state it leaves,
 * writes the new one with an audit entry, and lets the automatic rules run
 * at once (a resumed rollout whose stage is already judged moves on).
 * A resume accepts the failures so far (they do not pause it again) or,
 * with retry_failed, gives the failed devices a new action instead: after
 * the cause is fixed, their stage can still pass its success rule.
 */
static int steer(struct call *c, otter_rollout_event ev)
{
    otter_err err;
    otter_rollout *r;
    otter_release rel;
    int64_t retried = -1; /* -1: no retry asked */
    char reason[OTTER_STORE_REASON_MAX + 1];
    int status = load_rollout(c, &r);
    if (status)
        return status;
    /* The move is otter_fleet's to allow; side effects below are made in the same transaction. */
    snprintf(reason, sizeof reason, "paused by %s", c->user.name);
    if (otter_rollout_apply(r, ev, reason, &err) < 0) {
        status = api_fail(c, 409, "path", "%s", err.msg);
        goto out;
    }
    if (ev == OTTER_ROLLOUT_EV_START || ev == OTTER_ROLLOUT_EV_RESUME) {
        if ((status = api_load_release(c, r->release_id, &rel)) != 0 ||
            (status = api_require_approved(c, &rel, "path")) != 0)
            goto out;
    }
    if (api_begin(c, &err) < 0 || steer_effects(c, r, ev, &rel, &retried, &err) < 0)
        goto fail;
    int changed = 0;
    char action[32], detail[96];
    snprintf(action, sizeof action, "rollout.%s", otter_rollout_event_verb(ev));
    if (retried >= 0)
        snprintf(detail, sizeof detail, "{\"rollout\":%lld,\"stage\":%lld,\"retried\":%lld}",
                 (long long)r->id, (long long)r->current_stage, (long long)retried);
    else
        snprintf(detail, sizeof detail, "{\"rollout\":%lld,\"stage\":%lld}", (long long)r->id,
                 (long long)r->current_stage);
    if (otter_store_rollout_update(c->api->store, r, c->now, &err) < 0 ||
        otter_rollout_evaluate(c->api->store, r, c->now, &changed, &err) < 0 ||
        api_audit(c, action, r->name, detail, &err) < 0 || wake_devices(c, r, ev, &err) < 0)
        goto fail;
    otter_rollout_touch();
    r->updated_at = c->now;
    json_t *doc = rollout_doc(c, r);
    if (doc && retried >= 0)
        json_object_set_new(doc, "retried", json_integer((json_int_t)retried));
    status = api_reply(c, 200, doc);
    goto out;
fail:
    status = api_fail_err(c, "path", &err);
out:
    free(r);
    return status;
}

int api_rollouts_start(struct call *c)
{
    return steer(c, OTTER_ROLLOUT_EV_START);
}

int api_rollouts_pause(struct call *c)
{
    return steer(c, OTTER_ROLLOUT_EV_PAUSE);
}

int api_rollouts_resume(struct call *c)
{
    return steer(c, OTTER_ROLLOUT_EV_RESUME);
}

int api_rollouts_advance(struct call *c)
{
    return steer(c, OTTER_ROLLOUT_EV_ADVANCE);
}

int api_rollouts_cancel(struct call *c)
{
    return steer(c, OTTER_ROLLOUT_EV_CANCEL);
}
