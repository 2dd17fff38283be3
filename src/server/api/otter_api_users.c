/* SPDX-License-Identifier: Apache-2.0 */
/* Global administration: every user account, and the audit log (global and per tenant). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_auth.h"

static int add_user(void *ctx, const otter_user *u)
{
    return json_array_append_new(ctx,
                                 json_pack("{s:s, s:b, s:o}", "username", u->name, "is_admin",
                                           u->is_admin, "created_at", api_time(u->created_at))) == 0
               ? 0
               : OTTER_ENOMEM;
}

int api_users_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    int ret = arr ? otter_store_user_list(c->api->store, add_user, arr, &err)
                  : otter_err_set(&err, OTTER_ENOMEM, "out of memory");
    if (ret < 0) {
        json_decref(arr);
        return api_fail_err(c, "users", &err);
    }
    return api_reply(c, 200, json_pack("{s:o}", "users", arr));
}

int api_users_create(struct call *c)
{
    otter_err err;
    char *hash = NULL;
    int status;
    otter_user u = {0};
    const char *name = otter_reqjson_str(&c->body, "username");
    int is_admin = otter_reqjson_bool(&c->body, "is_admin");
    if ((status = api_password_new(c, "password", &hash)) != 0)
        return status;
    if (api_begin(c, &err) < 0 ||
        otter_store_user_create(c->api->store, name, hash, is_admin, c->now, &u.id, &err) < 0 ||
        api_audit(c, "user.create", name, is_admin ? "{\"is_admin\":true}" : NULL, &err) < 0) {
        status = api_fail_err(c, "body.username", &err);
    } else {
        snprintf(u.name, sizeof u.name, "%s", name);
        u.is_admin = is_admin;
        u.created_at = u.password_changed_at = c->now;
        json_t *doc = NULL;
        status = api_user_doc(c, &u, &doc, &err) < 0 ? api_fail_err(c, "user", &err)
                                                     : api_reply(c, 201, doc);
    }
    free(hash);
    return status;
}

static int load_user(struct call *c, otter_user *u)
{
    otter_err err;
    int found = 0;
    const char *name = c->param[0];
    if (!otter_reqjson_name_ok(name))
        return api_fail(c, 404, "path", "no user '%.64s'", name);
    if (otter_store_user_get(c->api->store, name, u, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found)
        return api_fail(c, 404, "path", "no user '%s'", name);
    return 0;
}

int api_users_get(struct call *c)
{
    otter_err err;
    otter_user u;
    json_t *doc = NULL;
    int status = load_user(c, &u);
    if (status)
        return status;
    if (api_user_doc(c, &u, &doc, &err) < 0)
        return api_fail_err(c, "user", &err);
    return api_reply(c, 200, doc);
}

int api_users_delete(struct call *c)
{
    otter_err err;
    otter_user u;
    int64_t admins = 0;
    int found = 0, status = load_user(c, &u);
    if (status)
        return status;
    if (u.id == c->user.id)
        return api_fail(c, 409, "path", "you cannot delete your own account");
    if (api_begin(c, &err) < 0 || otter_store_user_count_admins(c->api->store, &admins, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (u.is_admin && admins <= 1)
        return api_fail(c, 409, "path", "'%s' is the last global admin", u.name);
    if (otter_store_user_delete(c->api->store, u.id, &found, &err) < 0 ||
        api_audit(c, "user.delete", u.name, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}

int api_users_password(struct call *c)
{
    otter_user u;
    int status = load_user(c, &u);
    if (status)
        return status;
    if ((status = api_refuse_own_password(c, &u)) != 0)
        return status;
    return api_password_set(c, &u, "password");
}

/*
 * The password rule, for every password an operator sets over the API: the
 * body's field is checked by otter_auth_password_policy (through the hash,
 * so no path can store a password that skipped it) and hashed.
 */
int api_password_new(struct call *c, const char *field, char **hash)
{
    otter_err err;
    char where[64];
    snprintf(where, sizeof where, "body.%s", field);
    if (otter_auth_password_hash(otter_reqjson_str(&c->body, field), hash, &err) < 0)
        return api_fail(c, 400, where, "%s", err.msg);
    return 0;
}

/*
 * Gives user u the new password of body field (policy checked), ends every
 * session and token of u, audits it; 204, or the refusal.
 */
