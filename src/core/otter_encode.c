/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_encode.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void otter_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int otter_hex_decode(const char *hex, uint8_t *out, size_t out_len, otter_err *err)
{
    if (strlen(hex) != 2 * out_len)
        return otter_err_set(err, OTTER_EFORMAT, "expected %zu hex digits, got %zu", 2 * out_len,
                             strlen(hex));
    for (size_t i = 0; i < out_len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return otter_err_set(err, OTTER_EFORMAT, "not a hex digit at offset %zu",
                                 hi < 0 ? 2 * i : 2 * i + 1);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int otter_is_lower_hex(const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == n;
}

char *otter_base64_encode_new(const uint8_t *in, size_t len)
{
    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

int otter_base64_decode_new(const char *in, size_t max_out, uint8_t **out, size_t *out_len,
                            otter_err *err)
{
    size_t n = strlen(in);
    if (n == 0 || n % 4 != 0)
        return otter_err_set(err, OTTER_EFORMAT, "base64 length %zu is not a multiple of 4", n);
    if (n / 4 * 3 > max_out + 2)
        return otter_err_set(err, OTTER_EFORMAT, "base64 value too long (limit %zu bytes)",
                             max_out);
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' ||
                 (c == '=' && i >= n - 2 && (i == n - 1 || in[n - 1] == '='));
        if (!ok)
            return otter_err_set(err, OTTER_EFORMAT, "invalid base64 character at offset %zu", i);
    }
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int got = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    if (got < 0) {
        free(buf);
        return otter_err_set(err, OTTER_EFORMAT, "invalid base64");
    }
    /* EVP_DecodeBlock counts the padding as zero bytes; take them back. */
    size_t len = (size_t)got;
    if (in[n - 1] == '=')
        len--;
    if (in[n - 2] == '=')
        len--;
    if (len > max_out) {
        free(buf);
        return otter_err_set(err, OTTER_EFORMAT, "base64 value too long (limit %zu bytes)",
                             max_out);
    }
    *out = buf;
    *out_len = len;
    return 0;
}
