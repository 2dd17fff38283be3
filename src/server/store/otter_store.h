/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's persistent state behind one interface. A back-end (one file
 * per engine under store/) is picked from a static table by the database
 * url: "sqlite:PATH" or "postgresql://..." (or "postgres://...": a libpq
 * URI). Nothing outside store/ includes an engine's header or writes SQL.
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
 * audit entry land together or not at all. Transactions of several
 * servers sharing one PostgreSQL database are serialized too (one writer
 * at a time, as with SQLite), so a read-then-write inside a transaction
 * stays correct. After a failed call inside a transaction, roll back: on
 * PostgreSQL the transaction cannot go on.
 */
#ifndef OTTER_STORE_H
#define OTTER_STORE_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_rbac.h"

/* Schema version this build reads and writes; otter_store_migrate() brings a database here. */
#define OTTER_STORE_SCHEMA_VERSION 17

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
    OTTER_TOKEN_TICKET = 3,  /* short-lived, accepted only by event streams (?ticket=) */
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

/* Name of the back-end in use ("sqlite" or "postgres"). */
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

/*
 * Change tracking, for caches of what a DDI poll reads (otter_pollcache.h).
 *
 * Every write that can change a device API answer (tenants, gateway
 * tokens, devices and their attributes, groups, releases, actions,
 * approvals, rollouts; not last_seen, audit entries, feedback rows or
 * accounts) moves this server's stamp once it is committed: at once for a
 * call outside a transaction, at otter_store_commit() inside one. Each
 * such write is scoped: to the devices it touches (a device's attributes,
 * group membership, its actions) or to any device (tenants, releases,
 * approvals, rollouts; a transaction touching more than 64 devices).
 * The same writes are logged in the database (tables change_counter and
 * change_log) in the same transaction (a call outside one runs in one of
 * its own),
 * so other servers on the same database learn of them: this server reads
 * the log at most every OTTER_STORE_CHANGES_CHECK_MS and moves its stamps
 * for what it finds (any device when it fell more than
 * OTTER_STORE_CHANGES_KEPT entries behind).
 *
 * otter_store_generation() sets *gen to the current stamp and returns 0
 * when it is known to be current: the log was read successfully less than
 * OTTER_STORE_CHANGES_BOUND_MS ago (the call reads it itself when it is
 * due). Otherwise OTTER_ESTATE: the database could not be asked in time,
 * so nothing cached may be trusted. A cache stamps what it reads about a
 * device with the stamp taken *before* reading, and serves it only while
 * otter_store_unchanged_since(stamp, device): then a write committed on
 * this server is seen by the next request, and one committed on another
 * server within OTTER_STORE_CHANGES_BOUND_MS.
 */
#define OTTER_STORE_CHANGES_CHECK_MS 250
#define OTTER_STORE_CHANGES_BOUND_MS 1000
int otter_store_generation(otter_store *s, uint64_t *gen);

/*
 * The same answer without ever asking the database (so without waiting
 * for it): for request threads, while another thread calls
 * otter_store_generation() regularly (the poll cache's loader does, every
 * 125 ms). OTTER_ESTATE when nobody read the log within the bound.
 */
int otter_store_generation_known(otter_store *s, uint64_t *gen);

/*
 * 1 when no change known to this server that may touch device_id was
 * committed after stamp gen was taken; 0 otherwise. Devices share 262,144
 * slots (by id), so a change may also void the stamps of the devices that
 * share its slot (never the reverse). Lock-free.
 */
int otter_store_unchanged_since(otter_store *s, uint64_t gen, int64_t device_id);

/* The stamp of the last change that may touch any device (what a full reload must follow). */
uint64_t otter_store_generation_wide(otter_store *s);
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

/* ---- Fleet: devices, groups, releases, actions (the device API's state) ---- */

#define OTTER_STORE_ATTR_MAX 8192    /* configData attributes as JSON text */
#define OTTER_STORE_FILENAME_MAX 128 /* artifact file names */
#define OTTER_STORE_WORD_MAX 15      /* status words: "scheduled", "success", ... */
#define OTTER_STORE_CONSENT_MAX 23   /* consent modes: "download_then_ask" */

