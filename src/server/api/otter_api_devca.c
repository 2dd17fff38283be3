/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tenant's device certificates settings (issue #13, docs/ddi.md
 * "Authentication"): its DDI authentication mode, its device CAs and the
 * CRL of each. Tenant admins write, every member reads. Uploads are
 * checked here (otter_devcert.h) so the device API only ever sees CAs
 * that are CAs and CRLs their CA signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_devcert.h"

static const char *const mode_names[] = {"token", "certificate", "certificate+token"};

/* The body as a JSON object (strict: no duplicate keys, depth bounded), or the 400 answered. */
static int body_object(struct call *c, json_t **out)
{
    json_error_t jerr;
    unsigned depth = (unsigned)c->api->cfg->json_depth;
    *out = NULL;
    if (!c->req->body_len)
        return api_fail(c, 400, "body", "a JSON object is required");
    if (otter_reqjson_depth(c->req->body, c->req->body_len, depth) > depth)
        return api_fail(c, 400, "body", "nested deeper than %u", depth);
    json_t *j = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return api_fail(c, 400, "body", "not a JSON object: %s", j ? "" : jerr.text);
    }
    *out = j;
    return 0;
}

/* The string field key of a body that has only the keys of allowed (NULL-terminated). */
static int body_fields(struct call *c, json_t *j, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(key, allowed[i]) == 0;
        char where[80];
        snprintf(where, sizeof where, "body.%.60s", key);
        if (!ok)
            return api_fail(c, 400, where, "unknown field '%.60s'", key);
        if (!json_is_string(v))
            return api_fail(c, 400, where, "must be a string");
    }
    return 0;
}

/* ---- mode ---- */

static json_t *auth_doc(const otter_ddi_auth *a)
{
    return json_pack("{s:s, s:s}", "mode", mode_names[a->mode], "controller_id_from",
                     otter_devcert_id_from_name((otter_devcert_id_from)a->id_from));
}

int api_ddi_auth_get(struct call *c)
{
    otter_err err;
    otter_ddi_auth a;
    if (otter_store_ddi_auth_get(c->api->store, c->tenant.id, &a, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 200, auth_doc(&a));
}

static int count_row(void *ctx, const otter_device_ca *ca)
{
    (void)ca;
    (*(size_t *)ctx)++;
    return 0;
}

/* How many device CAs the tenant has. */
static int ca_count(struct call *c, size_t *n, otter_err *err)
{
    *n = 0;
    return otter_store_device_ca_list(c->api->store, c->tenant.id, 0, count_row, n, err);
}

int api_ddi_auth_set(struct call *c)
{
    static const char *const allowed[] = {"mode", "controller_id_from", NULL};
    otter_err err;
    otter_ddi_auth a = {.mode = OTTER_DDI_AUTH_TOKEN};
    json_t *j = NULL;
    size_t n = 0;
    int status = body_object(c, &j);
    if (!status)
        status = body_fields(c, j, allowed);
    if (status)
        goto out;
    const char *mode = json_string_value(json_object_get(j, "mode"));
    const char *from = json_string_value(json_object_get(j, "controller_id_from"));
    int m = -1;
    for (int i = 0; mode && i < 3; i++)
        m = strcmp(mode, mode_names[i]) == 0 ? i : m;
    if (m < 0) {
        status = api_fail(c, 400, "body.mode",
                          "mode is one of token, certificate, "
                          "certificate+token");
        goto out;
    }
    a.mode = (otter_ddi_auth_mode)m;
    a.id_from = from ? otter_devcert_id_from_parse(from) : OTTER_DEVCERT_ID_CN;
    if (a.id_from < 0) {
        status = api_fail(c, 400, "body.controller_id_from",
                          "controller_id_from is one of cn, serial_number, san_dns");
        goto out;
    }
    if (api_begin(c, &err) < 0 || ca_count(c, &n, &err) < 0) {
        status = api_fail_err(c, "path", &err);
        goto out;
    }
    if (a.mode != OTTER_DDI_AUTH_TOKEN && n == 0) {
        status = api_fail(c, 409, "body.mode",
                          "upload a device CA first: with none, no device could authenticate");
        goto out;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "{\"mode\":\"%s\",\"controller_id_from\":\"%s\"}",
             mode_names[a.mode], otter_devcert_id_from_name((otter_devcert_id_from)a.id_from));
    if (otter_store_ddi_auth_set(c->api->store, c->tenant.id, &a, &err) < 0 ||
        api_audit(c, "ddi_auth.set", c->tenant.name, detail, &err) < 0) {
        status = api_fail_err(c, "path", &err);
        goto out;
    }
    status = api_reply(c, 200, auth_doc(&a));
out:
    json_decref(j);
    return status;
}

/* ---- CAs ---- */

static json_t *ca_doc(const otter_device_ca *ca, int with_pem)
{
    json_t *crl = json_null();
    if (ca->crl_pem)
        crl = json_pack("{s:s, s:o, s:o, s:o}", "sha256", ca->crl_sha256 ? ca->crl_sha256 : "",
                        "this_update", api_time(ca->crl_this_update), "next_update",
                        ca->crl_next_update ? api_time(ca->crl_next_update) : json_null(),
                        "uploaded_at", api_time(ca->crl_uploaded_at));
    json_t *d = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)ca->id, "subject",
                          ca->subject, "sha256", ca->sha256, "not_after", api_time(ca->not_after),
                          "created_at", api_time(ca->created_at), "crl", crl);
    if (d && with_pem)
        json_object_set_new(d, "pem", json_string(ca->pem));
    return d;
}

