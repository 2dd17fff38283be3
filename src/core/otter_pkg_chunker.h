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
struct otter_crypt_image;
int otter_pkg_chunk_encode(int in_fd, const char *in_path, int out_fd, const char *out_path,
                           int level, int threads, otter_manifest_image *img, otter_err *err);

/*
 * The same, encrypting every chunk under ci (docs/package-format.md,
 * "Encrypted images"; ci->chunk_count must be the count the input makes):
 * the ciphertext and tag always go to out_fd, whatever the compression.
 */
int otter_pkg_chunk_encode_sealed(int in_fd, const char *in_path, int out_fd, const char *out_path,
                                  int level, int threads, const struct otter_crypt_image *ci,
                                  otter_manifest_image *img, otter_err *err);

#endif
