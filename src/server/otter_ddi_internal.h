/* SPDX-License-Identifier: Apache-2.0 */
/* Private to otter_ddi*.c: the per-request context of the device API. */
#ifndef OTTER_DDI_INTERNAL_H
#define OTTER_DDI_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "otter_ddi.h"
#include "otter_ddi_seen.h"
#include "otter_metrics.h"

struct otter_ddi {
    otter_store *store;
    const otter_server_config *cfg;
    otter_metrics *metrics; /* borrowed, may be NULL */
    ddi_seen *seen;         /* last_seen, written in batches */
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
    char base[320];    /* scheme://host of the request, for absolute links */
};

/* Sets a JSON error body and returns status. */
int ddi_fail(struct ddi_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* GET/HEAD softwaremodules/{id}/artifacts/{filename} (otter_ddi_download.c). */
int ddi_download(struct ddi_call *c);

#endif
