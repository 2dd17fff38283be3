/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device API: hawkBit DDI v1 under /{tenant}/controller/v1/{controllerId}
 * (see docs/ddi.md): base poll, deploymentBase, feedback, configData,
 * cancelAction, installedBase and artifact download with HTTP Range.
 * Devices authenticate with "Authorization: TargetToken T" (per device,
 * compared by SHA-256) or "GatewayToken T" (per tenant). Transport-agnostic
 * like otter_api: otter_ddi_handle() has the shape of an otter_http_handler.
 */
#ifndef OTTER_DDI_H
#define OTTER_DDI_H

#include "otter_err.h"
#include "otter_http.h"
#include "otter_server_config.h"
#include "otter_store.h"

typedef struct otter_ddi otter_ddi;

/* A DDI handler over store and cfg (borrowed; they must outlive it). Caller frees. */
int otter_ddi_new(otter_store *store, const otter_server_config *cfg, otter_ddi **out,
                  otter_err *err);
void otter_ddi_free(otter_ddi *ddi);

struct otter_metrics;
/* Counts accepted feedback into metrics (borrowed, may be NULL; must outlive ddi). */
void otter_ddi_set_metrics(otter_ddi *ddi, struct otter_metrics *metrics);
struct otter_bwcap;
/* Paces downloads by the bandwidth caps (borrowed, may be NULL; must outlive ddi). */
void otter_ddi_set_bwcap(otter_ddi *ddi, struct otter_bwcap *bwcap);

struct otter_cdn;
/* s10-cdn: artifact links signed for the [cdn] origin (borrowed, may be NULL; must outlive ddi). */
void otter_ddi_set_cdn(otter_ddi *ddi, struct otter_cdn *cdn);
/* Push wake-ups for stages a device's feedback advances (otter_publish.h, borrowed). */
struct otter_publish;
void otter_ddi_set_publish(otter_ddi *ddi, struct otter_publish *publish);

/* True when path is a DDI path: /{tenant}/controller/v1/... */
int otter_ddi_match(const char *path);

/* Handles one request; ctx is the otter_ddi. Thread-safe. */
void otter_ddi_handle(void *ctx, const otter_http_request *req, otter_http_response *resp);

/* "HH:MM:SS" of seconds (capped at 99:59:59) into out (>= 9 bytes). */
void otter_ddi_sleep_text(uint64_t seconds, char *out, size_t cap);

#endif
