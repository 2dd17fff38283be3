/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bandwidth caps in the management API (issue #15, docs/rollouts.md
 * "Bandwidth caps"): a rollout's cap (set at create with "bandwidth_cap",
 * changed with PUT /rollouts/{rollout}/bandwidth) and the tenant's (PUT
 * /bandwidth), each shown with the rate this server measures now. A cap is
 * bytes per second of artifact bytes over all the downloads it covers; 0 or
 * null removes it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "otter_api_internal.h"
#include "otter_bwcap.h"
#include "otter_json.h"
#include "otter_rollout.h"
#include "otter_store_bwcap.h"
#include "otter_store_follow.h"

#define BWCAP_BODY_MAX 1024

void otter_api_set_bwcap(otter_api *api, otter_bwcap *bwcap)
{
    api->bwcap = bwcap;
}

/* {"bytes_per_second": cap (0: none), "rate_bytes_per_second": now} of one scope. */
static json_t *cap_doc(struct call *c, otter_bwcap_scope scope, int64_t id, int64_t cap)
{
    int64_t live_cap, rate;
    otter_bwcap_get(c->api->bwcap, scope, id, &live_cap, &rate);
    return json_pack("{s:I, s:I}", "bytes_per_second", (json_int_t)cap, "rate_bytes_per_second",
                     (json_int_t)rate);
}

void api_bwcap_doc_add(struct call *c, json_t *doc, int64_t rollout_id)
{
    otter_err err;
    int64_t rcap = 0, tcap = 0;
    if (otter_store_bwcap_get(c->api->store, rollout_id, c->tenant.id, &rcap, &tcap, &err) < 0)
        return; /* the document without it rather than no document */
    json_object_set_new(doc, "bandwidth", cap_doc(c, OTTER_BWCAP_ROLLOUT, rollout_id, rcap));
    json_object_set_new(doc, "tenant_bandwidth",
                        cap_doc(c, OTTER_BWCAP_TENANT, c->tenant.id, tcap));
}

/* A cap value: a non-negative integer up to OTTER_BWCAP_MAX, or null (0). */
static int cap_value(const json_t *v, const char *where, int64_t *out, otter_err *err)
{
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > OTTER_BWCAP_MAX)
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: want bytes per second, an integer from 0 (no cap) to %lld, or "
                             "null",
                             where, (long long)OTTER_BWCAP_MAX);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int api_bwcap_store(struct call *c, int64_t rollout_id, otter_err *err)
{
    json_t *root = NULL;
    int64_t cap = 0;
    /* The body passed otter_rollout_request_parse: a JSON object within its limits. */
    int ret =
        otter_json_load(c->req->body, c->req->body_len, c->req->body_len + 1, "body", &root, err);
    if (ret == 0 &&
        (ret = cap_value(json_object_get(root, "bandwidth_cap"), "body.bandwidth_cap", &cap,
                         err)) == 0 &&
        cap)
        ret = otter_store_bwcap_set(c->api->store, 0, rollout_id, cap, err);
    json_decref(root);
    return ret;
}

/* Body {"bytes_per_second": N | null} into *cap, or answers 400. */
static int parse_body(struct call *c, int64_t *cap)
{
    static const char *const known[] = {"bytes_per_second", NULL};
    otter_err err;
    json_t *root = NULL;
    int ret = otter_json_load(c->req->body, c->req->body_len, BWCAP_BODY_MAX, "body", &root, &err);
    if (ret == 0 && !json_is_object(root))
        ret = otter_err_set(&err, OTTER_EFORMAT, "body: want {\"bytes_per_second\": N}");
    else if (ret == 0 && (ret = otter_json_known_keys(root, known, "body", &err)) == 0 &&
             !json_object_get(root, "bytes_per_second"))
        ret = otter_err_set(&err, OTTER_EFORMAT,
                            "body.bytes_per_second: missing (0 or null removes the cap)");
    if (ret == 0)
        ret = cap_value(json_object_get(root, "bytes_per_second"), "body.bytes_per_second", cap,
                        &err);
    json_decref(root);
    return ret < 0 ? api_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, "body", "%s", err.msg) : 0;
}

/* The tenant's rollout {rollout}, or answers 404. */
static int rollout_id(struct call *c, int64_t *id)
{
    otter_err err;
    int found = 0;
    otter_rollout *r = malloc(sizeof *r);
    *id = api_id_param(c->param[0]);
    if (!r)
        return api_fail(c, 500, "path", "out of memory");
    if (*id && otter_rollout_load(c->api->store, c->tenant.id, *id, r, &found, &err) < 0) {
        free(r);
        return api_fail_err(c, "path", &err);
    }
    free(r);
    return found ? 0 : api_fail(c, 404, "path", "no rollout '%.20s'", c->param[0]);
}

/* The answer of the four routes: the scope's cap and rate. */
static int reply(struct call *c, otter_bwcap_scope scope, int64_t id)
{
    otter_err err;
    int64_t rcap = 0, tcap = 0;
    if (otter_store_bwcap_get(c->api->store, scope == OTTER_BWCAP_ROLLOUT ? id : 0, c->tenant.id,
                              &rcap, &tcap, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 200, cap_doc(c, scope, id, scope == OTTER_BWCAP_ROLLOUT ? rcap : tcap));
}

/* Stores the body's cap for the scope, audited, and tells this server's buckets. */
static int set(struct call *c, otter_bwcap_scope scope, int64_t id, const char *object)
{
    otter_err err;
    int64_t cap;
    char detail[48];
    int status = parse_body(c, &cap);
    if (status)
        return status;
    snprintf(detail, sizeof detail, "{\"bytes_per_second\":%lld}", (long long)cap);
    if (api_begin(c, &err) < 0 ||
        otter_store_bwcap_set(c->api->store, scope == OTTER_BWCAP_TENANT, id, cap, &err) < 0 ||
        api_audit(c, scope == OTTER_BWCAP_TENANT ? "tenant.bandwidth" : "rollout.bandwidth", object,
                  detail, &err) < 0 ||
        otter_bwcap_set(c->api->bwcap, scope, id, cap, &err) < 0)
        return api_fail_err(c, "body", &err);
    return reply(c, scope, id);
}

int api_rollout_bwcap_get(struct call *c)
{
    int64_t id;
    int status = rollout_id(c, &id);
    return status ? status : reply(c, OTTER_BWCAP_ROLLOUT, id);
}

int api_rollout_bwcap_set(struct call *c)
{
    int64_t id;
    int status = rollout_id(c, &id);
    return status ? status : set(c, OTTER_BWCAP_ROLLOUT, id, c->param[0]);
}

int api_tenant_bwcap_get(struct call *c)
{
    return reply(c, OTTER_BWCAP_TENANT, c->tenant.id);
}

int api_tenant_bwcap_set(struct call *c)
{
    return set(c, OTTER_BWCAP_TENANT, c->tenant.id, c->tenant.name);
}

/*
 * The devices the rollout left out at its start because their model is not
 * in the release's compatible list (docs/rollouts.md "Compatible models");
 * null before the start. Here with the caps: both are what the dashboard
 * follows a campaign by (issue #15).
 */
int api_skipped_stats_add(otter_store *store, json_t *doc, int64_t rollout_id, otter_err *err)
{
    int64_t n = 0;
    int known = 0;
    int ret = otter_store_rollout_skipped_get(store, rollout_id, &n, &known, err);
    if (ret == 0)
        json_object_set_new(
            doc, "skipped",
            json_pack("{s:o}", "incompatible", known ? json_integer((json_int_t)n) : json_null()));
    return ret;
}
