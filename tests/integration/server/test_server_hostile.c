/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile strings in every string field the server takes: SQL metacharacters,
 * LIKE wildcards, format directives, path traversal, long and non-ASCII text
 * go into each body field, CSV column, query parameter, DDI field and path
 * segment. Each field must either refuse the value (400 naming the field, or
 * 404 for a path) without changing the database, or accept it and give it
 * back byte for byte. Never a 500; afterwards every table is still there, the
 * row counts are exactly what the test created and the admin can log in.
 * test_server_api.c covers the account fields; this file covers the fleet.
 */
#include "harness.h"

#include <curl/curl.h>
#include <stdarg.h>

#define TENANT "/api/v1/tenants/acme"
#define LONG_LEN 300

/* Filled in by setup: a 300-byte value that still fits a URL once escaped. */
static char long_str[LONG_LEN + 1];

static const char *evil[] = {
    "' OR '1'='1",
    "'; DROP TABLE devices;--",
    "\"); DELETE FROM users; --",
    "%' --",
    "\\' UNION SELECT token_sha256 FROM tokens --",
    "$1",
    "?",
    "%s%n",
    long_str,
    "d\xc3\xa9v' \xe2\x98\x83", /* dév' ☃ */
    "../../etc/passwd",
    "C:\\\\share\\x\\",
    "*",
    "_",
    "%",
};
#define N_EVIL (sizeof evil / sizeof *evil)

static char *dev_tok;      /* TargetToken of dev1 */
static int64_t act1;       /* an open action of dev1 */
static int64_t rel1;       /* an approved release */
static char tables0[4096]; /* table names right after setup */
static long base_users, base_tenants, base_tokens, base_devices;
static long created_devices;  /* devices this test made on purpose */
static long created_releases; /* releases this test made on purpose */

enum { REFUSED, ACCEPTED };

/* ---- helpers ---- */

/* JSON text from a json_pack format (caller frees). */
static char *jbody(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *doc = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    assert_non_null(doc);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_non_null(s);
    return s;
}

static char *esc(const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);
    assert_non_null(e);
    return e;
}

/* "table=rows;" for every table: a refused request must leave every table alone. */
static char *fingerprint(char *names_only, size_t cap)
{
    char *names = db_table_names();
    size_t fcap = 8192, n = 0, m = 0;
    char *s = calloc(1, fcap);
    assert_non_null(s);
    if (names_only)
        names_only[0] = '\0';
    for (char *name = names, *nl; (nl = strchr(name, '\n')) != NULL; name = nl + 1) {
        *nl = '\0';
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", name);
        n += (size_t)snprintf(s + n, fcap - n, "%s=%ld;", name, db_count(sql));
        assert_true(n < fcap);
        if (names_only) {
            m += (size_t)snprintf(names_only + m, cap - m, "%s;", name);
            assert_true(m < cap);
        }
    }
    free(names);
    return s;
}

static long count_rows(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return db_count(sql);
}

/*
 * The verdict on one answer: want_status with err.where starting with where
 * is a refusal; a 2xx is an acceptance (the caller then checks the round
 * trip); anything else, above all a 500, fails the test.
 */
/* docp, not doc: the request in the argument list fills it, and argument order is unspecified. */
static int verdict(const char *field, const char *v, long st, json_t *const *docp, long want_status,
                   const char *where)
{
    const json_t *doc = *docp;
    if (st >= 200 && st < 300)
        return ACCEPTED;
    if (st != want_status)
        fail_msg("%s = '%.60s': status %ld, want %ld or 2xx (%s)", field, v, st, want_status,
                 doc ? err_message(doc) : "no body");
    if (where && (!err_where(doc) || strncmp(err_where(doc), where, strlen(where)) != 0))
        fail_msg("%s = '%.60s': where is '%s', want '%s'", field, v,
                 err_where(doc) ? err_where(doc) : "(none)", where);
    return REFUSED;
}

static long admin(const char *method, const char *path, const char *body, json_t **out)
{
    return req(method, path, admin_tok, body, out);
}

static long admin_typed(const char *path, const char *body, size_t len, const char *type,
                        json_t **out)
{
    char auth[256];
    snprintf(auth, sizeof auth, "Bearer %s", admin_tok);
    return request_full(srv.url, "POST", path, auth, body, len, type, out);
}

/* GETs path as the admin, wants 200, returns the document (caller frees). */
static json_t *get(const char *path)
{
    json_t *doc = NULL;
    long st = admin("GET", path, NULL, &doc);
    if (st != 200)
        fail_msg("GET %s: %ld", path, st);
    return doc;
}

