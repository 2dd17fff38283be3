/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's TLS identity key when it lives in the TPM, through OpenSSL 3
 * and Debian's tpm2-openssl provider ("tpm2").
 *
 * The key is either persistent in the TPM ("handle:0x81xxxxxx" as the key,
 * made by `otter-agent identity create`: the preferred form) or a TPM-wrapped
 * blob on disk (PEM "TSS2 PRIVATE KEY", encrypted under the TPM's storage
 * key). Both never leave the TPM. The handle is preferred: it needs no
 * resource manager (a blob needs the storage primary key loaded next to it,
 * and OpenSSL duplicates signing contexts: more object slots than swtpm or a
 * TPM without /dev/tpmrm0 has), and it survives a reflash of the disk like
 * the anti-rollback counter does; the certificate is public and can be
 * restored from the carrier's records.
 *
 * Shared by otter-agent (identity create/install) and the TLS set-up of
 * otter-agentd and otter-fetch (otter_tls_client.h).
 */
#ifndef OTTER_TPM_KEY_H
#define OTTER_TPM_KEY_H

#include "otter_err.h"

/* 1 when key names a TPM-held key: "handle:..." or a file that starts with
 * "-----BEGIN TSS2 PRIVATE KEY-----"; 0 otherwise (a PEM file for libcurl). */
int otter_tpm_key_is_tpm(const char *key);

/* Loads the "tpm2" and "default" providers into a library context of this
 * module's own (once per process; never OpenSSL's default context, which libssl,
 * libcurl and otter's verification use: otter_tpm_signer.h says why), the TPM
 * reached through tcti (tpm2-tss TCTI string; tpm2-openssl reads it from
 * TPM2OPENSSL_TCTI, which this sets unless set already). Errors: OTTER_EIO
 * (provider missing: apt-get install tpm2-openssl). */
int otter_tpm_key_init(const char *tcti, otter_err *err);

/* Generates an ECDSA P-256 key: in the TPM (tpm = 1: the blob goes to path)
 * or in software (tpm = 0: a PEM private key, the fallback). path must not
 * exist (a device key is never overwritten by mistake); written 0600.
 * Errors: OTTER_ESTATE (path exists), OTTER_EIO. */
int otter_tpm_key_create(const char *path, int tpm, otter_err *err);

/* A certificate signing request (PEM, into *pem: caller frees) for the key
 * named key (TPM or PEM file) with subject CN=cn, signed by the key itself
 * (in the TPM for a TPM key). Errors: OTTER_EIO, OTTER_EFORMAT, OTTER_ENOMEM. */
int otter_tpm_key_csr(const char *key, const char *cn, char **pem, otter_err *err);

/* Checks that certificate file cert (PEM) holds the public half of key.
 * Errors: OTTER_ESIG (another key), OTTER_EFORMAT, OTTER_EIO. */
int otter_tpm_key_match(const char *cert, const char *key, otter_err *err);

/* Puts cert (PEM chain) and the TPM key key into ssl_ctx (an SSL_CTX *), for
 * libcurl's CURLOPT_SSL_CTX_FUNCTION: the key as libssl sees it is a software
 * EC key whose signatures the TPM makes (otter_tpm_signer.h), so nothing but
 * the one CertificateVerify signature of a handshake reaches the TPM.
 * Errors: OTTER_EIO, OTTER_ESIG (the certificate is for another key),
 * OTTER_EFORMAT (not an EC key). */
int otter_tpm_key_use(void *ssl_ctx, const char *cert, const char *key, otter_err *err);

#endif
