/* SPDX-License-Identifier: Apache-2.0 */
/* Private to otter_ddi*.c: the per-request context of the device API. */
#ifndef OTTER_DDI_INTERNAL_H
#define OTTER_DDI_INTERNAL_H

#include "otter_publish.h"
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "otter_ddi.h"
#include "otter_ddi_seen.h"
#include "otter_metrics.h"
#include "otter_pollcache.h"

/* last_seen is written when it is this many seconds old (in batches, otter_ddi_seen.h). */
#define DDI_LAST_SEEN_SLACK 30

struct otter_ddi {
    otter_store *store;
    const otter_server_config *cfg;
    otter_metrics *metrics; /* borrowed, may be NULL */
    otter_publish *publish; /* push wake-ups (borrowed), NULL: push off */
    ddi_seen *seen;         /* last_seen, written in batches */
    otter_pollcache *cache; /* what base polls need, by TargetToken */
    struct otter_cdn *cdn;  /* s10-cdn: signed artifact links (borrowed), or NULL */
    /* Bandwidth caps (borrowed, may be NULL): otter_ddi_bwcap.c. */
    struct otter_bwcap *bwcap;
    /* The cache's bulk loader (otter_ddi_poll.c): a thread, woken by a timer. */
    pthread_t warm_thread;
    pthread_mutex_t warm_mx;
    pthread_cond_t warm_cv;
    int warm_started, warm_stop;
};

#define DDI_SEG_MAX 8

struct ddi_call {
    otter_ddi *ddi;
    const otter_http_request *req;
    otter_http_response *resp;
    int64_t now;
    char *seg[DDI_SEG_MAX]; /* path segments after {controllerId} */
    int nseg;
    otter_tenant tenant;
    otter_device *dev; /* the authenticated device (heap: attributes are 8 KiB) */
    int seen_noted;    /* ddi_authenticate() noted the device as seen now */
    int uncacheable;   /* authenticated by certificate: never put in the poll cache */
    char base[320];    /* scheme://host of the request, for absolute links */
};

/*
 * Answers for a canceled action of the device: 410 "withdrawn" when its
 * release is no longer approved in the tenant (the approval was revoked or
 * rejected), else 404 "canceled". Returns the status (otter_ddi.c).
 */
int ddi_refuse_canceled(struct ddi_call *c, const otter_action *a);

/* Logs err and answers 500 "internal error" (its status returned). */
int ddi_fail_err(struct ddi_call *c, const otter_err *err);

