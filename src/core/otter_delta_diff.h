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
 * Makes an OTDIFF1 patch that turns old (the source range, 1..INT32_MAX
 * bytes) into new (1..chunk_size bytes). *patch is new memory (caller
 * frees). OTTER_ENOMEM, OTTER_EUSAGE (sizes).
 */
int otter_delta_diff(const uint8_t *old, size_t old_len, const uint8_t *new_bytes, size_t new_len,
                     uint8_t **patch, size_t *patch_len, otter_err *err);

#endif
