/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wrapping a content key for a recipient and unwrapping it with the
 * recipient's private key (otter_crypt.h): X25519 + HKDF-SHA256 +
 * AES-256-GCM, or RSA-OAEP-SHA256, over OpenSSL 3's EVP API.
 */
#include "otter_crypt.h"
#include "otter_encode.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HKDF_INFO "otter-cek-wrap-v1"

struct otter_crypt_pubkey {
    EVP_PKEY *pkey;
    otter_wrap_alg alg;
    char id[OTTER_SHA256_HEX_LEN + 1];
};

struct otter_crypt_key {
    const otter_crypt_key_ops *ops;
    void *ctx;
    char id[OTTER_SHA256_HEX_LEN + 1];
};

static int ossl_fail(otter_err *err, int code, const char *what)
{
    char buf[256] = "no detail";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return otter_err_set(err, code, "%s (%s)", what, buf);
}

/* Key id: hex SHA-256 of the DER SubjectPublicKeyInfo (also of a private key's public half). */
static int key_id(EVP_PKEY *pkey, char out[OTTER_SHA256_HEX_LEN + 1])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pkey, &der);
    if (n <= 0)
        return -1;
    otter_sha256_hex(der, (size_t)n, out);
    OPENSSL_free(der);
    return 0;
}

/* X25519, or RSA of 3072..8192 bits: the two schemes; anything else is refused. */
static int classify(EVP_PKEY *pkey, const char *path, otter_wrap_alg *alg, otter_err *err)
{
    if (EVP_PKEY_is_a(pkey, "X25519")) {
        *alg = OTTER_WRAP_X25519;
        return 0;
    }
    int bits = EVP_PKEY_get_bits(pkey);
    if (EVP_PKEY_is_a(pkey, "RSA") && bits >= 3072 && bits <= 8192) {
        *alg = OTTER_WRAP_RSA_OAEP;
        return 0;
    }
    return otter_err_set(err, OTTER_EUSAGE,
                         "%s: an encryption key must be X25519 or RSA of 3072..8192 bits", path);
}

int otter_crypt_pubkey_load_file(const char *path, otter_crypt_pubkey **out, otter_err *err)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio)
        return ossl_fail(err, OTTER_EIO, path);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pkey)
        return ossl_fail(err, OTTER_EUSAGE, "not a PEM public key");
    otter_crypt_pubkey *pk = calloc(1, sizeof *pk);
    int ret = pk ? classify(pkey, path, &pk->alg, err)
                 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret && key_id(pkey, pk->id) < 0)
        ret = ossl_fail(err, OTTER_EUSAGE, path);
    if (ret) {
        EVP_PKEY_free(pkey);
        free(pk);
        return ret;
    }
    pk->pkey = pkey;
    *out = pk;
    return 0;
}

const char *otter_crypt_pubkey_id(const otter_crypt_pubkey *pk)
{
    return pk->id;
}

void otter_crypt_pubkey_free(otter_crypt_pubkey *pk)
{
    if (!pk)
        return;
    EVP_PKEY_free(pk->pkey);
    free(pk);
}

/* KEK = HKDF-SHA256(ikm Z, salt epk || recipient public, info HKDF_INFO). */
static int derive_kek(EVP_PKEY *mine, EVP_PKEY *peer, const uint8_t epk[32], const uint8_t rpk[32],
                      uint8_t kek[32])
{
    uint8_t z[32], salt[64];
    size_t zlen = sizeof z;
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    int ok = dc && EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
             EVP_PKEY_derive(dc, z, &zlen) == 1 && zlen == sizeof z;
    EVP_PKEY_CTX_free(dc);
    memcpy(salt, epk, 32);
    memcpy(salt + 32, rpk, 32);
    EVP_KDF *kdf = ok ? EVP_KDF_fetch(NULL, "HKDF", NULL) : NULL;
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof z),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, HKDF_INFO, strlen(HKDF_INFO)),
        OSSL_PARAM_construct_end()};
    ok = kc && EVP_KDF_derive(kc, kek, 32, p) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    OPENSSL_cleanse(z, sizeof z);
    return ok ? 0 : -1;
}

