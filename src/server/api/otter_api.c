/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dispatch for the management API: match the route, authenticate, resolve
 * the tenant, check the role from the route table, parse the body, run the
 * handler, then commit its transaction (with its audit entry) or roll it
 * back. The order matters: a caller learns nothing about a body or a
 * tenant it may not touch, and a refused request changes nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "otter_api_internal.h"
#include "otter_artifact.h"
#include "otter_auth.h"
#include "otter_encode.h"

enum access {
    A_PUBLIC, /* no authentication (login) */
    A_USER,   /* any authenticated user, acting on themselves */
    A_TENANT, /* path has {tenant}; caller needs one of `roles` there (or global admin) */
    A_GLOBAL, /* global admins only */
};

struct route {
    const char *method;
    const char *pattern;
    enum access access;
    unsigned roles; /* A_TENANT: otter_role mask; OTTER_ROLES_GLOBAL_ADMIN = global admin only */
    otter_req_kind body;
    int (*fn)(struct call *c);
};

#define ANY OTTER_ROLES_ANY
#define ADMIN OTTER_ROLE_ADMIN
#define OPERATOR OTTER_ROLE_OPERATOR
#define PUBLISHER OTTER_ROLE_PUBLISHER
#define APPROVER OTTER_ROLE_APPROVER
#define T_ "/api/v1/tenants/{tenant}"

/*
 * The route table is also the RBAC table: every operation and who may do it.
 * Later features (releases, approvals, rollouts, devices) add rows here with
 * their roles (publisher, approver, operator).
 */
