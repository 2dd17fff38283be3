/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RBAC matrix: every management endpoint of the route table against
 * every role (and a global admin, a member of another tenant, no token and
 * an expired token), with the expected status, and the database compared
 * before and after each call: a refusal changes nothing, an allowed read
 * changes nothing, an allowed write leaves exactly the audit entries its
 * row says. A completeness check fails when a route of the real table
 * (otter_api_route) has no row here, so a new route cannot be forgotten.
 * Then tenant isolation: nothing of tenant beta is visible or changeable
 * from acme, by path or by id/name of beta's fleet objects.
 */
#include "harness.h"

#include <curl/curl.h>

#include "otter_api.h"

enum { GADMIN, ADMIN, PUBLISHER, APPROVER, OPERATOR, VIEWER, OUTSIDER, ANON, EXPIRED, N_ACTORS };

static const char *const actor_name[N_ACTORS] = {
    "gadmin",   "r_admin",  "r_publisher", "r_approver", "r_operator",
    "r_viewer", "outsider", "anon",        "expired",
};
/* Device, group and rollout names take no '_' (otter_reqjson_name_ok): a short slug each. */
static const char *const actor_slug[N_ACTORS] = {
    "gadmin", "admin", "pub", "appr", "oper", "view", "out", "anon", "exp",
};
static const char *const actor_role[N_ACTORS] = {
    NULL, "admin", "publisher", "approver", "operator", "viewer", NULL, NULL, "admin",
};
/*
 * tok: the actor's session. tok2: a second session of the same user, for
 * logout (which ends it). tok3: a session of the actor's twin pw_<actor>
 * (same roles), for /me/password, which ends every session of its user.
 */
static char *tok[N_ACTORS], *tok2[N_ACTORS], *tok3[N_ACTORS];

/* Fleet objects in acme: shared ones for reads, one of each per actor where a write uses it up. */
static long long rel, ro, act;
/* Beta's: a pending and an approved release, a rollout, an action (device bdev, group bgrp). */
static long long brel, bapp, bro, bact;
static struct fixtures {
    long long token;      /* the actor's own API token, for DELETE /tokens/{id} */
    long long rel_del;    /* pending release to delete */
    long long rel_ok;     /* pending release to approve */
    long long rel_no;     /* pending release to reject */
    long long rel_rev;    /* approved release to revoke */
    long long ro_start;   /* draft rollout */
    long long ro_pause;   /* running rollout */
    long long ro_resume;  /* paused rollout */
    long long ro_adv;     /* running rollout at its first of two stages */
    long long ro_cancel;  /* draft rollout */
    long long act_cancel; /* scheduled action */
    long long act_mw;     /* scheduled action */
} fx[N_ACTORS];

struct endpoint {
    const char *method;
    const char *path;  /* {key} placeholders, see expand() */
    const char *ctype; /* NULL = JSON */
    const char *body;  /* {key} placeholders */
    int expect[N_ACTORS];
    int audits;  /* audit entries an allowed call writes; 0 = it must change nothing at all */
    int session; /* 0 = tok, 2 = tok2, 3 = tok3 */
};

/* Everyone authenticated; no token or an expired one: 401. */
#define ANY_USER(s)                                                                                \
    {                                                                                              \
        s, s, s, s, s, s, s, 401, 401                                                              \
    }
#define PUBLIC(s)                                                                                  \
    {                                                                                              \
        s, s, s, s, s, s, s, s, s                                                                  \
    }
/* Any role in acme; the outsider (admin of beta only) must not learn acme exists. */
#define TENANT_READ                                                                                \
    {                                                                                              \
        200, 200, 200, 200, 200, 200, 404, 401, 401                                                \
    }
/* Any role in acme gets s (e.g. 404 for an object that is not there). */
#define TENANT_ANY(s)                                                                              \
    {                                                                                              \
        s, s, s, s, s, s, 404, 401, 401                                                            \
    }
#define TENANT_ADMIN(s)                                                                            \
    {                                                                                              \
        s, s, 403, 403, 403, 403, 404, 401, 401                                                    \
    }
#define TENANT_OPERATOR(s)                                                                         \
    {                                                                                              \
        s, s, 403, 403, s, 403, 404, 401, 401                                                      \
    }
#define TENANT_PUBLISHER(s)                                                                        \
    {                                                                                              \
        s, s, s, 403, 403, 403, 404, 401, 401                                                      \
    }
#define TENANT_APPROVER(s)                                                                         \
    {                                                                                              \
        s, s, 403, s, 403, 403, 404, 401, 401                                                      \
    }
/* A tenant route only a global admin may take: tenant admins are refused too. */
#define TENANT_GLOBAL_ADMIN(s)                                                                     \
    {                                                                                              \
        s, 403, 403, 403, 403, 403, 404, 401, 401                                                  \
    }
#define GLOBAL_ONLY(s)                                                                             \
    {                                                                                              \
        s, 403, 403, 403, 403, 403, 403, 401, 401                                                  \
    }

#define T "/api/v1/tenants/acme"
#define ROLLOUT_BODY "{\"name\":\"new-{s}\",\"release\":{rel},\"stages\":[{\"percent\":100}]}"

