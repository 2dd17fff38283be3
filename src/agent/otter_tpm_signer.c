/* SPDX-License-Identifier: Apache-2.0 */
/* EC_KEY_METHOD is deprecated in OpenSSL 3.0; why it is used: otter_tpm_signer.h. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "otter_tpm_signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

/* What the wrapper's EC_KEY carries: the TPM key and the context of its provider. */
typedef struct signer {
    EVP_PKEY *key;
    OSSL_LIB_CTX *libctx;
} signer;

static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
static EC_KEY_METHOD *method;
static int slot = -1;

static void free_signer(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    signer *s = ptr;
    if (s)
        EVP_PKEY_free(s->key);
    OPENSSL_free(s);
}

/* The digest's name for the TPM (which checks the digest's length against it):
 * type, or when the caller did not say (ECDSA_do_sign), the one of that length. */
static const char *digest_name(int type, int dlen)
{
    if (type != NID_undef)
        return OBJ_nid2sn(type);
    switch (dlen) {
    case 20:
        return "SHA1";
    case 48:
        return "SHA384";
    case 64:
        return "SHA512";
    default:
        return "SHA256";
    }
}

/* ECDSA_sign()'s hook: dgst (libssl's digest, algorithm type) signed in the TPM,
 * DER ECDSA-Sig-Value into sig (ECDSA_size bytes). kinv and r are for software
 * signers that precompute; a TPM draws its own nonce. */
static int tpm_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
                    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
    (void)kinv, (void)r;
    const signer *s = EC_KEY_get_ex_data(ec, slot);
    const char *md = digest_name(type, dlen);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)md, 0),
                      OSSL_PARAM_END};
    EVP_PKEY_CTX *c = s ? EVP_PKEY_CTX_new_from_pkey(s->libctx, s->key, NULL) : NULL;
    size_t len = (size_t)ECDSA_size(ec);
    int ok = c && dlen > 0 && EVP_PKEY_sign_init_ex(c, p) > 0 &&
             EVP_PKEY_sign(c, sig, &len, dgst, (size_t)dlen) > 0;
    EVP_PKEY_CTX_free(c);
    if (ok)
        *siglen = (unsigned int)len;
    return ok;
}

/* ECDSA_do_sign()'s hook: the same signature as an ECDSA_SIG. */
static ECDSA_SIG *tpm_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                               const BIGNUM *r, EC_KEY *ec)
{
    unsigned char der[160]; /* an ECDSA-Sig-Value for P-521 is at most 139 bytes */
    unsigned int len = 0;
    if ((size_t)ECDSA_size(ec) > sizeof der ||
        !tpm_sign(NID_undef, dgst, dlen, der, &len, kinv, r, ec))
        return NULL;
    const unsigned char *q = der;
    return d2i_ECDSA_SIG(NULL, &q, (long)len);
}

static void init_method(void)
{
    int (*sign_setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;
    slot = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EC_KEY, 0, NULL, NULL, NULL, free_signer);
    method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (method) {
        EC_KEY_METHOD_get_sign(EC_KEY_OpenSSL(), NULL, &sign_setup, NULL);
        EC_KEY_METHOD_set_sign(method, tpm_sign, sign_setup, tpm_sign_sig);
    }
}

int otter_tpm_signer_new(const EVP_PKEY *pub, EVP_PKEY *tpm_key, OSSL_LIB_CTX *libctx,
                         EVP_PKEY **out, otter_err *err)
{
    *out = NULL;
    const EC_KEY *src = EVP_PKEY_get0_EC_KEY(pub);
    if (!src)
        return otter_err_set(err, OTTER_EFORMAT,
                             "the TPM client key must be an ECDSA key (identity create makes one)");
    if (!CRYPTO_THREAD_run_once(&once, init_method) || !method || slot < 0)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    EC_KEY *ec = EC_KEY_dup(src); /* the certificate's own key stays untouched */
    signer *s = OPENSSL_zalloc(sizeof *s);
    EVP_PKEY *pk = EVP_PKEY_new();
    if (!ec || !s || !pk || !EC_KEY_set_method(ec, method) || !EVP_PKEY_up_ref(tpm_key)) {
        EC_KEY_free(ec);
        OPENSSL_free(s);
        EVP_PKEY_free(pk);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    *s = (signer){.key = tpm_key, .libctx = libctx};
    if (!EC_KEY_set_ex_data(ec, slot, s)) {
        free_signer(NULL, s, NULL, 0, 0, NULL);
        EC_KEY_free(ec);
        EVP_PKEY_free(pk);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    /* From here the EC_KEY owns s (freed with it), and pk owns the EC_KEY. */
    if (!EVP_PKEY_assign_EC_KEY(pk, ec)) {
        EC_KEY_free(ec);
        EVP_PKEY_free(pk);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    *out = pk;
    return 0;
}