typedef struct otter_device {
    int64_t id;
    int64_t tenant_id;
    char controller_id[OTTER_STORE_NAME_MAX + 1];
    char model[OTTER_STORE_NAME_MAX + 1];      /* "" when unknown (auto-registered) */
    char name[OTTER_STORE_LABEL_MAX + 1];      /* "" when not set */
    char version[OTTER_STORE_NAME_MAX + 1];    /* version of the installed release, or "" */
    char product[OTTER_STORE_NAME_MAX + 1];    /* product of the installed release, or "" */
    char attributes[OTTER_STORE_ATTR_MAX + 1]; /* JSON object text */
    int config_sent;                           /* attributes came from the device (configData) */
    int64_t last_seen;                         /* 0 = never */
    int64_t created_at;
} otter_device;

/* Device listing filter; NULL / 0 fields do not filter. */
typedef struct otter_device_filter {
    int64_t tenant_id;
    const char *model;
    const char *version; /* of the installed release */
    const char *group;
    const char *attr_key; /* with attr_value: attributes[attr_key] == attr_value */
    const char *attr_value;
    int64_t seen_before; /* last_seen < this (never-seen devices included) */
    int64_t seen_after;  /* last_seen >= this */
    int64_t after_id;    /* pagination: ids > after_id, ascending */
    unsigned limit;      /* 1..1000 */
} otter_device_filter;

typedef struct otter_group {
    int64_t id;
    char name[OTTER_STORE_NAME_MAX + 1];
    int64_t members;
} otter_group;

/* A release with its (single) artifact. meta is borrowed JSON text. */
typedef struct otter_release {
    int64_t id;
    int64_t tenant_id;
    char product[OTTER_STORE_NAME_MAX + 1];
    char version[OTTER_STORE_NAME_MAX + 1];
    int64_t security_version;
    char kind[OTTER_STORE_WORD_MAX + 1]; /* otter, swupdate, rauc, other */
    const char *manifest;                /* exact manifest.json bytes or NULL (foreign) */
    const char *meta; /* {"compatible":[..],"images":[..],"signers":[..]} or "{}" */
    int64_t created_at;
    char filename[OTTER_STORE_FILENAME_MAX + 1];
    int64_t size;
    char sha256[65];
    char sha1[41];
    char md5[33];
} otter_release;

/* One deployment of a release to a device: a DDI action. */
typedef struct otter_action {
    int64_t id;
    int64_t tenant_id;
    int64_t device_id;
    int64_t release_id;
    int64_t rollout_id; /* 0 = assigned directly */
    int64_t stage;      /* meaningful with rollout_id */
    /* scheduled, running, canceling, finished, canceled, error */
    char status[OTTER_STORE_WORD_MAX + 1];
    char result[OTTER_STORE_WORD_MAX + 1];   /* none, success, failure */
    char download[OTTER_STORE_WORD_MAX + 1]; /* skip, attempt, forced */
    char update[OTTER_STORE_WORD_MAX + 1];
    char maintenance[OTTER_STORE_WORD_MAX + 1];    /* "", available, unavailable */
    char last_execution[OTTER_STORE_WORD_MAX + 1]; /* last feedback, "" if none */
    char last_finished[OTTER_STORE_WORD_MAX + 1];
    int64_t created_at;
    int64_t updated_at;
    int64_t superseded_by; /* the action that retried this failed one, 0 = none */
    /* Consent (docs/ddi.md "User consent"). */
    char consent[OTTER_STORE_CONSENT_MAX + 1];  /* auto, download_then_ask, ask */
    char confirm[OTTER_STORE_WORD_MAX + 1];     /* none, waiting, confirmed, denied */
    char user_choice[OTTER_STORE_WORD_MAX + 1]; /* "", waiting, postponed, started, declined */
    int64_t user_until;                         /* end of a postponement, 0 = none */
    int awaiting; /* read only: waiting or denied, and the device has no auto-confirm */
} otter_action;

/* One feedback message of a device about an action. details: JSON array text. */
typedef struct otter_feedback {
    int64_t id;
    int64_t action_id;
    int64_t at;
    const char *kind;      /* deployment or cancel */
    const char *execution; /* closed, proceeding, ... */
    const char *finished;  /* success, failure, none */
    int64_t progress_cnt;  /* -1 when absent */
    int64_t progress_of;
    const char *details;
} otter_feedback;

