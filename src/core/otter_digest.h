/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 over OpenSSL EVP (uses the CPU's SHA extensions when present). */
#ifndef OTTER_DIGEST_H
#define OTTER_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_SHA256_LEN 32
#define OTTER_SHA256_HEX_LEN 64

typedef struct otter_sha256 otter_sha256;

/* New running SHA-256 (caller frees with otter_sha256_free); NULL on ENOMEM. */
otter_sha256 *otter_sha256_new(void);
void otter_sha256_free(otter_sha256 *h);
/* Restarts h as a fresh hash. */
void otter_sha256_reset(otter_sha256 *h);
void otter_sha256_update(otter_sha256 *h, const void *data, size_t len);
/* Writes the digest to out; h must be reset before reuse. */
void otter_sha256_final(otter_sha256 *h, uint8_t out[OTTER_SHA256_LEN]);

/* One-shot digest of a buffer. */
void otter_sha256_buf(const void *data, size_t len, uint8_t out[OTTER_SHA256_LEN]);
/* One-shot digest of a buffer as lower-case hex (out: 65 bytes). */
void otter_sha256_hex(const void *data, size_t len, char out[OTTER_SHA256_HEX_LEN + 1]);

#endif
