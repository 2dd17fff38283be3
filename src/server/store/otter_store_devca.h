/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Part of otter_store.h (included at its end): a tenant's device CAs, their
 * CRLs and its DDI authentication mode (issue #13, docs/ddi.md
 * "Authentication"); the queries are in sql/sql_devca.c. Kept apart so
 * otter_store.h stays within the size limit.
 */
#ifndef OTTER_STORE_DEVCA_H
#define OTTER_STORE_DEVCA_H

#include <stdint.h>

#include "otter_err.h"

typedef struct otter_store otter_store;

/* How a tenant's devices authenticate to DDI (docs/ddi.md "Authentication"). */
typedef enum otter_ddi_auth_mode {
    OTTER_DDI_AUTH_TOKEN = 0,        /* "token": TargetToken or GatewayToken */
    OTTER_DDI_AUTH_CERTIFICATE,      /* "certificate": a client certificate of a device CA */
    OTTER_DDI_AUTH_CERTIFICATE_TOKEN /* "certificate+token": both */
} otter_ddi_auth_mode;

typedef struct otter_ddi_auth {
    otter_ddi_auth_mode mode;
    int id_from; /* otter_devcert_id_from: where the controller id is in the certificate */
} otter_ddi_auth;

/* A device CA of a tenant, with its CRL (text borrowed for the callback only). */
typedef struct otter_device_ca {
    int64_t id;
    int64_t tenant_id;
    const char *subject;
    const char *sha256; /* of the certificate's DER */
    int64_t not_after;
    const char *pem;
    int64_t created_at;
    const char *crl_pem; /* NULL: no CRL uploaded */
    const char *crl_sha256;
    int64_t crl_this_update, crl_next_update, crl_uploaded_at;
} otter_device_ca;
typedef int (*otter_store_device_ca_cb)(void *ctx, const otter_device_ca *ca);

/* The tenant's mode; a tenant that never set one is token / cn. */
int otter_store_ddi_auth_get(otter_store *s, int64_t tenant_id, otter_ddi_auth *out,
                             otter_err *err);
/* Sets it (a change to any device: cached polls of the tenant must authenticate again). */
int otter_store_ddi_auth_set(otter_store *s, int64_t tenant_id, const otter_ddi_auth *a,
                             otter_err *err);
/*
 * Adds a CA (subject, sha256, not_after, pem of ca); OTTER_ESTATE when the
 * tenant has it already. *id: the new row.
 */
int otter_store_device_ca_add(otter_store *s, int64_t tenant_id, const otter_device_ca *ca,
                              int64_t now, int64_t *id, otter_err *err);
/* The tenant's CAs in id order (ca_id 0), or the one ca_id. */
int otter_store_device_ca_list(otter_store *s, int64_t tenant_id, int64_t ca_id,
                               otter_store_device_ca_cb cb, void *ctx, otter_err *err);
/* Deletes a CA and its CRL; *found = 0 when the tenant has no such CA. */
int otter_store_device_ca_delete(otter_store *s, int64_t tenant_id, int64_t id, int *found,
                                 otter_err *err);
/* Sets (replaces) the CRL of CA id (crl_* fields of crl); *found as for delete. */
int otter_store_device_ca_set_crl(otter_store *s, int64_t tenant_id, int64_t id,
                                  const otter_device_ca *crl, int64_t now, int *found,
                                  otter_err *err);

#endif
