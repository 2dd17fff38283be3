/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TPM 2.0 NV counter (TPM2_NT_COUNTER) through tpm2-tss (ESYS over a TCTI
 * chosen by a string: "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=N").
 *
 * A TPM counter can only go up, and a counter index defined anew (after an
 * undefine) starts above the largest value any counter of that TPM ever had:
 * its first increment sets it to that maximum + 1. That is why the mapping
 * below needs no state outside the TPM: the first increment (done at
 * provisioning) stands for security level 0, so level = counter - 1, and a
 * redefined index can only read higher, never lower.
 */
#ifndef OTTER_TPM_H
#define OTTER_TPM_H

#include <stdint.h>

#include "otter_err.h"

/* Default NV index: in the owner range 0x01800000-0x01BFFFFF ("otter" has no
 * registered index; the factory may choose another with [tpm] nv_index). */
#define OTTER_TPM_NV_DEFAULT "0x01800a00"
#define OTTER_TPM_NV_OWNER_FIRST 0x01800000u
#define OTTER_TPM_NV_OWNER_LAST 0x01bfffffu
/* Increments in one raise: each is an NV write (TPMs rate-limit and wear
 * them); security versions grow by small steps. */
#define OTTER_TPM_MAX_STEPS 4096u

typedef struct otter_tpm otter_tpm;

/* Parses an NV index ("0x0180...", hex) and checks it is in the owner range.
 * Errors: OTTER_EUSAGE. */
int otter_tpm_parse_index(const char *text, uint32_t *index, otter_err *err);

/* The security level a counter value stands for (counter - 1). A counter
 * reads at least 1 once provisioned; 0 is refused as OTTER_EFORMAT. */
int otter_tpm_level_of(uint64_t counter, uint64_t *level, otter_err *err);

/* How many increments take counter to level: 0 when it is there already.
 * Errors: OTTER_EROLLBACK (level below the counter's), OTTER_EUSAGE (more
 * than OTTER_TPM_MAX_STEPS, or past what a 64-bit counter holds), and as
 * otter_tpm_level_of. */
int otter_tpm_steps_to(uint64_t counter, uint64_t level, uint64_t *steps, otter_err *err);

/* Connects to the TPM through tcti. Caller frees *out with otter_tpm_free().
 * Errors: OTTER_EIO (no TPM there), OTTER_ENOMEM. */
int otter_tpm_open(const char *tcti, otter_tpm **out, otter_err *err);

/* Closes the connection. NULL is fine. */
void otter_tpm_free(otter_tpm *t);

/* Reads the counter at index. Errors: OTTER_ESTATE (index absent or never
 * incremented: not provisioned), OTTER_EFORMAT (the index is not an 8-byte
 * counter: never taken for one), OTTER_EIO. */
int otter_tpm_counter_read(otter_tpm *t, uint32_t index, uint64_t *value, otter_err *err);

/* Increments the counter at index once. Errors: as otter_tpm_counter_read. */
int otter_tpm_counter_increment(otter_tpm *t, uint32_t index, otter_err *err);

/* Provisioning: defines the counter at index under the owner hierarchy (empty
 * owner authorization) when absent, and increments it once when it was never
 * written. Idempotent. *value: the counter after it. Errors: as above. */
int otter_tpm_counter_provision(otter_tpm *t, uint32_t index, uint64_t *value, otter_err *err);

/* Creates the device's TLS key in the TPM (ECDSA P-256, sign only, fixedTPM: it
 * never leaves the chip) under the owner's storage primary key and makes it
 * persistent at handle (0x81000000-0x817fffff). Refused (OTTER_ESTATE) when the
 * handle is taken. Errors: also OTTER_EIO. */
int otter_tpm_key_persist(otter_tpm *t, uint32_t handle, otter_err *err);

/* Creates the device's decryption key for encrypted images in the TPM (RSA-3072,
 * decrypt only, fixedTPM) and makes it persistent at handle, as above. RSA because
 * TPM 2.0 has no X25519 (its ECC curves are NIST/BN ones). Errors: as above. */
int otter_tpm_crypt_key_persist(otter_tpm *t, uint32_t handle, otter_err *err);

/* The public half of the RSA decryption key at handle: modulus (big-endian, into n of
 * *n_len bytes; *n_len set to its length) and exponent. Errors: OTTER_EIO (no key
 * there), OTTER_EUSAGE (not an unrestricted RSA decryption key). */
int otter_tpm_rsa_public(otter_tpm *t, uint32_t handle, uint8_t *n, size_t *n_len,
                         uint32_t *exponent, otter_err *err);

/* RSA-OAEP decryption (SHA-256 for the label hash and MGF1, empty label) of in by
 * the key at handle, inside the TPM (TPM2_RSA_Decrypt): the private key never leaves
 * it. out holds *out_len bytes; *out_len set. Errors: OTTER_ESIG (does not decrypt),
 * OTTER_EIO (no key there), OTTER_EFORMAT. */
int otter_tpm_rsa_oaep_decrypt(otter_tpm *t, uint32_t handle, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t *out_len, otter_err *err);

#endif
