/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a store back-end implements. Private to src/server/store and
 * otter_store.c: the rest of the server sees only otter_store.h. Each
 * member has the contract of the otter_store_* function of the same name.
 */
#ifndef OTTER_STORE_BACKEND_H
#define OTTER_STORE_BACKEND_H

#include <stdatomic.h>

#include "otter_store.h"

typedef struct otter_store_ops {
    const char *engine;     /* "sqlite" */
    const char *url_prefix; /* "sqlite:" */
    const char *url_alias;  /* another prefix for the same engine, or NULL */
    int (*open)(otter_store *s, const char *url, int create, unsigned busy_timeout_ms,
                otter_err *err); /* sets s->impl */
    void (*close)(otter_store *s);
    int (*schema_version)(otter_store *s, int *version, otter_err *err);
    int (*migrate)(otter_store *s, otter_err *err);
    int (*begin)(otter_store *s, otter_err *err);
    int (*commit)(otter_store *s, otter_err *err);
    void (*rollback)(otter_store *s);

    int (*tenant_create)(otter_store *s, const char *name, int64_t now, int64_t *id,
                         otter_err *err);
    int (*tenant_get)(otter_store *s, const char *name, otter_tenant *out, int *found,
                      otter_err *err);
    int (*tenant_delete)(otter_store *s, int64_t id, int *found, otter_err *err);
    int (*tenant_list)(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err);

    int (*user_create)(otter_store *s, const char *name, const char *password_hash, int is_admin,
                       int64_t now, int64_t *id, otter_err *err);
    int (*user_get)(otter_store *s, const char *name, int64_t id, otter_user *out, int *found,
                    otter_err *err); /* by name when name != NULL, else by id */
    int (*user_set_password)(otter_store *s, int64_t id, const char *password_hash, int64_t now,
                             otter_err *err);
    int (*user_delete)(otter_store *s, int64_t id, int *found, otter_err *err);
    int (*user_count_admins)(otter_store *s, int64_t *count, otter_err *err);
    int (*user_list)(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err);

    int (*member_set)(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                      otter_err *err);
    int (*member_get)(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                      otter_err *err);
    int (*member_delete)(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                         otter_err *err);
    /* by tenant when tenant_id != 0, else by user */
    int (*member_list)(otter_store *s, int64_t tenant_id, int64_t user_id, otter_store_member_cb cb,
                       void *ctx, otter_err *err);

    int (*token_create)(otter_store *s, const otter_token *t, const char *sha256_hex, int64_t *id,
                        otter_err *err);
    int (*token_find)(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                      otter_err *err);
    int (*token_revoke)(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                        otter_err *err); /* id 0 = every live token of user_id */
    int (*token_list)(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                      otter_store_token_cb cb, void *ctx, otter_err *err);

    int (*audit_append)(otter_store *s, const otter_audit_entry *e, otter_err *err);
    int (*audit_list)(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                      void *ctx, otter_err *err);
    int (*tenant_set_gateway)(otter_store *s, int64_t tenant_id, const char *sha, otter_err *err);
    int (*tenant_check_gateway)(otter_store *s, int64_t tenant_id, const char *sha, int *ok,
                                otter_err *err);
    int (*device_create)(otter_store *s, int64_t tenant_id, const char *controller_id,
                         const char *model, const char *name, const char *token_sha256, int64_t now,
                         int64_t *id, otter_err *err);
    /* by (tenant_id, controller_id) when controller_id != NULL, else by token hash */
    int (*device_get)(otter_store *s, int64_t tenant_id, const char *controller_id,
                      const char *token_sha256, otter_device *out, int *found, otter_err *err);
    int (*device_list)(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                       void *ctx, otter_err *err);
    int (*device_delete)(otter_store *s, int64_t id, int *found, otter_err *err);
    int (*device_seen)(otter_store *s, int64_t id, int64_t now, otter_err *err);
    int (*device_set_attributes)(otter_store *s, int64_t id, const char *json, otter_err *err);
    int (*group_create)(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                        otter_err *err);
    /* one by name when name != NULL, else all of the tenant */
    int (*group_list)(otter_store *s, int64_t tenant_id, const char *name, otter_store_group_cb cb,
                      void *ctx, otter_err *err);
    int (*group_delete)(otter_store *s, int64_t id, int *found, otter_err *err);
    int (*group_add)(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err);
    int (*group_remove)(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                        otter_err *err);
    int (*release_create)(otter_store *s, const otter_release *r, int64_t created_by, int64_t now,
                          int64_t *id, otter_err *err);
    int (*release_list)(otter_store *s, int64_t tenant_id, int64_t release_id,
                        otter_store_release_cb cb, void *ctx, otter_err *err);
    int (*release_delete)(otter_store *s, int64_t id, int *found, int *sha_unused, otter_err *err);
    int (*action_create)(otter_store *s, const otter_action *a, int64_t created_by, int64_t now,
                         int64_t *id, otter_err *err);
    /* which: 0 by id, 1 offered open action of device, 2 installed action of device,
       3 any open action of device */
    int (*action_get)(otter_store *s, int which, int64_t id, otter_action *out, int *found,
                      otter_err *err);
    int (*device_poll_rows)(otter_store *s, int64_t limit, otter_store_poll_row_cb cb, void *ctx,
                            otter_err *err);
    int (*action_list_device)(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                              void *ctx, otter_err *err);
    int (*action_set_status)(otter_store *s, int64_t id, const char *status, const char *result,
                             int64_t now, otter_err *err);
    int (*action_set_maintenance)(otter_store *s, int64_t id, const char *window, int64_t now,
                                  otter_err *err);
    int (*feedback_add)(otter_store *s, const otter_feedback *f, otter_err *err);
    int (*feedback_count)(otter_store *s, int64_t action_id, int64_t *count, otter_err *err);
    int (*feedback_list)(otter_store *s, int64_t action_id, otter_store_feedback_cb cb, void *ctx,
                         otter_err *err);
    int (*approval_get)(otter_store *s, int64_t release_id, otter_approval *out, int *found,
                        otter_err *err);
    int (*approval_set)(otter_store *s, const otter_approval *a, otter_err *err);
    int (*rollout_create)(otter_store *s, const otter_rollout *r, int64_t now, int64_t *id,
                          otter_err *err);
    int (*rollout_list)(otter_store *s, int64_t tenant_id, int64_t rollout_id, int64_t release_id,
                        otter_store_rollout_cb cb, void *ctx, otter_err *err);
    int (*rollout_update)(otter_store *s, const otter_rollout *r, int64_t now, otter_err *err);
    int (*rollout_counts)(otter_store *s, int64_t rollout_id, otter_store_rollout_count_cb cb,
                          void *ctx, otter_err *err);
    int (*rollout_retry_failed)(otter_store *s, int64_t rollout_id, int64_t up_to_stage,
                                int64_t created_by, int64_t now, int64_t *retried, otter_err *err);
    int (*rollout_cancel_actions)(otter_store *s, int64_t rollout_id, int64_t now,
                                  otter_err *err);
    int (*release_withdraw_actions)(otter_store *s, int64_t release_id, int64_t now,
                                    int64_t *withdrawn, otter_err *err);
    /*
     * The database's change log (otter_store_generation()). changes_log adds
     * one to the counter and records the devices the change touched under
     * the new count, set in *count (n == 0: it may touch any device), inside the
     * caller's transaction (otter_store.c opens one for every counted write);
     * now and then it drops entries older
     * than OTTER_STORE_CHANGES_KEPT counts. changes_read reads the counter;
     * changes_since calls cb for each entry with a count above after, in
     * order of count, at most limit of them.
     */
    int (*changes_log)(otter_store *s, const int64_t *devices, size_t n, int64_t *count,
                       otter_err *err);
    int (*changes_read)(otter_store *s, int64_t *counter, otter_err *err);
    int (*changes_since)(otter_store *s, int64_t after, int64_t limit,
                         int (*cb)(void *ctx, int64_t count, int64_t device_id), void *ctx,
                         otter_err *err);
} otter_store_ops;

