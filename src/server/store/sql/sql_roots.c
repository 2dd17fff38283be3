/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for tenants' trust roots (issue #13, docs/keys.md
 * "Rotating the root"), on either engine (otter_sql.h). Quiet: no base poll
 * answer shows roots; devices ask for them on their own resource.
 */

#include "otter_sql.h"
#include "otter_store_roots.h"

#include <string.h>

int otter_store_root_add(otter_store *s, int64_t tenant_id, int64_t version, const char *root,
                         const char *signatures, int64_t created_by, int64_t now, otter_err *err)
{
    return otter_sql_write_quiet(s, "adding trust root", NULL, err,
                                 "INSERT INTO tenant_roots(tenant_id, version, root, signatures,"
                                 " created_by, created_at) VALUES (?, ?, ?, ?, nullif(?, 0), ?)",
                                 "iittii", tenant_id, version, root, signatures, created_by, now);
}

typedef OTTER_SQL_WALK(otter_root_row, otter_store_root_cb) root_walk;

static int root_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    root_walk *w = ctx;
    (void)err;
    otter_root_row r = {
        .version = otter_sql_int(st, 0),
        .root = (char *)otter_sql_text(st, 1),
        .signatures = (char *)otter_sql_text(st, 2),
        .created_at = otter_sql_int(st, 3),
    };
    return OTTER_SQL_EMIT(w, r);
}

int otter_store_root_list(otter_store *s, int64_t tenant_id, int64_t from, int64_t limit,
                          otter_store_root_cb cb, void *ctx, otter_err *err)
{
    root_walk w = {.cb = cb, .ctx = ctx};
    if (from < 0)
        return otter_sql_read(s, "reading the newest trust root", root_row, &w, err,
                              "SELECT version, root, signatures, created_at FROM tenant_roots"
                              " WHERE tenant_id = ? ORDER BY version DESC LIMIT 1",
                              "i", tenant_id);
    return otter_sql_read(s, "listing trust roots", root_row, &w, err,
                          "SELECT version, root, signatures, created_at FROM tenant_roots"
                          " WHERE tenant_id = ? AND version >= ? ORDER BY version LIMIT ?",
                          "iii", tenant_id, from, limit);
}
