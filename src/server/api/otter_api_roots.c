/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tenant's trust roots (issue #13, docs/keys.md "Rotating the root"): the
 * chain of root versions its devices walk, and the root its uploads are
 * verified against. A tenant admin adds roots; each new one must follow
 * the newest under the TUF rule (otter_trust_rotate), the first must be
 * signed by a threshold of its own keys. Rows are never changed, so a
 * device that was offline for several rotations still finds every link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_store_roots.h"
#include "otter_rootchain.h"

struct collect {
    otter_rootchain *chain;
    otter_err *err;
};

static int collect_row(void *ctx, const otter_root_row *r)
{
    struct collect *k = ctx;
    return otter_rootchain_append(k->chain, r->root, strlen(r->root), r->signatures,
                                  strlen(r->signatures), k->err);
}

int api_tenant_root_chain(otter_store *store, int64_t tenant_id, int64_t from,
                          otter_rootchain **out, otter_err *err)
{
    struct collect k = {.chain = otter_rootchain_new(), .err = err};
    if (!k.chain)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = otter_store_root_list(store, tenant_id, from, OTTER_ROOTCHAIN_ROOTS_MAX, collect_row,
                                    &k, err);
    if (ret) {
        otter_rootchain_free(k.chain);
        return ret;
    }
    *out = k.chain;
    return 0;
}

static int tenant_trust(struct call *c, otter_trust **owned, const otter_trust **use,
                        otter_err *err)
{
    otter_rootchain *newest = NULL;
    *owned = NULL;
    *use = c->api->trust;
    int ret = api_tenant_root_chain(c->api->store, c->tenant.id, -1, &newest, err);
    if (!ret && newest->count) {
        const otter_rootchain_entry *e = &newest->entries[0];
        ret = otter_trust_parse(e->root, e->root_len, "tenant root", owned, err);
        *use = *owned;
    }
    otter_rootchain_free(newest);
    return ret;
}

int api_upload_trust(struct call *c, otter_trust **owned, const otter_trust **use)
{
    otter_err err;
    if (tenant_trust(c, owned, use, &err) < 0)
        return api_fail_err(c, "body", &err);
    if (!*use)
        return api_fail(c, 422, "body",
                        "this server has no [trust] root: it cannot verify packages");
    return 0;
}

/* The document of a chain: roots.json as devices get it. */
static json_t *chain_doc(const otter_rootchain *chain)
{
    char *text = otter_rootchain_serialize_new(chain);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return doc;
}

int api_roots_list(struct call *c)
{
    otter_err err;
    otter_rootchain *chain = NULL;
    if (api_tenant_root_chain(c->api->store, c->tenant.id, 0, &chain, &err) < 0)
        return api_fail_err(c, "path", &err);
    json_t *doc = chain_doc(chain);
    otter_rootchain_free(chain);
    return doc ? api_reply(c, 200, doc) : api_fail(c, 500, "body", "out of memory");
}

/* Checks root e as the successor of *prev (NULL: the tenant's first root); *prev moves on. */
static int check_next(otter_trust **prev, const otter_rootchain_entry *e, otter_err *err)
{
    otter_trust *next = NULL;
    int ret;
    if (*prev) {
        ret = otter_trust_rotate(*prev, e->root, e->root_len, e->sigs, &next, err);
    } else {
        ret = otter_trust_parse(e->root, e->root_len, "root", &next, err);
        if (!ret)
            ret = otter_trust_verify(next, e->root, e->root_len, e->sigs, NULL, err);
        if (ret)
            otter_err_prefix(err, "first root: signatures by its own keys");
    }
    if (ret) {
        otter_trust_free(next);
        return otter_err_prefix(err, "root version %lld", (long long)e->version);
    }
    otter_trust_free(*prev);
    *prev = next;
    return 0;
}

/* Adds the roots of the body's chain (checked) inside the open transaction. */
static int add_roots(struct call *c, const otter_rootchain *in, otter_err *err)
{
    otter_trust *prev = NULL;
    int ret = 0;
    const otter_trust *unused;
    if ((ret = tenant_trust(c, &prev, &unused, err)) < 0)
        return ret;
    for (size_t i = 0; i < in->count && !ret; i++) {
        const otter_rootchain_entry *e = &in->entries[i];
        char *sigs = otter_sig_list_serialize_new(e->sigs);
        if (!sigs)
            ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        if (!ret)
            ret = check_next(&prev, e, err);
        if (!ret)
            ret = otter_store_root_add(c->api->store, c->tenant.id, e->version, e->root, sigs,
                                       c->user.id, c->now, err);
        free(sigs);
    }
    otter_trust_free(prev);
    return ret;
}

int api_roots_add(struct call *c)
{
    otter_err err;
    otter_rootchain *in = NULL;
    if (otter_rootchain_parse(c->req->body ? c->req->body : "", c->req->body_len, "body", &in,
                              &err) < 0)
        return api_fail(c, 400, "body", "%s", err.msg);
    if (in->count == 0) {
        otter_rootchain_free(in);
        return api_fail(c, 400, "body.roots", "no root to add");
    }
    char detail[64];
    snprintf(detail, sizeof detail, "versions %lld..%lld", (long long)in->entries[0].version,
             (long long)in->entries[in->count - 1].version);
    int ret = api_begin(c, &err);
    if (!ret)
        ret = add_roots(c, in, &err);
    if (!ret)
        ret = api_audit(c, "root.add", c->tenant.name, detail, &err);
    int64_t newest = in->entries[in->count - 1].version;
    otter_rootchain_free(in);
    if (ret == OTTER_ESIG)
        return api_fail(c, 422, "body.roots", "%s", err.msg);
    if (ret < 0)
        return api_fail_err(c, "body.roots", &err);
    return api_reply(c, 201, json_pack("{s:I}", "version", (json_int_t)newest));
}