/* Change log entries kept (by count); a server further behind treats everything as changed. */
#define OTTER_STORE_CHANGES_KEPT 65536
/* This server's recent log counts remembered (a power of two; read back within 250 ms). */
#define OTTER_STORE_OWN_COUNTS 8192
/* Device slots for change stamps (a power of two): devices sharing a slot share invalidations. */
#define OTTER_STORE_DEVICE_SLOTS 262144

struct otter_store {
    const otter_store_ops *ops;
    void *impl;
    /*
     * Change tracking, kept by otter_store.c (see otter_store_generation()):
     * stamp moves with every change this server learns of; wide_stamp is
     * the stamp of the last change that may touch any device, device_stamp
     * that of the last change touching a device of the slot.
     */
    _Atomic uint64_t stamp;
    _Atomic uint64_t wide_stamp;
    _Atomic uint64_t device_stamp[OTTER_STORE_DEVICE_SLOTS];
    _Atomic int64_t checked_ms; /* CLOCK_MONOTONIC ms of the last good read of the log */
    atomic_int checking;        /* a thread is reading it */
    int64_t db_count;           /* the log's count applied so far; only the reading thread */
    int db_count_known;
    atomic_uint log_writes;     /* this server's log entries, to drop old ones now and then */
    /* Counts this server logged and committed (at count % size), so reading them back is no change. */
    _Atomic int64_t own_counts[OTTER_STORE_OWN_COUNTS];
};

extern const otter_store_ops otter_store_sqlite_ops;
extern const otter_store_ops otter_store_pg_ops;

#endif
