/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TPM key as libssl's client key, with nothing but its signatures in the TPM.
 *
 * Why not the provider's key itself: the tpm2-openssl provider then has to be
 * in the library context libssl uses, and preferred for signatures there
 * (OpenSSL 3.0 fetches the signature by property query first and only then
 * looks at the key's provider; tpm2-openssl 1.1.1, Debian 12's, lets the
 * default ECDSA take the key's public half and that ECDSA then fails, "missing
 * private key"). Preferred for signatures means preferred for verifications
 * too: the server's CertificateVerify and every certificate of its chain were
 * checked in the TPM, each public key loaded into it (TPM2_LoadExternal, kept
 * while the certificate lives) and each check a TPM hash sequence that
 * OpenSSL duplicates. swtpm (and many chips) hold 3 objects: a server whose
 * certificate comes from a CA (otter-server's, anything real) exhausted them,
 * "tpm2::cannot duplicate context" (TPM_RC_OBJECT_MEMORY); a self-signed
 * server certificate needed one object less and worked.
 *
 * So the provider lives in its own library context (otter_tpm_key.c) and
 * libssl gets a software EC key that holds only the public key (the
 * certificate's) and whose ECDSA signing is the TPM's: libssl hashes in the
 * default provider and hands over the digest, the TPM signs it in one
 * TPM2_Sign (one object: the key). Verification, digests, key exchange and
 * random numbers never reach the TPM. The hook is OpenSSL's EC_KEY_METHOD
 * (deprecated in 3.0 but the supported way for such "foreign" keys in 3.0, the
 * way PKCS#11 engines plug in); tpm2-openssl >= 1.2.0 refuses to export a
 * private half and OpenSSL then falls back to the key's provider by itself,
 * which would make this module unnecessary there.
 */
#ifndef OTTER_TPM_SIGNER_H
#define OTTER_TPM_SIGNER_H

#include <openssl/evp.h>

#include "otter_err.h"

/* A new EVP_PKEY (caller frees) for libssl: public key pub (an EC public key,
 * e.g. the certificate's: borrowed), signatures by tpm_key (an ECDSA key of
 * the tpm2 provider in library context libctx: both borrowed, they must live
 * as long as the result; the result holds a reference to tpm_key). pub must be
 * tpm_key's public half (checked by the caller). Errors: OTTER_EFORMAT (not
 * an EC key), OTTER_ENOMEM. */
int otter_tpm_signer_new(const EVP_PKEY *pub, EVP_PKEY *tpm_key, OSSL_LIB_CTX *libctx,
                         EVP_PKEY **out, otter_err *err);

#endif