typedef int (*otter_store_device_cb)(void *ctx, const otter_device *d);
typedef int (*otter_store_group_cb)(void *ctx, const otter_group *g);
typedef int (*otter_store_release_cb)(void *ctx, const otter_release *r);
typedef int (*otter_store_action_cb)(void *ctx, const otter_action *a);
typedef int (*otter_store_feedback_cb)(void *ctx, const otter_feedback *f);

/* DDI GatewayToken of a tenant (SHA-256 hex; NULL removes it). */
int otter_store_tenant_set_gateway(otter_store *s, int64_t tenant_id, const char *sha256_hex,
                                   otter_err *err);
/* *ok = 1 when sha256_hex is tenant_id's gateway token. */
int otter_store_tenant_check_gateway(otter_store *s, int64_t tenant_id, const char *sha256_hex,
                                     int *ok, otter_err *err);

/* Devices. token_sha256 may be NULL (auto-registered through a gateway). ESTATE if it exists. */
int otter_store_device_create(otter_store *s, int64_t tenant_id, const char *controller_id,
                              const char *model, const char *name, const char *token_sha256,
                              int64_t now, int64_t *id, otter_err *err);
int otter_store_device_get(otter_store *s, int64_t tenant_id, const char *controller_id,
                           otter_device *out, int *found, otter_err *err);
/* The device whose TargetToken hashes to sha256_hex. */
int otter_store_device_find_token(otter_store *s, const char *sha256_hex, otter_device *out,
                                  int *found, otter_err *err);
int otter_store_device_list(otter_store *s, const otter_device_filter *f, otter_store_device_cb cb,
                            void *ctx, otter_err *err);
int otter_store_device_delete(otter_store *s, int64_t id, int *found, otter_err *err);
int otter_store_device_seen(otter_store *s, int64_t id, int64_t now, otter_err *err);
/* Stores attributes (JSON object text) and marks them sent by the device. */
int otter_store_device_set_attributes(otter_store *s, int64_t id, const char *json, otter_err *err);

/* Groups. */
int otter_store_group_create(otter_store *s, int64_t tenant_id, const char *name, int64_t *id,
                             otter_err *err);
int otter_store_group_get(otter_store *s, int64_t tenant_id, const char *name, otter_group *out,
                          int *found, otter_err *err);
int otter_store_group_list(otter_store *s, int64_t tenant_id, otter_store_group_cb cb, void *ctx,
                           otter_err *err);
int otter_store_group_delete(otter_store *s, int64_t id, int *found, otter_err *err);
/* Adding an existing member is a no-op; *found = 0 on remove when not a member. */
int otter_store_group_add(otter_store *s, int64_t group_id, int64_t device_id, otter_err *err);
int otter_store_group_remove(otter_store *s, int64_t group_id, int64_t device_id, int *found,
                             otter_err *err);

/* Releases: r's fields (id and created_at ignored) and its artifact in one go. */
int otter_store_release_create(otter_store *s, const otter_release *r, int64_t created_by,
                               int64_t now, int64_t *id, otter_err *err);
/* One release of the tenant by id (release_id > 0) or all of them, newest first. */
int otter_store_release_list(otter_store *s, int64_t tenant_id, int64_t release_id,
                             otter_store_release_cb cb, void *ctx, otter_err *err);
/*
 * Deletes a release; OTTER_ESTATE when an action uses it or a delta is made
 * to or from it (delete those first). *sha_unused = 1
 * when no other artifact has the same content (the file may go).
 */
int otter_store_release_delete(otter_store *s, int64_t id, int *found, int *sha_unused,
                               otter_err *err);

/*
 * A delta package of a release (issue #12): made by `otter delta` from
 * release from_release_id (version from_version) of the same tenant,
 * verified on upload, offered by DDI to devices that run from_version.
 */
typedef struct otter_delta {
    int64_t id;
    int64_t release_id;
    int64_t from_release_id;
    char from_version[OTTER_STORE_NAME_MAX + 1];
    char filename[OTTER_STORE_FILENAME_MAX + 1];
    int64_t size;
    char sha256[65];
    char sha1[41];
    char md5[33];
    int64_t created_at;
} otter_delta;

typedef int (*otter_store_delta_cb)(void *ctx, const otter_delta *d);

/*
 * Records delta d (id and created_at ignored) of release d->release_id.
 * OTTER_ESTATE when the release already has a delta from that release.
 * Quiet: no base poll answer shows deltas (deploymentBase is never cached).
 */
