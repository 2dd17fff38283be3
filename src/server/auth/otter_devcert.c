/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_devcert.h"

#include <ctype.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_encode.h"

static const char *const id_names[] = {"cn", "serial_number", "san_dns"};

const char *otter_devcert_id_from_name(otter_devcert_id_from f)
{
    return (unsigned)f < sizeof id_names / sizeof *id_names ? id_names[f] : "cn";
}

int otter_devcert_id_from_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof id_names / sizeof *id_names; i++)
        if (strcmp(name, id_names[i]) == 0)
            return (int)i;
    return -1;
}

/* Unix seconds of an ASN.1 time; 0 when absent or unreadable. */
static int64_t asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    out[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int n = BIO_read(b, out, (int)cap - 1);
        out[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
}

static void der_sha256(const unsigned char *der, int len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1)
        otter_hex_encode(md, 32, out);
}

/* Exactly one PEM certificate in pem[0..len): anything after it is refused. */
static X509 *read_one_cert(const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    X509 *more = x ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (more) {
        X509_free(more);
        X509_free(x);
        x = NULL;
    }
    BIO_free(b);
    return x;
}

int otter_devcert_ca_check(const char *pem, size_t len, int64_t now, otter_devcert_info *info,
                           otter_err *err)
{
    memset(info, 0, sizeof *info);
    if (len == 0 || len > OTTER_DEVCERT_CA_PEM_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "a CA certificate is 1 to %d bytes of PEM",
                             OTTER_DEVCERT_CA_PEM_MAX);
    X509 *x = read_one_cert(pem, len);
    if (!x)
        return otter_err_set(err, OTTER_EFORMAT,
                             "not one PEM certificate (-----BEGIN CERTIFICATE-----)");
    int ret = 0;
    uint32_t ku = X509_get_key_usage(x);
    if (X509_check_ca(x) != 1 || !(X509_get_extension_flags(x) & EXFLAG_CA))
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "not a CA certificate (basicConstraints CA:TRUE is required)");
    else if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) && !(ku & KU_KEY_CERT_SIGN))
        ret = otter_err_set(err, OTTER_EFORMAT, "its keyUsage does not allow keyCertSign");
    name_text(X509_get_subject_name(x), info->subject, sizeof info->subject);
    info->not_before = asn1_unix(X509_get0_notBefore(x));
    info->not_after = asn1_unix(X509_get0_notAfter(x));
    if (!ret && info->not_after <= now)
        ret = otter_err_set(err, OTTER_EFORMAT, "the CA certificate has expired");
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    der_sha256(der, n, info->sha256);
    OPENSSL_free(der);
    X509_free(x);
    return ret;
}

int otter_devcert_crl_check(const char *pem, size_t len, const char *const *cas, size_t n,
                            size_t *which, otter_devcert_info *info, otter_err *err)
{
    memset(info, 0, sizeof *info);
    if (len == 0 || len > OTTER_DEVCERT_CRL_PEM_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "a CRL is 1 to %u bytes of PEM",
                             OTTER_DEVCERT_CRL_PEM_MAX);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!crl)
        return otter_err_set(err, OTTER_EFORMAT, "not a PEM CRL (-----BEGIN X509 CRL-----)");
    int ret = otter_err_set(err, OTTER_ESIG,
                            "the CRL is not signed by any of this tenant's device CAs "
                            "(upload its CA first)");
    for (size_t i = 0; i < n; i++) {
        X509 *ca = read_one_cert(cas[i], strlen(cas[i]));
        EVP_PKEY *k = ca ? X509_get0_pubkey(ca) : NULL;
        int match = k && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
                    X509_CRL_verify(crl, k) == 1;
        X509_free(ca);
        if (match) {
            *which = i;
            ret = 0;
            break;
        }
    }
    name_text(X509_CRL_get_issuer(crl), info->subject, sizeof info->subject);
    info->not_before = asn1_unix(X509_CRL_get0_lastUpdate(crl));
    info->not_after = asn1_unix(X509_CRL_get0_nextUpdate(crl));
    unsigned char *der = NULL;
    int dn = i2d_X509_CRL(crl, &der);
    der_sha256(der, dn, info->sha256);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    return ret;
}

/* The controller id of x as `from` says; OTTER_ESIG when it has none that fits. */
static int controller_id(X509 *x, otter_devcert_id_from from, char *id, size_t cap, otter_err *err)
{
    const char *what = from == OTTER_DEVCERT_ID_SAN_DNS         ? "a DNS subjectAltName"
                       : from == OTTER_DEVCERT_ID_SERIAL_NUMBER ? "a subject serialNumber"
                                                                : "a subject commonName";
    char buf[OTTER_DEVCERT_ID_MAX + 2] = "";
    int n = -1;
    if (from == OTTER_DEVCERT_ID_SAN_DNS) {
        GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
            if (g->type == GEN_DNS && ASN1_STRING_length(g->d.dNSName) < (int)sizeof buf) {
                n = ASN1_STRING_length(g->d.dNSName);
                memcpy(buf, ASN1_STRING_get0_data(g->d.dNSName), (size_t)n);
                buf[n] = '\0';
                break;
            }
        }
        GENERAL_NAMES_free(names);
    } else {
        int nid = from == OTTER_DEVCERT_ID_SERIAL_NUMBER ? NID_serialNumber : NID_commonName;
        n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, sizeof buf);
    }
    if (n <= 0 || (size_t)n > OTTER_DEVCERT_ID_MAX || (size_t)n >= cap || strlen(buf) != (size_t)n)
        return otter_err_set(err, OTTER_ESIG,
                             "the client certificate has no %s usable as a controller id", what);
    memcpy(id, buf, (size_t)n + 1);
    return 0;
}

