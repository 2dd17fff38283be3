/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encrypted images (docs/package-format.md, "Encrypted images"): each chunk
 * of a format 2 image is one AES-256-GCM message under the image's random
 * content key; the content key is wrapped per recipient (X25519 + HKDF-SHA256
 * + AES-256-GCM, or RSA-OAEP-SHA256). Everything goes through OpenSSL 3's EVP
 * API; nothing here is hand-rolled.
 *
 * A recipient's private key is an otter_crypt_key: a key id and an unwrap
 * function. otter_crypt_key_load_file() makes one from a PEM file; a key held
 * elsewhere (a TPM) supplies its own ops with otter_crypt_key_new().
 */
#ifndef OTTER_CRYPT_H
#define OTTER_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "otter_digest.h"
#include "otter_err.h"

#define OTTER_CRYPT_KEY_LEN 32   /* AES-256 content key */
#define OTTER_CRYPT_TAG_LEN 16   /* GCM tag after each chunk's ciphertext */
#define OTTER_CRYPT_PREFIX_LEN 8 /* random nonce prefix per image */
#define OTTER_CRYPT_EPK_LEN 32   /* X25519 ephemeral public key */
#define OTTER_CRYPT_RECIPIENTS_MAX 64
#define OTTER_CRYPT_X25519_WRAPPED_LEN (OTTER_CRYPT_KEY_LEN + OTTER_CRYPT_TAG_LEN)
#define OTTER_CRYPT_RSA_WRAPPED_MIN 384  /* RSA-3072 */
#define OTTER_CRYPT_RSA_WRAPPED_MAX 1024 /* RSA-8192 */

typedef enum otter_wrap_alg {
    OTTER_WRAP_X25519 = 1,   /* "x25519-hkdf-sha256-a256gcm" */
    OTTER_WRAP_RSA_OAEP = 2, /* "rsa-oaep-sha256" */
} otter_wrap_alg;

/* One wrapped content key (raw bytes; base64 only in JSON). */
typedef struct otter_crypt_recipient {
    char keyid[OTTER_SHA256_HEX_LEN + 1];
    otter_wrap_alg alg;
    uint8_t epk[OTTER_CRYPT_EPK_LEN]; /* x25519 only */
    size_t wrapped_len;
    uint8_t wrapped[OTTER_CRYPT_RSA_WRAPPED_MAX];
} otter_crypt_recipient;

/* An image's "encryption" object (owned by its manifest image). */
typedef struct otter_manifest_encryption {
    uint8_t nonce_prefix[OTTER_CRYPT_PREFIX_LEN];
    size_t recipient_count;
    otter_crypt_recipient recipients[OTTER_CRYPT_RECIPIENTS_MAX];
} otter_manifest_encryption;

/* What a chunk's AEAD needs: key, nonce prefix and the AAD's image name and count. */
typedef struct otter_crypt_image {
    uint8_t key[OTTER_CRYPT_KEY_LEN];
    uint8_t nonce_prefix[OTTER_CRYPT_PREFIX_LEN];
    char name[65];
    uint32_t chunk_count;
} otter_crypt_image;

/* "x25519-hkdf-sha256-a256gcm" / "rsa-oaep-sha256"; 0 for an unknown name. */
const char *otter_wrap_alg_name(otter_wrap_alg alg);
otter_wrap_alg otter_wrap_alg_from_name(const char *name);

/* Fills buf with n random bytes (OpenSSL's DRBG). OTTER_EIO when it fails. */
int otter_crypt_random(uint8_t *buf, size_t n, otter_err *err);

/*
 * Chunk `index` of an image: encrypts len bytes of buf in place and writes
 * the tag to buf + len (buf must hold len + OTTER_CRYPT_TAG_LEN bytes).
 */
int otter_crypt_chunk_seal(const otter_crypt_image *ci, uint32_t index, uint8_t *buf, size_t len,
                           otter_err *err);

/*
 * The reverse: buf holds len bytes of ciphertext and tag; decrypted in
 * place (len - OTTER_CRYPT_TAG_LEN clear bytes). OTTER_EDIGEST "GCM tag
 * mismatch" when the tag fails (the clear bytes must then be thrown away),
 * OTTER_EFORMAT when len is shorter than a tag.
 */
int otter_crypt_chunk_open(const otter_crypt_image *ci, uint32_t index, uint8_t *buf, size_t len,
                           otter_err *err);

/* ---- Recipients' public keys (the release side) ---- */

typedef struct otter_crypt_pubkey otter_crypt_pubkey;

/* Loads a PEM public key: X25519, or RSA of 3072..8192 bits. Caller frees. */
int otter_crypt_pubkey_load_file(const char *path, otter_crypt_pubkey **out, otter_err *err);
/* Borrowed hex key id (SHA-256 of the DER SubjectPublicKeyInfo). */
const char *otter_crypt_pubkey_id(const otter_crypt_pubkey *pk);
void otter_crypt_pubkey_free(otter_crypt_pubkey *pk);

/* Wraps the content key for pk into *out (keyid, alg, epk, wrapped). */
int otter_crypt_wrap(const otter_crypt_pubkey *pk, const uint8_t key[OTTER_CRYPT_KEY_LEN],
                     otter_crypt_recipient *out, otter_err *err);

/* ---- A recipient's private key (the device side) ---- */

typedef struct otter_crypt_key otter_crypt_key;

/* What a key store provides: unwrap one recipient entry addressed to it. */
typedef struct otter_crypt_key_ops {
    int (*unwrap)(void *ctx, const otter_crypt_recipient *rc, uint8_t key[OTTER_CRYPT_KEY_LEN],
                  otter_err *err);
    void (*free)(void *ctx);
} otter_crypt_key_ops;

/* A key over ops (borrowed, static) and ctx (owned: ops->free at free). */
otter_crypt_key *otter_crypt_key_new(const otter_crypt_key_ops *ops, void *ctx, const char *keyid);

/* A PEM private key file (X25519 or RSA): the file back-end. Caller frees. */
int otter_crypt_key_load_file(const char *path, otter_crypt_key **out, otter_err *err);

/* Borrowed hex key id. */
const char *otter_crypt_key_id(const otter_crypt_key *k);
void otter_crypt_key_free(otter_crypt_key *k);

/*
 * Finds k's entry among e's recipients and unwraps the content key. image
 * names it in messages. OTTER_ESIG "not a recipient (...)" when no entry
 * names k, OTTER_ESIG when the entry does not open.
 */
int otter_crypt_unwrap(const otter_crypt_key *k, const otter_manifest_encryption *e,
                       const char *image, uint8_t key[OTTER_CRYPT_KEY_LEN], otter_err *err);

#endif