int otter_store_delta_create(otter_store *s, const otter_delta *d, int64_t created_by, int64_t now,
                             int64_t *id, otter_err *err);
/* The deltas of release_id, oldest base first; only delta_id when it is not 0. */
int otter_store_delta_list(otter_store *s, int64_t release_id, int64_t delta_id,
                           otter_store_delta_cb cb, void *ctx, otter_err *err);
/*
 * Deletes delta id of release_id. *sha_unused = 1 when no other delta or
 * artifact has the same content (the file may go).
 */
int otter_store_delta_delete(otter_store *s, int64_t release_id, int64_t id, int *found,
                             int *sha_unused, otter_err *err);

/*
 * Actions. a: tenant, device, release, rollout, stage, download, update,
 * maintenance, consent ("" = auto; ask starts it waiting for confirmation).
 */
int otter_store_action_create(otter_store *s, const otter_action *a, int64_t created_by,
                              int64_t now, int64_t *id, otter_err *err);
int otter_store_action_get(otter_store *s, int64_t id, otter_action *out, int *found,
                           otter_err *err);
/*
 * The device's oldest open action (scheduled, running or canceling) that
 * may be offered now, which is the one DDI offers; *found = 0 when there is
 * none. A rollout's action that the device has not started yet is held
 * back while its rollout is not running or has not reached its stage.
 */
int otter_store_action_open(otter_store *s, int64_t device_id, otter_action *out, int *found,
                            otter_err *err);
/* The device's oldest open action, offered now or held back by its rollout. */
int otter_store_action_pending(otter_store *s, int64_t device_id, otter_action *out, int *found,
                               otter_err *err);
/* The device's newest action finished with success (installedBase). */
int otter_store_action_installed(otter_store *s, int64_t device_id, otter_action *out, int *found,
                                 otter_err *err);
/* A device's actions, newest first. */
/*
 * What a DDI base poll needs of one device that has a TargetToken (the
 * poll cache's bulk load, otter_ddi_poll.c). Strings borrowed for the
 * duration of the callback.
 */
typedef struct otter_poll_row {
    const char *token_sha256; /* hex */
    const char *tenant;
    const char *controller_id;
    int64_t device_id;
    int64_t last_seen;
    int64_t open_action;      /* as otter_store_action_open(), 0 when none */
    int canceling;            /* open_action is being canceled */
    int confirming;           /* open_action waits for the device's confirmation */
    int64_t installed_action; /* as otter_store_action_installed(), 0 when none */
    int config_sent;
} otter_poll_row;
typedef int (*otter_store_poll_row_cb)(void *ctx, const otter_poll_row *r);

/* Calls cb for at most limit devices with a TargetToken, in one query. */
int otter_store_device_poll_rows(otter_store *s, int64_t limit, otter_store_poll_row_cb cb,
                                 void *ctx, otter_err *err);

int otter_store_action_list_device(otter_store *s, int64_t device_id, otter_store_action_cb cb,
                                   void *ctx, otter_err *err);
/* Sets status and result; finished + success also records the device's installed release. */
int otter_store_action_set_status(otter_store *s, int64_t id, const char *status,
                                  const char *result, int64_t now, otter_err *err);
/* Sets the action's maintenance window ("available", "unavailable" or "" for none). */
int otter_store_action_set_maintenance(otter_store *s, int64_t id, const char *window, int64_t now,
                                       otter_err *err);
/* Appends feedback and remembers its execution/finished on the action. */
int otter_store_feedback_add(otter_store *s, const otter_feedback *f, otter_err *err);
/* The number of feedback rows stored for action_id. */
int otter_store_feedback_count(otter_store *s, int64_t action_id, int64_t *count, otter_err *err);
int otter_store_feedback_list(otter_store *s, int64_t action_id, otter_store_feedback_cb cb,
                              void *ctx, otter_err *err);

/* Split off to keep files short: approvals and rollouts; the user consent of issue 17. */
#include "otter_store_rollouts.h"
#include "otter_store_consent.h"

/* Device CAs and the DDI authentication mode of a tenant (issue #13). */
#include "otter_store_devca.h"

/* Campaign controls: maintenance schedules, deferrals (issue #15). */
#include "otter_store_windows.h"

/* Artifact bytes a rollout's devices downloaded (issue #12). */
#include "otter_store_traffic.h"
#include "otter_store_blobs.h" /* s10-cdn */
#include "otter_store_push.h"

#endif
