/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release metadata freshness (issue #13, docs/security.md "Freeze"): the
 * release metadata of Otter is the signed manifest.json, and its freshness
 * is its `created` time (UTC, set by `otter pack`, covered by the release
 * signatures). The device keeps the newest `created` of every manifest it
 * accepted for an install in <state dir>/newest-manifest (written
 * atomically) and refuses a package whose manifest is older. So a server,
 * mirror or attacker cannot replay an older signed release once a newer
 * one was installed, even at the same security version (the anti-rollback
 * counter covers only security levels, and moves only after a commit).
 * A deliberate downgrade is made by packing (signing) the old image again:
 * a fresh decision of the release signers, which is the point.
 */
#ifndef OTTER_FRESH_H
#define OTTER_FRESH_H

#include "otter_device.h"
#include "otter_manifest.h"

/* OTTER_EROLLBACK when m->created is older than the newest the device installed. */
int otter_fresh_check(const otter_device *d, const otter_manifest *m, otter_err *err);

/* Raises the device's newest created time to m's (never lowers it). */
int otter_fresh_note(const otter_device *d, const otter_manifest *m, otter_err *err);

#endif
