/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_tpm_key.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "otter_file.h"
#include "otter_tpm_signer.h"

#define TSS2_PEM "-----BEGIN TSS2 PRIVATE KEY-----"
#define MAX_PEM (64 * 1024)

/* OpenSSL's last error as text, after what failed. */
static int ssl_fail(otter_err *err, int code, const char *what, const char *name)
{
    char detail[256] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return otter_err_set(err, code, "%s: %s%s%s", name, what, detail[0] ? ": " : "", detail);
}

int otter_tpm_key_is_tpm(const char *key)
{
    if (!key || !key[0])
        return 0;
    if (strncmp(key, "handle:", 7) == 0)
        return 1;
    char head[sizeof TSS2_PEM] = "";
    FILE *f = fopen(key, "r");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = '\0';
    return strcmp(head, TSS2_PEM) == 0;
}

/* The providers' own library context: the TPM is reached only through keys loaded
 * here, never through a fetch of the process's default context (libssl's, libcurl's,
 * otter's verification): why in otter_tpm_signer.h. */
static OSSL_LIB_CTX *tpm_ctx;
static OSSL_PROVIDER *tpm2_prov, *default_prov;

/* At exit: the provider's teardown closes its TPM connection (and frees it). */
static void unload_providers(void)
{
    if (tpm2_prov)
        OSSL_PROVIDER_unload(tpm2_prov);
    if (default_prov)
        OSSL_PROVIDER_unload(default_prov);
    OSSL_LIB_CTX_free(tpm_ctx);
    tpm2_prov = default_prov = NULL;
    tpm_ctx = NULL;
}

int otter_tpm_key_init(const char *tcti, otter_err *err)
{
    static int loaded, registered;
    if (loaded)
        return 0;
    if (tcti && tcti[0])
        setenv("TPM2OPENSSL_TCTI", tcti, 0);
    /* OpenSSL's own exit handler must run after this one (atexit: reverse order): a
     * full initialisation registers it now unless it is already (a base-only one, as
     * by OSSL_LIB_CTX_new, does not; opts 0 returns at once). */
    if (!registered)
        registered = OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) &&
                     !atexit(unload_providers);
    unload_providers(); /* what a failed earlier call left */
    if (!(tpm_ctx = OSSL_LIB_CTX_new()))
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    /* In this context, prefer tpm2 for signatures only: OpenSSL 3.0 fetches a signature
     * by name and property query before it looks at the key's provider, and the default
     * ECDSA cannot use a key that never leaves the TPM (a CSR's signature). Digests stay
     * in the default provider: in the TPM they would take its few object slots. */
    if (!(default_prov = OSSL_PROVIDER_load(tpm_ctx, "default")))
        return ssl_fail(err, OTTER_EIO, "cannot load the OpenSSL provider", "default");
    if (!(tpm2_prov = OSSL_PROVIDER_load(tpm_ctx, "tpm2")))
        return ssl_fail(err, OTTER_EIO,
                        "cannot load the OpenSSL provider (apt-get install tpm2-openssl)", "tpm2");
    if (!EVP_set_default_properties(tpm_ctx, "?tpm2.signature"))
        return ssl_fail(err, OTTER_EIO, "cannot prefer the provider", "tpm2");
    loaded = 1;
    return 0;
}

/* The private key named key: a TPM blob or handle (through the provider's store
 * and decoders), or a PEM file. Caller frees *out. */
