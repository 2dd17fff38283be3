/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_tpm_crypt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "otter_digest.h"
#include "otter_tpm.h"

typedef struct tpm_crypt_key {
    char *tcti;
    uint32_t handle;
} tpm_crypt_key;

int otter_tpm_parse_handle(const char *what, const char *key, uint32_t *h, otter_err *err)
{
    char *end = NULL;
    unsigned long v = strncmp(key, "handle:0x", 9) == 0 ? strtoul(key + 7, &end, 16) : 0;
    if (!end || *end || v < 0x81000000ul || v > 0x817ffffful)
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s '%s': want handle:0x81000000-0x817fffff (owner persistent range)",
                             what, key);
    *h = (uint32_t)v;
    return 0;
}

static int tpm_unwrap(void *ctx, const otter_crypt_recipient *rc, uint8_t key[OTTER_CRYPT_KEY_LEN],
                      otter_err *err)
{
    tpm_crypt_key *tk = ctx;
    if (rc->alg != OTTER_WRAP_RSA_OAEP)
        return otter_err_set(err, OTTER_ESIG,
                             "wrapped with %s: a TPM key opens rsa-oaep-sha256 only (TPM 2.0 "
                             "has no X25519)",
                             otter_wrap_alg_name(rc->alg));
    uint8_t out[OTTER_CRYPT_RSA_WRAPPED_MAX];
    size_t n = sizeof out;
    otter_tpm *t = NULL;
    int ret = otter_tpm_open(tk->tcti, &t, err);
    if (!ret)
        ret = otter_tpm_rsa_oaep_decrypt(t, tk->handle, rc->wrapped, rc->wrapped_len, out, &n, err);
    otter_tpm_free(t);
    if (!ret && n != OTTER_CRYPT_KEY_LEN)
        ret = otter_err_set(err, OTTER_ESIG, "the unwrapped content key has %zu bytes", n);
    if (!ret)
        memcpy(key, out, OTTER_CRYPT_KEY_LEN);
    OPENSSL_cleanse(out, sizeof out);
    return ret;
}

static void tpm_free(void *ctx)
{
    tpm_crypt_key *tk = ctx;
    free(tk->tcti);
    free(tk);
}

static const otter_crypt_key_ops tpm_ops = {tpm_unwrap, tpm_free};

/* An OpenSSL public key from the modulus and exponent the TPM reports. */
static EVP_PKEY *rsa_from(const uint8_t *n, size_t n_len, uint32_t e)
{
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_new();
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *p = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    if (bn && be && b && c && BN_set_word(be, e) && OSSL_PARAM_BLD_push_BN(b, "n", bn) &&
        OSSL_PARAM_BLD_push_BN(b, "e", be) && (p = OSSL_PARAM_BLD_to_param(b)) != NULL &&
        EVP_PKEY_fromdata_init(c) == 1)
        EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, p);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(c);
    BN_free(bn);
    BN_free(be);
    return pk;
}

/* The key's public half from the TPM, as an OpenSSL key of 3072..8192 bits. */
static int load_public(const char *tcti, const char *key, uint32_t *h, EVP_PKEY **out,
                       otter_err *err)
{
    uint8_t n[1024];
    size_t n_len = sizeof n;
    uint32_t e = 0;
    otter_tpm *t = NULL;
    int ret = otter_tpm_parse_handle("[crypt] key", key, h, err);
    if (!ret)
        ret = otter_tpm_open(tcti, &t, err);
    if (!ret)
        ret = otter_tpm_rsa_public(t, *h, n, &n_len, &e, err);
    otter_tpm_free(t);
    if (ret)
        return ret;
    if (n_len < 384)
        return otter_err_set(err, OTTER_EUSAGE, "%s: RSA of %zu bits: want 3072..8192", key,
                             n_len * 8);
    if (!(*out = rsa_from(n, n_len, e))) {
        ERR_clear_error();
        return otter_err_set(err, OTTER_EFORMAT, "%s: the TPM's public key is unusable", key);
    }
    return 0;
}

int otter_tpm_crypt_key_load(const char *tcti, const char *key, otter_crypt_key **out,
                             otter_err *err)
{
    *out = NULL;
    EVP_PKEY *pk = NULL;
    unsigned char *der = NULL;
    char id[OTTER_SHA256_HEX_LEN + 1];
    uint32_t h = 0;
    int ret = load_public(tcti, key, &h, &pk, err);
    int n = ret ? 0 : i2d_PUBKEY(pk, &der);
    if (!ret && n <= 0)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: cannot encode the public key", key);
    if (!ret)
        otter_sha256_hex(der, (size_t)n, id); /* the key id the release side computes */
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    if (ret)
        return ret;
    tpm_crypt_key *tk = calloc(1, sizeof *tk);
    if (tk && (tk->tcti = strdup(tcti ? tcti : "")) != NULL) {
        tk->handle = h;
        *out = otter_crypt_key_new(&tpm_ops, tk, id);
    }
    if (!*out) {
        if (tk)
            free(tk->tcti);
        free(tk);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    return 0;
}

int otter_tpm_crypt_key_public(const char *tcti, const char *key, char **pem, otter_err *err)
{
    *pem = NULL;
    EVP_PKEY *pk = NULL;
    uint32_t h = 0;
    int ret = load_public(tcti, key, &h, &pk, err);
    if (ret)
        return ret;
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = b && PEM_write_bio_PUBKEY(b, pk) ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0 && (*pem = malloc((size_t)n + 1)) != NULL) {
        memcpy(*pem, data, (size_t)n);
        (*pem)[n] = '\0';
    }
    BIO_free(b);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    if (n <= 0)
        return otter_err_set(err, OTTER_EIO, "%s: cannot write the public key", key);
    return *pem ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
}