/* Sets a JSON error body and returns status. */
int ddi_fail(struct ddi_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The token of the Authorization header (borrowed from the request) and
 * whether it is a GatewayToken; NULL when the header is missing, of
 * another scheme, empty or longer than 256 bytes.
 */
const char *ddi_token(const otter_http_request *req, int *gateway);

/*
 * Authenticates the device named in the path against the store and fills
 * c->tenant and c->dev (otter_ddi.c). 0, or an error status with its body.
 */
int ddi_authenticate(struct ddi_call *c, const char *tenant, const char *cid);

/* GET base poll of the authenticated c->dev (otter_ddi_poll.c). */
int ddi_poll(struct ddi_call *c);

/*
 * GET base poll of tenant/cid before authentication: answered from the
 * poll cache when the token is cached and current, else authenticated and
 * answered from the store, and cached (otter_ddi_poll.c).
 */
int ddi_poll_fast(struct ddi_call *c, const char *tenant, const char *cid);

/*
 * Starts / stops the poll cache's loader. Every 125 ms it brings the store's
 * change stamps up to date (otter_store_generation(): polls only read
 * them, otter_store_generation_known()); after a change that may touch any
 * device (and at start), it loads every device with a TargetToken (up to
 * the cache's capacity) in one query, so a fleet's first polls after such
 * a change do not each go to the store. At most one load per second, and
 * never more than a fifth of a thread's time. Stop is NULL-safe and
 * idempotent.
 */
int ddi_warm_start(otter_ddi *ddi, otter_err *err);
void ddi_warm_stop(otter_ddi *ddi);

/*
 * The delta of release_id offered to c->dev (docs/ddi.md "Delta
 * artifacts"): *found = 1 with *out when the device sent configData
 * otter.delta = "1" and its version is one of the release's deltas'
 * from_version; 0 for every other device (otter_ddi.c).
 */
int ddi_delta_for(struct ddi_call *c, int64_t release_id, otter_delta *out, int *found,
                  otter_err *err);

/* Sets doc (compact JSON, stolen; NULL = no body) as the answer and returns status (otter_ddi.c).
 */
int ddi_reply(struct ddi_call *c, int status, json_t *doc);

/* The device's action {id_text} into *a: 0, or 404 answered (otter_ddi.c). */
int ddi_load_action(struct ddi_call *c, const char *id_text, otter_action *a);

/*
 * 0 when a rollout's action not yet started may be taken now (its rollout
 * runs and reached its stage), else 404 answered (otter_ddi.c).
 */
int ddi_refuse_held_back(struct ddi_call *c, const otter_action *a);

/* {"href": "<base>/<tenant>/controller/v1/<cid><fmt...>"}, NULL when too long (otter_ddi_offer.c).
 */
json_t *ddi_href(struct ddi_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The offer of action a as {"id": "N", key: {download, update,
 * maintenanceWindow?, chunks}} in *out (caller owns): key is "deployment"
 * (deploymentBase, installedBase) or "confirmation" (confirmationBase).
 * 0, or the error status already answered (otter_ddi_offer.c).
 */
int ddi_offer_doc(struct ddi_call *c, const otter_action *a, int installed, const char *key,
                  json_t **out);

/*
 * 0 when action a does not wait for its user's consent, else 404
 * answered: its deployment is not offered before the device confirmed it
 * (otter_ddi_confirm.c).
 */
int ddi_refuse_unconfirmed(struct ddi_call *c, const otter_action *a);

/*
 * confirmationBase[/...] (otter_ddi_confirm.c): GET the auto-confirm
 * state, GET {actionId}, POST {actionId}/feedback, POST
 * activateAutoConfirm / deactivateAutoConfirm. Answers 404/405 for
 * anything else.
 */
int ddi_confirmation(struct ddi_call *c);

/*
 * Records the user's choice named in deployment feedback details (an
 * "otter.user=..." line, docs/ddi.md "User consent") on action a: 0, or
 * 400 answered when the line is malformed (nothing stored then).
 */
int ddi_user_choice_check(struct ddi_call *c, const char *details, char choice[16], int64_t *until);

/*
 * Campaign controls (otter_ddi_campaign.c, issue #15): sets dep's
 * maintenanceWindow (and update "skip" outside it) from the schedules of
 * a's rollout and the device's groups, and adds the deferral limits to
 * meta (a chunk's metadata array, may be NULL). 0 or the status answered.
 */
int ddi_campaign_apply(struct ddi_call *c, const otter_action *a, json_t *dep, json_t *meta);
/* A postponement a's rollout does not allow: answers 409 with the reason; 0 when allowed. */
int ddi_deferral_check(struct ddi_call *c, const otter_action *a, const char *choice,
                       int64_t until);

/*
 * Counts the download c answers with bytes [first, ...) of an artifact of
 * served_size bytes, when its body has gone out in full: for the tenant's
 * /metrics and rollout_id's stats (0: none); delta or the full package of
 * full_size bytes (otter_ddi_traffic.c, docs/rollouts.md "Bytes sent").
 */
/*
 * Paces the file body c answers when its rollout (0: none) or tenant has a
 * bandwidth cap (otter_ddi_bwcap.c, docs/rollouts.md "Bandwidth caps").
 */
void ddi_bwcap_attach(struct ddi_call *c, int64_t rollout_id);
void ddi_traffic_attach(struct ddi_call *c, int64_t rollout_id, int delta, uint64_t first,
                        uint64_t served_size, uint64_t full_size);

/* GET/HEAD softwaremodules/{id}/artifacts/{filename} (otter_ddi_download.c). */
int ddi_download(struct ddi_call *c);

/* GET otter/roots?from=N: the tenant's root chain (otter_ddi_roots.c, issue #13). */
int ddi_roots(struct ddi_call *c);

#endif
