/* SPDX-License-Identifier: Apache-2.0 */
/* Hex and base64, over OpenSSL's encoders (never hand-rolled). */
#ifndef OTTER_ENCODE_H
#define OTTER_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

/* Writes 2*len lower-case hex digits and a NUL to out (size >= 2*len+1). */
void otter_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes exactly out_len bytes from 2*out_len hex digits; OTTER_EFORMAT otherwise. */
int otter_hex_decode(const char *hex, uint8_t *out, size_t out_len, otter_err *err);

/* True when s is exactly n lower-case hex digits. */
int otter_is_lower_hex(const char *s, size_t n);

/* Base64 of in as a new NUL-terminated string (caller frees); NULL on ENOMEM. */
char *otter_base64_encode_new(const uint8_t *in, size_t len);

/*
 * Decodes strict base64 (no whitespace, '=' padding required) into a new
 * buffer (caller frees *out). Refuses more than max_out decoded bytes.
 */
int otter_base64_decode_new(const char *in, size_t max_out, uint8_t **out, size_t *out_len,
                            otter_err *err);

#endif