static int list_row(void *ctx, const otter_device_ca *ca)
{
    json_t *d = ca_doc(ca, 0);
    return d && json_array_append_new(ctx, d) == 0 ? 0 : OTTER_ENOMEM;
}

int api_device_cas_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    if (!arr)
        return api_fail(c, 500, "path", "out of memory");
    if (otter_store_device_ca_list(c->api->store, c->tenant.id, 0, list_row, arr, &err) < 0) {
        json_decref(arr);
        return api_fail_err(c, "path", &err);
    }
    return api_reply(c, 200, arr);
}

struct one_ca {
    json_t *doc;
    char *pem; /* the CA's PEM, owned */
    char subject[OTTER_DEVCERT_SUBJECT_MAX];
};

static int one_row(void *ctx, const otter_device_ca *ca)
{
    struct one_ca *o = ctx;
    o->doc = ca_doc(ca, 1);
    o->pem = strdup(ca->pem);
    snprintf(o->subject, sizeof o->subject, "%s", ca->subject);
    return o->doc && o->pem ? 0 : OTTER_ENOMEM;
}

/* CA {ca} of the path into *o (caller frees doc and pem), or the 404 answered. */
static int load_ca(struct call *c, struct one_ca *o)
{
    otter_err err;
    int64_t id = api_id_param(c->param[0]);
    *o = (struct one_ca){.doc = NULL};
    if (id && otter_store_device_ca_list(c->api->store, c->tenant.id, id, one_row, o, &err) < 0) {
        json_decref(o->doc);
        free(o->pem);
        return api_fail_err(c, "path", &err);
    }
    if (!o->doc)
        return api_fail(c, 404, "path", "no device CA '%s' in this tenant", c->param[0]);
    return 0;
}

int api_device_cas_get(struct call *c)
{
    struct one_ca o;
    int status = load_ca(c, &o);
    if (status)
        return status;
    free(o.pem);
    return api_reply(c, 200, o.doc);
}

/* The "pem" field of the body (borrowed from *j, which the caller frees), or the 400 answered. */
static int body_pem(struct call *c, json_t **j, const char **pem)
{
    static const char *const allowed[] = {"pem", NULL};
    int status = body_object(c, j);
    if (!status)
        status = body_fields(c, *j, allowed);
    if (!status && !(*pem = json_string_value(json_object_get(*j, "pem"))))
        status = api_fail(c, 400, "body.pem", "pem (the PEM text) is required");
    return status;
}