/* AES-256-GCM of the content key under the KEK: zero nonce (a KEK serves one wrap), keyid AAD. */
static int kek_seal(const uint8_t kek[32], const char *keyid, const uint8_t *in, uint8_t *out,
                    int enc)
{
    static const uint8_t nonce[12];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    uint8_t *tag = out + OTTER_CRYPT_KEY_LEN;
    int ok = c && EVP_CipherInit_ex2(c, EVP_aes_256_gcm(), kek, nonce, enc, NULL) == 1 &&
             EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)keyid, (int)strlen(keyid)) == 1;
    if (ok && !enc) { /* in: ciphertext || tag, out: the key */
        tag = (uint8_t *)in + OTTER_CRYPT_KEY_LEN;
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, OTTER_CRYPT_TAG_LEN, tag) == 1;
    }
    ok = ok && EVP_CipherUpdate(c, out, &n, in, OTTER_CRYPT_KEY_LEN) == 1 &&
         EVP_CipherFinal_ex(c, out + n, &fin) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, OTTER_CRYPT_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

static int wrap_x25519(const otter_crypt_pubkey *pk, const uint8_t key[32],
                       otter_crypt_recipient *rc)
{
    uint8_t rpk[32], kek[32];
    size_t len = sizeof rpk, elen = sizeof rc->epk;
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    int ok = eph && EVP_PKEY_get_raw_public_key(pk->pkey, rpk, &len) == 1 && len == 32 &&
             EVP_PKEY_get_raw_public_key(eph, rc->epk, &elen) == 1 && elen == 32 &&
             derive_kek(eph, pk->pkey, rc->epk, rpk, kek) == 0 &&
             kek_seal(kek, pk->id, key, rc->wrapped, 1) == 0;
    EVP_PKEY_free(eph);
    OPENSSL_cleanse(kek, sizeof kek);
    rc->wrapped_len = OTTER_CRYPT_X25519_WRAPPED_LEN;
    return ok ? 0 : -1;
}

/* OAEP with SHA-256 for both the label hash and MGF1, empty label. */
static int oaep(EVP_PKEY_CTX *c)
{
    return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1;
}

static int wrap_rsa(const otter_crypt_pubkey *pk, const uint8_t key[32], otter_crypt_recipient *rc)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk->pkey, NULL);
    size_t n = sizeof rc->wrapped;
    int ok = c && EVP_PKEY_encrypt_init(c) == 1 && oaep(c) &&
             EVP_PKEY_encrypt(c, rc->wrapped, &n, key, OTTER_CRYPT_KEY_LEN) == 1;
    EVP_PKEY_CTX_free(c);
    rc->wrapped_len = n;
    return ok ? 0 : -1;
}

int otter_crypt_wrap(const otter_crypt_pubkey *pk, const uint8_t key[OTTER_CRYPT_KEY_LEN],
                     otter_crypt_recipient *out, otter_err *err)
{
    memset(out, 0, sizeof *out);
    memcpy(out->keyid, pk->id, sizeof out->keyid);
    out->alg = pk->alg;
    int rc = pk->alg == OTTER_WRAP_X25519 ? wrap_x25519(pk, key, out) : wrap_rsa(pk, key, out);
    if (rc < 0)
        return ossl_fail(err, OTTER_EIO, "wrapping the content key failed");
    return 0;
}

/* ---- The file back-end of otter_crypt_key ---- */

static int unwrap_x25519(EVP_PKEY *priv, const otter_crypt_recipient *rc, const char *id,
                         uint8_t key[32])
{
    uint8_t rpk[32], kek[32];
    size_t len = sizeof rpk;
    EVP_PKEY *eph = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, rc->epk, sizeof rc->epk);
    int ok = eph && rc->wrapped_len == OTTER_CRYPT_X25519_WRAPPED_LEN &&
             EVP_PKEY_get_raw_public_key(priv, rpk, &len) == 1 && len == 32 &&
             derive_kek(priv, eph, rc->epk, rpk, kek) == 0 &&
             kek_seal(kek, id, rc->wrapped, key, 0) == 0;
    EVP_PKEY_free(eph);
    OPENSSL_cleanse(kek, sizeof kek);
    return ok ? 0 : -1;
}