static const char *str_at(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

static void assert_same(const char *field, const char *got, const char *want)
{
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: '%s' came back as '%s'", field, want, got ? got : "(null)");
}

/*
 * A DDI request to path (already escaped) with TargetToken tok. Unchecked:
 * a hostile tenant segment ("..%2F..") can land outside the device API, on
 * the dashboard's plain-text 404.
 */
static long ddi(const char *method, const char *path, const char *tok, const char *body,
                json_t **out)
{
    char auth[256];
    snprintf(auth, sizeof auth, "TargetToken %s", tok);
    return request_unchecked(srv.url, method, path, auth, body, (size_t)-1, NULL, out);
}

/* DDI has no "where": 400 is the refusal, 2xx the acceptance, the rest fails. */
static int ddi_verdict(const char *field, const char *v, long st, json_t *doc)
{
    if (st >= 200 && st < 300)
        return ACCEPTED;
    if (st != 400)
        fail_msg("%s = '%.60s': DDI status %ld (%s)", field, v, st,
                 doc ? json_string_value(json_object_get(doc, "error")) : "no body");
    return REFUSED;
}

/* ---- management API body fields ---- */

static json_t *device(const char *cid)
{
    char path[128];
    snprintf(path, sizeof path, TENANT "/devices/%s", cid);
    return get(path);
}

static int f_device_model(const char *v, size_t i)
{
    char cid[32];
    json_t *doc = NULL;
    snprintf(cid, sizeof cid, "hm%zu", i);
    char *b = jbody("{s:s, s:s}", "controller_id", cid, "model", v);
    int r = verdict("device.model", v, admin("POST", TENANT "/devices", b, &doc), &doc, 400,
                    "body.model");
    free(b);
    json_decref(doc);
    if (r == ACCEPTED) {
        created_devices++;
        doc = device(cid);
        assert_same("device.model", str_at(doc, "model"), v);
        json_decref(doc);
    }
    return r;
}

static int f_device_name(const char *v, size_t i)
{
    char cid[32];
    json_t *doc = NULL;
    snprintf(cid, sizeof cid, "hn%zu", i);
    char *b = jbody("{s:s, s:s, s:s}", "controller_id", cid, "model", "m1", "name", v);
    int r = verdict("device.name", v, admin("POST", TENANT "/devices", b, &doc), &doc, 400,
                    "body.name");
    if (r == ACCEPTED)
        assert_same("device.name (create answer)", str_at(doc, "name"), v);
    free(b);
    json_decref(doc);
    if (r == ACCEPTED) {
        created_devices++;
        doc = device(cid);
        assert_same("device.name", str_at(doc, "name"), v);
        json_decref(doc);
        /* The list gives it back the same way. */
        char path[128];
        snprintf(path, sizeof path, TENANT "/devices?model=m1&limit=1000");
        doc = get(path);
        int seen = 0;
        size_t k;
        json_t *d;
        json_array_foreach(json_object_get(doc, "devices"), k, d)
        {
            if (strcmp(str_at(d, "controller_id"), cid) == 0) {
                assert_same("device.name (list)", str_at(d, "name"), v);
                seen = 1;
            }
        }
        assert_true(seen);
        json_decref(doc);
    }
    return r;
}

/* Whether group name exists, and its member count in *members. */
static int group_exists(const char *name, long *members)
{
    json_t *doc = get(TENANT "/groups");
    size_t k;
    json_t *g;
    int found = 0;
    json_array_foreach(json_object_get(doc, "groups"), k, g)
    {
        if (strcmp(str_at(g, "name"), name) == 0) {
            found = 1;
            if (members)
                *members = (long)json_integer_value(json_object_get(g, "members"));
        }
    }
    json_decref(doc);
    return found;
}

static int f_device_group(const char *v, size_t i)
{
    char cid[32];
    json_t *doc = NULL;
    snprintf(cid, sizeof cid, "hg%zu", i);
    char *b = jbody("{s:s, s:s, s:s}", "controller_id", cid, "model", "m1", "group", v);
    int r = verdict("device.group", v, admin("POST", TENANT "/devices", b, &doc), &doc, 400,
                    "body.group");
    free(b);
    json_decref(doc);
    if (r == ACCEPTED) {
        created_devices++;
        long members = 0;
        if (!group_exists(v, &members) || members < 1)
            fail_msg("device.group: group '%s' not listed after use", v);
    }
    return r;
}

static int f_group_name(const char *v, size_t i)
{
    (void)i;
    json_t *doc = NULL;
    char *b = jbody("{s:s}", "name", v);
    int r =
        verdict("group.name", v, admin("POST", TENANT "/groups", b, &doc), &doc, 400, "body.name");
    free(b);
    json_decref(doc);
    if (r == ACCEPTED && !group_exists(v, NULL))
        fail_msg("group.name: '%s' not listed after creation", v);
    return r;
}

/* One CSV line with v in column col (0 controller_id, 1 model, 2 group). */
static int bulk(const char *field, int col, const char *v, size_t i)
{
    char cid[32], csv[1024];
    snprintf(cid, sizeof cid, "hb%d_%zu", col, i);
    const char *cols[3] = {cid, "m2", "g2"};
    cols[col] = v;
    snprintf(csv, sizeof csv, "controller_id,model,group\n%s,%s,%s\n", cols[0], cols[1], cols[2]);
    json_t *doc = NULL;
    int r =
        verdict(field, v, admin_typed(TENANT "/devices/bulk", csv, (size_t)-1, "text/csv", &doc),
                &doc, 400, "body");
    if (r == REFUSED) {
        /* The line's error names the column. */
        static const char *const names[] = {"controller_id", "model", "group"};
        const char *why = str_at(json_array_get(json_object_get(doc, "lines"), 0), "error");
        if (!why || !strstr(why, names[col]))
            fail_msg("%s = '%.60s': line error '%s' does not name the column", field, v,
                     why ? why : "(none)");
    }
    json_decref(doc);
    if (r == ACCEPTED) {
        created_devices++;
        if (col == 2) {
            if (!group_exists(v, NULL))
                fail_msg("%s: group '%s' missing", field, v);
        } else {
            doc = device(cols[0]);
            assert_same(field, str_at(doc, col == 0 ? "controller_id" : "model"), v);
            json_decref(doc);
        }
    }
    return r;
}

static int f_bulk_cid(const char *v, size_t i)
{
    return bulk("bulk.controller_id", 0, v, i);
}
static int f_bulk_model(const char *v, size_t i)
{
    return bulk("bulk.model", 1, v, i);
}
static int f_bulk_group(const char *v, size_t i)
{
    return bulk("bulk.group", 2, v, i);
}

/* A foreign upload with the given (unescaped) query values; returns the verdict. */
static int upload(const char *field, const char *v, const char *filename, const char *version,
                  const char *product, const char *where, int64_t *id)
{
    char path[2048];
    char *f = esc(filename), *ver = esc(version), *p = esc(product);
    snprintf(path, sizeof path, TENANT "/releases?type=foreign&filename=%s&version=%s&product=%s",
             f, ver, p);
    curl_free(f);
    curl_free(ver);
    curl_free(p);
    json_t *doc = NULL;
    int r = verdict(field, v,
                    admin_typed(path, "payload", (size_t)-1, "application/octet-stream", &doc),
                    &doc, 400, where);
    if (r == ACCEPTED) {
        created_releases++;
        *id = json_integer_value(json_object_get(doc, "id"));
        json_decref(doc);
        snprintf(path, sizeof path, TENANT "/releases/%lld", (long long)*id);
        doc = get(path);
        assert_same(field, str_at(json_object_get(doc, "artifact"), "filename"), filename);
        assert_same(field, str_at(doc, "version"), version);
        assert_same(field, str_at(doc, "product"), product);
    }
    json_decref(doc);
    return r;
}

static int f_upload_filename(const char *v, size_t i)
{
    char ver[32];
    int64_t id;
    snprintf(ver, sizeof ver, "7.%zu", i);
    return upload("release.filename", v, v, ver, "hf", "query.filename", &id);
}

static int f_upload_version(const char *v, size_t i)
{
    char prod[32];
    int64_t id;
    snprintf(prod, sizeof prod, "hv%zu", i);
    return upload("release.version", v, "hv.swu", v, prod, "query.version", &id);
}

static int f_upload_product(const char *v, size_t i)
{
    char ver[32];
    int64_t id;
    snprintf(ver, sizeof ver, "8.%zu", i);
    return upload("release.product", v, "hp.swu", ver, v, "query.product", &id);
}

/* A deployment of rel1 with key = v (with_devices: to dev2, so only key is wrong). */
static int deploy(const char *field, const char *key, const char *v, int with_devices)
{
    json_t *doc = NULL;
    char *b = with_devices ? jbody("{s:I, s:[s], s:s}", "release", (json_int_t)rel1, "devices",
                                   "dev2", key, v)
              : strcmp(key, "devices") == 0
                  ? jbody("{s:I, s:[s]}", "release", (json_int_t)rel1, "devices", v)
                  : jbody("{s:I, s:s}", "release", (json_int_t)rel1, key, v);
    char where[64];
    snprintf(where, sizeof where, "body.%s", key);
    int r = verdict(field, v, admin("POST", TENANT "/deployments", b, &doc), &doc, 400, where);
    free(b);
    if (r == ACCEPTED) {
        /* Only a device or group of that very name could take it, and none exists. */
        if (!with_devices)
            fail_msg("%s = '%.60s' was accepted though no such %s exists", field, v, key);
        json_t *a = json_array_get(json_object_get(doc, "actions"), 0);
        char path[128];
        snprintf(path, sizeof path, TENANT "/actions/%lld",
                 (long long)json_integer_value(json_object_get(a, "id")));
        json_t *act = get(path);
        assert_same(field, str_at(act, key), v);
        json_decref(act);
    }
    json_decref(doc);
    return r;
}

static int f_deploy_devices(const char *v, size_t i)
{
    (void)i;
    return deploy("deployment.devices", "devices", v, 0);
}
static int f_deploy_group(const char *v, size_t i)
{
    (void)i;
    return deploy("deployment.group", "group", v, 0);
}
static int f_deploy_download(const char *v, size_t i)
{
    (void)i;
    return deploy("deployment.download", "download", v, 1);
}
static int f_deploy_update(const char *v, size_t i)
{
    (void)i;
    return deploy("deployment.update", "update", v, 1);
}
static int f_deploy_window(const char *v, size_t i)
{
    (void)i;
    return deploy("deployment.maintenance_window", "maintenance_window", v, 1);
}

static int f_action_window(const char *v, size_t i)
{
    (void)i;
    char path[128];
    json_t *doc = NULL;
    snprintf(path, sizeof path, TENANT "/actions/%lld/maintenance-window", (long long)act1);
    char *b = jbody("{s:s}", "maintenance_window", v);
    int r = verdict("action.maintenance_window", v, admin("PUT", path, b, &doc), &doc, 400,
                    "body.maintenance_window");
    free(b);
    json_decref(doc);
    if (r == ACCEPTED) {
        snprintf(path, sizeof path, TENANT "/actions/%lld", (long long)act1);
        doc = get(path);
        assert_same("action.maintenance_window", str_at(doc, "maintenance_window"), v);
        json_decref(doc);
    }
    return r;
}

/* The audit entry of action on object, newest first; its detail.comment must be v. */
static void audit_comment(const char *action, const char *object, const char *v)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/audit?tenant=acme&action=%s&limit=1000", action);
    json_t *doc = get(path);
    size_t k;
    json_t *e;
    int seen = 0;
    json_array_foreach(json_object_get(doc, "entries"), k, e)
    {
        if (!seen && strcmp(str_at(e, "object"), object) == 0) {
            json_t *d = json_object_get(e, "detail");
            assert_same("audit detail.comment", str_at(d, "comment"), v);
            seen = 1;
        }
    }
    if (!seen)
        fail_msg("no audit entry %s for %s", action, object);
    json_decref(doc);
}

