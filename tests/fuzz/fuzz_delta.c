/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta decoder against a fixed source: input byte 0 picks the entry
 * point (a raw OTDIFF1 patch, a zstd-patch frame, a bsdiff frame, a
 * bsdiff-lzma header and LZMA2 stream), bytes 1-2
 * the chunk's size; the rest is the patch or the stored frame. Whatever is
 * accepted must have written exactly the chunk (ASan watches the bounds).
 */
#include "otter_delta.h"

#include <stdlib.h>
#include <string.h>

#define SPAN 65536

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static uint8_t source[4096];

static void init_source(void)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof source; i++) {
        x = x * 1103515245u + 12345u;
        source[i] = (uint8_t)(x >> 16);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static otter_delta_dec *dec;
    if (!dec) {
        init_source();
        dec = otter_delta_dec_new();
        if (!dec)
            abort();
    }
    if (size < 3)
        return 0;
    unsigned sel = data[0] % 4;
    size_t out_len = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    uint8_t *out = malloc(out_len ? out_len : 1);
    if (!out)
        abort();
    otter_err err;
    if (sel == 0)
        otter_delta_patch_apply(data, size, source, sizeof source, out, out_len, SPAN, &err);
    else
        otter_delta_decode(dec,
                           sel == 1   ? OTTER_METHOD_ZSTD_PATCH
                           : sel == 2 ? OTTER_METHOD_BSDIFF
                                      : OTTER_METHOD_BSDIFF_LZMA,
                           SPAN, data, size, source, sizeof source, out, out_len, &err);
    free(out);
    return 0;
}
