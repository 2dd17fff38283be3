/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's trust roots of a tenant (issue #13, sql_roots.c): a part of
 * the store's API (otter_store.h) kept in its own header for size.
 */
#ifndef OTTER_STORE_ROOTS_H
#define OTTER_STORE_ROOTS_H

#include "otter_store.h"

typedef struct otter_root_row {
    int64_t version;
    char *root;       /* exact root.json bytes; borrowed for the callback only */
    char *signatures; /* its signature list (JSON text); borrowed likewise */
    int64_t created_at;
} otter_root_row;
typedef int (*otter_store_root_cb)(void *ctx, const otter_root_row *r);
/*
 * Adds root version `version` of tenant_id (the caller checked the TUF
 * rule against the newest). OTTER_ESTATE when that version exists (two
 * admins rotating at once: one wins). Quiet: no base poll shows roots.
 */
int otter_store_root_add(otter_store *s, int64_t tenant_id, int64_t version, const char *root,
                         const char *signatures, int64_t created_by, int64_t now, otter_err *err);
/*
 * The roots of tenant_id with version >= from, oldest first, at most limit
 * of them (the newest alone when from < 0).
 */
int otter_store_root_list(otter_store *s, int64_t tenant_id, int64_t from, int64_t limit,
                          otter_store_root_cb cb, void *ctx, otter_err *err);

#endif