int api_password_set(struct call *c, const otter_user *u, const char *field)
{
    otter_err err;
    char *hash = NULL;
    int status = api_password_new(c, field, &hash);
    if (status != 0)
        return status;
    if (api_begin(c, &err) < 0 ||
        otter_store_user_set_password(c->api->store, u->id, hash, c->now, &err) < 0 ||
        otter_store_token_revoke_user(c->api->store, u->id, c->now, &err) < 0 ||
        api_audit(c, "user.password", u->name, NULL, &err) < 0)
        status = api_fail_err(c, "body", &err);
    else
        status = api_reply(c, 204, NULL);
    free(hash);
    return status;
}

/*
 * An admin sets other users' passwords without their own (an admin
 * operation); their own goes through PUT /me/password, which asks for the
 * current one, so a stolen admin session cannot take over the account.
 */
int api_refuse_own_password(struct call *c, const otter_user *target)
{
    if (target->id != c->user.id)
        return 0;
    return api_fail(c, 403, "path",
                    "to change your own password use PUT /api/v1/me/password with the current one");
}

/* ---- audit ---- */

/* Reads an optional non-negative integer query argument within [min, max]. */
static int query_uint(struct call *c, const char *name, int64_t min, int64_t max, int64_t *out)
{
    const char *v = otter_http_query(c->req, name);
    if (!v)
        return 0;
    if (!*v || strlen(v) > 18 || strspn(v, "0123456789") != strlen(v) ||
        strtoll(v, NULL, 10) < min || strtoll(v, NULL, 10) > max) {
        char where[40];
        snprintf(where, sizeof where, "query.%s", name);
        return api_fail(c, 400, where, "'%s' must be an integer in %lld..%lld", name,
                        (long long)min, (long long)max);
    }
    *out = strtoll(v, NULL, 10);
    return 0;
}

static int add_entry(void *ctx, const otter_audit_entry *e)
{
    json_t *o = json_pack("{s:I, s:o, s:s?, s:s?, s:s, s:s?, s:s?}", "id", (json_int_t)e->id, "at",
                          api_time(e->at), "actor", e->actor, "tenant", e->tenant, "action",
                          e->action ? e->action : "", "object", e->object, "client", e->client);
    if (o && e->detail) {
        json_t *d = json_loads(e->detail, 0, NULL);
        json_object_set_new(o, "detail", d ? d : json_string(e->detail));
    }
    return json_array_append_new(ctx, o) == 0 ? 0 : OTTER_ENOMEM;
}

/* Lists the audit log; tenant_id 0 = every tenant (global admins). */
static int audit_list(struct call *c, int64_t tenant_id)
{
    otter_err err;
    int64_t limit = 100, before = 0, since = 0, until = 0;
    int status;
    if ((status = query_uint(c, "limit", 1, 1000, &limit)) ||
        (status = query_uint(c, "before", 1, INT64_MAX / 2, &before)) ||
        (status = query_uint(c, "since", 0, INT64_MAX / 2, &since)) ||
        (status = query_uint(c, "until", 0, INT64_MAX / 2, &until)))
        return status;
    otter_audit_filter f = {.tenant_id = tenant_id,
                            .actor = otter_http_query(c->req, "actor"),
                            .action = otter_http_query(c->req, "action"),
                            .before_id = before,
                            .since = since,
                            .until = until,
                            .limit = (unsigned)limit};
    json_t *arr = json_array();
    if (!arr || otter_store_audit_list(c->api->store, &f, add_entry, arr, &err) < 0) {
        json_decref(arr);
        return api_fail_err(c, "audit", &err);
    }
    size_t n = json_array_size(arr);
    /* next_before pages on: pass it as ?before= to get the older entries. */
    json_t *next = n == (size_t)limit ? json_object_get(json_array_get(arr, n - 1), "id") : NULL;
    return api_reply(c, 200, json_pack("{s:o, s:O?}", "entries", arr, "next_before", next));
}

int api_tenant_audit(struct call *c)
{
    if (otter_http_query(c->req, "tenant"))
        return api_fail(c, 400, "query.tenant", "the tenant is given by the path here");
    return audit_list(c, c->tenant.id);
}

int api_audit_list(struct call *c)
{
    otter_err err;
    const char *name = otter_http_query(c->req, "tenant");
    int found = 0;
    if (!name)
        return audit_list(c, 0);
    otter_tenant t;
    if (!otter_reqjson_name_ok(name))
        return api_fail(c, 400, "query.tenant", "not a tenant name");
    if (otter_store_tenant_get(c->api->store, name, &t, &found, &err) < 0)
        return api_fail_err(c, "query.tenant", &err);
    if (!found)
        return api_fail(c, 404, "query.tenant", "no tenant '%s'", name);
    return audit_list(c, t.id);
}