static int load_key(const char *key, EVP_PKEY **out, otter_err *err)
{
    *out = NULL;
    int tpm = otter_tpm_key_is_tpm(key);
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(key, tpm ? tpm_ctx : NULL, tpm ? "?provider=tpm2" : NULL,
                                           NULL, NULL, NULL, NULL, NULL);
    if (!s)
        return ssl_fail(err, OTTER_EIO, "cannot open the key", key);
    while (!*out && !OSSL_STORE_eof(s)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(s);
        if (info && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            *out = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (!info)
            break;
    }
    OSSL_STORE_close(s);
    if (!*out)
        return ssl_fail(err, OTTER_EFORMAT, "no private key there", key);
    ERR_clear_error(); /* the store's tries with other decoders */
    return 0;
}

/* The key in PEM: a TSS2 blob from the TPM's encoder, or PKCS#8. */
static int key_pem(EVP_PKEY *pk, int tpm, char **pem, size_t *len, otter_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    int ok = b && PEM_write_bio_PrivateKey_ex(b, pk, NULL, NULL, 0, NULL, NULL,
                                              tpm ? tpm_ctx : NULL, tpm ? "?provider=tpm2" : NULL);
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (ok && n > 0 && (*pem = malloc((size_t)n)) != NULL)
        memcpy(*pem, data, (size_t)n);
    BIO_free(b);
    if (!ok || n <= 0)
        return ssl_fail(err, OTTER_EIO, "cannot encode the new key", tpm ? "tpm2" : "default");
    if (!*pem)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    *len = (size_t)n;
    return 0;
}

int otter_tpm_key_create(const char *path, int tpm, otter_err *err)
{
    if (access(path, F_OK) == 0 || errno != ENOENT)
        return otter_err_set(err, OTTER_ESTATE,
                             "%s: exists already: a device key is not replaced"
                             " (remove it first to make a new identity)",
                             path);
    EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(tpm ? tpm_ctx : NULL, "EC", tpm ? "provider=tpm2" : NULL);
    EVP_PKEY *pk = NULL;
    char *pem = NULL;
    size_t len = 0;
    int ret = 0;
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_group_name(ctx, "P-256") <= 0 ||
        EVP_PKEY_generate(ctx, &pk) <= 0)
        ret = ssl_fail(err, OTTER_EIO, "cannot generate an ECDSA P-256 key",
                       tpm ? "TPM" : "software");
    if (!ret)
        ret = key_pem(pk, tpm, &pem, &len, err);
    if (!ret)
        ret = otter_file_write_atomic(path, pem, len, 0600, err);
    if (pem)
        OPENSSL_cleanse(pem, len); /* a software key's private bytes */
    free(pem);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

static int req_pem(X509_REQ *req, char **pem, otter_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = b && PEM_write_bio_X509_REQ(b, req) ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0 && (*pem = malloc((size_t)n + 1)) != NULL) {
        memcpy(*pem, data, (size_t)n);
        (*pem)[n] = '\0';
    }
    BIO_free(b);
    if (n <= 0)
        return ssl_fail(err, OTTER_EIO, "cannot write the request", "CSR");
    return *pem ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
}

int otter_tpm_key_csr(const char *key, const char *cn, char **pem, otter_err *err)
{
    *pem = NULL;
    EVP_PKEY *pk = NULL;
    int ret = load_key(key, &pk, err);
    if (ret)
        return ret;
    /* The request in the key's context: its signature is fetched there (the TPM's). */
    X509_REQ *req = X509_REQ_new_ex(otter_tpm_key_is_tpm(key) ? tpm_ctx : NULL, NULL);
    X509_NAME *name = req ? X509_REQ_get_subject_name(req) : NULL;
    if (!req || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_REQ_set_pubkey(req, pk))
        ret = ssl_fail(err, OTTER_EFORMAT, "cannot build the request", cn);
    else if (X509_REQ_sign(req, pk, EVP_sha256()) <= 0)
        ret = ssl_fail(err, OTTER_EIO, "cannot sign the request with the key", key);
    if (!ret)
        ret = req_pem(req, pem, err);
    X509_REQ_free(req);
    EVP_PKEY_free(pk);
    return ret;
}

static int load_cert(const char *cert, X509 **out, otter_err *err)
{
    FILE *f = fopen(cert, "r");
    if (!f)
        return otter_err_set(err, OTTER_EIO, "%s: cannot open: %s", cert, strerror(errno));
    *out = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return *out ? 0 : ssl_fail(err, OTTER_EFORMAT, "not a PEM certificate", cert);
}

int otter_tpm_key_match(const char *cert, const char *key, otter_err *err)
{
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    int ret = load_cert(cert, &x, err);
    if (!ret)
        ret = load_key(key, &pk, err);
    if (!ret && EVP_PKEY_eq(X509_get0_pubkey(x), pk) != 1)
        ret = otter_err_set(err, OTTER_ESIG, "%s: the certificate is for another key than %s", cert,
                            key);
    ERR_clear_error();
    EVP_PKEY_free(pk);
    X509_free(x);
    return ret;
}

int otter_tpm_key_use(void *ssl_ctx, const char *cert, const char *key, otter_err *err)
{
    SSL_CTX *ctx = ssl_ctx;
    EVP_PKEY *pk = NULL, *signer = NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return ssl_fail(err, OTTER_EIO, "cannot use the client certificate", cert);
    const EVP_PKEY *pub = X509_get0_pubkey(SSL_CTX_get0_certificate(ctx));
    int ret = load_key(key, &pk, err);
    if (!ret && (!pub || EVP_PKEY_eq(pub, pk) != 1))
        ret = otter_err_set(err, OTTER_ESIG, "%s: the client certificate is not for this key: %s",
                            cert, key);
    ERR_clear_error();
    /* libssl signs with a software key whose ECDSA is the TPM's (otter_tpm_signer.h). */
    if (!ret)
        ret = otter_tpm_signer_new(pub, pk, tpm_ctx, &signer, err);
    if (!ret && SSL_CTX_use_PrivateKey(ctx, signer) != 1)
        ret = ssl_fail(err, OTTER_ESIG, "the client certificate is not for this key", key);
    EVP_PKEY_free(signer);
    EVP_PKEY_free(pk);
    return ret;
}
