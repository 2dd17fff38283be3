/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Format-2 chunk checking on several cores (internal to libotter). The
 * package reader fills a slot with one chunk's stored bytes and submits it;
 * a worker checks the stored digest, decodes the single zstd frame into the
 * slot's output buffer and checks the installed digest; the reader takes
 * results strictly in submission order. A chunk is only ever handed out
 * after both digests matched.
 *
 * Memory is fixed by the caller's table: (workers + 1) slots, each one
 * buffer of the chunk span plus zstd's in-place decoding margin (about
 * 128 KiB), allocated on first use. Delta chunks (otter_chunkq_set_source)
 * add one patch buffer per worker (at most 2 x chunk_size + 64 KiB, bsdiff
 * and bsdiff-lzma; the latter also an LZMA2 dictionary of at most 256
 * KiB); their source ranges are read with pread (copy) or mapped
 * read-only for the duration of one chunk (patch methods), never copied
 * into the heap.
 */
#ifndef OTTER_CHUNKQ_H
#define OTTER_CHUNKQ_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_manifest.h"

typedef struct otter_chunkq otter_chunkq;

/* workers == 0: chunks are checked inline in take() (no thread). NULL on ENOMEM. */
otter_chunkq *otter_chunkq_new(unsigned workers);
/* Stops the workers and frees every buffer. NULL is fine. */
void otter_chunkq_free(otter_chunkq *q);

/* The workers a reader should use on this machine: one per core, 1..4. */
unsigned otter_chunkq_default_workers(void);

/* True when a slot is free for fill(). */
int otter_chunkq_can_fill(const otter_chunkq *q);
/* Number of submitted chunks not yet taken. */
size_t otter_chunkq_pending(const otter_chunkq *q);

/*
 * The input buffer (stored_size bytes) of the next free slot, for the
 * caller to fill before submit(). NULL with err set on ENOMEM.
 */
uint8_t *otter_chunkq_fill(otter_chunkq *q, const otter_manifest_chunk *c,
                           otter_compression compression, otter_err *err);

/*
 * Queues the filled slot: c (borrowed, must outlive the take) is the chunk's
 * table entry, index and what (image name) are for messages.
 */
void otter_chunkq_submit(otter_chunkq *q, const otter_manifest_chunk *c,
                         otter_compression compression, size_t index, const char *what);

/*
 * Waits for the oldest submitted chunk. 0 with data and len set (borrowed,
 * valid until the next take or reset), or OTTER_EDIGEST / OTTER_EFORMAT
 * with err naming the chunk. The slot handed out before is freed first.
 */
int otter_chunkq_take(otter_chunkq *q, const void **data, size_t *len, otter_err *err);

/* Frees the slot handed out by the last take (its data is no longer used). */
void otter_chunkq_release(otter_chunkq *q);

/*
 * Delta images: the source that copy, zstd-patch and bsdiff chunks submitted
 * from now on read their range from (fd borrowed; -1: none, such chunks are
 * refused), and the image's chunk_size (a bsdiff patch's bound). A worker
 * adds one patch buffer of at most 2 x chunk_size + 64 KiB.
 */
void otter_chunkq_set_source(otter_chunkq *q, int fd, uint32_t chunk_size);

/*
 * Encrypted images (docs/package-format.md, "Encrypted images"): chunks
 * submitted from now on are ciphertext. With ci (borrowed, must outlive
 * them) each is checked against its stored digest, decrypted in place, its
 * GCM tag checked, then handled as a clear chunk. cipher_only (no key: a
 * verifier) checks the ciphertext digest and hands out the ciphertext.
 * NULL and 0: clear chunks. Call before fill().
 */
struct otter_crypt_image;
void otter_chunkq_set_crypt(otter_chunkq *q, const struct otter_crypt_image *ci, int cipher_only);

/* Drops every queued chunk (waits for those in a worker's hands). */
void otter_chunkq_reset(otter_chunkq *q);

#endif
