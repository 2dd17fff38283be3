/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON requests to a hawkBit DDI server from the device: one connection
 * description (base URL, tenant, controller id, TargetToken, CA, pins) and a
 * bounded GET. Replies larger than OTTER_DDI_MAX_BODY are refused.
 */
#ifndef OTTER_DDI_HTTP_H
#define OTTER_DDI_HTTP_H

#include <stddef.h>

#include "otter_ddi.h"
#include "otter_err.h"

/* "Authorization: GatewayToken " and a token as long as agent.conf allows (1024). */
#define OTTER_DDI_MAX_AUTH 1100

typedef struct otter_ddi_conn {
    const char *url; /* https://server:port (no trailing slash) */
    const char *tenant;
    const char *controller;    /* controller id */
    const char *token;         /* TargetToken (the device's own), or NULL/"" */
    const char *gateway_token; /* GatewayToken (the tenant's), or NULL/"": used when set */
    const char *ca_file;       /* NULL or "": the system store */
    const char *pin;           /* NULL or "": no pinning */
    const char *cert;          /* NULL or "": no client certificate (PEM) */
    const char *key;           /* its key (PEM), TPM key blob or handle (otter_tls_client.h) */
    const char *tcti;          /* the TPM's TCTI for a TPM key; NULL or "": default */
    const char *proxy;         /* NULL or "": no proxy (libcurl's proxy string otherwise) */
    long timeout;              /* seconds for one request; 0: 30 */
} otter_ddi_conn;

/* The controller's base URL: URL/TENANT/controller/v1/CONTROLLER. */
int otter_ddi_base_url(const otter_ddi_conn *c, char *out, size_t size, otter_err *err);

/*
 * The Authorization header line for c into out: "Authorization:
 * GatewayToken T" when c has a gateway token, else "Authorization:
 * TargetToken T"; "" when c has neither. The same line goes to the server
 * with every DDI request and to otter-fetch for the artifact download.
 * OTTER_EUSAGE when it does not fit in size.
 */
int otter_ddi_auth_header(const otter_ddi_conn *c, char *out, size_t size, otter_err *err);

/*
 * GETs url (absolute) with the token; on 200 *body is a new
 * NUL-terminated buffer (caller frees). OTTER_ESIG for TLS/pin failures,
 * OTTER_EIO otherwise (the HTTP status in the message).
 */
int otter_ddi_get(const otter_ddi_conn *c, const char *url, char **body, size_t *len,
                  otter_err *err);

/*
 * Sends json with method ("POST", "PUT") to url. *status gets the HTTP status
 * (0 when no answer came); returns 0 for any answer, OTTER_ESIG / OTTER_EIO
 * when none came. The reply body is discarded.
 */
int otter_ddi_send(const otter_ddi_conn *c, const char *method, const char *url, const char *json,
                   long *status, otter_err *err);

#endif
