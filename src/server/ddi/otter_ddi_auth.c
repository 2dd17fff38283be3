/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DDI authentication: by the tenant's mode (docs/ddi.md "Authentication"),
 * a TargetToken or GatewayToken, a client certificate of one of the
 * tenant's device CAs, or both; then the device row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "otter_auth.h"
#include "otter_devcert.h"
#include "otter_ddi_internal.h"
#include "otter_reqjson.h"

/* ---- authentication ---- */

/*
 * The device named in the path, authenticated. Every failure is the same
 * 401 (unknown tenant, unknown device, wrong or other tenant's token), so a
 * caller learns nothing by probing. A valid GatewayToken with an unknown
 * controller id registers the device on its first poll.
 */
const char *ddi_token(const otter_http_request *req, int *gateway)
{
    const char *h = otter_http_header(req, "Authorization");
    *gateway = 0;
    if (!h)
        return NULL;
    *gateway = strncasecmp(h, "GatewayToken ", 13) == 0;
    if (!*gateway && strncasecmp(h, "TargetToken ", 12) != 0)
        return NULL;
    const char *tok = h + (*gateway ? 13 : 12);
    while (*tok == ' ')
        tok++;
    return *tok && strlen(tok) <= 256 ? tok : NULL;
}

/* ---- client certificates (issue #13) ---- */

struct anchors {
    otter_devcert_anchor a[OTTER_DEVCERT_CAS_MAX];
    size_t n;
};

static int anchor_row(void *ctx, const otter_device_ca *ca)
{
    struct anchors *an = ctx;
    if (an->n == OTTER_DEVCERT_CAS_MAX)
        return 0;
    char *pem = strdup(ca->pem), *crl = ca->crl_pem ? strdup(ca->crl_pem) : NULL;
    if (!pem || (ca->crl_pem && !crl)) {
        free(pem);
        free(crl);
        return OTTER_ENOMEM;
    }
    an->a[an->n++] = (otter_devcert_anchor){.ca_pem = pem, .crl_pem = crl};
    return 0;
}

static void anchors_clear(struct anchors *an)
{
    for (size_t i = 0; i < an->n; i++) {
        free((char *)an->a[i].ca_pem);
        free((char *)an->a[i].crl_pem);
    }
    an->n = 0;
}

/*
 * The certificate the device presented, as DER (*owned: the caller frees
 * it; NULL when borrowed from the TLS session). From a trusted proxy with
 * [ddi] client_cert_header set, only that header counts (nginx sends it
 * empty when the device sent none); from any other peer the header is
 * ignored and the certificate is the one of our own TLS handshake.
 * Returns 1 with a certificate, 0 without, or the 401 status.
 */
static int presented_cert(struct ddi_call *c, unsigned char **owned, const unsigned char **der,
                          size_t *len)
{
    const otter_server_config *cfg = c->ddi->cfg;
    *owned = NULL;
    if (cfg && cfg->client_cert_header && otter_server_config_trusted_proxy(cfg, c->req->client)) {
        const char *v = otter_http_header(c->req, cfg->client_cert_header);
        if (!v || !*v)
            return 0;
        otter_err err;
        if (otter_devcert_from_header(v, owned, len, &err) < 0)
            return ddi_fail(c, 401, "%s: %s", cfg->client_cert_header, err.msg);
        *der = *owned;
        return 1;
    }
    return otter_http_client_cert(c->req, der, len);
}

/*
 * The client certificate check of a tenant in mode certificate or
 * certificate+token: a certificate of one of its device CAs, not revoked,
 * valid now, naming the controller id of the path. 0, or the 401 (also
 * logged: which device, why, whose certificate) with its reason.
 */
static int check_cert(struct ddi_call *c, const char *tenant, const char *cid, int id_from)
{
    unsigned char *owned = NULL;
    const unsigned char *der = NULL;
    size_t len = 0;
    struct anchors an = {.n = 0};
    char id[OTTER_DEVCERT_ID_MAX + 1], subject[OTTER_DEVCERT_SUBJECT_MAX];
    otter_err err;
    int ret = presented_cert(c, &owned, &der, &len);
    if (ret == 0)
        ret = ddi_fail(c, 401,
                       "this tenant's devices authenticate with a client certificate; "
                       "none was presented");
    if (ret != 1)
        goto out;
    if (otter_store_device_ca_list(c->ddi->store, c->tenant.id, 0, anchor_row, &an, &err) < 0) {
        ret = ddi_fail_err(c, &err);
        goto out;
    }
    ret = 0;
    if (otter_devcert_verify(der, len, an.a, an.n, c->now, (otter_devcert_id_from)id_from, id,
                             sizeof id, subject, sizeof subject, &err) < 0) {
        if (err.code == OTTER_ENOMEM)
            ret = ddi_fail(c, 500, "out of memory");
        else
            ret = ddi_fail(c, 401, "%s", err.msg);
    } else if (strcmp(id, cid) != 0) {
        snprintf(err.msg, sizeof err.msg, "the client certificate is for controller '%s', not '%s'",
                 id, cid);
        ret = ddi_fail(c, 401, "%s", err.msg);
    }
    if (ret)
        fprintf(stderr,
                "otter-server: tenant %s: device %s: client certificate refused (%s): "
                "subject '%s', from %s\n",
                tenant, cid, err.msg, subject, c->req->client);
out:
    anchors_clear(&an);
    free(owned);
    return ret;
}

