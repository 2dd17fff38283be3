/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for bandwidth caps (issue #15, otter_store_bwcap.h),
 * on either engine (otter_sql.h): one row per capped rollout or tenant,
 * deleted with it (ON DELETE CASCADE), read with two scalar subqueries so a
 * download costs one statement. Quiet: no poll answer shows a cap.
 */

#include "otter_sql.h"
#include "otter_store_bwcap.h"

int otter_store_bwcap_set(otter_store *s, int tenant, int64_t id, int64_t bytes_per_second,
                          otter_err *err)
{
    if (bytes_per_second <= 0)
        return otter_sql_write_quiet(s, "removing a bandwidth cap", NULL, err,
                                     tenant ? "DELETE FROM tenant_caps WHERE tenant_id = ?"
                                            : "DELETE FROM rollout_caps WHERE rollout_id = ?",
                                     "i", id);
    return otter_sql_write_quiet(
        s, "setting a bandwidth cap", NULL, err,
        tenant
            ? "INSERT INTO tenant_caps(tenant_id, bytes_per_second) VALUES (?, ?)"
              " ON CONFLICT (tenant_id) DO UPDATE SET bytes_per_second = excluded.bytes_per_second"
            : "INSERT INTO rollout_caps(rollout_id, bytes_per_second) VALUES (?, ?)"
              " ON CONFLICT (rollout_id) DO UPDATE SET"
              " bytes_per_second = excluded.bytes_per_second",
        "ii", id, bytes_per_second);
}

struct caps {
    int64_t rollout, tenant;
};

static int caps_row(const otter_sqlrow *st, void *ctx, otter_err *err)
{
    (void)err;
    struct caps *c = ctx;
    c->rollout = otter_sql_int(st, 0);
    c->tenant = otter_sql_int(st, 1);
    return 0;
}

int otter_store_bwcap_get(otter_store *s, int64_t rollout_id, int64_t tenant_id,
                          int64_t *rollout_cap, int64_t *tenant_cap, otter_err *err)
{
    struct caps c = {0, 0};
    int ret =
        otter_sql_read(s, "reading bandwidth caps", caps_row, &c, err,
                       "SELECT (SELECT bytes_per_second FROM rollout_caps WHERE rollout_id = ?),"
                       " (SELECT bytes_per_second FROM tenant_caps WHERE tenant_id = ?)",
                       "ii", rollout_id, tenant_id);
    *rollout_cap = c.rollout;
    *tenant_cap = c.tenant;
    return ret;
}