int api_device_cas_add(struct call *c)
{
    otter_err err;
    otter_devcert_info info;
    json_t *j = NULL;
    const char *pem = NULL;
    size_t n = 0;
    int64_t id = 0;
    int status = body_pem(c, &j, &pem);
    if (status)
        goto out;
    if (otter_devcert_ca_check(pem, strlen(pem), c->now, &info, &err) < 0) {
        status = api_fail(c, 400, "body.pem", "%s", err.msg);
        goto out;
    }
    if (api_begin(c, &err) < 0 || ca_count(c, &n, &err) < 0) {
        status = api_fail_err(c, "path", &err);
        goto out;
    }
    if (n >= OTTER_DEVCERT_CAS_MAX) {
        status = api_fail(c, 409, "path", "a tenant has at most %d device CAs; delete one first",
                          OTTER_DEVCERT_CAS_MAX);
        goto out;
    }
    otter_device_ca ca = {
        .subject = info.subject, .sha256 = info.sha256, .not_after = info.not_after, .pem = pem};
    if (otter_store_device_ca_add(c->api->store, c->tenant.id, &ca, c->now, &id, &err) < 0) {
        if (err.code == OTTER_ESTATE)
            otter_err_set(&err, OTTER_ESTATE, "this CA is a device CA of the tenant already");
        status = api_fail_err(c, "body.pem", &err);
        goto out;
    }
    if (api_audit(c, "device_ca.add", info.subject, NULL, &err) < 0) {
        status = api_fail_err(c, "path", &err);
        goto out;
    }
    ca.id = id;
    ca.created_at = c->now;
    status = api_reply(c, 201, ca_doc(&ca, 0));
out:
    json_decref(j);
    return status;
}

int api_device_cas_delete(struct call *c)
{
    otter_err err;
    otter_ddi_auth a;
    struct one_ca o;
    size_t n = 0;
    int found = 0, status = load_ca(c, &o);
    if (status)
        return status;
    json_decref(o.doc);
    free(o.pem);
    if (api_begin(c, &err) < 0 || ca_count(c, &n, &err) < 0 ||
        otter_store_ddi_auth_get(c->api->store, c->tenant.id, &a, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (n == 1 && a.mode != OTTER_DDI_AUTH_TOKEN)
        return api_fail(c, 409, "path",
                        "the tenant's devices authenticate by certificate and this is its last "
                        "device CA: set the mode to token first");
    if (otter_store_device_ca_delete(c->api->store, c->tenant.id, api_id_param(c->param[0]), &found,
                                     &err) < 0 ||
        api_audit(c, "device_ca.delete", o.subject, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}

int api_device_cas_crl(struct call *c)
{
    otter_err err;
    otter_devcert_info info;
    struct one_ca o;
    json_t *j = NULL;
    const char *pem = NULL;
    size_t which = 0;
    int found = 0, status = load_ca(c, &o);
    if (status)
        return status;
    json_decref(o.doc);
    o.doc = NULL;
    if ((status = body_pem(c, &j, &pem)) != 0)
        goto out;
    const char *cas[1] = {o.pem};
    if (otter_devcert_crl_check(pem, strlen(pem), cas, 1, &which, &info, &err) < 0) {
        status =
            api_fail(c, 400, "body.pem", "%s",
                     err.code == OTTER_ESIG ? "the CRL is not signed by this device CA" : err.msg);
        goto out;
    }
    otter_device_ca crl = {.crl_pem = pem,
                           .crl_sha256 = info.sha256,
                           .crl_this_update = info.not_before,
                           .crl_next_update = info.not_after};
    if (api_begin(c, &err) < 0 ||
        otter_store_device_ca_set_crl(c->api->store, c->tenant.id, api_id_param(c->param[0]), &crl,
                                      c->now, &found, &err) < 0 ||
        api_audit(c, "device_ca.crl", o.subject, NULL, &err) < 0) {
        status = api_fail_err(c, "path", &err);
        goto out;
    }
    free(o.pem);
    o.pem = NULL;
    status = load_ca(c, &o);
    if (!status) {
        json_object_del(o.doc, "pem"); /* as listed: the CA's PEM is the GET's */
        status = api_reply(c, 200, o.doc);
    }
out:
    free(o.pem);
    json_decref(j);
    return status;
}
