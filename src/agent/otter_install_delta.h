/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install's side of delta images (docs/delta.md, docs/agent.md "Delta
 * installs"): each delta image is made from the running (active) slot of
 * its target. Before anything is written — before the inactive slot is
 * released — every delta image's source is opened read-only and its first
 * delta_base_size bytes are hashed against the signed delta_base_sha256,
 * once; the reader is then told the source is checked (no second hash) and
 * reads it with pread/mmap per chunk, never whole into the heap.
 */
#ifndef OTTER_INSTALL_DELTA_H
#define OTTER_INSTALL_DELTA_H

#include <stddef.h>

#include "otter_device.h"
#include "otter_err.h"
#include "otter_manifest.h"
#include "otter_pkg.h"

/* The descriptors opened for one install (closed by otter_install_delta_close). */
typedef struct otter_install_sources {
    int fd[OTTER_IMAGES_MAX];
    size_t n;
} otter_install_sources;

/*
 * For every delta image of m: opens the slot of its target on side `active`
 * (read-only), checks it against the image's base and hands it to r as a
 * checked source. 0 when m has no delta image or all sources match.
 * OTTER_ESOURCE when a source is not its base (too short or another
 * digest): the message names the image, the slot's path and the release
 * the delta is from. OTTER_ECOMPAT for a delta image a source cannot serve
 * (an archive image, no running slot: a factory install), OTTER_EIO when a
 * slot cannot be opened or read. s is filled either way; close it.
 */
int otter_install_delta_open(const otter_device *d, const otter_manifest *m, int active,
                             otter_pkg_reader *r, otter_install_sources *s, otter_err *err);

/* Closes what otter_install_delta_open opened; s may be zeroed or NULL. */
void otter_install_delta_close(otter_install_sources *s);

#endif
