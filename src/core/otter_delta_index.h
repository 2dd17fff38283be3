/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the bytes of a new chunk sit in the old image (maker side): a
 * rolling hash over whole chunks finds exact copies anywhere in the
 * source; an index of the source's 64-byte blocks finds the window of
 * the source that holds most of a chunk's blocks: its range for the patch
 * methods.
 */
#ifndef OTTER_DELTA_INDEX_H
#define OTTER_DELTA_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define OTTER_DELTA_BLOCK 64

typedef struct otter_delta_index otter_delta_index;

/*
 * The maker reads its images from read-only file mappings; what it has
 * read is dropped from its RSS as it goes (the pages stay in the page
 * cache and come back on the next touch), so its peak does not grow with
 * the image size. mapped: the images are such mappings (never drop heap
 * memory: MADV_DONTNEED would zero it).
 */
#define OTTER_DELTA_DROP_EVERY (8u << 20)

/* Drops the pages holding [p, p + n) of a read-only file mapping from the RSS. */
void otter_delta_drop_pages(const uint8_t *p, size_t n);

/* Indexes old's aligned 64-byte blocks (old borrowed). NULL on ENOMEM. */
otter_delta_index *otter_delta_index_new(const uint8_t *old, size_t old_len, int mapped);
void otter_delta_index_free(otter_delta_index *ix);

/*
 * Where the source range (range_len bytes) for chunk (n bytes) is best
 * taken: the window of old that holds the most of the chunk's 64-byte
 * blocks, centred on them. 1 with *start (not yet clamped to the end of
 * old), 0 when no block of the chunk is in the source.
 */
int otter_delta_index_range(const otter_delta_index *ix, const uint8_t *chunk, size_t n,
                            size_t range_len, uint64_t *start);

/*
 * Exact copies: for each of the count chunks (chunk i is new[i * span ...],
 * the last one shorter), found[i] = 1 and where[i] = an offset of old that
 * holds exactly its bytes, when there is one. -1 on ENOMEM.
 */
int otter_delta_find_copies(const uint8_t *old, size_t old_len, const uint8_t *new_bytes,
                            size_t new_len, uint32_t span, int mapped, uint8_t *found,
                            uint64_t *where);

#endif