static int unwrap_rsa(EVP_PKEY *priv, const otter_crypt_recipient *rc, uint8_t key[32])
{
    uint8_t out[OTTER_CRYPT_RSA_WRAPPED_MAX];
    size_t n = sizeof out;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    int ok = c && EVP_PKEY_decrypt_init(c) == 1 && oaep(c) &&
             EVP_PKEY_decrypt(c, out, &n, rc->wrapped, rc->wrapped_len) == 1 &&
             n == OTTER_CRYPT_KEY_LEN;
    EVP_PKEY_CTX_free(c);
    if (ok)
        memcpy(key, out, OTTER_CRYPT_KEY_LEN);
    OPENSSL_cleanse(out, sizeof out);
    return ok ? 0 : -1;
}

typedef struct file_key {
    EVP_PKEY *pkey;
    otter_wrap_alg alg;
    char id[OTTER_SHA256_HEX_LEN + 1];
} file_key;

static int file_unwrap(void *ctx, const otter_crypt_recipient *rc, uint8_t key[32], otter_err *err)
{
    file_key *fk = ctx;
    if (rc->alg != fk->alg)
        return otter_err_set(err, OTTER_ESIG, "wrapped with %s, the key is for %s",
                             otter_wrap_alg_name(rc->alg), otter_wrap_alg_name(fk->alg));
    int ok = fk->alg == OTTER_WRAP_X25519 ? unwrap_x25519(fk->pkey, rc, fk->id, key)
                                          : unwrap_rsa(fk->pkey, rc, key);
    ERR_clear_error();
    if (ok < 0)
        return otter_err_set(err, OTTER_ESIG, "the wrapped content key does not open");
    return 0;
}

static void file_free(void *ctx)
{
    file_key *fk = ctx;
    EVP_PKEY_free(fk->pkey);
    free(fk);
}

static const otter_crypt_key_ops file_ops = {file_unwrap, file_free};

otter_crypt_key *otter_crypt_key_new(const otter_crypt_key_ops *ops, void *ctx, const char *keyid)
{
    otter_crypt_key *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->ops = ops;
    k->ctx = ctx;
    snprintf(k->id, sizeof k->id, "%s", keyid);
    return k;
}

int otter_crypt_key_load_file(const char *path, otter_crypt_key **out, otter_err *err)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio)
        return ossl_fail(err, OTTER_EIO, path);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pkey)
        return ossl_fail(err, OTTER_EUSAGE, "not a PEM private key");
    file_key *fk = calloc(1, sizeof *fk);
    int ret = fk ? classify(pkey, path, &fk->alg, err)
                 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (!ret && key_id(pkey, fk->id) < 0)
        ret = ossl_fail(err, OTTER_EUSAGE, path);
    if (!ret && !(*out = otter_crypt_key_new(&file_ops, fk, fk->id)))
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (ret) {
        EVP_PKEY_free(pkey);
        free(fk);
        return ret;
    }
    fk->pkey = pkey;
    return 0;
}

const char *otter_crypt_key_id(const otter_crypt_key *k)
{
    return k->id;
}

void otter_crypt_key_free(otter_crypt_key *k)
{
    if (!k)
        return;
    if (k->ops && k->ops->free)
        k->ops->free(k->ctx);
    free(k);
}

int otter_crypt_unwrap(const otter_crypt_key *k, const otter_manifest_encryption *e,
                       const char *image, uint8_t key[OTTER_CRYPT_KEY_LEN], otter_err *err)
{
    char ids[OTTER_ERR_MSG_MAX / 2] = "";
    for (size_t i = 0; i < e->recipient_count; i++) {
        const otter_crypt_recipient *rc = &e->recipients[i];
        if (strcmp(rc->keyid, k->id) != 0) {
            size_t n = strlen(ids);
            if (n + 20 < sizeof ids)
                snprintf(ids + n, sizeof ids - n, "%s%.16s", n ? ", " : "", rc->keyid);
            continue;
        }
        otter_err e2;
        if (k->ops->unwrap(k->ctx, rc, key, &e2) != 0)
            return otter_err_set(err, OTTER_ESIG, "image %s: recipient %.16s: %s", image, k->id,
                                 e2.msg);
        return 0;
    }
    return otter_err_set(err, OTTER_ESIG,
                         "image %s: not a recipient (encrypted for %s; this device's key is %.16s)",
                         image, ids, k->id);
}