/*
 * The device row of cid; an unknown one is registered on its first base
 * poll (`how` says by what, for the log), anything else gets 404.
 */
static int device_or_register(struct ddi_call *c, const char *tenant, const char *cid,
                              const char *how)
{
    otter_err err;
    int found = 0;
    int64_t id;
    if (otter_store_device_get(c->ddi->store, c->tenant.id, cid, c->dev, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (found)
        return 0;
    if (c->nseg != 0 || strcmp(c->req->method, "GET") != 0)
        return ddi_fail(c, 404, "unknown device '%s' (poll first to register)", cid);
    if (otter_store_device_create(c->ddi->store, c->tenant.id, cid, NULL, NULL, NULL, c->now, &id,
                                  &err) < 0 ||
        otter_store_device_get(c->ddi->store, c->tenant.id, cid, c->dev, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    fprintf(stderr, "otter-server: tenant %s: device %s registered %s\n", tenant, cid, how);
    return 0;
}

/* ---- tokens ---- */

static int token_device(struct ddi_call *c, const char *tenant, const char *cid)
{
    otter_err err;
    int found = 0, ok = 0, gateway = 0;
    const char *h = otter_http_header(c->req, "Authorization");
    char sha[OTTER_AUTH_SHA256_HEX];
    if (!h)
        return ddi_fail(c, 401, "authentication required");
    if (strncasecmp(h, "GatewayToken ", 13) != 0 && strncasecmp(h, "TargetToken ", 12) != 0)
        return ddi_fail(c, 401, "expected 'Authorization: TargetToken T' or 'GatewayToken T'");
    const char *tok = ddi_token(c->req, &gateway);
    if (!tok)
        return ddi_fail(c, 401, "invalid token");
    otter_auth_token_hash(tok, sha);
    if (!gateway) {
        if (otter_store_device_find_token(c->ddi->store, sha, c->dev, &found, &err) < 0)
            return ddi_fail_err(c, &err);
        if (!found || c->dev->tenant_id != c->tenant.id || strcmp(c->dev->controller_id, cid))
            return ddi_fail(c, 401, "invalid token");
        return 0;
    }
    if (otter_store_tenant_check_gateway(c->ddi->store, c->tenant.id, sha, &ok, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!ok)
        return ddi_fail(c, 401, "invalid token");
    return device_or_register(c, tenant, cid, "through its gateway");
}

int ddi_authenticate(struct ddi_call *c, const char *tenant, const char *cid)
{
    otter_err err;
    int found = 0, status;
    otter_ddi_auth mode;
    /* On the heap (attributes are 8 KiB) and only here: a cached poll needs no device row. */
    if (!c->dev && !(c->dev = calloc(1, sizeof *c->dev)))
        return ddi_fail(c, 500, "out of memory");
    c->resp->www_authenticate = "TargetToken realm=\"otter\"";
    if (!otter_reqjson_name_ok(tenant) || !otter_reqjson_name_ok(cid))
        return ddi_fail(c, 401, "authentication required");
    if (otter_store_tenant_get(c->ddi->store, tenant, &c->tenant, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!found)
        return ddi_fail(c, 401,
                        otter_http_header(c->req, "Authorization") ? "invalid token"
                                                                   : "authentication required");
    if (otter_store_ddi_auth_get(c->ddi->store, c->tenant.id, &mode, &err) < 0)
        return ddi_fail_err(c, &err);
    if (mode.mode != OTTER_DDI_AUTH_TOKEN) {
        /* Never from the poll cache: it knows tokens, not certificates. */
        c->uncacheable = 1;
        if ((status = check_cert(c, tenant, cid, mode.id_from)) != 0)
            return status;
    }
    status = mode.mode == OTTER_DDI_AUTH_CERTIFICATE
                 ? device_or_register(c, tenant, cid, "by its certificate")
                 : token_device(c, tenant, cid);
    if (status)
        return status;
    c->resp->www_authenticate = NULL;
    /*
     * last_seen to within DDI_LAST_SEEN_SLACK seconds, written in batches
     * (otter_ddi_seen.h): a transaction per poll made polls fsync-bound.
     */
    if (c->now - c->dev->last_seen >= DDI_LAST_SEEN_SLACK)
        c->seen_noted = ddi_seen_note(c->ddi->seen, c->dev->id, c->now);
    return 0;
}