static const struct endpoint endpoints[] = {
    /* Sessions and the caller's own account. */
    {"POST", "/api/v1/login", NULL, "{\"username\":\"r_viewer\",\"password\":\"" PW "\"}",
     PUBLIC(200), 1, 0},
    {"GET", "/api/v1/me", NULL, NULL, ANY_USER(200), 0, 0},
    {"GET", "/api/v1/tenants", NULL, NULL, ANY_USER(200), 0, 0},
    {"GET", "/api/v1/tokens", NULL, NULL, ANY_USER(200), 0, 0},
    {"POST", "/api/v1/tokens", NULL, "{\"name\":\"m_{a}\",\"password\":\"{pw}\"}", ANY_USER(201), 1,
     0},
    {"DELETE", "/api/v1/tokens/{token}", NULL, NULL, ANY_USER(204), 1, 0},
    /*
     * A ticket is a credential, so its creation is audited (ticket.create, one
     * entry). That server change is on its way from another branch: until it
     * lands, this row fails with "0 audit entries written, want 1".
     */
    {"POST", "/api/v1/tickets", NULL, NULL, ANY_USER(201), 1, 0},
    {"POST", "/api/v1/logout", NULL, NULL, ANY_USER(204), 1, 2},
    {"PUT", "/api/v1/me/password", NULL,
     "{\"old_password\":\"" PW "\",\"new_password\":\"" PW "x\"}", ANY_USER(204), 1, 3},
    /* Tenants and their members. */
    {"GET", T, NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/users", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/users/r_viewer", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/audit", NULL, NULL, TENANT_ADMIN(200), 0, 0},
    /* Trust roots (issue #13): an empty chain is refused after the role check. */
    {"GET", T "/roots", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/roots", NULL, "{\"type\":\"otter-root-chain\",\"roots\":[]}", TENANT_ADMIN(400), 0,
     0},
    {"POST", T "/users", NULL,
     "{\"username\":\"n_{a}\",\"password\":\"" PW "\",\"role\":\"viewer\"}", TENANT_ADMIN(201), 1,
     0},
    {"PUT", T "/users/target", NULL, "{\"role\":\"operator\"}", TENANT_ADMIN(200), 1, 0},
    {"PUT", T "/users/target/password", NULL, "{\"password\":\"" PW "\"}", TENANT_ADMIN(204), 1, 0},
    {"DELETE", T "/users/del_{a}", NULL, NULL, TENANT_ADMIN(204), 1, 0},
    {"DELETE", "/api/v1/tenants/gamma", NULL, NULL, TENANT_GLOBAL_ADMIN(204), 1, 0},
    {"POST", "/api/v1/tenants", NULL, "{\"name\":\"t-{s}\"}", GLOBAL_ONLY(201), 1, 0},
    /* Global user administration. */
    {"GET", "/api/v1/users", NULL, NULL, GLOBAL_ONLY(200), 0, 0},
    {"POST", "/api/v1/users", NULL, "{\"username\":\"g_{a}\",\"password\":\"" PW "\"}",
     GLOBAL_ONLY(201), 1, 0},
    {"GET", "/api/v1/users/r_viewer", NULL, NULL, GLOBAL_ONLY(200), 0, 0},
    {"PUT", "/api/v1/users/target/password", NULL, "{\"password\":\"" PW "\"}", GLOBAL_ONLY(204), 1,
     0},
    {"DELETE", "/api/v1/users/gdel_{a}", NULL, NULL, GLOBAL_ONLY(204), 1, 0},
    {"GET", "/api/v1/audit", NULL, NULL, GLOBAL_ONLY(200), 0, 0},
    /* Devices and groups: operators provision. */
    {"POST", T "/gateway-token", NULL, NULL, TENANT_ADMIN(201), 1, 0},
    /*
     * Device certificates (issue #13): tenant admins write, every member
     * reads. The role is checked before the body: allowed roles get the
     * refusal of a PEM that is none (400), or the missing CA's 404;
     * devcert.sh has the uploads that succeed.
     */
    {"GET", T "/ddi-auth", NULL, NULL, TENANT_READ, 0, 0},
    {"PUT", T "/ddi-auth", NULL, "{\"mode\":\"token\"}", TENANT_ADMIN(200), 1, 0},
    {"GET", T "/device-cas", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/device-cas", NULL, "{\"pem\":\"not a CA of {a}\"}", TENANT_ADMIN(400), 0, 0},
    {"GET", T "/device-cas/999999", NULL, NULL, TENANT_ANY(404), 0, 0},
    {"DELETE", T "/device-cas/999999", NULL, NULL, TENANT_ADMIN(404), 0, 0},
    {"PUT", T "/device-cas/999999/crl", NULL, "{\"pem\":\"x\"}", TENANT_ADMIN(404), 0, 0},
    {"GET", T "/devices", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/devices", NULL, "{\"controller_id\":\"new-{s}\",\"model\":\"m1\"}",
     TENANT_OPERATOR(201), 1, 0},
    /* One audit entry (device.bulk) for the whole CSV. */
    {"POST", T "/devices/bulk", "text/csv", "bulk-{s}a,m1\nbulk-{s}b,m1,bulkgrp\n",
     TENANT_OPERATOR(201), 1, 0},
    {"GET", T "/devices/shared", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/devices/shared/history", NULL, NULL, TENANT_READ, 0, 0},
    {"DELETE", T "/devices/del-{s}", NULL, NULL, TENANT_OPERATOR(204), 1, 0},
    {"GET", T "/groups", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/groups", NULL, "{\"name\":\"new-{s}\"}", TENANT_OPERATOR(201), 1, 0},
    {"DELETE", T "/groups/gdel-{s}", NULL, NULL, TENANT_OPERATOR(204), 1, 0},
    {"PUT", T "/groups/gput-{s}/devices/mput-{s}", NULL, NULL, TENANT_OPERATOR(204), 1, 0},
    {"DELETE", T "/groups/grem-{s}/devices/mrem-{s}", NULL, NULL, TENANT_OPERATOR(204), 1, 0},
    /* A group's maintenance schedule (issue #15): operators set it, every role reads it. */
    {"GET", T "/groups/gput-{s}/maintenance-schedule", NULL, NULL, TENANT_READ, 0, 0},
    {"PUT", T "/groups/gput-{s}/maintenance-schedule", NULL,
     "{\"maintenance_schedule\":{\"time_zone\":\"UTC\",\"windows\":[{\"days\":[\"mon\"],"
     "\"start\":\"01:00\",\"end\":\"05:00\"}]}}",
     TENANT_OPERATOR(200), 1, 0},
    /* Releases: publishers upload and delete; approvers decide. */
    {"GET", T "/releases", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/releases?type=foreign&filename=up-9.{n}.swu&version=9.{n}",
     "application/octet-stream", "firmware of {a}", TENANT_PUBLISHER(201), 1, 0},
    {"GET", T "/releases/{rel}", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/releases/{rel}/artifact", NULL, NULL, TENANT_READ, 0, 0},
    {"DELETE", T "/releases/{rel_del}", NULL, NULL, TENANT_PUBLISHER(204), 1, 0},
    /*
     * Deltas of a release: the role is checked before the body or the delta
     * is looked at (allowed roles then get the upload's 422 or the missing
     * delta's 404); delta.sh has the allowed calls that succeed.
     */
    {"GET", T "/releases/{rel}/deltas", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/releases/{rel}/deltas", "application/octet-stream", "not a delta of {a}",
     TENANT_PUBLISHER(422), 0, 0},
    {"GET", T "/releases/{rel}/deltas/999999", NULL, NULL, TENANT_ANY(404), 0, 0},
    {"DELETE", T "/releases/{rel}/deltas/999999", NULL, NULL, TENANT_PUBLISHER(404), 0, 0},
    {"GET", T "/approvals", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/releases/{rel_ok}/approve", NULL, "{\"comment\":\"ok\"}", TENANT_APPROVER(200), 1,
     0},
    {"POST", T "/releases/{rel_no}/reject", NULL, "{\"comment\":\"no\"}", TENANT_APPROVER(200), 1,
     0},
    {"POST", T "/releases/{rel_rev}/revoke", NULL, "{\"comment\":\"no\"}", TENANT_APPROVER(200), 1,
     0},
    /* Deployments and their actions: operators. */
    {"POST", T "/deployments", NULL, "{\"release\":{rel},\"devices\":[\"dep-{s}\"]}",
     TENANT_OPERATOR(201), 1, 0},
    {"GET", T "/actions/{act}", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/actions/{act_cancel}/cancel", NULL, NULL, TENANT_OPERATOR(200), 1, 0},
    {"PUT", T "/actions/{act_mw}/maintenance-window", NULL,
     "{\"maintenance_window\":\"unavailable\"}", TENANT_OPERATOR(200), 1, 0},
    /* Rollouts: operators. */
    {"GET", T "/rollouts", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/rollouts", NULL, ROLLOUT_BODY, TENANT_OPERATOR(201), 1, 0},
    /* A preview is a POST that writes nothing. */
    {"POST", T "/rollouts/preview", NULL, ROLLOUT_BODY, TENANT_OPERATOR(200), 0, 0},
    {"GET", T "/rollouts/{ro}", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/rollouts/{ro}/stats", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/rollouts/{ro}/events", NULL, NULL, TENANT_READ, 0, 0},
    /* Bandwidth caps (issue #15): operators cap a rollout, tenant admins the tenant. */
    {"GET", T "/rollouts/{ro}/bandwidth", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/rollouts/{ro}/history", NULL, NULL, TENANT_READ, 0, 0},
    {"PUT", T "/rollouts/{ro}/bandwidth", NULL, "{\"bytes_per_second\":1000000}",
     TENANT_OPERATOR(200), 1, 0},
    {"GET", T "/bandwidth", NULL, NULL, TENANT_READ, 0, 0},
    {"PUT", T "/bandwidth", NULL, "{\"bytes_per_second\":1000000}", TENANT_ADMIN(200), 1, 0},
    /* Campaign controls after creation and push state (issue #15): operators change, all read. */
    {"GET", T "/rollouts/{ro}/campaign", NULL, NULL, TENANT_READ, 0, 0},
    {"PUT", T "/rollouts/{ro}/campaign", NULL,
     "{\"maintenance_schedule\":null,\"deferrals\":{\"max\":2},\"urgent\":false}",
     TENANT_OPERATOR(200), 1, 0},
    {"GET", T "/rollouts/{ro}/push", NULL, NULL, TENANT_READ, 0, 0},
    {"GET", T "/push", NULL, NULL, TENANT_READ, 0, 0},
    {"POST", T "/rollouts/{ro_start}/start", NULL, NULL, TENANT_OPERATOR(200), 1, 0},
    {"POST", T "/rollouts/{ro_pause}/pause", NULL, NULL, TENANT_OPERATOR(200), 1, 0},
    {"POST", T "/rollouts/{ro_resume}/resume", NULL, "{}", TENANT_OPERATOR(200), 1, 0},
    {"POST", T "/rollouts/{ro_adv}/advance", NULL, NULL, TENANT_OPERATOR(200), 1, 0},
    {"POST", T "/rollouts/{ro_cancel}/cancel", NULL, NULL, TENANT_OPERATOR(200), 1, 0},
};

#define N_ENDPOINTS (sizeof endpoints / sizeof endpoints[0])

/* ---- placeholders: {a} actor name, {s} its slug, {n} its index, {key} a fixture id ---- */

static long long fixture(const char *key, size_t len, int a)
{
    static const struct {
        const char *key;
        size_t off;
    } per_actor[] = {
        {"token", offsetof(struct fixtures, token)},
        {"rel_del", offsetof(struct fixtures, rel_del)},
        {"rel_ok", offsetof(struct fixtures, rel_ok)},
        {"rel_no", offsetof(struct fixtures, rel_no)},
        {"rel_rev", offsetof(struct fixtures, rel_rev)},
        {"ro_start", offsetof(struct fixtures, ro_start)},
        {"ro_pause", offsetof(struct fixtures, ro_pause)},
        {"ro_resume", offsetof(struct fixtures, ro_resume)},
        {"ro_adv", offsetof(struct fixtures, ro_adv)},
        {"ro_cancel", offsetof(struct fixtures, ro_cancel)},
        {"act_cancel", offsetof(struct fixtures, act_cancel)},
        {"act_mw", offsetof(struct fixtures, act_mw)},
    };
    for (size_t i = 0; i < sizeof per_actor / sizeof *per_actor; i++)
        if (strlen(per_actor[i].key) == len && strncmp(per_actor[i].key, key, len) == 0)
            return *(const long long *)((const char *)&fx[a] + per_actor[i].off);
    if (len == 3 && strncmp(key, "rel", 3) == 0)
        return rel;
    if (len == 2 && strncmp(key, "ro", 2) == 0)
        return ro;
    if (len == 3 && strncmp(key, "act", 3) == 0)
        return act;
    static const struct {
        const char *key;
        const long long *v;
    } beta[] = {{"brel", &brel}, {"bapp", &bapp}, {"bro", &bro}, {"bact", &bact}};
    for (size_t i = 0; i < sizeof beta / sizeof *beta; i++)
        if (strlen(beta[i].key) == len && strncmp(beta[i].key, key, len) == 0)
            return *beta[i].v;
    fail_msg("unknown placeholder {%.*s}", (int)len, key);
    return -1;
}

/* Expands the placeholders of tmpl for actor a (templates are data here, not printf formats). */
static void expand(char *out, size_t cap, const char *tmpl, int a)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = tmpl; *p && n + 1 < cap;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        /* JSON braces are not placeholders: a placeholder is {word} with a-z and '_' only. */
        if (!close || close == p + 1 ||
            strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_") != (size_t)(close - p - 1)) {
            out[n++] = *p++;
            out[n] = '\0';
            continue;
        }
        const char *key = p + 1;
        size_t len = (size_t)(close - key);
        if (len == 1 && *key == 'a')
            n += (size_t)snprintf(out + n, cap - n, "%s", actor_name[a]);
        else if (len == 1 && *key == 's')
            n += (size_t)snprintf(out + n, cap - n, "%s", actor_slug[a]);
        else if (len == 2 && strncmp(key, "pw", 2) == 0) /* the password of tok's user */
            n += (size_t)snprintf(out + n, cap - n, "%s", a == GADMIN ? ADMIN_PW : PW);
        else if (len == 1 && *key == 'n')
            n += (size_t)snprintf(out + n, cap - n, "%d", a);
        else
            n += (size_t)snprintf(out + n, cap - n, "%lld", fixture(key, len, a));
        p = close + 1;
    }
    assert_true(n + 1 < cap);
}

/* ---- the database, read from outside (snapshot_all: harness.c) ---- */

static long audit_count(void)
{
    return db_count("SELECT count(*) FROM audit_log");
}

/* ---- requests ---- */

struct stream {
    CURL *curl;
    char *body;
    size_t len;
};

/* An event stream never ends: stop at its first bytes when it is one; keep an error body whole. */
static size_t on_stream(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct stream *s = ctx;
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 200)
        return 0;
    char *p = realloc(s->body, s->len + size * nmemb + 1);
    assert_non_null(p);
    memcpy(p + s->len, data, size * nmemb);
    s->len += size * nmemb;
    p[s->len] = '\0';
    s->body = p;
    return size * nmemb;
}

/* GET of an event stream; returns the status (and checks an error's shape like the harness). */
static long get_stream(const char *path, const char *token)
{
    struct stream s = {.curl = curl_easy_init()};
    char url[1024], auth[256];
    struct curl_slist *h = NULL;
    assert_non_null(s.curl);
    snprintf(url, sizeof url, "%s%s", srv.url, path);
    curl_easy_setopt(s.curl, CURLOPT_URL, url);
    curl_easy_setopt(s.curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(s.curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
        curl_easy_setopt(s.curl, CURLOPT_HTTPHEADER, h);
    }
    CURLcode rc = curl_easy_perform(s.curl);
    long status = -1;
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) {
        json_t *doc = s.body ? json_loads(s.body, 0, NULL) : NULL;
        if (!err_message(doc) || !err_where(doc))
            fail_msg("GET %s -> %ld without {error: {code, message, where}}", path, status);
        json_decref(doc);
    }
    free(s.body);
    curl_slist_free_all(h);
    curl_easy_cleanup(s.curl);
    return status;
}

static long call(const struct endpoint *ep, const char *path, const char *body, const char *token)
{
    if (strcmp(ep->method, "GET") == 0 && strlen(path) > 7 &&
        strcmp(path + strlen(path) - 7, "/events") == 0)
        return get_stream(path, token);
    char auth[256];
    snprintf(auth, sizeof auth, "Bearer %s", token ? token : "");
    return request_full(srv.url, ep->method, path, token ? auth : NULL, body, (size_t)-1, ep->ctype,
                        NULL);
}

/* req() as admin that must answer want; returns the "id" of the answer (0 if none). */
static long long admin_call(const char *method, const char *path, const char *body, long want)
{
    json_t *doc = NULL;
    long st = req(method, path, admin_tok, body, &doc);
    if (st != want)
        fail_msg("setup: %s %s: got %ld, want %ld", method, path, st, want);
    long long id = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    return id;
}

/* ---- fixtures, made by the global admin before the matrix runs ---- */

static int64_t upload(const char *tenant, const char *version)
{
    char path[256], auth[256];
    json_t *doc = NULL;
    snprintf(path, sizeof path,
             "/api/v1/tenants/%s/releases?type=foreign&filename=%s-%s.swu&version=%s", tenant,
             strcmp(tenant, "beta") == 0 ? "betafw" : "fw", version, version);
    snprintf(auth, sizeof auth, "Bearer %s", admin_tok);
    assert_int_equal(request_full(srv.url, "POST", path, auth, version, (size_t)-1,
                                  "application/octet-stream", &doc),
                     201);
    int64_t id = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    assert_true(id > 0);
    return id;
}

static void decide(const char *tenant, long long release, const char *verb)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/tenants/%s/releases/%lld/%s", tenant, release, verb);
    admin_call("POST", path, "{}", 200);
}

static void bulk(const char *tenant, const char *csv)
{
    char path[160], auth[256];
    snprintf(path, sizeof path, "/api/v1/tenants/%s/devices/bulk", tenant);
    snprintf(auth, sizeof auth, "Bearer %s", admin_tok);
    assert_int_equal(request_full(srv.url, "POST", path, auth, csv, (size_t)-1, "text/csv", NULL),
                     201);
}

/* A rollout of release over group (NULL = no filter) with `stages` stages, left in verbs' state. */
static long long rollout(const char *tenant, const char *name, long long release, const char *group,
                         int stages, const char *const *verbs)
{
    char path[160], body[512], filter[128] = "";
    if (group)
        snprintf(filter, sizeof filter, "\"filter\":{\"groups\":[\"%s\"]},", group);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"release\":%lld,%s\"stages\":%s}", name, release,
             filter, stages == 1 ? "[{\"percent\":100}]" : "[{\"percent\":50},{\"percent\":100}]");
    snprintf(path, sizeof path, "/api/v1/tenants/%s/rollouts", tenant);
    long long id = admin_call("POST", path, body, 201);
    for (; verbs && *verbs; verbs++) {
        snprintf(path, sizeof path, "/api/v1/tenants/%s/rollouts/%lld/%s", tenant, id, *verbs);
        admin_call("POST", path, NULL, 200);
    }
    return id;
}

/* Deploys release to one device; returns the action's id. */
static long long deploy(const char *tenant, long long release, const char *device)
{
    char path[160], body[256];
    json_t *doc = NULL;
    snprintf(path, sizeof path, "/api/v1/tenants/%s/deployments", tenant);
    snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"%s\"]}", release, device);
    assert_int_equal(req("POST", path, admin_tok, body, &doc), 201);
    json_t *actions = json_object_get(doc, "actions");
    assert_int_equal(json_array_size(actions), 1);
    long long id = json_integer_value(json_object_get(json_array_get(actions, 0), "id"));
    json_decref(doc);
    assert_true(id > 0);
    return id;
}

/* Every actor's own targets in acme: the writes of the matrix use them up. */
static void actor_fixtures(int a)
{
    const char *s = actor_slug[a];
    char csv[1024], name[64], path[160], body[256];
    static const char *const start[] = {"start", NULL};
    static const char *const paused[] = {"start", "pause", NULL};
    snprintf(csv, sizeof csv,
             "del-%s,m1\nmput-%s,m1\nmrem-%s,m1,grem-%s\ndep-%s,m1\nac-%s,m1\nam-%s,m1\n"
             "rp1-%s,m1,rp-%s\nrp2-%s,m1,rp-%s\nrr1-%s,m1,rr-%s\nrr2-%s,m1,rr-%s\n"
             "ra1-%s,m1,ra-%s\nra2-%s,m1,ra-%s\nrs1-%s,m1,rs-%s\n",
             s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s);
    bulk("acme", csv);
    snprintf(body, sizeof body, "{\"name\":\"gdel-%s\"}", s);
    admin_call("POST", "/api/v1/tenants/acme/groups", body, 201);
    snprintf(body, sizeof body, "{\"name\":\"gput-%s\"}", s);
    admin_call("POST", "/api/v1/tenants/acme/groups", body, 201);

    char v[32];
    snprintf(v, sizeof v, "2.%d", a);
    fx[a].rel_del = upload("acme", v);
    snprintf(v, sizeof v, "3.%d", a);
    fx[a].rel_ok = upload("acme", v);
    snprintf(v, sizeof v, "4.%d", a);
    fx[a].rel_no = upload("acme", v);
    snprintf(v, sizeof v, "5.%d", a);
    fx[a].rel_rev = upload("acme", v);
    decide("acme", fx[a].rel_rev, "approve");

    snprintf(name, sizeof name, "start-%s", s);
    snprintf(path, sizeof path, "rs-%s", s);
    fx[a].ro_start = rollout("acme", name, rel, path, 1, NULL);
    snprintf(name, sizeof name, "pause-%s", s);
    snprintf(path, sizeof path, "rp-%s", s);
    fx[a].ro_pause = rollout("acme", name, rel, path, 2, start);
    snprintf(name, sizeof name, "resume-%s", s);
    snprintf(path, sizeof path, "rr-%s", s);
    fx[a].ro_resume = rollout("acme", name, rel, path, 2, paused);
    snprintf(name, sizeof name, "adv-%s", s);
    snprintf(path, sizeof path, "ra-%s", s);
    fx[a].ro_adv = rollout("acme", name, rel, path, 2, start);
    snprintf(name, sizeof name, "cancel-%s", s);
    fx[a].ro_cancel = rollout("acme", name, rel, NULL, 1, NULL);

    snprintf(name, sizeof name, "ac-%s", s);
    fx[a].act_cancel = deploy("acme", rel, name);
    snprintf(name, sizeof name, "am-%s", s);
    fx[a].act_mw = deploy("acme", rel, name);
}

/* A user with the actor's memberships (global admin for gadmin): its password may change. */
static void add_twin(int a)
{
    char name[64], body[256];
    snprintf(name, sizeof name, "pw_%s", actor_name[a]);
    if (a == GADMIN) {
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\",\"is_admin\":true}",
                 name, PW);
        admin_call("POST", "/api/v1/users", body, 201);
    } else if (a == OUTSIDER) {
        add_member("beta", name, "admin");
    } else {
        add_member("acme", name, actor_role[a]);
        add_member("gamma", name, actor_role[a]);
    }
}

static char *api_token(const char *session, const char *password, const char *name, long long *id)
{
    char body[160];
    json_t *doc = NULL;
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    assert_int_equal(req("POST", "/api/v1/tokens", session, body, &doc), 201);
    *id = json_integer_value(json_object_get(doc, "id"));
    char *t = strdup(json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    return t;
}

static int setup(void **state)
{
    if (setup_server("server_rbac", "login_max_failures = 50\nlogin_max_failures_addr = 500\n", 0) <
        0)
        return -1;
    add_tenant("acme");
    add_tenant("beta");
    add_tenant("gamma");
    add_member("acme", "target", "viewer");
    for (int a = ADMIN; a <= VIEWER; a++) {
        add_member("acme", actor_name[a], actor_role[a]);
        add_member("gamma", actor_name[a], actor_role[a]);
    }
    /* The expired actor is an acme admin: only its token's age can be what refuses it. */
    add_member("acme", "expired", "admin");
    add_member("gamma", "expired", "admin");
    add_member("beta", "outsider", "admin");
    for (int a = 0; a < N_ACTORS; a++) {
        char name[64], body[256];
        snprintf(name, sizeof name, "del_%s", actor_name[a]);
        add_member("acme", name, "viewer");
        snprintf(body, sizeof body, "{\"username\":\"gdel_%s\",\"password\":\"%s\"}", actor_name[a],
                 PW);
        admin_call("POST", "/api/v1/users", body, 201);
        if (a != ANON)
            add_twin(a);
    }
    for (int a = 0; a < N_ACTORS; a++) {
        char twin[64];
        if (a == ANON) {
            fx[a].token = 1; /* refused before it is looked up */
            continue;
        }
        tok[a] = a == GADMIN ? strdup(admin_tok) : login(actor_name[a], PW);
        tok2[a] = login(a == GADMIN ? "admin" : actor_name[a], a == GADMIN ? ADMIN_PW : PW);
        snprintf(twin, sizeof twin, "pw_%s", actor_name[a]);
        tok3[a] = login(twin, PW);
        free(api_token(tok[a], a == GADMIN ? ADMIN_PW : PW, "del", &fx[a].token));
    }
    /* A day in the past: still in the table, still not revoked, only expired. */
    db_exec(
        db_is_pg()
            ? "UPDATE tokens SET expires_at = extract(epoch FROM now())::bigint - 86400"
              " WHERE kind = 'session'"
              " AND user_id IN (SELECT id FROM users WHERE name IN ('expired', 'pw_expired'))"
            : "UPDATE tokens SET expires_at = strftime('%s','now') - 86400 WHERE kind = 'session'"
              " AND user_id IN (SELECT id FROM users WHERE name IN ('expired', 'pw_expired'))");

    /* Shared fleet objects for reads: an approved release, a draft rollout, an open action. */
    bulk("acme", "shared,m1,sharedgrp\n");
    rel = upload("acme", "1.0");
    decide("acme", rel, "approve");
    ro = rollout("acme", "shared", rel, "sharedgrp", 1, NULL);
    act = deploy("acme", rel, "shared");
    for (int a = 0; a < N_ACTORS; a++)
        actor_fixtures(a);

    /* Beta's fleet, named so that any leak into acme's answers is easy to spot. */
    bulk("beta", "bdev,bmodel,bgrp\nbdev2,bmodel\n");
    brel = upload("beta", "77.0");
    bapp = upload("beta", "77.1");
    decide("beta", bapp, "approve");
    bro = rollout("beta", "brollout", bapp, "bgrp", 1, NULL);
    bact = deploy("beta", bapp, "bdev2");
    return 0;
}

static int teardown(void **state)
{
    for (int a = 0; a < N_ACTORS; a++) {
        free(tok[a]);
        free(tok2[a]);
        free(tok3[a]);
    }
    return teardown_server();
}

/* ---- the matrix ---- */

/* Does path (its query aside) match pattern, "{x}" standing for any one non-empty segment? */
static int path_matches(const char *pattern, const char *path)
{
    const char *p = pattern, *q = path;
    while (*p && *q && *q != '?') {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            size_t n = strcspn(q, "/?");
            if (!pe || n == 0)
                return 0;
            p = pe + 1;
            q += n;
        } else if (*p++ != *q++) {
            return 0;
        }
    }
    return !*p && (!*q || *q == '?');
}

/* The route the server picks for a request: the first of the table that matches (find_route). */
static size_t route_of(const char *method, const char *path)
{
    for (size_t i = 0; i < otter_api_route_count(); i++) {
        otter_api_route_info r = otter_api_route(i);
        if (path_matches(r.pattern, path) && strcmp(r.method, method) == 0)
            return i;
    }
    return (size_t)-1;
}

static void test_every_route_has_a_row(void **state)
{
    size_t n = otter_api_route_count(), missing = 0;
    int *covered = calloc(n, sizeof *covered);
    assert_non_null(covered);
    for (size_t e = 0; e < N_ENDPOINTS; e++) {
        size_t i = route_of(endpoints[e].method, endpoints[e].path);
        if (i == (size_t)-1)
            fail_msg("matrix row %s %s is no route of the server", endpoints[e].method,
                     endpoints[e].path);
        covered[i]++;
    }
    for (size_t i = 0; i < n; i++) {
        otter_api_route_info r = otter_api_route(i);
        if (covered[i] == 0) {
            print_error("route %s %s has no row in the RBAC matrix\n", r.method, r.pattern);
            missing++;
        }
    }
    free(covered);
    print_message("%zu routes, %zu matrix rows\n", n, N_ENDPOINTS);
    assert_int_equal(missing, 0);
}

static const char *token_of(const struct endpoint *ep, int a)
{
    return ep->session == 2 ? tok2[a] : ep->session == 3 ? tok3[a] : tok[a];
}

/* One (endpoint, actor) cell; returns 1 when it holds, 0 after printing why not. */
static int check_cell(const struct endpoint *ep, int a)
{
    char path[512], body[1024];
    expand(path, sizeof path, ep->path, a);
    if (ep->body)
        expand(body, sizeof body, ep->body, a);
    char *before = snapshot_all();
    long audits = audit_count();
    long st = call(ep, path, ep->body ? body : NULL, token_of(ep, a));
    char *after = snapshot_all();
    long written = audit_count() - audits;
    int ok = 1;
    if (st != ep->expect[a]) {
        print_error("%s %s as %s: got %ld, want %d\n", ep->method, path, actor_name[a], st,
                    ep->expect[a]);
        ok = 0;
    } else if ((st >= 400 || ep->audits == 0) && strcmp(before, after) != 0) {
        print_error("%s %s as %s (%ld) changed the database\n", ep->method, path, actor_name[a],
                    st);
        ok = 0;
    } else if (st < 400 && written != ep->audits) {
        print_error("%s %s as %s: %ld audit entries written, want %d\n", ep->method, path,
                    actor_name[a], written, ep->audits);
        ok = 0;
    }
    free(before);
    free(after);
    return ok;
}

static void test_matrix(void **state)
{
    int checked = 0, failed = 0;
    for (size_t e = 0; e < N_ENDPOINTS; e++) {
        /* Least privileged first, so the global admin's destructive calls come last. */
        for (int a = N_ACTORS - 1; a >= 0; a--) {
            failed += !check_cell(&endpoints[e], a);
            checked++;
        }
    }
    print_message("checked %d (endpoint, actor) pairs: %zu endpoints x %d actors\n", checked,
                  N_ENDPOINTS, N_ACTORS);
    /* All cells first, then the verdict: one run shows every wrong cell. */
    assert_int_equal(failed, 0);
}
static int tenant_is(json_t *arr, const char *key, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *t = json_string_value(json_object_get(v, key));
        if (!t || strcmp(t, want) != 0)
            return 0;
    }
    return 1;
}

static void test_tenant_isolation(void **state)
{
    const char *out = tok[OUTSIDER];
    json_t *doc = NULL;
    /* The outsider (admin of beta) sees only beta. */
    assert_int_equal(req("GET", "/api/v1/tenants", out, NULL, &doc), 200);
    assert_int_equal(json_array_size(json_object_get(doc, "tenants")), 1);
    assert_true(tenant_is(json_object_get(doc, "tenants"), "name", "beta"));
    json_decref(doc);
    /* acme is indistinguishable from a tenant that does not exist. */
    json_t *e1 = NULL, *e2 = NULL;
    assert_int_equal(req("GET", "/api/v1/tenants/acme", out, NULL, &e1), 404);
    assert_int_equal(req("GET", "/api/v1/tenants/nosuch", out, NULL, &e2), 404);
    assert_string_equal(err_where(e1), err_where(e2));
    json_decref(e1);
    json_decref(e2);
    char *before = snapshot();
    assert_int_equal(req("GET", "/api/v1/tenants/acme/users/r_viewer", out, NULL, NULL), 404);
    assert_int_equal(req("GET", "/api/v1/tenants/beta/users/r_viewer", out, NULL, NULL), 404);
    assert_int_equal(req("DELETE", "/api/v1/tenants/beta/users/r_admin", out, NULL, NULL), 404);
    assert_int_equal(req("DELETE", "/api/v1/tenants/acme/users/r_admin", out, NULL, NULL), 404);
    assert_int_equal(
        req("PUT", "/api/v1/tenants/acme/users/outsider", out, "{\"role\":\"admin\"}", NULL), 404);
    assert_int_equal(req("GET", "/api/v1/tenants/acme/audit", out, NULL, NULL), 404);
    /* acme's admin cannot reach into beta either. */
    assert_int_equal(req("GET", "/api/v1/tenants/beta/users", tok[ADMIN], NULL, NULL), 404);
    char *after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* Adding acme's viewer to beta is a beta membership... */
    assert_int_equal(
        req("PUT", "/api/v1/tenants/beta/users/r_viewer", out, "{\"role\":\"viewer\"}", NULL), 200);
    /* ...but it does not hand beta's admin the account: the password stays out of reach. */
    before = snapshot();
    assert_int_equal(req("PUT", "/api/v1/tenants/beta/users/r_viewer/password", out,
                         "{\"password\":\"" PW "x\"}", NULL),
                     403);
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* And beta's audit log holds only beta. */
    assert_int_equal(req("GET", "/api/v1/tenants/beta/audit", out, NULL, &doc), 200);
    json_t *entries = json_object_get(doc, "entries");
    assert_true(json_array_size(entries) >= 2);
    assert_true(tenant_is(entries, "tenant", "beta"));
    json_decref(doc);
    /* Acme's view of r_viewer is unchanged by beta's membership. */
    assert_int_equal(req("GET", "/api/v1/tenants/acme/users/r_viewer", tok[VIEWER], NULL, &doc),
                     200);
    assert_string_equal(json_string_value(json_object_get(doc, "role")), "viewer");
    json_decref(doc);
}

/*
 * Beta's fleet objects seen from acme's admin and operator: addressed by
 * id or name, through acme's path (where they are not) or beta's (where
 * the caller is not), every read and write answers 404 and changes
 * nothing; acme's lists never show them.
 */
struct probe {
    const char *method;
    const char *path; /* after /api/v1/tenants/<tenant>; {b...} = beta's ids */
    const char *body;
    /*
     * An acme operator may do this (else its role refuses it with 403 before
     * any object is looked up: the same answer for every id, so no leak).
     */
    int operator_may;
    const char *nosuch; /* body probes: the same body naming nothing that exists */
};

static const struct probe beta_probes[] = {
    {"GET", "/devices/bdev", NULL, 1, NULL},
    {"GET", "/devices/bdev/history", NULL, 1, NULL},
    {"DELETE", "/devices/bdev", NULL, 1, NULL},
    {"DELETE", "/groups/bgrp", NULL, 1, NULL},
    {"PUT", "/groups/bgrp/devices/bdev", NULL, 1, NULL},
    {"DELETE", "/groups/bgrp/devices/bdev", NULL, 1, NULL},
    /* Mixed: one tenant's group with the other's device. */
    {"PUT", "/groups/sharedgrp/devices/bdev", NULL, 1, NULL},
    {"PUT", "/groups/bgrp/devices/shared", NULL, 1, NULL},
    {"GET", "/releases/{brel}", NULL, 1, NULL},
    {"GET", "/releases/{bapp}/artifact", NULL, 1, NULL},
    {"DELETE", "/releases/{brel}", NULL, 0, NULL},
    {"GET", "/releases/{brel}/deltas", NULL, 1, NULL},
    {"GET", "/releases/{brel}/deltas/1", NULL, 1, NULL},
    {"DELETE", "/releases/{brel}/deltas/1", NULL, 0, NULL},
    {"POST", "/releases/{brel}/approve", "{}", 0, NULL},
    {"POST", "/releases/{brel}/reject", "{}", 0, NULL},
    {"POST", "/releases/{bapp}/revoke", "{}", 0, NULL},
    {"GET", "/actions/{bact}", NULL, 1, NULL},
    {"POST", "/actions/{bact}/cancel", NULL, 1, NULL},
    {"PUT", "/actions/{bact}/maintenance-window", "{\"maintenance_window\":\"unavailable\"}", 1,
     NULL},
    {"GET", "/rollouts/{bro}", NULL, 1, NULL},
    {"GET", "/rollouts/{bro}/stats", NULL, 1, NULL},
    {"GET", "/rollouts/{bro}/events", NULL, 1, NULL},
    {"GET", "/rollouts/{bro}/bandwidth", NULL, 1, NULL},
    {"GET", "/rollouts/{bro}/history", NULL, 1, NULL},
    {"PUT", "/rollouts/{bro}/bandwidth", "{\"bytes_per_second\":1}", 1, NULL},
    {"GET", "/rollouts/{bro}/campaign", NULL, 1, NULL},
    {"PUT", "/rollouts/{bro}/campaign",
     "{\"maintenance_schedule\":null,\"deferrals\":null,\"urgent\":true}", 1, NULL},
    {"GET", "/rollouts/{bro}/push", NULL, 1, NULL},
    {"POST", "/rollouts/{bro}/start", NULL, 1, NULL},
    {"POST", "/rollouts/{bro}/pause", NULL, 1, NULL},
    {"POST", "/rollouts/{bro}/resume", "{}", 1, NULL},
    {"POST", "/rollouts/{bro}/advance", NULL, 1, NULL},
    {"POST", "/rollouts/{bro}/cancel", NULL, 1, NULL},
};

/* Calls that name beta's objects only in the body, through acme's path. */
#define LEAK_ROLLOUT(r) "{\"name\":\"leak\",\"release\":" r ",\"stages\":[{\"percent\":100}]}"
static const struct probe beta_body_probes[] = {
    {"POST", "/deployments", "{\"release\":{bapp},\"devices\":[\"shared\"]}", 1,
     "{\"release\":999999,\"devices\":[\"shared\"]}"},
    {"POST", "/deployments", "{\"release\":{rel},\"devices\":[\"bdev\"]}", 1,
     "{\"release\":{rel},\"devices\":[\"nosuch\"]}"},
    {"POST", "/deployments", "{\"release\":{rel},\"group\":\"bgrp\"}", 1,
     "{\"release\":{rel},\"group\":\"nosuch\"}"},
    {"POST", "/rollouts", LEAK_ROLLOUT("{bapp}"), 1, LEAK_ROLLOUT("999999")},
    {"POST", "/rollouts/preview", LEAK_ROLLOUT("{bapp}"), 1, LEAK_ROLLOUT("999999")},
};

static long probe(const char *tenant, const struct probe *p, const char *token, int a)
{
    char tail[256], path[512], body[512];
    const struct endpoint ep = {.method = p->method};
    expand(tail, sizeof tail, p->path, a);
    snprintf(path, sizeof path, "/api/v1/tenants/%s%s", tenant, tail);
    if (p->body)
        expand(body, sizeof body, p->body, a);
    return call(&ep, path, p->body ? body : NULL, token);
}

/* Answer to a body naming beta's object must equal the one naming nothing: status and where. */
static void body_probe(const struct probe *p, int a)
{
    char path[256], body[512], nosuch[512];
    json_t *d1 = NULL, *d2 = NULL;
    snprintf(path, sizeof path, "/api/v1/tenants/acme%s", p->path);
    expand(body, sizeof body, p->body, a);
    expand(nosuch, sizeof nosuch, p->nosuch, a);
    long st = req(p->method, path, tok[a], body, &d1);
    long want = req(p->method, path, tok[a], nosuch, &d2);
    if (st != want || want < 400 || !err_where(d1) || !err_where(d2) ||
        strcmp(err_where(d1), err_where(d2)) != 0)
        fail_msg("%s %s %s as %s: %ld at %s, but naming nothing: %ld at %s", p->method, path, body,
                 actor_name[a], st, err_where(d1) ? err_where(d1) : "-", want,
                 err_where(d2) ? err_where(d2) : "-");
    json_decref(d1);
    json_decref(d2);
}

/* Does an element of arr (or its member `outer`, when given) carry "id": id? */
static int has_id(json_t *arr, const char *outer, long long id)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        json_t *o = outer ? json_object_get(v, outer) : v;
        if (json_integer_value(json_object_get(o, "id")) == id)
            return 1;
    }
    return 0;
}

/* Fails if a list acme answered shows any of beta's names, or beta's release or rollout ids. */
static void assert_no_beta(const char *what, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    static const char *const marks[] = {"bdev", "bgrp", "bmodel", "betafw", "brollout"};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (strstr(text, marks[i]))
            fail_msg("%s shows beta's %s: %s", what, marks[i], text);
    free(text);
    /* Ids are unique per table, so an acme release can never carry beta's release id. */
    json_t *releases = json_object_get(doc, "releases"),
           *approvals = json_object_get(doc, "approvals");
    if (has_id(releases, NULL, brel) || has_id(releases, NULL, bapp) ||
        has_id(approvals, "release", brel) || has_id(approvals, "release", bapp) ||
        has_id(json_object_get(doc, "rollouts"), NULL, bro))
        fail_msg("%s shows one of beta's ids", what);
}

static void test_fleet_isolation(void **state)
{
    static const int actors[] = {ADMIN, OPERATOR};
    static const char *const tenants[] = {"acme", "beta"};
    char *before = snapshot_all();
    for (size_t i = 0; i < sizeof actors / sizeof *actors; i++) {
        int a = actors[i];
        for (size_t t = 0; t < 2; t++)
            for (size_t p = 0; p < sizeof beta_probes / sizeof *beta_probes; p++) {
                long st = probe(tenants[t], &beta_probes[p], tok[a], a);
                long want = t == 0 && a == OPERATOR && !beta_probes[p].operator_may ? 403 : 404;
                if (st != want)
                    fail_msg("%s %s (tenant %s) as %s: got %ld, want %ld", beta_probes[p].method,
                             beta_probes[p].path, tenants[t], actor_name[a], st, want);
            }
        for (size_t p = 0; p < sizeof beta_body_probes / sizeof *beta_body_probes; p++)
            body_probe(&beta_body_probes[p], a);
    }
    char *after = snapshot_all();
    assert_string_equal(before, after);
    free(before);
    free(after);

    static const char *const lists[] = {"devices",   "groups",   "releases",
                                        "approvals", "rollouts", "audit"};
    for (size_t i = 0; i < sizeof actors / sizeof *actors; i++)
        for (size_t l = 0; l < sizeof lists / sizeof *lists; l++) {
            char path[128];
            json_t *doc = NULL;
            snprintf(path, sizeof path, "/api/v1/tenants/acme/%s", lists[l]);
            long want = strcmp(lists[l], "audit") == 0 && actors[i] != ADMIN ? 403 : 200;
            assert_int_equal(req("GET", path, tok[actors[i]], NULL, &doc), want);
            assert_no_beta(path, doc);
            json_decref(doc);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_has_a_row),
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_tenant_isolation),
        cmocka_unit_test(test_fleet_isolation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