/* approve, then revoke, each with comment v, on a fresh release. */
static int f_decision_comment(const char *v, size_t i)
{
    char prod[32], path[128], object[64];
    int64_t id = 0;
    snprintf(prod, sizeof prod, "hc%zu", i);
    assert_int_equal(upload("approval.comment (upload)", v, "hc.swu", "1.0", prod, NULL, &id),
                     ACCEPTED);
    snprintf(object, sizeof object, "%s 1.0", prod);
    static const char *const verbs[] = {"approve", "revoke"};
    static const char *const states[] = {"approved", "revoked"};
    int r = ACCEPTED;
    for (int k = 0; k < 2; k++) {
        json_t *doc = NULL;
        char *b = jbody("{s:s}", "comment", v);
        snprintf(path, sizeof path, TENANT "/releases/%lld/%s", (long long)id, verbs[k]);
        r = verdict("approval.comment", v, admin("POST", path, b, &doc), &doc, 400, "body.comment");
        free(b);
        if (r == REFUSED) {
            json_decref(doc);
            return r;
        }
        assert_same("approval.comment (answer)", str_at(doc, "comment"), v);
        json_decref(doc);
        snprintf(path, sizeof path, TENANT "/releases/%lld", (long long)id);
        doc = get(path);
        json_t *a = json_object_get(doc, "approval");
        assert_same("approval.state", str_at(a, "state"), states[k]);
        assert_same("approval.comment", str_at(a, "comment"), v);
        json_decref(doc);
        char action[32];
        snprintf(action, sizeof action, "release.%s", verbs[k]);
        audit_comment(action, object, v);
    }
    return r;
}

