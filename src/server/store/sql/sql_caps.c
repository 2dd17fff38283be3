/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's queries for the servers' demand on the bandwidth caps
 * (otter_store_caps.h), on either engine (otter_sql.h): one row per server
 * and capped rollout or tenant with downloads, replaced at each heartbeat.
 * No foreign keys: a row lives for a few seconds and names a cap that may
 * be lifted meanwhile (a row of a gone cap is simply never asked for).
 */

#include "otter_sql.h"
#include "otter_store_caps.h"

static int beat(otter_store *s, const char *server, int64_t now_ms, int64_t expires_ms,
                otter_store_caps_demand *d, size_t n, otter_err *err)
{
    int ret;
    if ((ret = otter_sql_write_quiet(s, "clearing a server's cap demand", NULL, err,
                                     "DELETE FROM cap_demand WHERE server = ? OR expires_at < ?",
                                     "ti", server, now_ms)) < 0)
        return ret;
    for (size_t i = 0; i < n; i++) {
        if (d[i].demand > 0 &&
            (ret = otter_sql_write_quiet(
                 s, "writing a server's cap demand", NULL, err,
                 "INSERT INTO cap_demand(server, scope, cap_id, demand, expires_at)"
                 " VALUES (?, ?, ?, ?, ?)",
                 "tiiii", server, (int64_t)d[i].scope, d[i].id, d[i].demand, expires_ms)) < 0)
            return ret;
        d[i].others = 0;
        if ((ret = otter_sql_read(s, "reading the other servers' cap demand", otter_sql_int_row,
                                  &d[i].others, err,
                                  "SELECT CAST(COALESCE(SUM(demand), 0) AS BIGINT) FROM cap_demand"
                                  " WHERE scope = ? AND cap_id = ? AND server <> ?"
                                  " AND expires_at >= ?",
                                  "iiti", (int64_t)d[i].scope, d[i].id, server, now_ms)) < 0)
            return ret;
    }
    return 0;
}

int otter_store_caps_beat(otter_store *s, const char *server, int64_t now_ms, int64_t expires_ms,
                          otter_store_caps_demand *d, size_t n, otter_err *err)
{
    int own = 0;
    int ret = otter_sql_tx_open(s, &own, err);
    if (ret < 0)
        return ret;
    ret = beat(s, server, now_ms, expires_ms, d, n, err);
    return otter_sql_tx_close(s, own, ret, err);
}
