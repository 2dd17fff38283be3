/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the PostgreSQL back-end (pg.c: statements, transactions,
 * schema version; pg_connect.c: open, close; pg_schema.c: migrations; pg_accounts.c, pg_fleet.c,
 * pg_releases.c, pg_rollouts.c: the queries). Nothing outside src/server/store includes
 * this or libpq-fe.h.
 */
#ifndef OTTER_PG_INTERNAL_H
#define OTTER_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>

#include "otter_store_backend.h"

struct otter_pg {
    PGconn *conn;
    pthread_mutex_t lock; /* recursive: store calls nest inside a transaction */
    unsigned lock_timeout_ms;
    int in_tx;     /* otter_store_begin() .. commit/rollback */
    int own_tx;    /* a multi-statement store call opened its own transaction */
    int tx_failed; /* a statement failed inside the caller's transaction */
};

#define OTTER_PG(s) ((struct otter_pg *)(s)->impl)

#define OTTER_PG_OID_INT8 20 /* pg_type.h is a server header; these two oids are stable */
#define OTTER_PG_OID_TEXT 25

/* pg_connect.c: the open and close members of the ops table. */
int otter_pg_open(otter_store *s, const char *url, int create, unsigned busy_timeout_ms,
                  otter_err *err);
void otter_pg_close(otter_store *s);

/* Per-session settings, after connecting and after every reconnect. */
int otter_pg_session_setup(struct otter_pg *d, otter_err *err);

/* msg on one line in buf (libpq's end in a newline); returns buf. */
const char *otter_pg_one_line(const char *msg, char *buf, size_t cap);

/* Holds the connection for several statements. */
void otter_pg_lock(struct otter_pg *d);
void otter_pg_unlock(struct otter_pg *d);

/*
 * Runs a statement without result rows. Parameters $1, $2, ... are bound
 * in order as described by types: 't' const char * (NULL = SQL NULL),
 * 'i' int64_t. *changes (may be NULL) gets the number of rows touched.
 * A unique clash is OTTER_ESTATE "<what>: already exists"; other
 * constraint violations OTTER_ESTATE "<what>: refused by the database".
 */
int otter_pg_run(struct otter_pg *d, const char *what, int64_t *changes, otter_err *err,
                 const char *sql, const char *types, ...);

typedef int (*otter_pg_row_fn)(const PGresult *res, int row, void *ctx, otter_err *err);

/* Runs a query, calling row per result row; a negative row() stops and is returned. */
int otter_pg_query(struct otter_pg *d, const char *what, otter_pg_row_fn row, void *ctx,
                   otter_err *err, const char *sql, const char *types, ...);

/* Row function storing column 0 as int64_t into *(int64_t *)ctx. */
int otter_pg_int_row(const PGresult *res, int row, void *ctx, otter_err *err);

/* Column values: NULL reads as 0 / NULL, like SQLite's column accessors. */
int64_t otter_pg_int(const PGresult *res, int row, int col);
const char *otter_pg_str(const PGresult *res, int row, int col); /* borrowed from res */

/* Copies a column into buf; OTTER_EFORMAT when it does not fit (never truncates). */
int otter_pg_copy(const PGresult *res, int row, int col, char *buf, size_t cap, otter_err *err);

/*
 * Opens a write transaction for a store call made of several statements,
 * unless the caller's transaction is already open (then the statements
 * join it). Takes the connection lock; otter_pg_tx_close() commits when
 * ret == 0 (else rolls back), releases the lock and returns ret or the
 * commit's failure.
 */
int otter_pg_tx_open(struct otter_pg *d, int *own, otter_err *err);
int otter_pg_tx_close(struct otter_pg *d, int own, int ret, otter_err *err);

/* pg_schema.c: migration i brings the schema from version i to i + 1. */
extern const char *const otter_pg_migrations[];
extern const size_t otter_pg_n_migrations;

/* The queries, with the contracts of the otter_store_ops members of the same name. */
int otter_pg_tenant_create(otter_store *s, const char *name, int64_t now, int64_t *id,
                           otter_err *err);
int otter_pg_tenant_get(otter_store *s, const char *name, otter_tenant *out, int *found,
                        otter_err *err);
