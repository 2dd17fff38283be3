/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device certificates (issue #13): the X.509 side of DDI authentication by
 * client certificate, over OpenSSL. A tenant uploads its device CAs (PEM)
 * and a CRL per CA; a device's certificate (DER, from the TLS session or a
 * trusted proxy's header) is accepted when it chains to one of them, is
 * within its validity, is fit for TLS client authentication (key usage /
 * extended key usage) and is not on its issuer's CRL. The controller id
 * comes from a subject field or the SAN. Nothing here touches the store or
 * HTTP; messages are fit for a 401 body (they name no other tenant).
 */
#ifndef OTTER_DEVCERT_H
#define OTTER_DEVCERT_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_DEVCERT_CA_PEM_MAX (16 * 1024) /* bytes of one uploaded CA certificate */
#define OTTER_DEVCERT_CRL_PEM_MAX (1u << 20) /* bytes of one uploaded CRL */
#define OTTER_DEVCERT_CAS_MAX 16             /* device CAs per tenant */
#define OTTER_DEVCERT_LEAF_MAX (16 * 1024)   /* bytes of a presented certificate (DER) */
#define OTTER_DEVCERT_SUBJECT_MAX 256
#define OTTER_DEVCERT_ID_MAX 64

/* Where the controller id is read from (the tenant's "controller_id_from"). */
typedef enum otter_devcert_id_from {
    OTTER_DEVCERT_ID_CN = 0,        /* "cn": subject commonName */
    OTTER_DEVCERT_ID_SERIAL_NUMBER, /* "serial_number": subject serialNumber */
    OTTER_DEVCERT_ID_SAN_DNS,       /* "san_dns": the first DNS name of subjectAltName */
} otter_devcert_id_from;

/* The name of f ("cn", ...), and back (-1 for an unknown name). */
const char *otter_devcert_id_from_name(otter_devcert_id_from f);
int otter_devcert_id_from_parse(const char *name);

/* What the API shows of an uploaded CA or CRL. */
typedef struct otter_devcert_info {
    char subject[OTTER_DEVCERT_SUBJECT_MAX]; /* RFC 2253 text (a CRL: its issuer), cut to fit */
    char sha256[65];                         /* hex SHA-256 of the DER */
    int64_t not_before, not_after;           /* a CRL: thisUpdate, nextUpdate (0: none) */
} otter_devcert_info;

/*
 * Checks that pem[0..len) is exactly one PEM certificate of a CA
 * (basicConstraints CA:TRUE; keyCertSign when keyUsage is present), not
 * expired at now, and fills *info. OTTER_EFORMAT with the reason otherwise.
 */
int otter_devcert_ca_check(const char *pem, size_t len, int64_t now, otter_devcert_info *info,
                           otter_err *err);

/*
 * Checks that pem[0..len) is one PEM CRL signed by one of the n CA
 * certificates cas[] (PEM); *which = its index, *info its issuer and
 * dates. OTTER_EFORMAT (not a CRL) or OTTER_ESIG (issued by none of them).
 */
int otter_devcert_crl_check(const char *pem, size_t len, const char *const *cas, size_t n,
                            size_t *which, otter_devcert_info *info, otter_err *err);

/* One trust anchor of a tenant: a CA certificate and its CRL, both PEM (crl may be NULL). */
typedef struct otter_devcert_anchor {
    const char *ca_pem;
    const char *crl_pem;
} otter_devcert_anchor;

/*
 * Verifies the device certificate der[0..len) against the tenant's
 * anchors at time now: chain (an anchor may be an intermediate: partial
 * chains are allowed), validity, purpose TLS client, and the CRL of the
 * CA that issued it. On success writes the controller id (NUL-terminated,
 * at most OTTER_DEVCERT_ID_MAX bytes) into id[cap] and its subject into
 * subject[subject_cap] (for logs). OTTER_ESIG with the reason when the
 * certificate is refused, OTTER_EFORMAT when it is not one.
 */
int otter_devcert_verify(const unsigned char *der, size_t len, const otter_devcert_anchor *anchors,
                         size_t n, int64_t now, otter_devcert_id_from from, char *id, size_t cap,
                         char *subject, size_t subject_cap, otter_err *err);

/*
 * The certificate a TLS-terminating proxy passed in a header (nginx's
 * $ssl_client_escaped_cert: URL-encoded PEM; plain PEM with its newlines
 * as spaces or tabs is taken too) as new DER in *der (caller frees).
 * OTTER_EFORMAT when it is not one certificate.
 */
int otter_devcert_from_header(const char *value, unsigned char **der, size_t *len, otter_err *err);

#endif