static const struct route routes[] = {
    {"POST", "/api/v1/login", A_PUBLIC, 0, OTTER_REQ_LOGIN, api_login},
    {"POST", "/api/v1/logout", A_USER, 0, OTTER_REQ_NONE, api_logout},
    {"GET", "/api/v1/me", A_USER, 0, OTTER_REQ_NONE, api_me},
    {"PUT", "/api/v1/me/password", A_USER, 0, OTTER_REQ_PASSWORD_CHANGE, api_me_password},
    {"GET", "/api/v1/tokens", A_USER, 0, OTTER_REQ_NONE, api_tokens_list},
    {"POST", "/api/v1/tickets", A_USER, 0, OTTER_REQ_NONE, api_tickets_create},
    {"POST", "/api/v1/tokens", A_USER, 0, OTTER_REQ_TOKEN_CREATE, api_tokens_create},
    {"DELETE", "/api/v1/tokens/{id}", A_USER, 0, OTTER_REQ_NONE, api_tokens_delete},
    {"GET", "/api/v1/tenants", A_USER, 0, OTTER_REQ_NONE, api_tenants_list},
    {"POST", "/api/v1/tenants", A_GLOBAL, 0, OTTER_REQ_TENANT_CREATE, api_tenants_create},
    {"GET", "/api/v1/tenants/{tenant}", A_TENANT, ANY, OTTER_REQ_NONE, api_tenants_get},
    {"DELETE", "/api/v1/tenants/{tenant}", A_TENANT, OTTER_ROLES_GLOBAL_ADMIN, OTTER_REQ_NONE,
     api_tenants_delete},
    {"GET", "/api/v1/tenants/{tenant}/users", A_TENANT, ANY, OTTER_REQ_NONE, api_members_list},
    {"POST", "/api/v1/tenants/{tenant}/users", A_TENANT, ADMIN, OTTER_REQ_MEMBER_CREATE,
     api_members_create},
    {"GET", "/api/v1/tenants/{tenant}/users/{user}", A_TENANT, ANY, OTTER_REQ_NONE,
     api_members_get},
    {"PUT", "/api/v1/tenants/{tenant}/users/{user}", A_TENANT, ADMIN, OTTER_REQ_ROLE_SET,
     api_members_set_role},
    {"DELETE", "/api/v1/tenants/{tenant}/users/{user}", A_TENANT, ADMIN, OTTER_REQ_NONE,
     api_members_delete},
    {"PUT", "/api/v1/tenants/{tenant}/users/{user}/password", A_TENANT, ADMIN,
     OTTER_REQ_PASSWORD_SET, api_members_password},
    {"GET", "/api/v1/tenants/{tenant}/audit", A_TENANT, ADMIN, OTTER_REQ_NONE, api_tenant_audit},
    /* Trust roots (issue #13): tenant admins rotate, everyone may read the chain. */
    {"GET", "/api/v1/tenants/{tenant}/roots", A_TENANT, ANY, OTTER_REQ_NONE, api_roots_list},
    {"POST", "/api/v1/tenants/{tenant}/roots", A_TENANT, ADMIN, OTTER_REQ_ROLLOUT, api_roots_add},
    {"GET", "/api/v1/users", A_GLOBAL, 0, OTTER_REQ_NONE, api_users_list},
    {"POST", "/api/v1/users", A_GLOBAL, 0, OTTER_REQ_USER_CREATE, api_users_create},
    {"GET", "/api/v1/users/{user}", A_GLOBAL, 0, OTTER_REQ_NONE, api_users_get},
    {"DELETE", "/api/v1/users/{user}", A_GLOBAL, 0, OTTER_REQ_NONE, api_users_delete},
    {"PUT", "/api/v1/users/{user}/password", A_GLOBAL, 0, OTTER_REQ_PASSWORD_SET,
     api_users_password},
    {"GET", "/api/v1/audit", A_GLOBAL, 0, OTTER_REQ_NONE, api_audit_list},
    /* The fleet: operators provision devices and deploy; publishers upload releases. */
    {"POST", T_ "/gateway-token", A_TENANT, ADMIN, OTTER_REQ_NONE, api_gateway_rotate},
    /* Device certificates (issue #13): tenant admins set the DDI mode and the device CAs. */
    {"GET", T_ "/ddi-auth", A_TENANT, ANY, OTTER_REQ_NONE, api_ddi_auth_get},
    {"PUT", T_ "/ddi-auth", A_TENANT, ADMIN, OTTER_REQ_JSON, api_ddi_auth_set},
    {"GET", T_ "/device-cas", A_TENANT, ANY, OTTER_REQ_NONE, api_device_cas_list},
    {"POST", T_ "/device-cas", A_TENANT, ADMIN, OTTER_REQ_JSON, api_device_cas_add},
    {"GET", T_ "/device-cas/{ca}", A_TENANT, ANY, OTTER_REQ_NONE, api_device_cas_get},
    {"DELETE", T_ "/device-cas/{ca}", A_TENANT, ADMIN, OTTER_REQ_NONE, api_device_cas_delete},
    {"PUT", T_ "/device-cas/{ca}/crl", A_TENANT, ADMIN, OTTER_REQ_JSON, api_device_cas_crl},
    {"GET", T_ "/devices", A_TENANT, ANY, OTTER_REQ_NONE, api_devices_list},
    {"POST", T_ "/devices", A_TENANT, OPERATOR, OTTER_REQ_DEVICE_CREATE, api_devices_create},
    {"POST", T_ "/devices/bulk", A_TENANT, OPERATOR, OTTER_REQ_CSV, api_devices_bulk},
    {"GET", T_ "/devices/{device}", A_TENANT, ANY, OTTER_REQ_NONE, api_devices_get},
    {"DELETE", T_ "/devices/{device}", A_TENANT, OPERATOR, OTTER_REQ_NONE, api_devices_delete},
    {"GET", T_ "/devices/{device}/history", A_TENANT, ANY, OTTER_REQ_NONE, api_devices_history},
    {"GET", T_ "/groups", A_TENANT, ANY, OTTER_REQ_NONE, api_groups_list},
    {"POST", T_ "/groups", A_TENANT, OPERATOR, OTTER_REQ_GROUP_CREATE, api_groups_create},
    {"DELETE", T_ "/groups/{group}", A_TENANT, OPERATOR, OTTER_REQ_NONE, api_groups_delete},
    {"GET", T_ "/groups/{group}/maintenance-schedule", A_TENANT, ANY, OTTER_REQ_NONE,
     api_groups_schedule_get},
    {"PUT", T_ "/groups/{group}/maintenance-schedule", A_TENANT, OPERATOR, OTTER_REQ_JSON,
     api_groups_schedule_set},
    {"PUT", T_ "/groups/{group}/devices/{device}", A_TENANT, OPERATOR, OTTER_REQ_NONE,
     api_groups_add},
    {"DELETE", T_ "/groups/{group}/devices/{device}", A_TENANT, OPERATOR, OTTER_REQ_NONE,
     api_groups_remove},
    {"GET", T_ "/releases", A_TENANT, ANY, OTTER_REQ_NONE, api_releases_list},
    {"POST", T_ "/releases", A_TENANT, PUBLISHER, OTTER_REQ_UPLOAD, api_releases_upload},
    {"GET", T_ "/releases/{release}", A_TENANT, ANY, OTTER_REQ_NONE, api_releases_get},
    {"DELETE", T_ "/releases/{release}", A_TENANT, PUBLISHER, OTTER_REQ_NONE, api_releases_delete},
    {"GET", T_ "/releases/{release}/artifact", A_TENANT, ANY, OTTER_REQ_NONE,
     api_releases_download},
    /* Delta packages of a release (issue #12): publishers upload and delete, all may read. */
    {"GET", T_ "/releases/{release}/deltas", A_TENANT, ANY, OTTER_REQ_NONE, api_deltas_list},
    {"POST", T_ "/releases/{release}/deltas", A_TENANT, PUBLISHER, OTTER_REQ_UPLOAD,
     api_deltas_upload},
    {"GET", T_ "/releases/{release}/deltas/{delta}", A_TENANT, ANY, OTTER_REQ_NONE,
     api_deltas_download},
    {"DELETE", T_ "/releases/{release}/deltas/{delta}", A_TENANT, PUBLISHER, OTTER_REQ_NONE,
     api_deltas_delete},
    {"POST", T_ "/deployments", A_TENANT, OPERATOR, OTTER_REQ_DEPLOY, api_deployments_create},
    {"GET", T_ "/actions/{action}", A_TENANT, ANY, OTTER_REQ_NONE, api_actions_get},
    {"POST", T_ "/actions/{action}/cancel", A_TENANT, OPERATOR, OTTER_REQ_NONE, api_actions_cancel},
    {"PUT", T_ "/actions/{action}/maintenance-window", A_TENANT, OPERATOR, OTTER_REQ_MAINTENANCE,
     api_actions_maintenance},
    {"GET", T_ "/approvals", A_TENANT, ANY, OTTER_REQ_NONE, api_approvals_list},
    {"POST", T_ "/releases/{release}/approve", A_TENANT, APPROVER, OTTER_REQ_DECISION,
     api_release_approve},
    {"POST", T_ "/releases/{release}/reject", A_TENANT, APPROVER, OTTER_REQ_DECISION,
     api_release_reject},
    {"POST", T_ "/releases/{release}/revoke", A_TENANT, APPROVER, OTTER_REQ_DECISION,
     api_release_revoke},
    {"GET", T_ "/rollouts", A_TENANT, ANY, OTTER_REQ_NONE, api_rollouts_list},
    {"POST", T_ "/rollouts", A_TENANT, OPERATOR, OTTER_REQ_ROLLOUT, api_rollouts_create},
    {"POST", T_ "/rollouts/preview", A_TENANT, OPERATOR, OTTER_REQ_ROLLOUT, api_rollouts_preview},
    {"GET", T_ "/rollouts/{rollout}", A_TENANT, ANY, OTTER_REQ_NONE, api_rollouts_get},
    {"GET", T_ "/rollouts/{rollout}/stats", A_TENANT, ANY, OTTER_REQ_NONE, api_rollouts_stats},
    {"GET", T_ "/rollouts/{rollout}/events", A_TENANT, ANY, OTTER_REQ_NONE, api_rollouts_events},
    /* Bandwidth caps (issue #15): operators cap a rollout, tenant admins the tenant. */
    {"GET", T_ "/rollouts/{rollout}/bandwidth", A_TENANT, ANY, OTTER_REQ_NONE,
     api_rollout_bwcap_get},
    {"PUT", T_ "/rollouts/{rollout}/bandwidth", A_TENANT, OPERATOR, OTTER_REQ_JSON,
     api_rollout_bwcap_set},
    {"GET", T_ "/rollouts/{rollout}/history", A_TENANT, ANY, OTTER_REQ_NONE, api_rollout_history},
    {"GET", T_ "/rollouts/{rollout}/campaign", A_TENANT, ANY, OTTER_REQ_NONE,
     api_rollout_campaign_get},
    {"PUT", T_ "/rollouts/{rollout}/campaign", A_TENANT, OPERATOR, OTTER_REQ_JSON,
     api_rollout_campaign_set},
    {"GET", T_ "/rollouts/{rollout}/push", A_TENANT, ANY, OTTER_REQ_NONE, api_rollout_push_get},
    {"GET", T_ "/push", A_TENANT, ANY, OTTER_REQ_NONE, api_tenant_push_get},
    {"GET", T_ "/bandwidth", A_TENANT, ANY, OTTER_REQ_NONE, api_tenant_bwcap_get},
    {"PUT", T_ "/bandwidth", A_TENANT, ADMIN, OTTER_REQ_JSON, api_tenant_bwcap_set},
    {"POST", T_ "/rollouts/{rollout}/start", A_TENANT, OPERATOR, OTTER_REQ_NONE,
     api_rollouts_start},
    {"POST", T_ "/rollouts/{rollout}/pause", A_TENANT, OPERATOR, OTTER_REQ_NONE,
     api_rollouts_pause},
    {"POST", T_ "/rollouts/{rollout}/resume", A_TENANT, OPERATOR, OTTER_REQ_RESUME,
     api_rollouts_resume},
    {"POST", T_ "/rollouts/{rollout}/advance", A_TENANT, OPERATOR, OTTER_REQ_NONE,
     api_rollouts_advance},
    {"POST", T_ "/rollouts/{rollout}/cancel", A_TENANT, OPERATOR, OTTER_REQ_NONE,
     api_rollouts_cancel},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])
