/* SPDX-License-Identifier: Apache-2.0 */
/* Private to otter_api*.c: the per-request context and the helpers handlers share. */
#ifndef OTTER_API_INTERNAL_H
#define OTTER_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "otter_api.h"
#include "otter_auth.h"
#include "otter_http.h"
#include "otter_publish.h"
#include "otter_reqjson.h"
#include "otter_throttle.h"
#include "otter_trust.h"

struct otter_api {
    otter_store *store;
    const otter_server_config *cfg;
    otter_throttle *throttle_pair; /* failed logins per (user name, client address) */
    otter_throttle *throttle_addr; /* failed logins per client address */
    otter_trust *trust;            /* [trust] root for release uploads, or NULL */
    otter_publish *publish;        /* push wake-ups (borrowed), NULL: push off */
    atomic_uint hashing;           /* password checks running now ([auth] login_concurrency) */
    /* Bumped by every committed write: event streams then look at their caller again. */
    atomic_uint writes;
    struct otter_bwcap *bwcap;   /* bandwidth caps (borrowed, may be NULL) */
    struct api_history *history; /* the rollout history sampler, or NULL */
    /* Open event streams per user ([limits] max_streams_per_user), this server only. */
    pthread_mutex_t streams_lock;
    struct {
        int64_t user_id; /* 0: free */
        unsigned n;
    } streams[OTTER_HTTP_STREAMS_MAX];
};

#define API_PARAM_MAX 2

/* Everything a handler knows about the request it serves. */
struct call {
    otter_api *api;
    const otter_http_request *req;
    otter_http_response *resp;
    int64_t now;
    /* path parameters in pattern order ({tenant} excluded: it is resolved below) */
    const char *param[API_PARAM_MAX];
    /* authentication (unless the route is public) */
    int authed;
    otter_user user;
    otter_token token;
    char token_sha[OTTER_AUTH_SHA256_HEX]; /* of the credential presented */
    /* the {tenant} of the path, resolved and checked */
    int has_tenant;
    otter_tenant tenant;
    otter_role role; /* the caller's role in tenant */
    otter_reqjson body;
    json_t *out;               /* response document, owned */
    otter_publish_batch *wake; /* push wake-ups, sent once the transaction committed */
    int in_tx;
};

