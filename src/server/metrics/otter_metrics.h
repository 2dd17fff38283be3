/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's Prometheus metrics (GET /metrics, text exposition format
 * 0.0.4): request counts and a latency histogram per route family, DDI
 * polls, downloads and their bytes, feedback by result and by execution,
 * management API answers by status class, open connections, the process
 * start time and the standard process_* series (CPU, memory, descriptors,
 * read from /proc at each scrape). Every counter is a C11 atomic updated with relaxed order, so
 * recording takes no lock and the poll path never waits on a scrape; a
 * scrape reads each counter once (a histogram read during updates may be a
 * few requests behind in some buckets, never torn).
 */
#ifndef OTTER_METRICS_H
#define OTTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_http.h"

typedef struct otter_metrics otter_metrics;

/* Route families: the label "route" of the request metrics. */
typedef enum otter_metrics_route {
    OTTER_ROUTE_DDI_POLL,     /* GET /{t}/controller/v1/{cid} */
    OTTER_ROUTE_DDI_DOWNLOAD, /* .../softwaremodules/{id}/artifacts/{file} */
    OTTER_ROUTE_DDI_FEEDBACK, /* .../deploymentBase|cancelAction/{id}/feedback */
    OTTER_ROUTE_DDI_OTHER,    /* deploymentBase, installedBase, cancelAction, configData */
    OTTER_ROUTE_API,          /* /api/... */
    OTTER_ROUTE_METRICS,      /* /metrics */
    OTTER_ROUTE_WEB,          /* everything else: the dashboard */
    OTTER_ROUTE_COUNT
} otter_metrics_route;

/* The family of a request path (percent-decoded, no query); is_ddi: otter_ddi_match(path),
 * which the caller knows (metrics knows no protocol). */
otter_metrics_route otter_metrics_route_of(const char *path, int is_ddi);

/* The label text of a route family ("ddi_poll", ...). */
const char *otter_metrics_route_name(otter_metrics_route r);

/*
 * A zeroed metrics set; start_time (unix seconds) is reported as
 * otter_process_start_time_seconds. token (may be NULL, copied) is the
 * bearer token a scrape must present. Caller frees with otter_metrics_free().
 * OTTER_ENOMEM.
 */
int otter_metrics_new(int64_t start_time, const char *token, otter_metrics **out, otter_err *err);
void otter_metrics_free(otter_metrics *m);

/*
 * Records one finished request: route (an otter_metrics_route), HTTP status
 * (0: no answer was sent; then only nothing is recorded), whether the
 * response went out in full, its body bytes, and nanoseconds from its
 * headers to its end. Lock-free; m may be NULL.
 */
void otter_metrics_request(otter_metrics *m, int route, int status, int completed, int head,
                           uint64_t body_bytes, uint64_t nanos);

/* A connection opened (+1) or closed (-1). Lock-free; m may be NULL. */
void otter_metrics_connection(otter_metrics *m, int delta);

/*
 * One accepted DDI feedback message: execution and finished as the device
 * sent them (docs/ddi.md lists the values; others are counted as "other").
 * Lock-free; m may be NULL.
 */
void otter_metrics_feedback(otter_metrics *m, const char *execution, const char *finished);

/*
 * One artifact download of tenant sent in full (issue #12): delta or the
 * full package, its body bytes and what the full package would have cost
 * for it (otter_metrics_traffic.h). m may be NULL.
 */
void otter_metrics_artifact(otter_metrics *m, const char *tenant, int delta, uint64_t bytes,
                            uint64_t full_equivalent);

/*
 * Series of a part the metrics do not link (bandwidth caps: otter_bwcap_render;
 * push: otter_publish_render): at each scrape render(ctx, put, put_ctx)
 * appends its text with put. Up to OTTER_METRICS_EXTRA_MAX, added before the
 * listeners start; -1 when full.
 */
#define OTTER_METRICS_EXTRA_MAX 4
int otter_metrics_set_extra(otter_metrics *m,
                            void (*render)(void *ctx,
                                           void (*put)(void *put_ctx, const char *fmt, ...),
                                           void *put_ctx),
                            void *ctx);

/* One base poll the poll cache could answer: it did (hit) or not. Lock-free; m may be NULL. */
void otter_metrics_poll_cache(otter_metrics *m, int hit);

/*
 * Writes the exposition text into a new NUL-terminated buffer (*out, caller
 * frees; *len its length). OTTER_ENOMEM.
 */
int otter_metrics_render(const otter_metrics *m, char **out, size_t *len, otter_err *err);

/*
 * GET /metrics: 200 with the text, 401 when a token is configured and the
 * request lacks "Authorization: Bearer <token>", 405 for other methods.
 * Has the shape of an otter_http_handler (ctx is the otter_metrics).
 */
void otter_metrics_handle(void *ctx, const otter_http_request *req, otter_http_response *resp);

#endif
