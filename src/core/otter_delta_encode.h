/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta encoding of one image (maker side, library otter_delta_make): for
 * each chunk of the new image the smallest of copy, zstd-patch, bsdiff and
 * plain zstd (docs/delta.md, "The choice per chunk"), on a pool of threads.
 */
#ifndef OTTER_DELTA_ENCODE_H
#define OTTER_DELTA_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_manifest.h"

/*
 * Fills img's chunk table (img->chunk_size and img->delta_base_size set by
 * the caller; old_len == delta_base_size >= 1, new_len == img->size >= 1)
 * and writes the stored bytes of every chunk to out_fd in order. Each
 * chosen encoding is decoded again and compared before it is kept. level:
 * zstd 1..19; threads <= 0: one per core; methods: a bit (1 << method) per
 * method a chunk may use, 0 for all (zstd always); mapped: old and
 * new_bytes are read-only file mappings, whose pages are dropped from the
 * RSS as they are done with (otter_delta_drop_pages). OTTER_ENOMEM, OTTER_EIO,
 * OTTER_EFORMAT (a chunk did not decode back: a bug).
 */
int otter_delta_encode_image(const uint8_t *old, size_t old_len, const uint8_t *new_bytes,
                             size_t new_len, int level, int threads, unsigned methods, int mapped,
                             otter_manifest_image *img, int out_fd, const char *out_path,
                             otter_err *err);

#endif
