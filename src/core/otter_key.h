/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing keys over OpenSSL 3 EVP. Three schemes, nothing else is accepted:
 *   ed25519            Ed25519 (pure)
 *   ecdsa-p256-sha256  ECDSA over P-256 with SHA-256, DER signature
 *   rsa-pss-sha256     RSA (>= 3072 bits) PSS, SHA-256, MGF1-SHA-256, salt 32
 * A key id is the lower-case hex SHA-256 of the DER SubjectPublicKeyInfo, so
 * the same public key has the same id wherever it is written down.
 */
#ifndef OTTER_KEY_H
#define OTTER_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "otter_digest.h"
#include "otter_err.h"

typedef struct otter_key otter_key;

#define OTTER_KEY_ID_LEN OTTER_SHA256_HEX_LEN
/* Largest signature any accepted scheme makes (RSA-8192 would be 1024 bytes). */
#define OTTER_SIG_MAX 1024

/*
 * Generates a key of type "ed25519", "ecdsa-p256" or "rsa-3072" (caller
 * frees). OTTER_EUSAGE for an unknown type.
 */
int otter_key_generate(const char *type, otter_key **out, otter_err *err);

/* Loads an unencrypted PEM private key (PKCS#8 or traditional) from path. */
int otter_key_load_private_file(const char *path, otter_key **out, otter_err *err);

/*
 * Supplies a passphrase: writes at most size bytes to buf and returns their
 * count, or a negative otter code with err filled (no passphrase to give).
 */
typedef int (*otter_key_pass_fn)(void *arg, char *buf, size_t size, otter_err *err);

/*
 * Like otter_key_load_private_file, and an encrypted PKCS#8 key is decrypted
 * with the passphrase pass(arg) gives; pass is called only for an encrypted
 * key. A wrong passphrase is OTTER_EUSAGE ("wrong passphrase").
 */
int otter_key_load_private_file_pass(const char *path, otter_key_pass_fn pass, void *arg,
                                     otter_key **out, otter_err *err);

/*
 * Wraps a private key held elsewhere (an OpenSSL EVP_PKEY whose operations a
 * token carries out, e.g. libp11's). Takes ownership of pkey; release(arg) is
 * called after pkey is freed (NULL: nothing), also when this fails. The scheme
 * and key id come from the public half.
 */
struct evp_pkey_st;
int otter_key_from_private_pkey(struct evp_pkey_st *pkey, void (*release)(void *), void *arg,
                                otter_key **out, otter_err *err);

/* Loads a PEM SubjectPublicKeyInfo from memory; `where` names it in errors. */
int otter_key_load_public_pem(const char *pem, size_t len, const char *where, otter_key **out,
                              otter_err *err);
int otter_key_load_public_file(const char *path, otter_key **out, otter_err *err);

/*
 * Writes NAME.key (PKCS#8 PEM, mode 0600, refuses to overwrite) and NAME.pub
 * (SPKI PEM). The private key needs to be a private key.
 */
int otter_key_save_pair(const otter_key *key, const char *name, otter_err *err);

/*
 * Like otter_key_save_pair; with a passphrase (pass_len > 0) NAME.key is an
 * encrypted PKCS#8 PEM (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC).
 */
int otter_key_save_pair_pass(const otter_key *key, const char *name, const char *pass,
                             size_t pass_len, otter_err *err);

/* PEM of the public key as a new string (caller frees); NULL on ENOMEM. */
char *otter_key_public_pem_new(const otter_key *key);

/* Borrowed, valid while key lives: hex key id and signature scheme name. */
const char *otter_key_id(const otter_key *key);
const char *otter_key_alg(const otter_key *key);
int otter_key_is_private(const otter_key *key);

/* Signs data; writes at most OTTER_SIG_MAX bytes to sig and their count to *sig_len. */
int otter_key_sign(const otter_key *key, const void *data, size_t len, uint8_t sig[OTTER_SIG_MAX],
                   size_t *sig_len, otter_err *err);

/* 0 when sig is a valid signature of data by key, OTTER_ESIG otherwise. */
int otter_key_verify(const otter_key *key, const void *data, size_t len, const uint8_t *sig,
                     size_t sig_len, otter_err *err);

void otter_key_free(otter_key *key);

#endif