int otter_pg_tenant_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_pg_tenant_list(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err);
int otter_pg_user_create(otter_store *s, const char *name, const char *hash, int is_admin,
                         int64_t now, int64_t *id, otter_err *err);
int otter_pg_user_get(otter_store *s, const char *name, int64_t id, otter_user *out, int *found,
                      otter_err *err);
int otter_pg_user_set_password(otter_store *s, int64_t id, const char *hash, int64_t now,
                               otter_err *err);
int otter_pg_user_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_pg_user_count_admins(otter_store *s, int64_t *count, otter_err *err);
int otter_pg_user_list(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err);
int otter_pg_member_set(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                        otter_err *err);
int otter_pg_member_get(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                        otter_err *err);
int otter_pg_member_delete(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                           otter_err *err);
int otter_pg_member_list(otter_store *s, int64_t tenant_id, int64_t user_id,
                         otter_store_member_cb cb, void *ctx, otter_err *err);
int otter_pg_token_create(otter_store *s, const otter_token *t, const char *sha256_hex, int64_t *id,
                          otter_err *err);
int otter_pg_token_find(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                        otter_err *err);
int otter_pg_token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                          otter_err *err);
int otter_pg_token_list(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                        otter_store_token_cb cb, void *ctx, otter_err *err);
int otter_pg_audit_append(otter_store *s, const otter_audit_entry *e, otter_err *err);
int otter_pg_audit_list(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                        void *ctx, otter_err *err);

int otter_pg_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha, otter_err *err);
int otter_pg_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha, int *ok,
                                  otter_err *err);
int otter_pg_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                           const char *model, const char *name, const char *token_sha256,
                           int64_t now, int64_t *id, otter_err *err);
int otter_pg_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                        const char *token_sha256, otter_device *out, int *found, otter_err *err);
int otter_pg_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                         void *ctx, otter_err *err);
int otter_pg_device_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_pg_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err);
int otter_pg_device_set_attributes(otter_store *s, int64_t id, const char *json, otter_err *err);
int otter_pg_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                          otter_err *err);
int otter_pg_group_list(otter_store *s, int64_t tenant_id, const char *name,
                        otter_store_group_cb cb, void *ctx, otter_err *err);
int otter_pg_group_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_pg_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err);
int otter_pg_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                          otter_err *err);
int otter_pg_release_create(otter_store *s, const otter_release *r, int64_t created_by, int64_t now,
                            int64_t *id, otter_err *err);
int otter_pg_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                          otter_store_release_cb cb, void *ctx, otter_err *err);
int otter_pg_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused,
                            otter_err *err);
int otter_pg_action_create(otter_store *s, const otter_action *a, int64_t created_by, int64_t now,
                           int64_t *id, otter_err *err);
int otter_pg_action_get(otter_store *s, int which, int64_t id, otter_action *out, int *found,
                        otter_err *err);
int otter_pg_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb, void *ctx,
                              otter_err *err);
int otter_pg_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                void *ctx, otter_err *err);
int otter_pg_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                    otter_err *err);
int otter_pg_action_set_status(otter_store *s, int64_t id, const char *status, const char *result,
                               int64_t now, otter_err *err);
int otter_pg_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err);
int otter_pg_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err);
int otter_pg_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb, void *ctx,
                           otter_err *err);

/* Approvals and rollouts (pg_rollouts.c). */
int otter_pg_approval_get(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                          otter_err *err);
int otter_pg_approval_set(otter_store *s, const otter_approval *a, otter_err *err);
int otter_pg_rollout_create(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                            otter_err *err);
int otter_pg_rollout_list(otter_store *s, int64_t tenant_id, int64_t rollout_id, int64_t release_id,
                          otter_store_rollout_cb cb, void *ctx, otter_err *err);
int otter_pg_rollout_update(otter_store *s, const otter_rollout *r, int64_t now, otter_err *err);
int otter_pg_rollout_counts(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                            void *ctx, otter_err *err);
int otter_pg_rollout_retry_failed(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                  int64_t created_by, int64_t now, int64_t *retried,
                                  otter_err *err);
int otter_pg_rollout_cancel_actions(otter_store *s, int64_t rollout_id, int64_t now,
                                    otter_err *err);
int otter_pg_release_withdraw_actions(otter_store *s, int64_t release_id, int64_t now,
                                      int64_t *withdrawn, otter_err *err);

#endif
