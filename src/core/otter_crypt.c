/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk AEAD (AES-256-GCM) and the names of the wrap schemes: see otter_crypt.h. */
#include "otter_crypt.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define AAD_LABEL "otter-chunk-v1"

const char *otter_wrap_alg_name(otter_wrap_alg alg)
{
    switch (alg) {
    case OTTER_WRAP_X25519:
        return "x25519-hkdf-sha256-a256gcm";
    case OTTER_WRAP_RSA_OAEP:
        return "rsa-oaep-sha256";
    }
    return "?";
}

otter_wrap_alg otter_wrap_alg_from_name(const char *name)
{
    if (strcmp(name, "x25519-hkdf-sha256-a256gcm") == 0)
        return OTTER_WRAP_X25519;
    if (strcmp(name, "rsa-oaep-sha256") == 0)
        return OTTER_WRAP_RSA_OAEP;
    return 0;
}

int otter_crypt_random(uint8_t *buf, size_t n, otter_err *err)
{
    if (RAND_bytes(buf, (int)n) != 1)
        return otter_err_set(err, OTTER_EIO, "no random bytes from OpenSSL");
    return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Sets up ctx for chunk index: nonce = prefix || be32(index); AAD = label 0
 * name 0 be32(index) be32(count). enc 1 encrypts, 0 decrypts.
 */
static int chunk_init(EVP_CIPHER_CTX *ctx, const otter_crypt_image *ci, uint32_t index, int enc)
{
    uint8_t nonce[12], aad[sizeof AAD_LABEL + sizeof ci->name + 8];
    memcpy(nonce, ci->nonce_prefix, OTTER_CRYPT_PREFIX_LEN);
    put_be32(nonce + OTTER_CRYPT_PREFIX_LEN, index);
    size_t name_len = strnlen(ci->name, sizeof ci->name - 1), n = 0;
    memcpy(aad, AAD_LABEL, sizeof AAD_LABEL); /* with its NUL */
    n += sizeof AAD_LABEL;
    memcpy(aad + n, ci->name, name_len);
    n += name_len;
    aad[n++] = 0;
    put_be32(aad + n, index);
    put_be32(aad + n + 4, ci->chunk_count);
    n += 8;
    int outl = 0;
    return EVP_CipherInit_ex2(ctx, EVP_aes_256_gcm(), ci->key, nonce, enc, NULL) == 1 &&
           EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)n) == 1;
}

int otter_crypt_chunk_seal(const otter_crypt_image *ci, uint32_t index, uint8_t *buf, size_t len,
                           otter_err *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, fin = 0, ok = 0;
    if (ctx && len <= (size_t)INT32_MAX && chunk_init(ctx, ci, index, 1))
        ok = EVP_EncryptUpdate(ctx, buf, &outl, buf, (int)len) == 1 &&
             EVP_EncryptFinal_ex(ctx, buf + outl, &fin) == 1 && (size_t)(outl + fin) == len &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, OTTER_CRYPT_TAG_LEN, buf + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : otter_err_set(err, OTTER_EIO, "chunk %u: AES-256-GCM encryption failed", index);
}

int otter_crypt_chunk_open(const otter_crypt_image *ci, uint32_t index, uint8_t *buf, size_t len,
                           otter_err *err)
{
    if (len < OTTER_CRYPT_TAG_LEN || len - OTTER_CRYPT_TAG_LEN > (size_t)INT32_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "chunk %u: %zu bytes cannot hold a GCM tag", index,
                             len);
    size_t clear = len - OTTER_CRYPT_TAG_LEN;
    uint8_t tag[OTTER_CRYPT_TAG_LEN];
    memcpy(tag, buf + clear, sizeof tag);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, fin = 0, ret;
    if (!ctx || !chunk_init(ctx, ci, index, 0) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, sizeof tag, tag) != 1 ||
        EVP_DecryptUpdate(ctx, buf, &outl, buf, (int)clear) != 1)
        ret = otter_err_set(err, OTTER_EIO, "chunk %u: AES-256-GCM decryption failed", index);
    else if (EVP_DecryptFinal_ex(ctx, buf + outl, &fin) != 1)
        ret =
            otter_err_set(err, OTTER_EDIGEST,
                          "chunk %u: GCM tag mismatch (altered ciphertext, or another key)", index);
    else
        ret = 0;
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}
