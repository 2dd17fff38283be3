/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta decoder (docs/package-format.md, "Delta images"): makes one
 * chunk's installed bytes from its stored bytes and a borrowed range of the
 * source (the active slot). Methods copy, zstd-patch (a zstd frame with the
 * range as prefix, window log <= 26), bsdiff (a zstd frame holding an
 * OTDIFF1 patch: control triples, add bytes, insert bytes) and bsdiff-lzma
 * (the same patch as a raw LZMA2 stream, its dictionary no larger than the
 * patch; liblzma). Every bound of
 * the format is enforced here; the caller checks the chunk's digests.
 */
#ifndef OTTER_DELTA_H
#define OTTER_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_manifest.h"

#define OTTER_DELTA_MAGIC "OTDIFF1" /* 8 bytes with its NUL */
#define OTTER_DELTA_MAGIC_LEN 8
#define OTTER_DELTA_HEADER_LEN 12 /* magic + u32 count */
#define OTTER_DELTA_TRIPLE_LEN 16 /* u32 add, u32 insert, i64 seek */
/* zstd-patch frames may span prefix and output: 64 MiB, for that method only. */
#define OTTER_DELTA_WINDOW_LOG_MAX 26

/* Largest decoded bsdiff patch for an image of this chunk_size. */
#define OTTER_DELTA_PATCH_MAX(chunk_size) (2 * (size_t)(chunk_size) + 65536)

/* bsdiff-lzma's stored header: u8 LZMA2 dictionary props, u32 patch length. */
#define OTTER_DELTA_LZMA_HEADER_LEN 5
/* The smallest LZMA2 dictionary (props 0). */
#define OTTER_DELTA_LZMA_DICT_MIN 4096
/*
 * The largest a reader allows: 256 KiB (props 12). A patch's matches are
 * near (zero runs, repeated code): the bench's patches code 0.05 % larger
 * with it than with a dictionary holding the whole patch, and a device's
 * decoder holds 256 KiB instead of up to 3 MiB.
 */
#define OTTER_DELTA_LZMA_PROPS_MAX 12

/*
 * The LZMA2 dictionary props byte for a patch of len bytes: the smallest
 * dictionary that holds it (at least 4 KiB), at most props 12 (256 KiB). A
 * reader refuses larger ones.
 */
uint8_t otter_delta_lzma_props(size_t len);
/* The dictionary size of an LZMA2 props byte (0..39): 2^(props/2 + 12), x 1.5 when odd. */
uint64_t otter_delta_lzma_dict(unsigned props);

/* A decoder's state: a zstd context, an LZMA2 decoder and the patch buffer (grown on use). */
typedef struct otter_delta_dec otter_delta_dec;

/* NULL on ENOMEM. Caller frees. */
otter_delta_dec *otter_delta_dec_new(void);
void otter_delta_dec_free(otter_delta_dec *d);

/*
 * Applies a decoded OTDIFF1 patch to src (src_len bytes, the source range),
 * writing exactly out_len bytes to out. count is at most chunk_size. Refuses
 * (OTTER_EFORMAT, message says what) a bad magic, a count or section that
 * does not fit, a source read or seek outside the range, sections not
 * consumed exactly, and an output of any other size. out must not overlap
 * patch or src.
 */
int otter_delta_patch_apply(const uint8_t *patch, size_t patch_len, const uint8_t *src,
                            size_t src_len, uint8_t *out, size_t out_len, uint32_t chunk_size,
                            otter_err *err);

/*
 * Makes one chunk of out_len bytes by method: copy (src_len must be out_len;
 * nothing stored), zstd-patch, bsdiff (stored is one zstd frame; for
 * bsdiff its content is at most OTTER_DELTA_PATCH_MAX(chunk_size)),
 * bsdiff-lzma (props, length, raw LZMA2: the same patch). stored
 * may lie at the end of out's buffer (zstd in-place decoding: out_len plus
 * ZSTD_DECOMPRESSION_MARGIN). OTTER_EFORMAT, OTTER_ENOMEM.
 */
int otter_delta_decode(otter_delta_dec *d, otter_chunk_method method, uint32_t chunk_size,
                       const uint8_t *stored, size_t stored_len, const uint8_t *src, size_t src_len,
                       uint8_t *out, size_t out_len, otter_err *err);

#endif
