/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the SQLite back-end (sqlite.c: connection, schema,
 * transactions; sqlite_accounts.c: the queries). Nothing outside
 * src/server/store includes this or sqlite3.h.
 */
#ifndef OTTER_SQLITE_INTERNAL_H
#define OTTER_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "otter_store_backend.h"

#define OTTER_SQLITE_STMT_CACHE 128

struct otter_sqlite {
    sqlite3 *h;
    /* Prepared statements kept for reuse (parsing was most of a poll's CPU), by SQL text. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
        int busy;
    } stmts[OTTER_SQLITE_STMT_CACHE];
    int n_stmts;
    pthread_mutex_t lock; /* recursive: store calls nest inside a transaction */
    int in_tx;
};

#define OTTER_SQLITE(s) ((struct otter_sqlite *)(s)->impl)

/* Holds the connection for several statements (e.g. an insert and its rowid). */
void otter_sqlite_lock(struct otter_sqlite *d);
void otter_sqlite_unlock(struct otter_sqlite *d);

/* Maps the connection's last failure to an otter_code: unique clash = OTTER_ESTATE. */
int otter_sqlite_error(struct otter_sqlite *d, const char *what, otter_err *err);

/*
 * Runs a statement without result rows. Arguments are bound in order as
 * described by types: 't' const char * (NULL = SQL NULL), 'i' int64_t.
 * *changes (may be NULL) gets the number of rows touched.
 */
int otter_sqlite_run(struct otter_sqlite *d, const char *what, int *changes, otter_err *err,
                     const char *sql, const char *types, ...);

typedef int (*otter_sqlite_row_fn)(sqlite3_stmt *st, void *ctx, otter_err *err);

/* Runs a query, calling row per result row; a negative row() stops and is returned. */
int otter_sqlite_query(struct otter_sqlite *d, const char *what, otter_sqlite_row_fn row, void *ctx,
                       otter_err *err, const char *sql, const char *types, ...);

/* Row function storing column 0 as int64_t into *(int64_t *)ctx. */
int otter_sqlite_int_row(sqlite3_stmt *st, void *ctx, otter_err *err);

/* Column i as text (borrowed until the next step), or NULL. */
const char *otter_sqlite_col_str(sqlite3_stmt *st, int i);

/* Copies column i into buf; OTTER_EFORMAT when it does not fit (never truncates). */
int otter_sqlite_col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap, otter_err *err);

/* The queries, with the contracts of the otter_store_ops members of the same name. */
int otter_sqlite_tenant_create(otter_store *s, const char *name, int64_t now, int64_t *id,
                               otter_err *err);
int otter_sqlite_tenant_get(otter_store *s, const char *name, otter_tenant *out, int *found,
                            otter_err *err);
int otter_sqlite_tenant_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_sqlite_tenant_list(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err);
int otter_sqlite_user_create(otter_store *s, const char *name, const char *hash, int is_admin,
                             int64_t now, int64_t *id, otter_err *err);
int otter_sqlite_user_get(otter_store *s, const char *name, int64_t id, otter_user *out, int *found,
                          otter_err *err);
int otter_sqlite_user_set_password(otter_store *s, int64_t id, const char *hash, int64_t now,
                                   otter_err *err);
int otter_sqlite_user_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_sqlite_user_count_admins(otter_store *s, int64_t *count, otter_err *err);
int otter_sqlite_user_list(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err);
int otter_sqlite_member_set(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                            otter_err *err);
int otter_sqlite_member_get(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                            otter_err *err);
int otter_sqlite_member_delete(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                               otter_err *err);
int otter_sqlite_member_list(otter_store *s, int64_t tenant_id, int64_t user_id,
                             otter_store_member_cb cb, void *ctx, otter_err *err);
int otter_sqlite_token_create(otter_store *s, const otter_token *t, const char *sha256_hex,
                              int64_t *id, otter_err *err);
int otter_sqlite_token_find(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                            otter_err *err);
int otter_sqlite_token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                              otter_err *err);
int otter_sqlite_token_list(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                            otter_store_token_cb cb, void *ctx, otter_err *err);
int otter_sqlite_audit_append(otter_store *s, const otter_audit_entry *e, otter_err *err);
int otter_sqlite_audit_list(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                            void *ctx, otter_err *err);

/* Fleet queries (sqlite_fleet.c, sqlite_releases.c). */
int otter_sqlite_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha,
                                    otter_err *err);
int otter_sqlite_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha, int *ok,
                                      otter_err *err);
int otter_sqlite_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                               const char *model, const char *name, const char *token_sha256,
                               int64_t now, int64_t *id, otter_err *err);
int otter_sqlite_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                            const char *token_sha256, otter_device *out, int *found,
                            otter_err *err);
int otter_sqlite_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                             void *ctx, otter_err *err);
int otter_sqlite_device_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_sqlite_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err);
int otter_sqlite_device_set_attributes(otter_store *s, int64_t id, const char *json,
                                       otter_err *err);
int otter_sqlite_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                              otter_err *err);
int otter_sqlite_group_list(otter_store *s, int64_t tenant_id, const char *name,
                            otter_store_group_cb cb, void *ctx, otter_err *err);
int otter_sqlite_group_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_sqlite_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err);
int otter_sqlite_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                              otter_err *err);
int otter_sqlite_release_create(otter_store *s, const otter_release *r, int64_t created_by,
                                int64_t now, int64_t *id, otter_err *err);
int otter_sqlite_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                              otter_store_release_cb cb, void *ctx, otter_err *err);
int otter_sqlite_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused,
                                otter_err *err);
int otter_sqlite_action_create(otter_store *s, const otter_action *a, int64_t created_by,
                               int64_t now, int64_t *id, otter_err *err);
int otter_sqlite_action_get(otter_store *s, int which, int64_t id, otter_action *out, int *found,
                            otter_err *err);
int otter_sqlite_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb,
                                  void *ctx, otter_err *err);
int otter_sqlite_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                    void *ctx, otter_err *err);
int otter_sqlite_action_set_status(otter_store *s, int64_t id, const char *status,
                                   const char *result, int64_t now, otter_err *err);
int otter_sqlite_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                        otter_err *err);
int otter_sqlite_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err);
int otter_sqlite_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err);
int otter_sqlite_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb,
                               void *ctx, otter_err *err);

/* Approvals and rollouts (sqlite_rollouts.c). */
int otter_sqlite_approval_get(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                              otter_err *err);
int otter_sqlite_approval_set(otter_store *s, const otter_approval *a, otter_err *err);
int otter_sqlite_rollout_create(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                                otter_err *err);
int otter_sqlite_rollout_list(otter_store *s, int64_t tenant_id, int64_t rollout_id,
                              int64_t release_id, otter_store_rollout_cb cb, void *ctx,
                              otter_err *err);
int otter_sqlite_rollout_update(otter_store *s, const otter_rollout *r, int64_t now,
                                otter_err *err);
int otter_sqlite_rollout_counts(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                                void *ctx, otter_err *err);
int otter_sqlite_rollout_retry_failed(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                      int64_t created_by, int64_t now, int64_t *retried,
                                      otter_err *err);
int otter_sqlite_rollout_cancel_actions(otter_store *s, int64_t rollout_id, int64_t now,
                                        otter_err *err);
int otter_sqlite_release_withdraw_actions(otter_store *s, int64_t release_id, int64_t now,
                                          int64_t *withdrawn, otter_err *err);

#endif
