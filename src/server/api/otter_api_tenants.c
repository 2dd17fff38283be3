/* SPDX-License-Identifier: Apache-2.0 */
/* Tenants and their members, seen from inside a tenant (RBAC by tenant role). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_auth.h"

static json_t *tenant_doc(const otter_tenant *t, otter_role role)
{
    json_t *doc = json_pack("{s:s, s:o}", "name", t->name, "created_at", api_time(t->created_at));
    if (doc && role != OTTER_ROLE_NONE)
        json_object_set_new(doc, "role", json_string(otter_rbac_role_name(role)));
    return doc;
}

static int add_tenant(void *ctx, const otter_tenant *t)
{
    return json_array_append_new(ctx, tenant_doc(t, OTTER_ROLE_NONE)) == 0 ? 0 : OTTER_ENOMEM;
}

static int add_member_tenant(void *ctx, const otter_member *m)
{
    return json_array_append_new(ctx, json_pack("{s:s, s:s}", "name", m->tenant, "role",
                                                otter_rbac_role_name(m->role))) == 0
               ? 0
               : OTTER_ENOMEM;
}

int api_tenants_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    int ret = !arr               ? otter_err_set(&err, OTTER_ENOMEM, "out of memory")
              : c->user.is_admin ? otter_store_tenant_list(c->api->store, add_tenant, arr, &err)
                                 : otter_store_member_list_user(c->api->store, c->user.id,
                                                                add_member_tenant, arr, &err);
    if (ret < 0) {
        json_decref(arr);
        return api_fail_err(c, "tenants", &err);
    }
    return api_reply(c, 200, json_pack("{s:o}", "tenants", arr));
}

int api_tenants_create(struct call *c)
{
    otter_err err;
    const char *name = otter_reqjson_str(&c->body, "name");
    if (api_begin(c, &err) < 0 ||
        otter_store_tenant_create(c->api->store, name, c->now, &c->tenant.id, &err) < 0)
        return api_fail_err(c, "body.name", &err);
    snprintf(c->tenant.name, sizeof c->tenant.name, "%s", name);
    c->tenant.created_at = c->now;
    c->has_tenant = 1;
    if (api_audit(c, "tenant.create", name, NULL, &err) < 0)
        return api_fail_err(c, "body.name", &err);
    return api_reply(c, 201, tenant_doc(&c->tenant, OTTER_ROLE_NONE));
}

int api_tenants_get(struct call *c)
{
    /* Whether push wake-up reaches devices now (the dashboard shows it, otter_publish.h). */
    otter_publish_stats st;
    otter_publish_stats_get(c->api->publish, &st);
    json_t *doc = tenant_doc(&c->tenant, c->role);
    if (doc)
        json_object_set_new(
            doc, "push", json_pack("{s:b, s:b}", "enabled", st.enabled, "connected", st.connected));
    return api_reply(c, 200, doc);
}

