/* SPDX-License-Identifier: Apache-2.0 */
/* DDI authentication: TargetToken or GatewayToken, then the device row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "otter_auth.h"
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

int ddi_authenticate(struct ddi_call *c, const char *tenant, const char *cid)
{
    otter_err err;
    int found = 0, ok = 0, gateway = 0;
    /* On the heap (attributes are 8 KiB) and only here: a cached poll needs no device row. */
    if (!c->dev && !(c->dev = calloc(1, sizeof *c->dev)))
        return ddi_fail(c, 500, "out of memory");
    const char *h = otter_http_header(c->req, "Authorization");
    char sha[OTTER_AUTH_SHA256_HEX];
    c->resp->www_authenticate = "TargetToken realm=\"otter\"";
    if (!h || !otter_reqjson_name_ok(tenant) || !otter_reqjson_name_ok(cid))
        return ddi_fail(c, 401, "authentication required");
    if (strncasecmp(h, "GatewayToken ", 13) != 0 && strncasecmp(h, "TargetToken ", 12) != 0)
        return ddi_fail(c, 401, "expected 'Authorization: TargetToken T' or 'GatewayToken T'");
    const char *tok = ddi_token(c->req, &gateway);
    if (!tok)
        return ddi_fail(c, 401, "invalid token");
    otter_auth_token_hash(tok, sha);
    if (otter_store_tenant_get(c->ddi->store, tenant, &c->tenant, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!found)
        return ddi_fail(c, 401, "invalid token");
    if (!gateway) {
        if (otter_store_device_find_token(c->ddi->store, sha, c->dev, &found, &err) < 0)
            return ddi_fail_err(c, &err);
        if (!found || c->dev->tenant_id != c->tenant.id || strcmp(c->dev->controller_id, cid))
            return ddi_fail(c, 401, "invalid token");
    } else {
        if (otter_store_tenant_check_gateway(c->ddi->store, c->tenant.id, sha, &ok, &err) < 0)
            return ddi_fail_err(c, &err);
        if (!ok)
            return ddi_fail(c, 401, "invalid token");
        if (otter_store_device_get(c->ddi->store, c->tenant.id, cid, c->dev, &found, &err) < 0)
            return ddi_fail_err(c, &err);
        if (!found) {
            int64_t id;
            if (c->nseg != 0 || strcmp(c->req->method, "GET") != 0)
                return ddi_fail(c, 404, "unknown device '%s' (poll first to register)", cid);
            if (otter_store_device_create(c->ddi->store, c->tenant.id, cid, NULL, NULL, NULL,
                                          c->now, &id, &err) < 0 ||
                otter_store_device_get(c->ddi->store, c->tenant.id, cid, c->dev, &found, &err) < 0)
                return ddi_fail_err(c, &err);
            fprintf(stderr, "otter-server: tenant %s: device %s registered through its gateway\n",
                    tenant, cid);
        }
    }
    c->resp->www_authenticate = NULL;
    /*
     * last_seen to within DDI_LAST_SEEN_SLACK seconds, written in batches
     * (otter_ddi_seen.h): a transaction per poll made polls fsync-bound.
     */
    if (c->now - c->dev->last_seen >= DDI_LAST_SEEN_SLACK)
        c->seen_noted = ddi_seen_note(c->ddi->seen, c->dev->id, c->now);
    return 0;
}
