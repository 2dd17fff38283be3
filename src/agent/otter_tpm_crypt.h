/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's decryption key for encrypted images held in the TPM
 * ([crypt] key = handle:0x81xxxxxx, made by `otter-agent tpm crypt-key
 * create`): an RSA-3072 key that never leaves the chip. The content key is
 * unwrapped inside the TPM (TPM2_RSA_Decrypt, OAEP with SHA-256) through
 * tpm2-tss's ESYS: Debian 12's tpm2-openssl 1.1.1 provider decrypts with
 * PKCS#1 v1.5 only (OAEP came in a later release), so the provider is not
 * used here. The core sees only an otter_crypt_key over these ops
 * (otter_crypt_key_new) and has no TPM code.
 *
 * Only RSA-OAEP recipients: TPM 2.0 has no X25519, so a package wrapped for
 * an X25519 key can never be opened by a TPM key (refused by name).
 */
#ifndef OTTER_TPM_CRYPT_H
#define OTTER_TPM_CRYPT_H

#include "otter_crypt.h"
#include "otter_err.h"

/* Loads the TPM key named key ("handle:0x81000000".."handle:0x817fffff") on the
 * TPM reached through tcti as an otter_crypt_key (its id: the SHA-256 of its
 * public key's DER, as the release side computes it). The TPM is opened for
 * the load and for each unwrap, never held. Caller frees. Errors: OTTER_EUSAGE
 * (bad handle; not an RSA decryption key), OTTER_EIO (no TPM, no key there),
 * OTTER_ENOMEM. */
int otter_tpm_crypt_key_load(const char *tcti, const char *key, otter_crypt_key **out,
                             otter_err *err);

/* The public half of that key as PEM (SubjectPublicKeyInfo, for `otter pack
 * --encrypt-for`) into *pem (caller frees). Errors: as above. */
int otter_tpm_crypt_key_public(const char *tcti, const char *key, char **pem, otter_err *err);

/* "handle:0x81000000".."handle:0x817fffff" (owner persistent range) into *h.
 * what names the setting in the message. Errors: OTTER_EUSAGE. */
int otter_tpm_parse_handle(const char *what, const char *key, uint32_t *h, otter_err *err);

#endif
