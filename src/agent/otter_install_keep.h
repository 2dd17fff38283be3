/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Partial packages (docs/agent.md, "Partial updates"): a package whose
 * manifest lists the slot classes it "replaces" leaves the others to the
 * device, which copies them from the running slot set into the new one,
 * byte for byte, checked against the digest the state file recorded for
 * the running slot. Copied, not shared: A/B boots a whole slot set, the
 * next update writes the whole inactive set, and the boot simulator checks
 * every image of a slot, so each set must hold all of its classes.
 */
#ifndef OTTER_INSTALL_KEEP_H
#define OTTER_INSTALL_KEEP_H

#include "otter_device.h"
#include "otter_manifest.h"

/*
 * Before anything is written: every class m keeps has a recorded image in
 * the running slot, a raw or file handler, and a readable running copy of
 * at least the recorded size. factory: a partial package is refused.
 * OTTER_ECOMPAT, OTTER_ESTATE or OTTER_EIO, naming the class.
 */
int otter_install_keep_check(const otter_device *d, const otter_manifest *m, int factory,
                             otter_err *err);

/*
 * Copies each kept class from the running slot to side, hashing while it
 * copies; a copy whose digest differs from the record is aborted
 * (OTTER_EDIGEST). OTTER_EIO on read or write errors.
 */
int otter_install_keep_copy(otter_device *d, const otter_manifest *m, int side, otter_err *err);

/* Appends the running slot's records of the kept classes to out (at most max); the count. */
size_t otter_install_keep_images(const otter_device *d, const otter_manifest *m,
                                 otter_state_image *out, size_t max);

#endif