/* Sets an error response and returns status, for `return api_fail(...)`. */
/* The error document is {"error": {"code", "message", "where"}}; code follows the status. */
int api_fail(struct call *c, int status, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Maps an otter_err from the store to a response (409 for conflicts, else 500). */
int api_fail_err(struct call *c, const char *where, const otter_err *err);
/* Loads the group {group} names in c's tenant into g: 0, or the status answered (404). */
int api_load_group(struct call *c, otter_group *g);
/* Names another place in the error set by a helper (e.g. a release looked up for body.release). */
void api_fail_where(struct call *c, const char *where);

/* Sets the response document (steals doc) and returns status. */
int api_reply(struct call *c, int status, json_t *doc);

/* Opens the request's transaction; dispatch commits it for status < 400, else rolls back. */
int api_begin(struct call *c, otter_err *err);

/* Appends an audit entry inside the open transaction (detail: JSON text or NULL). */
int api_audit(struct call *c, const char *action, const char *object, const char *detail,
              otter_err *err);

/* "2026-11-25T10:00:00Z" as a new JSON string. */
json_t *api_time(int64_t t);

/* {username, is_admin, created_at, password_changed_at, memberships[]} of u, new in *out. */
int api_user_doc(struct call *c, const otter_user *u, json_t **out, otter_err *err);

/* Handlers: return the HTTP status after filling c->out (or an error). */
int api_login(struct call *c);
int api_logout(struct call *c);
int api_me(struct call *c);
int api_me_password(struct call *c);
int api_tokens_list(struct call *c);
int api_tokens_create(struct call *c);
int api_tokens_delete(struct call *c);

int api_tenants_list(struct call *c);
int api_tenants_create(struct call *c);
int api_tenants_get(struct call *c);
int api_tenants_delete(struct call *c);
int api_members_list(struct call *c);
int api_members_create(struct call *c);
int api_members_get(struct call *c);
int api_members_set_role(struct call *c);
int api_members_delete(struct call *c);
int api_members_password(struct call *c);
int api_tenant_audit(struct call *c);

int api_users_list(struct call *c);
int api_users_create(struct call *c);
int api_users_get(struct call *c);
int api_users_delete(struct call *c);
int api_users_password(struct call *c);
/* 403 when an admin route would set the caller's own password (that needs the current one). */
int api_refuse_own_password(struct call *c, const otter_user *target);

/*
 * The password rule for a new password in body field field ("password"):
 * 0 with *hash set (caller frees), else the 400 already answered
 * (where: "body.<field>").
 */
int api_password_new(struct call *c, const char *field, char **hash);
/* The new password of body field for u: tokens revoked, audited; 204 or the refusal. */
int api_password_set(struct call *c, const otter_user *u, const char *field);
int api_audit_list(struct call *c);

int api_gateway_rotate(struct call *c);
/* Device certificates of a tenant (otter_api_devca.c). */
int api_ddi_auth_get(struct call *c);
int api_ddi_auth_set(struct call *c);
int api_device_cas_list(struct call *c);
int api_device_cas_add(struct call *c);
int api_device_cas_get(struct call *c);
int api_device_cas_delete(struct call *c);
int api_device_cas_crl(struct call *c);
int api_devices_list(struct call *c);
int api_devices_create(struct call *c);
int api_devices_bulk(struct call *c);
int api_devices_get(struct call *c);
int api_devices_delete(struct call *c);
int api_devices_history(struct call *c);
int api_groups_list(struct call *c);
int api_groups_create(struct call *c);
int api_groups_delete(struct call *c);
int api_groups_add(struct call *c);
int api_groups_remove(struct call *c);
/* Campaign controls (otter_api_windows.c, issue #15). */
int api_groups_schedule_get(struct call *c);
int api_groups_schedule_set(struct call *c);
/* Adds each group's maintenance_schedule to the list in c->out; a status. */
int api_groups_schedules_add(struct call *c);
/* Stores the campaign keys of the rollout request body for rollout_id (inside the transaction). */
int api_campaign_store(struct call *c, int64_t rollout_id, otter_err *err);
/* Adds maintenance_schedule, window_open_now, deferrals and urgent to a rollout document. */
void api_campaign_doc_add(struct call *c, json_t *doc, int64_t rollout_id);
/* Bandwidth caps (issue #15, otter_api_bwcap.c): the body's "bandwidth_cap" of a new rollout. */
int api_bwcap_store(struct call *c, int64_t rollout_id, otter_err *err);
/* Adds "bandwidth" and "tenant_bandwidth" ({bytes_per_second, rate_bytes_per_second}) to doc. */
void api_bwcap_doc_add(struct call *c, json_t *doc, int64_t rollout_id);
int api_rollout_bwcap_get(struct call *c);
int api_rollout_bwcap_set(struct call *c);
int api_tenant_bwcap_get(struct call *c);
int api_tenant_bwcap_set(struct call *c);
/* A rollout's campaign controls after creation, and push state (otter_api_campaign.c). */
int api_rollout_campaign_get(struct call *c);
int api_rollout_campaign_set(struct call *c);
int api_rollout_push_get(struct call *c);
int api_tenant_push_get(struct call *c);
/* GET /rollouts/{rollout}/history: the samples of its counts (otter_api_history.c). */
int api_rollout_history(struct call *c);
/* Adds "skipped": {"incompatible": N | null} (recorded at start) to a stats doc. */
int api_skipped_stats_add(otter_store *store, json_t *doc, int64_t rollout_id, otter_err *err);
/* Adds "deferrals": {total, exhausted, max, urgent} to a rollout's stats document (and events). */
int api_campaign_stats_add(otter_store *store, json_t *doc, int64_t rollout_id, otter_err *err);

int api_releases_list(struct call *c);
int api_releases_upload(struct call *c);
int api_releases_get(struct call *c);
int api_releases_delete(struct call *c);
int api_releases_download(struct call *c);
int api_deltas_upload(struct call *c);
int api_deltas_list(struct call *c);
int api_deltas_download(struct call *c);
int api_deltas_delete(struct call *c);
/* The deltas of release_id as a new array of documents (otter_api_deltas.c). */
int api_deltas_of(struct call *c, int64_t release_id, json_t **arr, otter_err *err);
int api_deployments_create(struct call *c);
int api_tickets_create(struct call *c);
int api_approvals_list(struct call *c);
int api_release_approve(struct call *c);
int api_release_reject(struct call *c);
int api_release_revoke(struct call *c);
int api_rollouts_list(struct call *c);
int api_rollouts_create(struct call *c);
int api_rollouts_preview(struct call *c);
int api_rollouts_get(struct call *c);
int api_rollouts_stats(struct call *c);
int api_rollouts_events(struct call *c);
int api_rollouts_start(struct call *c);
int api_rollouts_pause(struct call *c);
int api_rollouts_resume(struct call *c);
int api_rollouts_advance(struct call *c);
int api_rollouts_cancel(struct call *c);
int api_actions_get(struct call *c);
int api_actions_cancel(struct call *c);
int api_actions_maintenance(struct call *c);

/* Event-stream tickets live this long (seconds). */
#define API_TICKET_TTL 600

/* The approval of a release ("pending" when never decided). */
int api_approval_get(struct call *c, int64_t release_id, otter_approval *a, otter_err *err);
/* {state, by, at, comment} as a new document. */
json_t *api_approval_doc(const otter_approval *a);
/* Answers 409 (and returns it) unless release r is approved in the caller's tenant. */
int api_require_approved(struct call *c, const otter_release *r, const char *where);

/* *live = 1 when the token with hash sha is neither revoked nor expired at now. */
int api_token_live(otter_store *store, const char *sha, int64_t now, int *live, otter_err *err);

/* Parses a positive integer id from a path parameter; 0 when it is not one. */
int64_t api_id_param(const char *s);
/* Loads device {controller_id} of the current tenant or answers 404. */
int api_load_device(struct call *c, const char *controller_id, otter_device *d);
/* {id, release, status, result, ...} of an action, with its feedback when asked. */
json_t *api_action_doc(struct call *c, const otter_action *a, int with_feedback);
/* Loads release id of the current tenant (manifest and meta not kept) or answers 404. */
int api_load_release(struct call *c, int64_t id, otter_release *r);

/* 200 with the stored artifact sha256 sent as the attachment filename; 500 when it is gone. */
int api_send_artifact(struct call *c, const char *sha256, const char *filename, const char *what);

/* ---- trust roots of a tenant (otter_api_roots.c, issue #13) ---- */
struct otter_rootchain;
int api_roots_list(struct call *c);
int api_roots_add(struct call *c);
/* The tenant's roots with version >= from (the newest only when from < 0); caller frees. */
int api_tenant_root_chain(otter_store *store, int64_t tenant_id, int64_t from,
                          struct otter_rootchain **out, otter_err *err);
/*
 * The root c's tenant's uploads are verified against: its newest root
 * (*owned, caller frees), else the server's [trust] root. 0, or the answer's
 * status (422 when there is neither root).
 */
int api_upload_trust(struct call *c, otter_trust **owned, const otter_trust **use);

#endif
