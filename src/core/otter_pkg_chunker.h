/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Format-2 payload encoder (internal to libotter): cuts an input into
 * chunk_size spans, compresses each into one independent zstd frame on a
 * pool of threads, and fills the image's chunk table, size and SHA-256.
 */
#ifndef OTTER_PKG_CHUNKER_H
#define OTTER_PKG_CHUNKER_H

#include "otter_err.h"
#include "otter_manifest.h"

/*
 * Reads in_fd to its end. With img->compression zstd the frames go to
 * out_fd (in order, contiguous); with none nothing is written (the input is
 * the payload). img->chunk_size must be set. threads <= 0: one per core.
 * Paths are for messages. OTTER_EIO, OTTER_ENOMEM, OTTER_EFORMAT (too many
 * chunks).
 */
int otter_pkg_chunk_encode(int in_fd, const char *in_path, int out_fd, const char *out_path,
                           int level, int threads, otter_manifest_image *img, otter_err *err);

#endif