/* ---- device list filters ---- */

/* Devices (up to 1000) whose doc has string key == v. */
static size_t count_matching(const char *key, const char *attr, const char *v)
{
    json_t *doc = get(TENANT "/devices?limit=1000");
    size_t k, n = 0;
    json_t *d;
    json_array_foreach(json_object_get(doc, "devices"), k, d)
    {
        const char *got = attr ? str_at(json_object_get(d, "attributes"), attr) : str_at(d, key);
        if (got && strcmp(got, v) == 0)
            n++;
    }
    json_decref(doc);
    return n;
}

/* GET /devices?query; returns the number of devices or -1 on a refusal. */
static long list_devices(const char *field, const char *v, const char *query, const char *where)
{
    char path[2048];
    json_t *doc = NULL;
    /* A page of 1000 unless the query is about limit itself (one limit only). */
    if (strncmp(query, "limit=", 6) == 0)
        snprintf(path, sizeof path, TENANT "/devices?%s", query);
    else
        snprintf(path, sizeof path, TENANT "/devices?limit=1000&%s", query);
    int r = verdict(field, v, admin("GET", path, NULL, &doc), &doc, 400, where);
    long n = r == ACCEPTED ? (long)json_array_size(json_object_get(doc, "devices")) : -1;
    json_decref(doc);
    return n;
}

/* A filter on key must select exactly the devices whose key is literally v. */
static int filter_exact(const char *field, const char *param, const char *key, const char *v)
{
    char q[1024];
    char *e = esc(v);
    snprintf(q, sizeof q, "%s=%s", param, e);
    curl_free(e);
    long n = list_devices(field, v, q, NULL);
    if (n < 0)
        return REFUSED;
    size_t want = count_matching(key, NULL, v);
    if ((size_t)n != want)
        fail_msg("%s = '%.60s' matched %ld devices, want %zu (literal matches only)", field, v, n,
                 want);
    return ACCEPTED;
}

static int f_list_model(const char *v, size_t i)
{
    (void)i;
    return filter_exact("list ?model", "model", "model", v);
}
static int f_list_version(const char *v, size_t i)
{
    (void)i;
    return filter_exact("list ?version", "version", "version", v);
}

static int f_list_group(const char *v, size_t i)
{
    (void)i;
    char q[1024];
    char *e = esc(v);
    snprintf(q, sizeof q, "group=%s", e);
    curl_free(e);
    long n = list_devices("list ?group", v, q, NULL), members = 0;
    if (!group_exists(v, &members))
        members = 0;
    if (n != members)
        fail_msg("list ?group = '%.60s' matched %ld devices, want %ld", v, n, members);
    return ACCEPTED;
}

/* attribute=hk=V after dev1 sent hk = v by configData: exactly dev1, and % or _ match nothing. */
static int f_list_attr_value(const char *v, size_t i)
{
    (void)i;
    char *b = jbody("{s:s, s:{s:s}}", "mode", "merge", "data", "hk", v);
    json_t *doc = NULL;
    long st = ddi("PUT", "/acme/controller/v1/dev1/configData", dev_tok, b, &doc);
    free(b);
    json_decref(doc);
    if (ddi_verdict("configData value (for ?attribute)", v, st, NULL) == REFUSED)
        return REFUSED;
    static const char *const probes[] = {NULL, "%", "_", "*"};
    for (size_t k = 0; k < 4; k++) {
        const char *w = probes[k] ? probes[k] : v;
        char q[1024];
        char *e = esc(w);
        snprintf(q, sizeof q, "attribute=hk=%s", e);
        curl_free(e);
        long n = list_devices("list ?attribute value", w, q, NULL);
        size_t want = count_matching(NULL, "hk", w);
        if (n != (long)want)
            fail_msg("list ?attribute=hk=%s (dev1 has '%.60s') matched %ld devices, want %zu", w, v,
                     n, want);
    }
    return ACCEPTED;
}

static int f_list_attr_key(const char *v, size_t i)
{
    (void)i;
    char q[1024];
    char *e = esc(v);
    snprintf(q, sizeof q, "attribute=%s%%3Dx", e);
    curl_free(e);
    long n = list_devices("list ?attribute key", v, q, "query.attribute");
    if (n < 0)
        return REFUSED;
    if (n != 0)
        fail_msg("list ?attribute key '%.60s' matched %ld devices", v, n);
    return ACCEPTED;
}

/* Numeric parameters: anything but digits is a 400 naming the parameter. */
static int numeric(const char *param, const char *v)
{
    char q[1024], field[64], where[64];
    char *e = esc(v);
    snprintf(q, sizeof q, "%s=%s", param, e);
    curl_free(e);
    snprintf(field, sizeof field, "list ?%s", param);
    snprintf(where, sizeof where, "query.%s", param);
    if (list_devices(field, v, q, where) >= 0)
        fail_msg("%s = '%.60s' was accepted", field, v);
    return REFUSED;
}

