/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An Otter extension of DDI (docs/ddi.md "Trust roots"): GET
 * /{tenant}/controller/v1/{controllerId}/otter/roots?from=N answers the
 * tenant's chain of trust roots from version N on (roots.json of
 * otter_rootchain.h). The device walks it under the TUF rule itself; the
 * server is only the messenger. A resource of its own, never linked from
 * the base poll, so foreign DDI clients see nothing new.
 */
#include <stdlib.h>
#include <string.h>

#include "otter_ddi_internal.h"
#include "otter_store_roots.h"
#include "otter_rootchain.h"

#define DDI_ROOTS_PER_ANSWER 8

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

int ddi_roots(struct ddi_call *c)
{
    otter_err err;
    const char *q = otter_http_query(c->req, "from");
    char *end = NULL;
    long long from = 1;
    if (q) {
        from = strtoll(q, &end, 10);
        if (!*q || *end || from < 1 || from > INT32_MAX)
            return ddi_fail(c, 400, "from: expected a root version 1..%d", INT32_MAX);
    }
    struct collect k = {.chain = otter_rootchain_new(), .err = &err};
    if (!k.chain)
        return ddi_fail(c, 500, "out of memory");
    /* A few versions per answer keep it far below the agent's 256 KiB; it walks on next poll. */
    int ret = otter_store_root_list(c->ddi->store, c->tenant.id, from, DDI_ROOTS_PER_ANSWER,
                                    collect_row, &k, &err);
    char *text = ret ? NULL : otter_rootchain_serialize_new(k.chain);
    otter_rootchain_free(k.chain);
    if (ret)
        return ddi_fail_err(c, &err);
    if (!text)
        return ddi_fail(c, 500, "out of memory");
    free(c->resp->body);
    c->resp->body = text;
    return 200;
}
