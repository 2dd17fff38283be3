/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The suffix-array diff behind the bsdiff method (maker side only; part of
 * the otter_delta_make library, not of what a device runs). The suffix
 * array comes from libdivsufsort; the matching and the OTDIFF1 layout are
 * Otter's own (docs/delta.md, docs/package-format.md).
 */
#ifndef OTTER_DELTA_DIFF_H
#define OTTER_DELTA_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

/*
 * The suffix array of old (1..INT32_MAX bytes; 4 bytes per byte of old),
 * built once and shared by every diff against that range. NULL on ENOMEM.
 */
int32_t *otter_delta_suffixes(const uint8_t *old, size_t old_len);

/*
 * How readily the matcher leaves the diagonal it follows for a new exact
 * match: the new one must beat the current one by more than this many
 * bytes. Which value makes the smaller patch depends on the code: the
 * encoder tries both (docs/delta.md).
 */
#define OTTER_DELTA_STICKY_LOW 8
#define OTTER_DELTA_STICKY_HIGH 24

/*
 * Makes an OTDIFF1 patch that turns old (the source range, 1..INT32_MAX
 * bytes, sa its suffix array) into new (1..chunk_size bytes). *patch is new
 * memory (caller frees). OTTER_ENOMEM, OTTER_EUSAGE (sizes).
 */
int otter_delta_diff(const uint8_t *old, size_t old_len, const int32_t *sa,
                     const uint8_t *new_bytes, size_t new_len, unsigned sticky, uint8_t **patch,
                     size_t *patch_len, otter_err *err);

#endif