static int f_list_after(const char *v, size_t i)
{
    (void)i;
    return numeric("after", v);
}
static int f_list_limit(const char *v, size_t i)
{
    (void)i;
    return numeric("limit", v);
}
static int f_list_seen_before(const char *v, size_t i)
{
    (void)i;
    return numeric("last_seen_before", v);
}
static int f_list_seen_after(const char *v, size_t i)
{
    (void)i;
    return numeric("last_seen_after", v);
}

/* ---- other query parameters ---- */

/* GET (or POST for an upload) path?param=v as the admin (or with no token), wanting want/where. */
static int query_param(const char *field, const char *method, const char *prefix, const char *v,
                       const char *tail, int as_admin, long want, const char *where)
{
    char path[2048];
    char *e = esc(v);
    snprintf(path, sizeof path, "%s%s%s", prefix, e, tail);
    curl_free(e);
    json_t *doc = NULL;
    long st = strcmp(method, "POST") == 0
                  ? admin_typed(path, "payload", (size_t)-1, "application/octet-stream", &doc)
                  : req(method, path, as_admin ? admin_tok : NULL, NULL, &doc);
    int r = verdict(field, v, st, &doc, want, where);
    if (r == ACCEPTED && strcmp(method, "POST") == 0)
        fail_msg("%s = '%.60s' was accepted", field, v);
    json_decref(doc);
    return r;
}

static int f_upload_type(const char *v, size_t i)
{
    (void)i;
    return query_param("release ?type", "POST", TENANT "/releases?type=", v,
                       "&filename=ht.swu&version=1.0", 1, 400, "query.type");
}

static int f_approvals_state(const char *v, size_t i)
{
    (void)i;
    return query_param("approvals ?state", "GET", TENANT "/approvals?state=", v, "", 1, 400,
                       "query.state");
}

static int f_audit_tenant(const char *v, size_t i)
{
    (void)i;
    return query_param("audit ?tenant", "GET", "/api/v1/audit?tenant=", v, "", 1, 400,
                       "query.tenant");
}

static int f_audit_numbers(const char *v, size_t i)
{
    (void)i;
    query_param("audit ?since", "GET", "/api/v1/audit?since=", v, "", 1, 400, "query.since");
    query_param("audit ?until", "GET", "/api/v1/audit?until=", v, "", 1, 400, "query.until");
    query_param("tenant audit ?before", "GET", TENANT "/audit?before=", v, "", 1, 400,
                "query.before");
    return query_param("audit ?limit", "GET", "/api/v1/audit?limit=", v, "", 1, 400, "query.limit");
}

/* The tenant's audit log filtered by actor or action: no entry unless literally equal. */
static int f_tenant_audit_filters(const char *v, size_t i)
{
    (void)i;
    static const char *const params[] = {"actor", "action"};
    for (size_t k = 0; k < 2; k++) {
        char path[2048];
        char *e = esc(v);
        snprintf(path, sizeof path, TENANT "/audit?limit=1000&%s=%s", params[k], e);
        curl_free(e);
        json_t *doc = get(path);
        if (json_array_size(json_object_get(doc, "entries")) != 0)
            fail_msg("tenant audit ?%s = '%.60s' matched %zu entries", params[k], v,
                     json_array_size(json_object_get(doc, "entries")));
        json_decref(doc);
    }
    return ACCEPTED;
}

/* An event stream's ?ticket= without Authorization: a 401, never a stream. */
static int f_events_ticket(const char *v, size_t i)
{
    (void)i;
    char path[256];
    snprintf(path, sizeof path, TENANT "/rollouts/%lld/events?ticket=", (long long)1);
    return query_param("events ?ticket", "GET", path, v, "", 0, 401, "query ticket");
}

/* ---- DDI fields ---- */

/* The last feedback of act1 in dev1's history. */
static json_t *last_feedback(json_t *history)
{
    size_t k;
    json_t *a, *fb = NULL;
    json_array_foreach(json_object_get(history, "actions"), k, a)
    {
        if (json_integer_value(json_object_get(a, "id")) == act1) {
            json_t *list = json_object_get(a, "feedback");
            fb = json_array_get(list, json_array_size(list) - 1);
        }
    }
    return fb;
}

static int f_ddi_details(const char *v, size_t i)
{
    char path[128], tail[32];
    snprintf(tail, sizeof tail, "tail %zu", i); /* tells this feedback from the previous one */
    snprintf(path, sizeof path, "/acme/controller/v1/dev1/deploymentBase/%lld/feedback",
             (long long)act1);
    char *b = jbody("{s:I, s:{s:s, s:{s:s}, s:[s, s]}}", "id", (json_int_t)act1, "status",
                    "execution", "proceeding", "result", "finished", "none", "details", v, tail);
    json_t *doc = NULL;
    long st = ddi("POST", path, dev_tok, b, &doc);
    free(b);
    int r = ddi_verdict("feedback details", v, st, doc);
    json_decref(doc);
    if (r == ACCEPTED) {
        json_t *h = get(TENANT "/devices/dev1/history");
        json_t *d = json_object_get(last_feedback(h), "details");
        assert_same("feedback details[0]", json_string_value(json_array_get(d, 0)), v);
        assert_same("feedback details[1]", json_string_value(json_array_get(d, 1)), tail);
        json_decref(h);
    }
    return r;
}

static int f_ddi_config_key(const char *v, size_t i)
{
    char val[32];
    snprintf(val, sizeof val, "value %zu", i);
    char *b = jbody("{s:s, s:{s:s}}", "mode", "merge", "data", v, val);
    json_t *doc = NULL;
    long st = ddi("PUT", "/acme/controller/v1/dev1/configData", dev_tok, b, &doc);
    free(b);
    int r = ddi_verdict("configData key", v, st, doc);
    json_decref(doc);
    if (r == ACCEPTED) {
        doc = device("dev1");
        assert_same("configData key", str_at(json_object_get(doc, "attributes"), v), val);
        json_decref(doc);
    }
    return r;
}

