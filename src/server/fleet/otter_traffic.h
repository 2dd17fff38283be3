/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a download would have cost as the full package (issue #12,
 * docs/rollouts.md "Bytes sent"). A response sends bytes [first, first +
 * bytes) of an artifact of served_size bytes; a full-package download
 * costs what it sent; a delta's range stands for the same share of the
 * full package: floor((first + bytes) * full / served) - floor(first *
 * full / served). The floors telescope: a delta fetched in any number of
 * adjoining ranges (a resumed download) adds up to exactly the full
 * package's size, as one whole download does.
 */
#ifndef OTTER_TRAFFIC_H
#define OTTER_TRAFFIC_H

#include <stdint.h>

/*
 * The full-package equivalent of bytes [first, first + bytes) of an
 * artifact of served_size bytes, a delta (delta = 1) of a release whose
 * full package has full_size bytes; for the full package itself, bytes.
 * 0 when the range lies outside the artifact (served_size 0 included).
 */
uint64_t otter_traffic_full_equivalent(int delta, uint64_t first, uint64_t bytes,
                                       uint64_t served_size, uint64_t full_size);

#endif
