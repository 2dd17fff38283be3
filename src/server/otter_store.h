/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's persistent state behind one interface. A back-end (one file
 * per engine under store/) is picked from a static table by the database
 * url: "sqlite:PATH" today, "postgres://" later. Nothing outside store/
 * includes an engine's header or writes SQL.
 *
 * Conventions: functions return 0 or a negative otter_code and fill err.
 * A unique-key clash is OTTER_ESTATE ("... exists"). Lookups report a
 * missing row through *found = 0, not as an error. List functions call cb
 * once per row with pointers borrowed for the duration of that call; a
 * negative return from cb stops the walk and is returned.
 *
 * Thread safety: one otter_store may be shared by threads. Between
 * otter_store_begin() and commit/rollback the calling thread holds the
 * store exclusively (other threads wait), so a request's writes and its
 * audit entry land together or not at all.
 */
#ifndef OTTER_STORE_H
#define OTTER_STORE_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_rbac.h"

/* Schema version this build reads and writes; otter_store_migrate() brings a database here. */
#define OTTER_STORE_SCHEMA_VERSION 1

#define OTTER_STORE_NAME_MAX 64   /* tenant and user names */
#define OTTER_STORE_HASH_MAX 256  /* password hash text */
#define OTTER_STORE_LABEL_MAX 128 /* token names */

typedef struct otter_store otter_store;

typedef struct otter_tenant {
    int64_t id;
    char name[OTTER_STORE_NAME_MAX + 1];
    int64_t created_at; /* unix seconds */
} otter_tenant;

typedef struct otter_user {
    int64_t id;
    char name[OTTER_STORE_NAME_MAX + 1];
    int is_admin; /* global admin: every tenant, every operation */
    int64_t created_at;
    int64_t password_changed_at;
    char password_hash[OTTER_STORE_HASH_MAX + 1];
} otter_user;

/* One membership row, with both names joined in for listings. */
typedef struct otter_member {
    int64_t user_id;
    const char *user;
    int is_admin;
    int64_t tenant_id;
    const char *tenant;
    otter_role role;
} otter_member;

typedef enum otter_token_kind {
    OTTER_TOKEN_SESSION = 1, /* from POST /login, short-lived */
    OTTER_TOKEN_API = 2,     /* created for automation, named */
} otter_token_kind;

typedef struct otter_token {
    int64_t id;
    int64_t user_id;
    otter_token_kind kind;
    char name[OTTER_STORE_LABEL_MAX + 1]; /* "" for sessions */
    int64_t created_at;
    int64_t expires_at;
    int64_t revoked_at; /* 0 = live */
} otter_token;

/* An audit entry; strings may be NULL. tenant_id 0 = not tenant-scoped. */
typedef struct otter_audit_entry {
    int64_t id; /* set by the store */
    int64_t at;
    int64_t actor_id;
    const char *actor;
    int64_t tenant_id;
    const char *tenant;
    const char *action; /* "tenant.create", "user.delete", ... */
    const char *object; /* what was acted on, e.g. a user name */
    const char *detail; /* small JSON text or NULL */
    const char *client; /* client address */
} otter_audit_entry;

typedef struct otter_audit_filter {
    int64_t tenant_id;  /* 0 = all tenants */
    const char *actor;  /* NULL = anyone */
    const char *action; /* NULL = any; exact match */
    int64_t before_id;  /* 0 = newest first from the top; else entries with id < before_id */
    int64_t since;      /* 0 = no lower bound (unix seconds, inclusive) */
    int64_t until;      /* 0 = no upper bound (exclusive) */
    unsigned limit;     /* rows at most (1..1000) */
} otter_audit_filter;

typedef int (*otter_store_tenant_cb)(void *ctx, const otter_tenant *t);
typedef int (*otter_store_user_cb)(void *ctx, const otter_user *u);
typedef int (*otter_store_member_cb)(void *ctx, const otter_member *m);
typedef int (*otter_store_token_cb)(void *ctx, const otter_token *t);
typedef int (*otter_store_audit_cb)(void *ctx, const otter_audit_entry *e);

/*
 * Opens the database named by url. create = 1 makes an empty database when
 * none exists (init); create = 0 refuses a missing one (serve). Does not
 * migrate. busy_timeout_ms bounds waits for locks held by other processes.
 * OTTER_EUSAGE for an unknown or not-built scheme, OTTER_EIO when the engine
 * fails. Caller frees *out with otter_store_free().
 */