static int f_ddi_config_value(const char *v, size_t i)
{
    char key[32];
    snprintf(key, sizeof key, "k%zu", i);
    char *b = jbody("{s:s, s:{s:s}}", "mode", "merge", "data", key, v);
    json_t *doc = NULL;
    long st = ddi("PUT", "/acme/controller/v1/dev1/configData", dev_tok, b, &doc);
    free(b);
    int r = ddi_verdict("configData value", v, st, doc);
    json_decref(doc);
    if (r == ACCEPTED) {
        doc = device("dev1");
        assert_same("configData value", str_at(json_object_get(doc, "attributes"), key), v);
        json_decref(doc);
    }
    return r;
}

/* ---- path segments: always a 404 (nothing has such a name or id), written nothing ---- */

/* tmpl with every "{}" replaced by e (no printf: the templates are data). */
static void subst(char *out, size_t cap, const char *tmpl, const char *e)
{
    size_t n = 0;
    for (const char *p = tmpl; *p && n + 1 < cap; p++) {
        if (p[0] == '{' && p[1] == '}') {
            n += (size_t)snprintf(out + n, cap - n, "%s", e);
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n < cap ? n : cap - 1] = '\0';
    assert_true(n < cap);
}

static int path_404(const char *field, const char *method, const char *fmt, const char *v)
{
    char path[2048];
    char *e = esc(v);
    subst(path, sizeof path, fmt, e);
    curl_free(e);
    json_t *doc = NULL;
    const char *body =
        strcmp(method, "PUT") == 0 && strstr(fmt, "/users/") ? "{\"role\":\"viewer\"}" : NULL;
    if (strstr(fmt, "/password"))
        body = "{\"password\":\"" PW "\"}";
    int r = verdict(field, v, admin(method, path, body, &doc), &doc, 404, "path");
    json_decref(doc);
    if (r == ACCEPTED)
        fail_msg("%s %s answered 2xx", method, path);
    return r;
}

static int f_path_tenant(const char *v, size_t i)
{
    (void)i;
    path_404("path tenant", "GET", "/api/v1/tenants/{}", v);
    path_404("path tenant", "GET", "/api/v1/tenants/{}/devices", v);
    path_404("path tenant", "DELETE", "/api/v1/tenants/{}", v);
    return path_404("path tenant", "POST", "/api/v1/tenants/{}/gateway-token", v);
}

static int f_path_device(const char *v, size_t i)
{
    (void)i;
    path_404("path device", "GET", TENANT "/devices/{}", v);
    path_404("path device", "GET", TENANT "/devices/{}/history", v);
    path_404("path device", "PUT", TENANT "/groups/grp1/devices/{}", v);
    path_404("path device", "DELETE", TENANT "/groups/grp1/devices/{}", v);
    return path_404("path device", "DELETE", TENANT "/devices/{}", v);
}

static int f_path_group(const char *v, size_t i)
{
    (void)i;
    path_404("path group", "PUT", TENANT "/groups/{}/devices/dev1", v);
    path_404("path group", "DELETE", TENANT "/groups/{}/devices/dev1", v);
    return path_404("path group", "DELETE", TENANT "/groups/{}", v);
}

static int f_path_user(const char *v, size_t i)
{
    (void)i;
    path_404("path user", "GET", "/api/v1/users/{}", v);
    path_404("path user", "PUT", "/api/v1/users/{}/password", v);
    path_404("path user", "DELETE", "/api/v1/users/{}", v);
    path_404("path user", "GET", TENANT "/users/{}", v);
    path_404("path user", "PUT", TENANT "/users/{}", v);
    path_404("path user", "PUT", TENANT "/users/{}/password", v);
    return path_404("path user", "DELETE", TENANT "/users/{}", v);
}

static int f_path_ids(const char *v, size_t i)
{
    (void)i;
    path_404("path release id", "GET", TENANT "/releases/{}", v);
    path_404("path release id", "GET", TENANT "/releases/{}/artifact", v);
    path_404("path release id", "DELETE", TENANT "/releases/{}", v);
    path_404("path action id", "GET", TENANT "/actions/{}", v);
    path_404("path action id", "POST", TENANT "/actions/{}/cancel", v);
    path_404("path rollout id", "GET", TENANT "/rollouts/{}", v);
    path_404("path rollout id", "POST", TENANT "/rollouts/{}/start", v);
    return path_404("path token id", "DELETE", "/api/v1/tokens/{}", v);
}

/* DDI paths: a foreign tenant or controller id with dev1's token is never let in. */
static int f_path_ddi(const char *v, size_t i)
{
    (void)i;
    char path[2048];
    char *e = esc(v);
    static const char *const fmts[] = {"/{}/controller/v1/dev1", "/acme/controller/v1/{}",
                                       "/acme/controller/v1/{}/configData",
                                       "/acme/controller/v1/dev1/deploymentBase/{}"};
    for (size_t k = 0; k < 4; k++) {
        subst(path, sizeof path, fmts[k], e);
        const char *m = k == 2 ? "PUT" : "GET";
        json_t *doc = NULL;
        long st = ddi(m, path, dev_tok, k == 2 ? "{\"data\":{\"a\":\"b\"}}" : NULL, &doc);
        json_decref(doc);
        if (st != 401 && st != 404 && st != 400) {
            curl_free(e);
            fail_msg("DDI %s %s: %ld, want 400, 401 or 404", m, path, st);
        }
    }
    curl_free(e);
    return REFUSED;
}

/* ---- the table ---- */

struct field {
    const char *name;
    int (*run)(const char *v, size_t i); /* REFUSED or ACCEPTED (round trip checked) */
};

static const struct field fields[] = {
    {"POST devices: model", f_device_model},
    {"POST devices: name", f_device_name},
    {"POST devices: group", f_device_group},
    {"POST groups: name", f_group_name},
    {"POST devices/bulk: controller_id", f_bulk_cid},
    {"POST devices/bulk: model", f_bulk_model},
    {"POST devices/bulk: group", f_bulk_group},
    {"POST releases: ?filename", f_upload_filename},
    {"POST releases: ?version", f_upload_version},
    {"POST releases: ?product", f_upload_product},
    {"POST deployments: devices", f_deploy_devices},
    {"POST deployments: group", f_deploy_group},
    {"POST deployments: download", f_deploy_download},
    {"POST deployments: update", f_deploy_update},
    {"POST deployments: maintenance_window", f_deploy_window},
    {"PUT actions/{id}/maintenance-window", f_action_window},
    {"POST releases/{id}/approve+revoke: comment", f_decision_comment},
    {"GET devices: ?model", f_list_model},
    {"GET devices: ?version", f_list_version},
    {"GET devices: ?group", f_list_group},
    {"GET devices: ?attribute key", f_list_attr_key},
    {"GET devices: ?attribute value", f_list_attr_value},
    {"GET devices: ?after", f_list_after},
    {"GET devices: ?limit", f_list_limit},
    {"GET devices: ?last_seen_before", f_list_seen_before},
    {"GET devices: ?last_seen_after", f_list_seen_after},
    {"POST releases: ?type", f_upload_type},
    {"GET approvals: ?state", f_approvals_state},
    {"GET audit: ?tenant", f_audit_tenant},
    {"GET audit: ?since ?until ?limit, tenant ?before", f_audit_numbers},
    {"GET tenants/{t}/audit: ?actor ?action", f_tenant_audit_filters},
    {"GET rollouts/{id}/events: ?ticket", f_events_ticket},
    {"DDI feedback: details", f_ddi_details},
    {"DDI configData: key", f_ddi_config_key},
    {"DDI configData: value", f_ddi_config_value},
    {"path: tenant", f_path_tenant},
    {"path: device", f_path_device},
    {"path: group", f_path_group},
    {"path: user", f_path_user},
    {"path: release/action/rollout/token id", f_path_ids},
    {"DDI path: tenant/controller/action", f_path_ddi},
};
#define N_FIELDS (sizeof fields / sizeof *fields)

/* One field with every evil string: a cmocka test per field, so one failure hides no other. */
/* The last field test's "before" state: a failure jumps out, so it is freed next time. */
static char *field_before, *field_snap;

static void test_field(void **state)
{
    const struct field *f = *state;
    int refused = 0, accepted = 0;
    for (size_t i = 0; i < N_EVIL; i++) {
        free(field_before);
        free(field_snap);
        field_before = fingerprint(NULL, 0);
        field_snap = snapshot();
        int r = f->run(evil[i], i);
        if (r == REFUSED) {
            refused++;
            /* A refusal writes nothing, not even an audit entry. */
            char *after = fingerprint(NULL, 0), *snap2 = snapshot();
            int changed = strcmp(field_before, after) != 0 || strcmp(field_snap, snap2) != 0;
            if (changed)
                print_message("before: %s\nafter:  %s\n", field_before, after);
            free(after);
            free(snap2);
            if (changed)
                fail_msg("%s = '%.60s' was refused but changed the database", f->name, evil[i]);
        } else {
            accepted++;
        }
    }
    print_message("%-45s refused %2d, accepted and round-tripped %2d\n", f->name, refused,
                  accepted);
}

/*
 * An escaped '?' (%3F) belongs to its path segment: "dev2%3Fx" names a device
 * "dev2?x", which does not exist, never dev2. Every case runs; failures are
 * listed together.
 */
static void test_escaped_query_mark_in_path(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
    } cases[] = {
        {"GET", TENANT "/devices/dev1%3F"},
        {"GET", TENANT "/devices/dev1%3Fx"},
        {"GET", TENANT "/devices/dev1%3F/history"},
        {"PUT", TENANT "/groups/grp1%3Fx/devices/dev2"},
        {"GET", "/api/v1/tenants/acme%3Fx"},
        {"GET", "/api/v1/users/admin%3Fx"},
        {"DELETE", TENANT "/devices/dev2%3Fnot-this-one"},
        /* %00 decoded would end the C string there: "dev2%00x" must not name dev2. */
        {"GET", TENANT "/devices/dev1%00x"},
        {"GET", "/api/v1/tenants/acme%00x"},
        {"DELETE", TENANT "/devices/dev2%00not-this-one"},
    };
    char failures[4096] = "";
    size_t n = 0;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *before = fingerprint(NULL, 0);
        json_t *doc = NULL;
        long st = admin(cases[k].method, cases[k].path, NULL, &doc);
        json_decref(doc);
        char *after = fingerprint(NULL, 0);
        if (st != 404 || strcmp(before, after) != 0)
            n += (size_t)snprintf(failures + n, sizeof failures - n, "  %s %s -> %ld%s\n",
                                  cases[k].method, cases[k].path, st,
                                  strcmp(before, after) ? " and changed the database" : "");
        free(before);
        free(after);
    }
    /* DDI: dev1's own token on tenant "acme?" or device "dev1?" is not dev1's poll. */
    static const char *const ddi_paths[] = {
        "/acme%3F/controller/v1/dev1", "/acme/controller/v1/dev1%3F", "/%3F/controller/v1/dev1",
        "/acme/controller/v1/dev1%00x", "/acme%00x/controller/v1/dev1"};
    for (size_t k = 0; k < sizeof ddi_paths / sizeof *ddi_paths; k++) {
        long st = ddi("GET", ddi_paths[k], dev_tok, NULL, NULL);
        if (st != 401 && st != 404)
            n += (size_t)snprintf(failures + n, sizeof failures - n,
                                  "  DDI GET %s -> %ld, want 401 or 404\n", ddi_paths[k], st);
    }
    if (n)
        fail_msg("an escaped '?' or NUL in a path segment is not kept in the segment:\n%s",
                 failures);
}