#define PATH_MAX_BYTES 512
#define SEGMENTS_MAX 8

int otter_api_new(otter_store *store, const otter_server_config *cfg, otter_api **out,
                  otter_err *err)
{
    *out = NULL;
    otter_api *api = calloc(1, sizeof *api);
    if (!api)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    api->store = store;
    api->cfg = cfg;
    pthread_mutex_init(&api->streams_lock, NULL);
    if (cfg->trust_root) {
        /* Read once at start: a broken root is a configuration error, not a 500 per upload. */
        int ret = otter_trust_load_file(cfg->trust_root, &api->trust, err);
        if (ret < 0) {
            free(api);
            return otter_err_prefix(err, "[trust] root");
        }
    }
    /* login_throttle_entries bound the memory a name- or address-spraying attacker can use. */
    unsigned entries = (unsigned)cfg->login_throttle_entries;
    api->throttle_pair = otter_throttle_new((unsigned)cfg->login_max_failures, cfg->login_delay,
                                            cfg->login_window, entries);
    api->throttle_addr = otter_throttle_new((unsigned)cfg->login_max_failures_addr,
                                            cfg->login_delay, cfg->login_window, entries);
    if (!api->throttle_pair || !api->throttle_addr) {
        otter_api_free(api);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    *out = api;
    return 0;
}

void otter_api_free(otter_api *api)
{
    if (!api)
        return;
    otter_trust_free(api->trust);
    otter_throttle_free(api->throttle_pair);
    otter_throttle_free(api->throttle_addr);
    pthread_mutex_destroy(&api->streams_lock);
    free(api);
}

size_t otter_api_route_count(void)
{
    return N_ROUTES;
}

otter_api_route_info otter_api_route(size_t i)
{
    const struct route *r = &routes[i];
    const char *access = r->access == A_PUBLIC ? "public"
                         : r->access == A_USER ? "user"
                         : r->access == A_GLOBAL || r->roles == OTTER_ROLES_GLOBAL_ADMIN
                             ? "global-admin"
                             : "tenant";
    return (otter_api_route_info){r->method, r->pattern, access, r->roles,
                                  r->body != OTTER_REQ_NONE};
}

/* ---- dispatch ---- */

/* Splits a copy of path at '/' into at most SEGMENTS_MAX segments; -1 if too many or too long. */
static int split(const char *path, char *buf, char **seg)
{
    if (path[0] != '/' || strlen(path) >= PATH_MAX_BYTES)
        return -1;
    strcpy(buf, path + 1);
    int n = 0;
    for (char *p = buf;;) {
        if (n == SEGMENTS_MAX)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

/* Matches one pattern against the segments; fills tenant and params on success. */
static int match(const char *pattern, char **seg, int nseg, const char **tenant, const char **param)
{
    char pbuf[PATH_MAX_BYTES];
    char *pseg[SEGMENTS_MAX];
    int np = split(pattern, pbuf, pseg);
    if (np != nseg)
        return 0;
    int nparam = 0;
    for (int i = 0; i < np; i++) {
        if (pseg[i][0] == '{') {
            if (!seg[i][0])
                return 0;
            if (strcmp(pseg[i], "{tenant}") == 0)
                *tenant = seg[i];
            else if (nparam < API_PARAM_MAX)
                param[nparam++] = seg[i];
        } else if (strcmp(pseg[i], seg[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static int token_shape_ok(const char *t)
{
    size_t n = strlen(t);
    if (n != 4 + 64 || t[3] != '_')
        return 0;
    if (strncmp(t, OTTER_AUTH_TOKEN_PREFIX_SESSION, 3) != 0 &&
        strncmp(t, OTTER_AUTH_TOKEN_PREFIX_API, 3) != 0 &&
        strncmp(t, OTTER_AUTH_TOKEN_PREFIX_TICKET, 3) != 0)
        return 0;
    return otter_is_lower_hex(t + 4, 64);
}

static int authenticate(struct call *c, const struct route *r)
{
    otter_err err;
    int found = 0;
    const char *h = otter_http_header(c->req, "Authorization");
    /* Event streams also take ?ticket= (see api_tickets_create). */
    const char *ticket =
        r && r->fn == api_rollouts_events ? otter_http_query(c->req, "ticket") : NULL;
    const char *where = h || !ticket ? "header Authorization" : "query ticket";
    const char *tok = NULL;
    c->resp->www_authenticate = "Bearer realm=\"otter\"";
    if (!h && !ticket)
        return api_fail(c, 401, where, "authentication required");
    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return api_fail(c, 401, where, "expected 'Authorization: Bearer TOKEN'");
        tok = h + 7;
        while (*tok == ' ')
            tok++;
    } else {
        tok = ticket;
    }
    /* Same answer for every bad token: nothing to learn by probing. */
    if (!token_shape_ok(tok))
        return api_fail(c, 401, where, "invalid or expired token");
    /* Tickets only as ?ticket=, and ?ticket= only takes tickets. */
    if ((strncmp(tok, OTTER_AUTH_TOKEN_PREFIX_TICKET, 3) == 0) != (tok == ticket))
        return api_fail(c, 401, where, "invalid or expired token");
    otter_auth_token_hash(tok, c->token_sha);
    if (otter_store_token_find(c->api->store, c->token_sha, &c->token, &found, &err) < 0)
        return api_fail_err(c, "header Authorization", &err);
    if (!found || c->token.revoked_at || c->token.expires_at <= c->now ||
        (c->token.kind == OTTER_TOKEN_TICKET) != (tok == ticket))
        return api_fail(c, 401, where, "invalid or expired token");
    /* A ticket lives no longer than the token that made it (api_tickets_create). */
    if (c->token.kind == OTTER_TOKEN_TICKET && c->token.name[0] &&
        api_token_live(c->api->store, c->token.name, c->now, &found, &err) < 0)
        return api_fail_err(c, "query ticket", &err);
    if (c->token.kind == OTTER_TOKEN_TICKET && c->token.name[0] && !found)
        return api_fail(c, 401, where, "invalid or expired token");
    if (otter_store_user_get_by_id(c->api->store, c->token.user_id, &c->user, &found, &err) < 0)
        return api_fail_err(c, "header Authorization", &err);
    if (!found)
        return api_fail(c, 401, "header Authorization", "invalid or expired token");
    c->resp->www_authenticate = NULL;
    c->authed = 1;
    return 0;
}

/* Resolves {tenant}; a tenant the caller is not in looks exactly like one that does not exist. */
static int resolve_tenant(struct call *c, const struct route *r, const char *name)
{
    otter_err err;
    int found = 0;
    if (!otter_reqjson_name_ok(name))
        return api_fail(c, 404, "path", "no tenant '%.64s'", name);
    if (otter_store_tenant_get(c->api->store, name, &c->tenant, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (found &&
        otter_store_member_get(c->api->store, c->user.id, c->tenant.id, &c->role, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found || (!c->user.is_admin && c->role == OTTER_ROLE_NONE))
        return api_fail(c, 404, "path", "no tenant '%s'", name);
    c->has_tenant = 1;
    if (!otter_rbac_allows(r->roles, c->user.is_admin, c->role))
        return api_fail(c, 403, "path",
                        r->roles == OTTER_ROLES_GLOBAL_ADMIN
                            ? "only a global admin may do this (your role in '%s': %s)"
                            : "your role in tenant '%s' (%s) does not allow this",
                        c->tenant.name, otter_rbac_role_name(c->role));
    return 0;
}

static int parse_body(struct call *c, const struct route *r)
{
    otter_err err;
    if (r->body == OTTER_REQ_UPLOAD)
        return 0; /* streamed to disk by otter_api_upload_open(); the handler checks it */
    if (r->body == OTTER_REQ_ROLLOUT || r->body == OTTER_REQ_JSON) {
        /* Nested: the handler parses it (otter_rollout_request_parse, otter_api_devca.c). */
        const char *ct = otter_http_header(c->req, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
            (ct[16] && ct[16] != ';' && ct[16] != ' '))
            return api_fail(c, 415, "header Content-Type",
                            "request bodies must be application/json");
        c->body.kind = r->body;
        return 0;
    }
    if (r->body == OTTER_REQ_CSV) {
        const char *ct = otter_http_header(c->req, "Content-Type");
        if (!ct || strncasecmp(ct, "text/csv", 8) != 0 || (ct[8] && ct[8] != ';' && ct[8] != ' '))
            return api_fail(c, 415, "header Content-Type", "this request takes text/csv");
        c->body.kind = OTTER_REQ_CSV;
        return 0;
    }
    if (c->req->body_len) {
        const char *ct = otter_http_header(c->req, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
            (ct[16] && ct[16] != ';' && ct[16] != ' '))
            return api_fail(c, 415, "header Content-Type",
                            "request bodies must be application/json");
    }
    if (otter_reqjson_parse(r->body, c->req->body, c->req->body_len,
                            (unsigned)c->api->cfg->json_depth, &c->body, &err) < 0) {
        if (err.code == OTTER_ENOMEM)
            return api_fail(c, 500, "body", "out of memory");
        return api_fail(c, 400, c->body.where, "%s", err.msg);
    }
    return 0;
}

/* Finds the route of c->req (buf/seg hold the split path the params point into). */
static const struct route *find_route(struct call *c, char *buf, char **seg, const char **tenant,
                                      int *path_known)
{
    int nseg = split(c->req->path, buf, seg);
    *path_known = 0;
    for (size_t i = 0; nseg > 0 && i < N_ROUTES; i++) {
        const char *t = NULL, *p[API_PARAM_MAX] = {0};
        if (!match(routes[i].pattern, seg, nseg, &t, p))
            continue;
        *path_known = 1;
        if (strcmp(routes[i].method, c->req->method) != 0)
            continue;
        *tenant = t;
        memcpy(c->param, p, sizeof p);
        return &routes[i];
    }
    return NULL;
}

static int route_and_run(struct call *c)
{
    char buf[PATH_MAX_BYTES];
    char *seg[SEGMENTS_MAX];
    const char *tenant = NULL;
    int path_known = 0;
    const struct route *r = find_route(c, buf, seg, &tenant, &path_known);
    if (!r && path_known)
        return api_fail(c, 405, "method", "%s is not allowed here", c->req->method);
    if (!r)
        return api_fail(c, 404, "path", "no such API endpoint");

    int status;
    if (r->access != A_PUBLIC && (status = authenticate(c, r)) != 0)
        return status;
    if (r->access == A_GLOBAL && !c->user.is_admin)
        return api_fail(c, 403, "path", "only a global admin may do this");
    if (r->access == A_TENANT && (status = resolve_tenant(c, r, tenant)) != 0)
        return status;
    if ((status = parse_body(c, r)) != 0)
        return status;
    return r->fn(c);
}

int otter_api_upload_open(void *ctx, const otter_http_request *req, void **sink, uint64_t *limit)
{
    otter_http_response resp = {0};
    struct call c = {.api = ctx, .req = req, .resp = &resp, .now = (int64_t)time(NULL)};
    char buf[PATH_MAX_BYTES];
    char *seg[SEGMENTS_MAX];
    const char *tenant = NULL;
    int path_known = 0, how = 0;
    otter_err err;
    const struct route *r = find_route(&c, buf, seg, &tenant, &path_known);
    if (!r || r->body != OTTER_REQ_UPLOAD)
        return 0;
    /*
     * Authorize before a byte of the body is stored: a refused caller gets
     * the handler's 401/403 at once and its body is never read.
     */
    how = -1;
    if (authenticate(&c, r) != 0 || resolve_tenant(&c, r, tenant) != 0)
        goto out;
    otter_artifact_sink *s = NULL;
    if (otter_artifact_sink_new(c.api->cfg->artifacts_dir, &s, &err) < 0) {
        fprintf(stderr, "otter-server: upload: %s\n", err.msg);
        goto out;
    }
    *sink = s;
    *limit = c.api->cfg->max_upload;
    how = 1;
out:
    json_decref(c.out);
    free(resp.body);
    return how;
}

int otter_api_upload_write(void *sink, const void *data, size_t len)
{
    return otter_artifact_sink_write(sink, data, len);
}

void otter_api_upload_close(void *sink)
{
    otter_artifact_sink_free(sink);
}

void otter_api_handle(void *ctx, const otter_http_request *req, otter_http_response *resp)
{
    struct call c = {.api = ctx, .req = req, .resp = resp, .now = (int64_t)time(NULL)};
    otter_err err;
    int status = route_and_run(&c);
    if (c.in_tx) {
        if (status < 400) {
            if (otter_store_commit(c.api->store, &err) < 0)
                status = api_fail_err(&c, "database", &err);
            else {
                atomic_fetch_add(&c.api->writes, 1);
                otter_publish_send(c.api->publish, c.wake);
                c.wake = NULL;
            }
        } else {
            otter_store_rollback(c.api->store);
        }
    }
    resp->status = status;
    if (c.out && resp->fd_set) {
        /* An error after a file body was chosen: send the error, not the file. */
        close(resp->fd);
        resp->fd_set = 0;
    }
    if (c.out && status != 204) {
        resp->body = json_dumps(c.out, JSON_COMPACT);
        if (!resp->body)
            resp->status = 500;
    }
    json_decref(c.out);
    otter_publish_batch_free(c.wake);
    otter_reqjson_clear(&c.body);
}

void otter_api_set_publish(otter_api *api, struct otter_publish *publish)
{
    api->publish = publish;
}
