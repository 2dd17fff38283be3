/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Devices of a tenant seen from the management API: provisioning (one, or
 * many from CSV; the DDI TargetToken is shown once and stored hashed),
 * listing with filters, groups, history, and the tenant's GatewayToken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_auth.h"

#define BULK_MAX_DEVICES 10000
#define BULK_MAX_ERRORS 50

int api_load_device(struct call *c, const char *controller_id, otter_device *d)
{
    otter_err err;
    int found = 0;
    if (!otter_reqjson_name_ok(controller_id))
        return api_fail(c, 404, "path", "no device '%.64s'", controller_id);
    if (otter_store_device_get(c->api->store, c->tenant.id, controller_id, d, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found)
        return api_fail(c, 404, "path", "no device '%s'", controller_id);
    return 0;
}

static json_t *device_doc(const otter_device *d)
{
    json_t *attrs = json_loads(d->attributes, 0, NULL);
    return json_pack(
        "{s:I, s:s, s:s?, s:s?, s:s?, s:o, s:b, s:o, s:o}", "id", (json_int_t)d->id,
        "controller_id", d->controller_id, "model", d->model[0] ? d->model : NULL, "name",
        d->name[0] ? d->name : NULL, "version", d->version[0] ? d->version : NULL, "attributes",
        attrs ? attrs : json_object(), "attributes_from_device", d->config_sent, "last_seen",
        d->last_seen ? api_time(d->last_seen) : json_null(), "created_at", api_time(d->created_at));
}

int api_gateway_rotate(struct call *c)
{
    otter_err err;
    char tok[OTTER_AUTH_TOKEN_MAX], sha[OTTER_AUTH_SHA256_HEX];
    if (otter_auth_token_new("otg", tok, sizeof tok, sha, &err) < 0 || api_begin(c, &err) < 0 ||
        otter_store_tenant_set_gateway(c->api->store, c->tenant.id, sha, &err) < 0 ||
        api_audit(c, "gateway.rotate", c->tenant.name, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 201, json_pack("{s:s, s:s}", "token", tok, "token_type", "GatewayToken"));
}

/* Puts device_id into group name, creating the group when it does not exist. */
static int join_group(struct call *c, const char *name, int64_t device_id, otter_err *err)
{
    otter_group g;
    int found = 0;
    int ret = otter_store_group_get(c->api->store, c->tenant.id, name, &g, &found, err);
    if (ret == 0 && !found)
        ret = otter_store_group_create(c->api->store, c->tenant.id, name, &g.id, err);
    if (ret == 0)
        ret = otter_store_group_add(c->api->store, g.id, device_id, err);
    return ret;
}

/* Creates one device inside the open transaction; tok receives its TargetToken. */
static int provision(struct call *c, const char *cid, const char *model, const char *group,
                     const char *name, char tok[OTTER_AUTH_TOKEN_MAX], otter_err *err)
{
    char sha[OTTER_AUTH_SHA256_HEX];
    int64_t id = 0;
    int ret = otter_auth_token_new("otd", tok, OTTER_AUTH_TOKEN_MAX, sha, err);
    if (ret == 0)
        ret = otter_store_device_create(c->api->store, c->tenant.id, cid, model, name, sha, c->now,
                                        &id, err);
    if (ret == OTTER_ESTATE)
        otter_err_set(err, OTTER_ESTATE, "device '%s' exists", cid);
    if (ret == 0 && group)
        ret = join_group(c, group, id, err);
    return ret;
}

int api_devices_create(struct call *c)
{
    otter_err err;
    otter_device d;
    int found = 0;
    char tok[OTTER_AUTH_TOKEN_MAX];
    const char *cid = otter_reqjson_str(&c->body, "controller_id");
    if (api_begin(c, &err) < 0 ||
        provision(c, cid, otter_reqjson_str(&c->body, "model"),
                  otter_reqjson_str(&c->body, "group"), otter_reqjson_str(&c->body, "name"), tok,
                  &err) < 0 ||
        api_audit(c, "device.create", cid, NULL, &err) < 0 ||
        otter_store_device_get(c->api->store, c->tenant.id, cid, &d, &found, &err) < 0)
        return api_fail_err(c, "body.controller_id", &err);
    json_t *doc = device_doc(&d);
    json_object_set_new(doc, "token", json_string(tok));
    json_object_set_new(doc, "token_type", json_string("TargetToken"));
    return api_reply(c, 201, doc);
}

struct csv_line {
    unsigned line;
    char *field[3]; /* controller_id, model, group (NULL when absent) */
};

/* Splits one CSV line in place into 2 or 3 plain fields (no quoting: names need none). */
static int csv_fields(char *s, struct csv_line *l, char *why, size_t cap)
{
    int n = 0;
    for (char *p = s;; p++) {
        if (n == 3) {
            snprintf(why, cap, "more than 3 fields (controller_id,model[,group])");
            return -1;
        }
        l->field[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    if (n < 2) {
        snprintf(why, cap, "expected controller_id,model[,group]");
        return -1;
    }
    static const char *const names[] = {"controller_id", "model", "group"};
    for (int i = 0; i < n; i++) {
        if (!otter_reqjson_name_ok(l->field[i])) {
            snprintf(why, cap,
                     "%s must be 1..64 characters of A-Z a-z 0-9 . _ @ - starting with a letter "
                     "or digit",
                     names[i]);
            return -1;
        }
    }
    return 0;
}

static int add_line_error(json_t *errors, unsigned line, const char *why)
{
    if (json_array_size(errors) >= BULK_MAX_ERRORS)
        return 0;
    return json_array_append_new(errors,
                                 json_pack("{s:I, s:s}", "line", (json_int_t)line, "error", why));
}

/* Parses the CSV body into lines; errors (with line numbers) go to errors. */
static int parse_csv(char *text, struct csv_line *lines, size_t *n, json_t *errors)
{
    unsigned lineno = 0;
    char why[160];
    *n = 0;
    for (char *next = text; next;) {
        char *s = next;
        next = strchr(s, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t len = strlen(s);
        if (len && s[len - 1] == '\r')
            s[--len] = '\0';
        if (len == 0 || (lineno == 1 && strncmp(s, "controller_id,", 14) == 0))
            continue; /* blank line or header */
        if (*n == BULK_MAX_DEVICES) {
            add_line_error(errors, lineno, "more than 10000 devices in one request");
            return -1;
        }
        struct csv_line *l = &lines[*n];
        memset(l, 0, sizeof *l);
        l->line = lineno;
        if (csv_fields(s, l, why, sizeof why) < 0) {
            add_line_error(errors, lineno, why);
            continue;
        }
        for (size_t j = 0; j < *n; j++)
            if (strcmp(lines[j].field[0], l->field[0]) == 0) {
                snprintf(why, sizeof why, "controller_id '%s' repeats line %u", l->field[0],
                         lines[j].line);
                add_line_error(errors, lineno, why);
                break;
            }
        (*n)++;
    }
    return 0;
}

int api_devices_bulk(struct call *c)
{
    otter_err err;
    int status;
    size_t n = 0;
    char *text = NULL;
    struct csv_line *lines = NULL;
    json_t *errors = json_array(), *out = json_array();
    char tok[OTTER_AUTH_TOKEN_MAX];
    if (memchr(c->req->body ? c->req->body : "", '\0', c->req->body_len)) {
        status = api_fail(c, 400, "body", "the CSV contains a NUL byte");
        goto out;
    }
    text = strndup(c->req->body ? c->req->body : "", c->req->body_len);
    lines = calloc(BULK_MAX_DEVICES, sizeof *lines);
    if (!text || !lines || !errors || !out) {
        status = api_fail(c, 500, "body", "out of memory");
        goto out;
    }
    parse_csv(text, lines, &n, errors);
    if (json_array_size(errors) == 0 && n == 0)
        add_line_error(errors, 1, "no devices in the CSV");
    if (json_array_size(errors)) {
        status = api_fail(c, 400, "body", "%zu line(s) refused; nothing was created",
                          json_array_size(errors));
        json_object_set(c->out, "lines", errors);
        goto out;
    }
    /* All or nothing: one transaction, rolled back by dispatch on any error. */
    if (api_begin(c, &err) < 0) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (provision(c, lines[i].field[0], lines[i].field[1], lines[i].field[2], NULL, tok, &err) <
            0) {
            status = api_fail_err(c, "body", &err);
            add_line_error(errors, lines[i].line, err.msg);
            json_object_set(c->out, "lines", errors);
            goto out;
        }
        json_array_append_new(
            out, json_pack("{s:s, s:s}", "controller_id", lines[i].field[0], "token", tok));
    }
    char detail[64];
    snprintf(detail, sizeof detail, "{\"count\":%zu}", n);
    if (api_audit(c, "device.bulk", NULL, detail, &err) < 0) {
        status = api_fail_err(c, "body", &err);
        goto out;
    }
    status =
        api_reply(c, 201, json_pack("{s:O, s:s}", "devices", out, "token_type", "TargetToken"));
out:
    json_decref(errors);
    json_decref(out);
    free(lines);
    free(text);
    return status;
}

/* Reads an optional unix-seconds query parameter; -1 on a malformed value. */
static int64_t query_secs(struct call *c, const char *name)
{
    const char *v = otter_http_query(c->req, name);
    if (!v)
        return 0;
    int64_t n = api_id_param(v);
    return n ? n : -1;
}

static int add_device(void *ctx, const otter_device *d)
{
    json_t **doc = ctx;
    return json_array_append_new(doc[0], device_doc(d)) == 0 ? 0 : OTTER_ENOMEM;
}

int api_devices_list(struct call *c)
{
    otter_err err;
    otter_device_filter f = {.tenant_id = c->tenant.id, .limit = 100};
    f.model = otter_http_query(c->req, "model");
    f.version = otter_http_query(c->req, "version");
    f.group = otter_http_query(c->req, "group");
    const char *attr = otter_http_query(c->req, "attribute");
    char key[OTTER_STORE_NAME_MAX + 1];
    if (attr) {
        const char *eq = strchr(attr, '=');
        if (!eq || eq == attr || (size_t)(eq - attr) > OTTER_STORE_NAME_MAX)
            return api_fail(c, 400, "query.attribute", "expected attribute=KEY=VALUE");
        memcpy(key, attr, (size_t)(eq - attr));
        key[eq - attr] = '\0';
        if (!otter_reqjson_name_ok(key))
            return api_fail(c, 400, "query.attribute",
                            "attribute keys are names (A-Z a-z 0-9 . _ @ -)");
        f.attr_key = key;
        f.attr_value = eq + 1;
    }
    if ((f.seen_before = query_secs(c, "last_seen_before")) < 0)
        return api_fail(c, 400, "query.last_seen_before", "expected unix seconds");
    if ((f.seen_after = query_secs(c, "last_seen_after")) < 0)
        return api_fail(c, 400, "query.last_seen_after", "expected unix seconds");
    if (otter_http_query(c->req, "after") &&
        (f.after_id = api_id_param(otter_http_query(c->req, "after"))) == 0)
        return api_fail(c, 400, "query.after", "expected a device id");
    if (otter_http_query(c->req, "limit")) {
        int64_t l = api_id_param(otter_http_query(c->req, "limit"));
        if (l < 1 || l > 1000)
            return api_fail(c, 400, "query.limit", "limit must be 1..1000");
        f.limit = (unsigned)l;
    }
    json_t *arr = json_array();
    json_t *ctx[1] = {arr};
    if (!arr || otter_store_device_list(c->api->store, &f, add_device, ctx, &err) < 0) {
        json_decref(arr);
        return api_fail_err(c, "devices", &err);
    }
    size_t n = json_array_size(arr);
    json_t *next =
        n == f.limit
            ? json_integer(json_integer_value(json_object_get(json_array_get(arr, n - 1), "id")))
            : json_null();
    return api_reply(c, 200, json_pack("{s:o, s:o}", "devices", arr, "next_after", next));
}

int api_devices_get(struct call *c)
{
    otter_device *d = malloc(sizeof *d);
    if (!d)
        return api_fail(c, 500, "path", "out of memory");
    int status = api_load_device(c, c->param[0], d);
    if (!status)
        status = api_reply(c, 200, device_doc(d));
    free(d);
    return status;
}

int api_devices_delete(struct call *c)
{
    otter_err err;
    int found = 0;
    otter_device *d = malloc(sizeof *d);
    if (!d)
        return api_fail(c, 500, "path", "out of memory");
    int status = api_load_device(c, c->param[0], d);
    if (!status) {
        if (api_begin(c, &err) < 0 ||
            otter_store_device_delete(c->api->store, d->id, &found, &err) < 0 ||
            api_audit(c, "device.delete", d->controller_id, NULL, &err) < 0)
            status = api_fail_err(c, "path", &err);
        else
            status = api_reply(c, 204, NULL);
    }
    free(d);
    return status;
}

static int add_feedback(void *ctx, const otter_feedback *f)
{
    json_t *details = json_loads(f->details ? f->details : "[]", 0, NULL);
    json_t *doc = json_pack("{s:o, s:s, s:s, s:s, s:o}", "at", api_time(f->at), "kind", f->kind,
                            "execution", f->execution, "finished", f->finished, "details",
                            details ? details : json_array());
    if (doc && f->progress_cnt >= 0)
        json_object_set_new(doc, "progress",
                            json_pack("{s:I, s:I}", "cnt", (json_int_t)f->progress_cnt, "of",
                                      (json_int_t)f->progress_of));
    return json_array_append_new(ctx, doc) == 0 ? 0 : OTTER_ENOMEM;
}

/* Consent, confirmation and the user's last choice of an action (issue #17). */
static void api_action_consent_doc(json_t *doc, const otter_action *a)
{
    json_object_set_new(doc, "consent", json_string(a->consent[0] ? a->consent : "auto"));
    json_object_set_new(doc, "confirmation", json_string(a->confirm[0] ? a->confirm : "none"));
    json_t *user = json_null();
    if (a->user_choice[0]) {
        user = json_pack("{s:s}", "choice", a->user_choice);
        if (user && a->user_until)
            json_object_set_new(user, "until", api_time(a->user_until));
    }
    json_object_set_new(doc, "user", user ? user : json_null());
}

json_t *api_action_doc(struct call *c, const otter_action *a, int with_feedback)
{
    json_t *doc = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)a->id,
                            "release", (json_int_t)a->release_id, "status", a->status, "result",
                            a->result, "download", a->download, "update", a->update, "created_at",
                            api_time(a->created_at), "updated_at", api_time(a->updated_at));
    if (!doc)
        return NULL;
    json_object_set_new(doc, "rollout", a->rollout_id ? json_integer(a->rollout_id) : json_null());
    json_object_set_new(doc, "stage", a->rollout_id ? json_integer(a->stage) : json_null());
    if (a->maintenance[0])
        json_object_set_new(doc, "maintenance_window", json_string(a->maintenance));
    if (a->superseded_by)
        json_object_set_new(doc, "retried_as", json_integer(a->superseded_by));
    api_action_consent_doc(doc, a);
    if (with_feedback) {
        otter_err err;
        json_t *fb = json_array();
        if (fb && otter_store_feedback_list(c->api->store, a->id, add_feedback, fb, &err) == 0)
            json_object_set_new(doc, "feedback", fb);
        else
            json_decref(fb);
    }
    return doc;
}

struct history {
    struct call *c;
    json_t *arr;
};

static int add_action(void *ctx, const otter_action *a)
{
    struct history *h = ctx;
    return json_array_append_new(h->arr, api_action_doc(h->c, a, 1)) == 0 ? 0 : OTTER_ENOMEM;
}

int api_devices_history(struct call *c)
{
    otter_err err;
    otter_device *d = malloc(sizeof *d);
    if (!d)
        return api_fail(c, 500, "path", "out of memory");
    int status = api_load_device(c, c->param[0], d);
    if (!status) {
        struct history h = {c, json_array()};
        if (!h.arr ||
            otter_store_action_list_device(c->api->store, d->id, add_action, &h, &err) < 0) {
            json_decref(h.arr);
            status = api_fail_err(c, "path", &err);
        } else {
            status = api_reply(
                c, 200,
                json_pack("{s:s, s:o}", "controller_id", d->controller_id, "actions", h.arr));
        }
    }
    free(d);
    return status;
}

/* ---- groups ---- */

static int add_group(void *ctx, const otter_group *g)
{
    return json_array_append_new(ctx, json_pack("{s:s, s:I}", "name", g->name, "members",
                                                (json_int_t)g->members)) == 0
               ? 0
               : OTTER_ENOMEM;
}

int api_groups_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    if (!arr || otter_store_group_list(c->api->store, c->tenant.id, add_group, arr, &err) < 0) {
        json_decref(arr);
        return api_fail_err(c, "groups", &err);
    }
    api_reply(c, 200, json_pack("{s:o}", "groups", arr));
    return api_groups_schedules_add(c);
}

int api_groups_create(struct call *c)
{
    otter_err err;
    int64_t id;
    const char *name = otter_reqjson_str(&c->body, "name");
    if (api_begin(c, &err) < 0 ||
        otter_store_group_create(c->api->store, c->tenant.id, name, &id, &err) < 0 ||
        api_audit(c, "group.create", name, NULL, &err) < 0)
        return api_fail_err(c, "body.name", &err);
    return api_reply(c, 201, json_pack("{s:s, s:i}", "name", name, "members", 0));
}

int api_groups_delete(struct call *c)
{
    otter_err err;
    otter_group g;
    int found = 0, status = api_load_group(c, &g);
    if (status)
        return status;
    if (api_begin(c, &err) < 0 || otter_store_group_delete(c->api->store, g.id, &found, &err) < 0 ||
        api_audit(c, "group.delete", g.name, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}

/* Group membership change: add = 1 puts the device in, 0 takes it out. */
static int group_member(struct call *c, int add)
{
    otter_err err;
    otter_group g;
    int found = 1, status = api_load_group(c, &g);
    if (status)
        return status;
    otter_device *d = malloc(sizeof *d);
    if (!d)
        return api_fail(c, 500, "path", "out of memory");
    if ((status = api_load_device(c, c->param[1], d)) != 0)
        goto out;
    char detail[160];
    snprintf(detail, sizeof detail, "{\"device\":\"%s\"}", d->controller_id);
    if (api_begin(c, &err) < 0 ||
        (add ? otter_store_group_add(c->api->store, g.id, d->id, &err)
             : otter_store_group_remove(c->api->store, g.id, d->id, &found, &err)) < 0 ||
        api_audit(c, add ? "group.add" : "group.remove", g.name, detail, &err) < 0)
        status = api_fail_err(c, "path", &err);
    else if (!found)
        status =
            api_fail(c, 404, "path", "device '%s' is not in group '%s'", d->controller_id, g.name);
    else
        status = api_reply(c, 204, NULL);
out:
    free(d);
    return status;
}

int api_groups_add(struct call *c)
{
    return group_member(c, 1);
}

int api_groups_remove(struct call *c)
{
    return group_member(c, 0);
}
