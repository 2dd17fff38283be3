/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The management API (/api/v1): routing, bearer-token authentication,
 * role checks from one route table, tenant isolation, audit of every
 * write. It is transport-agnostic: otter_api_handle() has the shape of an
 * otter_http_handler.
 */
#ifndef OTTER_API_H
#define OTTER_API_H

#include <stdint.h>

#include "otter_err.h"
#include "otter_http.h"
#include "otter_server_config.h"
#include "otter_store.h"

typedef struct otter_api otter_api;

/*
 * Makes an API over store and cfg (both borrowed; they must outlive the
 * API). Caller frees with otter_api_free().
 */
int otter_api_new(otter_store *store, const otter_server_config *cfg, otter_api **out,
                  otter_err *err);
void otter_api_free(otter_api *api);

/* Push wake-ups (otter_publish.h, borrowed; NULL: push off). Set before serving. */
struct otter_publish;
void otter_api_set_publish(otter_api *api, struct otter_publish *publish);

/* Handles one request; ctx is the otter_api. Thread-safe. */
void otter_api_handle(void *ctx, const otter_http_request *req, otter_http_response *resp);

/*
 * The otter_http_upload hooks of the API: release uploads (POST
 * .../releases) stream into a temporary artifact file once the caller is
 * authenticated and allowed; other requests are not streamed.
 */
int otter_api_upload_open(void *ctx, const otter_http_request *req, void **sink, uint64_t *limit);

/*
 * 1 when req is one of the API's password checks (login, password change):
 * a yescrypt verification, tens of milliseconds of CPU (otter_http's slow lane).
 */
int otter_api_slow(const otter_http_request *req);
int otter_api_upload_write(void *sink, const void *data, size_t len);
void otter_api_upload_close(void *sink);

/* One row of the route table, for documentation and tests. */
typedef struct otter_api_route_info {
    const char *method;
    const char *pattern; /* "/api/v1/tenants/{tenant}/users/{user}" */
    const char *access;  /* "public", "user", "tenant" or "global-admin" */
    unsigned roles;      /* "tenant": otter_role mask admitted (tenant admins always are) */
    int has_body;        /* takes a JSON request body */
} otter_api_route_info;

/* Number of routes; otter_api_route(i) for i < count describes route i. */
size_t otter_api_route_count(void);
otter_api_route_info otter_api_route(size_t i);

struct otter_bwcap;
/* Shows and sets bandwidth caps on bwcap (borrowed, may be NULL; must outlive api). */
void otter_api_set_bwcap(otter_api *api, struct otter_bwcap *bwcap);

/*
 * The rollout history sampler (issue #15, otter_api_history.c): a thread that
 * looks at the counts of running rollouts every
 * OTTER_API_HISTORY_SECONDS and stores them when they changed. Stop it before
 * otter_api_free().
 */
#define OTTER_API_HISTORY_SECONDS 5
int otter_api_history_start(otter_api *api, otter_err *err);
void otter_api_history_stop(otter_api *api);

#endif