int api_tenants_delete(struct call *c)
{
    otter_err err;
    int found = 0;
    if (api_begin(c, &err) < 0 ||
        otter_store_tenant_delete(c->api->store, c->tenant.id, &found, &err) < 0 ||
        api_audit(c, "tenant.delete", c->tenant.name, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}

static int add_member(void *ctx, const otter_member *m)
{
    return json_array_append_new(ctx, json_pack("{s:s, s:s, s:b}", "username", m->user, "role",
                                                otter_rbac_role_name(m->role), "is_admin",
                                                m->is_admin)) == 0
               ? 0
               : OTTER_ENOMEM;
}

int api_members_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    int ret =
        arr ? otter_store_member_list_tenant(c->api->store, c->tenant.id, add_member, arr, &err)
            : otter_err_set(&err, OTTER_ENOMEM, "out of memory");
    if (ret < 0) {
        json_decref(arr);
        return api_fail_err(c, "users", &err);
    }
    return api_reply(c, 200, json_pack("{s:o}", "users", arr));
}

/*
 * Loads the user named in the path who is a member of the current tenant.
 * A user outside the tenant is "not found": tenant admins do not see others.
 */
static int load_member(struct call *c, otter_user *u, otter_role *role)
{
    otter_err err;
    int found = 0;
    const char *name = c->param[0];
    *role = OTTER_ROLE_NONE;
    if (!otter_reqjson_name_ok(name))
        return api_fail(c, 404, "path", "no user '%.64s' in tenant '%s'", name, c->tenant.name);
    if (otter_store_user_get(c->api->store, name, u, &found, &err) < 0 ||
        (found && otter_store_member_get(c->api->store, u->id, c->tenant.id, role, &err) < 0))
        return api_fail_err(c, "path", &err);
    if (!found || *role == OTTER_ROLE_NONE)
        return api_fail(c, 404, "path", "no user '%s' in tenant '%s'", name, c->tenant.name);
    return 0;
}

static json_t *member_doc(const otter_user *u, otter_role role)
{
    return json_pack("{s:s, s:s, s:b, s:o}", "username", u->name, "role",
                     otter_rbac_role_name(role), "is_admin", u->is_admin, "created_at",
                     api_time(u->created_at));
}

static int role_from_body(struct call *c, otter_role *role)
{
    otter_err err;
    if (otter_rbac_role_parse(otter_reqjson_str(&c->body, "role"), role, &err) < 0)
        return api_fail(c, 400, "body.role", "%s", err.msg);
    return 0;
}

int api_members_create(struct call *c)
{
    otter_err err;
    otter_role role;
    char *hash = NULL;
    int status;
    otter_user u = {0};
    const char *name = otter_reqjson_str(&c->body, "username");
    if ((status = role_from_body(c, &role)) != 0)
        return status;
    if ((status = api_password_new(c, "password", &hash)) != 0)
        return status;
    char detail[64];
    snprintf(detail, sizeof detail, "{\"role\":\"%s\"}", otter_rbac_role_name(role));
    if (api_begin(c, &err) < 0 ||
        otter_store_user_create(c->api->store, name, hash, 0, c->now, &u.id, &err) < 0 ||
        otter_store_member_set(c->api->store, u.id, c->tenant.id, role, &err) < 0 ||
        api_audit(c, "member.create", name, detail, &err) < 0) {
        status = err.code == OTTER_ESTATE
                     ? api_fail(c, 409, "body.username",
                                "user '%s' exists; add them with PUT .../users/%s", name, name)
                     : api_fail_err(c, "body", &err);
    } else {
        snprintf(u.name, sizeof u.name, "%s", name);
        u.created_at = c->now;
        status = api_reply(c, 201, member_doc(&u, role));
    }
    free(hash);
    return status;
}

int api_members_get(struct call *c)
{
    otter_user u;
    otter_role role;
    int status = load_member(c, &u, &role);
    if (status)
        return status;
    return api_reply(c, 200, member_doc(&u, role));
}

int api_members_set_role(struct call *c)
{
    otter_err err;
    otter_user u;
    otter_role role;
    int found = 0, status;
    const char *name = c->param[0];
    if ((status = role_from_body(c, &role)) != 0)
        return status;
    /* Adding an existing user to this tenant is allowed: that is what a membership is. */
    if (!otter_reqjson_name_ok(name))
        return api_fail(c, 404, "path", "no user '%.64s'", name);
    if (otter_store_user_get(c->api->store, name, &u, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found)
        return api_fail(c, 404, "path", "no user '%s'", name);
    char detail[64];
    snprintf(detail, sizeof detail, "{\"role\":\"%s\"}", otter_rbac_role_name(role));
    if (api_begin(c, &err) < 0 ||
        otter_store_member_set(c->api->store, u.id, c->tenant.id, role, &err) < 0 ||
        api_audit(c, "member.role", name, detail, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 200, member_doc(&u, role));
}

int api_members_delete(struct call *c)
{
    otter_err err;
    otter_user u;
    otter_role role;
    int found = 0, status = load_member(c, &u, &role);
    if (status)
        return status;
    if (api_begin(c, &err) < 0 ||
        otter_store_member_delete(c->api->store, u.id, c->tenant.id, &found, &err) < 0 ||
        api_audit(c, "member.delete", u.name, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}

struct reach {
    struct call *c;
    int ok;
};

static int check_admin_everywhere(void *ctx, const otter_member *m)
{
    struct reach *r = ctx;
    otter_err err;
    otter_role mine = OTTER_ROLE_NONE;
    int ret = otter_store_member_get(r->c->api->store, r->c->user.id, m->tenant_id, &mine, &err);
    if (ret < 0)
        return ret;
    if (mine != OTTER_ROLE_ADMIN)
        r->ok = 0;
    return 0;
}

int api_members_password(struct call *c)
{
    otter_err err;
    otter_user u;
    otter_role role;
    int status = load_member(c, &u, &role);
    if (status)
        return status;
    if ((status = api_refuse_own_password(c, &u)) != 0)
        return status;
    /*
     * Setting a password hands over every tenant the user belongs to, so a
     * tenant admin may do it only when they administer all of them.
     */
    if (!c->user.is_admin) {
        struct reach r = {c, !u.is_admin};
        if (r.ok &&
            otter_store_member_list_user(c->api->store, u.id, check_admin_everywhere, &r, &err) < 0)
            return api_fail_err(c, "path", &err);
        if (!r.ok)
            return api_fail(c, 403, "path",
                            "'%s' belongs to tenants you do not administer; ask a global admin",
                            u.name);
    }
    return api_password_set(c, &u, "password");
}
