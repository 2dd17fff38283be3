/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opens the store on the engine its url names. The store is layered (see
 * docs/server.md, "The store"): an engine's driver (store/sqlite.c,
 * store/pg.c, behind store/otter_sqldrv.h), the queries written once
 * (store/sql_*.c), and change tracking with the transactions
 * (otter_changes.c).
 */
#include "otter_store.h"

#include <stdlib.h>
#include <string.h>

#include "otter_sql.h"

/* Every engine built into this server; the url prefix chooses. */
static const otter_sqldrv *const drivers[] = {
    &otter_sqldrv_sqlite,
    &otter_sqldrv_pg,
};

static int has_prefix(const char *url, const char *prefix)
{
    return prefix && strncmp(url, prefix, strlen(prefix)) == 0;
}

int otter_store_open(const char *url, int create, unsigned busy_timeout_ms, otter_store **out,
                     otter_err *err)
{
    *out = NULL;
    const otter_sqldrv *drv = NULL;
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (has_prefix(url, drivers[i]->url_prefix) || has_prefix(url, drivers[i]->url_alias))
            drv = drivers[i];
    if (!drv)
        return otter_err_set(err, OTTER_EUSAGE,
                             "database url: unknown scheme (want sqlite:PATH or postgresql://...)");
    otter_store *s = calloc(1, sizeof *s);
    if (!s)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    s->drv = drv;
    int ret = otter_changes_new(&s->changes, err);
    if (ret == 0)
        ret = drv->open(&s->conn, url, create, busy_timeout_ms, err);
    if (ret < 0) {
        otter_changes_free(s->changes);
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

void otter_store_free(otter_store *s)
{
    if (!s)
        return;
    s->drv->close(s->conn);
    otter_changes_free(s->changes);
    free(s);
}

const char *otter_store_engine(const otter_store *s)
{
    return s->drv->engine;
}

int otter_store_schema_version(otter_store *s, int *version, otter_err *err)
{
    return s->drv->schema_version(s->conn, version, err);
}

int otter_store_migrate(otter_store *s, otter_err *err)
{
    return s->drv->migrate(s->conn, err);
}