/* The reason a chain check failed, in words a device's owner can act on. */
static int chain_refusal(int code, otter_err *err)
{
    switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return otter_err_set(err, OTTER_ESIG, "the client certificate has expired");
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return otter_err_set(err, OTTER_ESIG, "the client certificate is not valid yet");
    case X509_V_ERR_INVALID_PURPOSE:
        return otter_err_set(err, OTTER_ESIG,
                             "the client certificate is not for TLS client authentication "
                             "(keyUsage / extendedKeyUsage clientAuth)");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return otter_err_set(err, OTTER_ESIG,
                             "the client certificate is not issued by a device CA of this tenant");
    default:
        return otter_err_set(err, OTTER_ESIG, "the client certificate is refused: %s",
                             X509_verify_cert_error_string(code));
    }
}

/* 1 when x (issued by issuer) is on the CRL of the anchor whose CA is issuer. */
static int revoked(X509 *x, X509 *issuer, const otter_devcert_anchor *anchors, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!anchors[i].crl_pem)
            continue;
        X509 *ca = read_one_cert(anchors[i].ca_pem, strlen(anchors[i].ca_pem));
        int same = ca && X509_cmp(ca, issuer) == 0;
        X509_free(ca);
        if (!same)
            continue;
        BIO *b = BIO_new_mem_buf(anchors[i].crl_pem, -1);
        X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        X509_REVOKED *r = NULL;
        /* Checked at upload; checked again so a row edited in the database cannot lift it. */
        int bad = !crl || X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1 ||
                  X509_CRL_get0_by_cert(crl, &r, x) == 1;
        X509_CRL_free(crl);
        if (bad)
            return 1;
    }
    return 0;
}

/* A store of the tenant's CAs; NULL when out of memory or none could be read. */
static X509_STORE *anchor_store(const otter_devcert_anchor *anchors, size_t n)
{
    X509_STORE *st = X509_STORE_new();
    size_t added = 0;
    for (size_t i = 0; st && i < n; i++) {
        X509 *ca = read_one_cert(anchors[i].ca_pem, strlen(anchors[i].ca_pem));
        if (ca && X509_STORE_add_cert(st, ca) == 1)
            added++;
        X509_free(ca);
    }
    if (st && !added) {
        X509_STORE_free(st);
        st = NULL;
    }
    return st;
}

int otter_devcert_verify(const unsigned char *der, size_t len, const otter_devcert_anchor *anchors,
                         size_t n, int64_t now, otter_devcert_id_from from, char *id, size_t cap,
                         char *subject, size_t subject_cap, otter_err *err)
{
    int ret;
    const unsigned char *p = der;
    X509 *x = len && len <= OTTER_DEVCERT_LEAF_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
    X509_STORE *st = NULL;
    X509_STORE_CTX *ctx = NULL;
    if (subject_cap)
        subject[0] = '\0';
    if (!x || p != der + len) {
        ret = otter_err_set(err, OTTER_EFORMAT, "the client certificate is not one X.509 DER");
        goto out;
    }
    name_text(X509_get_subject_name(x), subject, subject_cap);
    if (!n || !(st = anchor_store(anchors, n))) {
        ret = otter_err_set(err, OTTER_ESIG, "this tenant has no device CA");
        goto out;
    }
    ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, st, x, NULL) != 1) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    /* An anchor may be an intermediate: the carrier's device-issuing CA, not its root. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
    if (X509_verify_cert(ctx) != 1) {
        ret = chain_refusal(X509_STORE_CTX_get_error(ctx), err);
        goto out;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    X509 *issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
    if (!issuer || revoked(x, issuer, anchors, n)) {
        ret = otter_err_set(err, OTTER_ESIG, "the client certificate is revoked");
        goto out;
    }
    ret = controller_id(x, from, id, cap, err);
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(x);
    return ret;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

int otter_devcert_from_header(const char *value, unsigned char **der, size_t *len, otter_err *err)
{
    *der = NULL;
    *len = 0;
    size_t n = strlen(value);
    if (n == 0 || n > 3 * OTTER_DEVCERT_CA_PEM_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "the certificate header is empty or too long");
    char *pem = malloc(n + 2);
    if (!pem)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    /* URL-decoded; a proxy that folds the PEM's newlines into spaces gets them back. */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (value[i] == '%' && (hi = hexval((unsigned char)value[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)value[i + 2])) >= 0) {
            pem[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            pem[o++] = value[i];
        }
    }
    pem[o] = '\0';
    char *s = strstr(pem, "-----BEGIN CERTIFICATE-----");
    char *end = s ? strstr(s + 27, "-----END CERTIFICATE-----") : NULL;
    for (s = s ? s + 27 : NULL; end && s < end; s++)
        if (*s == ' ' || *s == '\t')
            *s = '\n';
    int ret = 0;
    X509 *x = read_one_cert(pem, o);
    unsigned char *d = NULL;
    int dn = x ? i2d_X509(x, &d) : -1;
    if (dn <= 0) {
        ret =
            otter_err_set(err, OTTER_EFORMAT, "the certificate header is not one PEM certificate");
    } else if (!(*der = malloc((size_t)dn))) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
    } else {
        memcpy(*der, d, (size_t)dn);
        *len = (size_t)dn;
    }
    OPENSSL_free(d);
    X509_free(x);
    free(pem);
    return ret;
}