/* LIKE wildcards and case folding: a filter is an exact match, never a pattern. */
static void test_wildcards_match_literally(void **state)
{
    (void)state;
    static const char *const models[] = {"%",    "_",     "*",     "gw%",   "g_-a", "gw-_",
                                         "GW-A", "gw-a%", "%gw-a", "gw-a ", ""};
    for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
        char q[128];
        char *e = esc(models[k]);
        snprintf(q, sizeof q, "model=%s", e);
        long n = list_devices("?model", models[k], q, NULL);
        if (n != 0 && strcmp(models[k], "") != 0)
            fail_msg("?model=%s matched %ld devices; only gw-a exists", models[k], n);
        snprintf(q, sizeof q, "group=%s", e);
        n = list_devices("?group", models[k], q, NULL);
        if (n != 0 && strcmp(models[k], "") != 0)
            fail_msg("?group=%s matched %ld devices; only grp1 exists", models[k], n);
        curl_free(e);
    }
    /* The exact value still matches. */
    assert_int_equal(list_devices("?model", "gw-a", "model=gw-a", NULL), 1);
    assert_int_equal(list_devices("?group", "grp1", "group=grp1", NULL), 1);
    /* The audit filters too (test_server_api covers ' and ; there). */
    json_t *doc = get("/api/v1/audit?actor=%25&limit=1000");
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
    json_decref(doc);
    doc = get("/api/v1/audit?action=device._reate&limit=1000");
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
    json_decref(doc);
}

