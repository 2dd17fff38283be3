/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A SHA-256 that runs beside its producer: buffers are filled by the caller
 * (decompression) and hashed on a second thread, so decompressing and
 * hashing overlap on two cores, like `zstd -dc | openssl dgst` does with two
 * processes. Memory is fixed: nbufs buffers of bufsize bytes.
 *
 * Protocol: buf = acquire(); fill it; submit(len); ... finish(digest).
 * A submitted buffer stays unchanged until the next acquire() returns, so a
 * consumer may read it (write it to a slot) while it is being hashed.
 */
#ifndef OTTER_HASHQ_H
#define OTTER_HASHQ_H

#include <stddef.h>
#include <stdint.h>

#include "otter_digest.h"

typedef struct otter_hashq otter_hashq;

/*
 * threaded = 0 hashes inline in submit() (no thread; for small inputs and
 * fuzzing). Returns NULL on ENOMEM or when the thread cannot start.
 */
otter_hashq *otter_hashq_new(size_t nbufs, size_t bufsize, int threaded);
size_t otter_hashq_bufsize(const otter_hashq *q);
/* Next free buffer of bufsize bytes (waits until the hasher is done with it);
 * the same buffer again when the last one was not submitted. */
uint8_t *otter_hashq_acquire(otter_hashq *q);
/* Queues len bytes of the last acquired buffer for hashing (0: nothing). */
void otter_hashq_submit(otter_hashq *q, size_t len);
/* Waits for all queued bytes, writes the digest and restarts the hash. */
void otter_hashq_finish(otter_hashq *q, uint8_t out[OTTER_SHA256_LEN]);
void otter_hashq_free(otter_hashq *q);

#endif
