/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otter delta`'s library side: a signed delta package from two signed
 * packages (docs/delta.md). Linked by the tool and the tests, not by the
 * device programs (it brings libdivsufsort).
 */
#ifndef OTTER_DELTA_MAKE_H
#define OTTER_DELTA_MAKE_H

#include <stddef.h>

#include "otter_err.h"
#include "otter_key.h"
#include "otter_trust.h"

typedef struct otter_delta_make_opts {
    const char *from;             /* the release devices run (OLD.zip) */
    const char *to;               /* the release they update to (NEW.zip) */
    const otter_trust *trust;     /* both are verified against it first */
    const otter_key *const *keys; /* signers of the delta; may be none (sign later) */
    size_t key_count;
    int level;   /* zstd level 1..19 for every frame written */
    int threads; /* per-chunk workers; 0: one per core */
    /*
     * The delta methods chunks may use: OTTER_DELTA_METHOD_BIT(method) per
     * method; 0: all. zstd is always allowed (every reader reads it).
     * Agents from before a method refuse a delta that uses it: make
     * deltas for such a fleet without it (docs/delta.md, "Old agents").
     */
    unsigned methods;
} otter_delta_make_opts;

#define OTTER_DELTA_METHOD_BIT(m) (1u << (unsigned)(m))

/*
 * A comma-separated list of delta method names (copy, zstd-patch, bsdiff,
 * bsdiff-lzma; zstd is accepted and always allowed) into a mask for
 * otter_delta_make_opts.methods. OTTER_EUSAGE names an unknown or empty entry.
 */
int otter_delta_methods_parse(const char *list, unsigned *mask, otter_err *err);

/*
 * Reads and verifies both packages whole (signatures, every chunk, every
 * image digest), then writes out_path: NEW's manifest with delta_from set,
 * each image of NEW that has an image of the same name and target in OLD
 * (raw or file handlers, both non-empty) as a delta image, every other
 * image as a full one. OTTER_ESIG/OTTER_EDIGEST/OTTER_EFORMAT for a refused
 * input, OTTER_EUSAGE (another product, no trust root), OTTER_EIO, OTTER_ENOMEM.
 */
int otter_delta_make(const char *out_path, const otter_delta_make_opts *o, otter_err *err);

#endif