/* Last: every table is there, no row appeared or vanished behind the test's back. */
static void test_database_intact(void **state)
{
    (void)state;
    char tables[4096];
    char *fp = fingerprint(tables, sizeof tables);
    free(fp);
    assert_string_equal(tables, tables0);
    static const char *const names[] = {"users", "tenants", "tokens", "devices", "releases"};
    long want[] = {base_users, base_tenants, base_tokens, base_devices + created_devices,
                   1 + created_releases};
    for (size_t k = 0; k < 5; k++)
        if (count_rows(names[k]) != want[k])
            fail_msg("%s has %ld rows, the test made %ld", names[k], count_rows(names[k]), want[k]);
    json_t *doc = get("/api/v1/audit?limit=10");
    json_decref(doc);
    char *t = login("admin", ADMIN_PW);
    free(t);
    print_message("devices created on purpose: %ld, releases: %ld\n", created_devices,
                  created_releases);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    /* 300 bytes of which 90 are metacharacters: long, yet under the URL buffer when escaped. */
    static const char cycle[] = "abcdef'%_;";
    for (size_t k = 0; k < LONG_LEN; k++)
        long_str[k] = cycle[k % (sizeof cycle - 1)];
    long_str[LONG_LEN] = '\0';
    if (setup_server("server_hostile", "", 0) < 0)
        return -1;
    add_tenant("acme");
    json_t *doc = NULL;
    /* dev1 (model gw-a, group grp1) with an open action; dev2 is a deployment target. */
    if (admin("POST", TENANT "/devices",
              "{\"controller_id\":\"dev1\",\"model\":\"gw-a\",\"group\":\"grp1\"}", &doc) != 201)
        return -1;
    dev_tok = strdup(str_at(doc, "token"));
    json_decref(doc);
    if (admin("POST", TENANT "/devices", "{\"controller_id\":\"dev2\",\"model\":\"gw-b\"}", NULL) !=
        201)
        return -1;
    if (admin_typed(TENANT "/releases?type=foreign&filename=base.swu&version=1.0", "base",
                    (size_t)-1, "application/octet-stream", &doc) != 201)
        return -1;
    rel1 = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    char path[128], body[128];
    snprintf(path, sizeof path, TENANT "/releases/%lld/approve", (long long)rel1);
    if (admin("POST", path, "{}", NULL) != 200)
        return -1;
    snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"dev1\"]}", (long long)rel1);
    if (admin("POST", TENANT "/deployments", body, &doc) != 201)
        return -1;
    act1 = json_integer_value(
        json_object_get(json_array_get(json_object_get(doc, "actions"), 0), "id"));
    json_decref(doc);
    if (act1 <= 0)
        return -1;
    char *fp = fingerprint(tables0, sizeof tables0);
    free(fp);
    base_users = count_rows("users");
    base_tenants = count_rows("tenants");
    base_tokens = count_rows("tokens");
    base_devices = count_rows("devices");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(dev_tok);
    free(field_before);
    free(field_snap);
    return teardown_server();
}

int main(void)
{
    /* One test per field (named after it), then the cross-cutting checks; intact is last. */
    static struct CMUnitTest tests[N_FIELDS + 3];
    for (size_t k = 0; k < N_FIELDS; k++)
        tests[k] = (struct CMUnitTest){fields[k].name, test_field, NULL, NULL, (void *)&fields[k]};
    tests[N_FIELDS] = (struct CMUnitTest)cmocka_unit_test(test_wildcards_match_literally);
    tests[N_FIELDS + 1] = (struct CMUnitTest)cmocka_unit_test(test_escaped_query_mark_in_path);
    tests[N_FIELDS + 2] = (struct CMUnitTest)cmocka_unit_test(test_database_intact);
    return cmocka_run_group_tests_name("server_hostile", tests, setup, teardown);
}