int otter_store_open(const char *url, int create, unsigned busy_timeout_ms, otter_store **out,
                     otter_err *err);
void otter_store_free(otter_store *s);

/* Name of the back-end in use ("sqlite"). */
const char *otter_store_engine(const otter_store *s);

/* Current schema version (0 for an empty database). */
int otter_store_schema_version(otter_store *s, int *version, otter_err *err);

/*
 * Applies every migration above the current version, each in its own
 * transaction. OTTER_ESTATE when the database is newer than this build.
 */
int otter_store_migrate(otter_store *s, otter_err *err);

/* Transactions (see the header comment). Not nestable. */
int otter_store_begin(otter_store *s, otter_err *err);
int otter_store_commit(otter_store *s, otter_err *err);
void otter_store_rollback(otter_store *s);

/* Tenants. */
int otter_store_tenant_create(otter_store *s, const char *name, int64_t now, int64_t *id,
                              otter_err *err);
int otter_store_tenant_get(otter_store *s, const char *name, otter_tenant *out, int *found,
                           otter_err *err);
/* Deletes the tenant and everything it owns (memberships, devices, ...). */
int otter_store_tenant_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_store_tenant_list(otter_store *s, otter_store_tenant_cb cb, void *ctx, otter_err *err);

/* Users. */
int otter_store_user_create(otter_store *s, const char *name, const char *password_hash,
                            int is_admin, int64_t now, int64_t *id, otter_err *err);
int otter_store_user_get(otter_store *s, const char *name, otter_user *out, int *found,
                         otter_err *err);
int otter_store_user_get_by_id(otter_store *s, int64_t id, otter_user *out, int *found,
                               otter_err *err);
int otter_store_user_set_password(otter_store *s, int64_t id, const char *password_hash,
                                  int64_t now, otter_err *err);
/* Deletes the user with their memberships and tokens. */
int otter_store_user_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_store_user_count_admins(otter_store *s, int64_t *count, otter_err *err);
int otter_store_user_list(otter_store *s, otter_store_user_cb cb, void *ctx, otter_err *err);

/* Memberships: one role per (user, tenant). */
int otter_store_member_set(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role role,
                           otter_err *err);
int otter_store_member_get(otter_store *s, int64_t user_id, int64_t tenant_id, otter_role *role,
                           otter_err *err); /* OTTER_ROLE_NONE when not a member */
int otter_store_member_delete(otter_store *s, int64_t user_id, int64_t tenant_id, int *found,
                              otter_err *err);
int otter_store_member_list_tenant(otter_store *s, int64_t tenant_id, otter_store_member_cb cb,
                                   void *ctx, otter_err *err);
int otter_store_member_list_user(otter_store *s, int64_t user_id, otter_store_member_cb cb,
                                 void *ctx, otter_err *err);

/* Tokens, kept as SHA-256 hex of the secret (see otter_auth.h). */
int otter_store_token_create(otter_store *s, const otter_token *t, const char *sha256_hex,
                             int64_t *id, otter_err *err);
/* Finds a token by hash whatever its state; the caller checks expiry and revocation. */
int otter_store_token_find(otter_store *s, const char *sha256_hex, otter_token *out, int *found,
                           otter_err *err);
/* Revokes token id if it belongs to user_id (found = 0 otherwise). */
int otter_store_token_revoke(otter_store *s, int64_t id, int64_t user_id, int64_t now, int *found,
                             otter_err *err);
/* Revokes every live token of a user (password change). */
int otter_store_token_revoke_user(otter_store *s, int64_t user_id, int64_t now, otter_err *err);
/* Lists a user's tokens of one kind that are neither revoked nor expired at now. */
int otter_store_token_list(otter_store *s, int64_t user_id, otter_token_kind kind, int64_t now,
                           otter_store_token_cb cb, void *ctx, otter_err *err);

/* Audit log: append-only. */
int otter_store_audit_append(otter_store *s, const otter_audit_entry *e, otter_err *err);
/* Newest first, filtered. */
int otter_store_audit_list(otter_store *s, const otter_audit_filter *f, otter_store_audit_cb cb,
                           void *ctx, otter_err *err);

#endif
