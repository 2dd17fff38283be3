/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd and delta artifacts (docs/ddi.md, "Delta artifacts"), as pure
 * functions so the choice and the fallback are unit tests:
 *   - an offered deployment has one chunk with the full package and, when
 *     the server has a delta from the release this device runs, a second
 *     artifact named *.delta.zip: the daemon takes the delta;
 *   - the installer (otter-agent) exits with OTTER_DDI_EXIT_SOURCE when the
 *     running slot is not the delta's base (nothing was written): the daemon
 *     then takes the full artifact of the same chunk and says so in its
 *     feedback; any other refusal of a delta fails the action as a full
 *     package's would (a bad signature or chunk is no reason to try again).
 */
#ifndef OTTER_DDI_DELTA_H
#define OTTER_DDI_DELTA_H

#include <stddef.h>

#include "otter_ddi.h"
#include "otter_err.h"

/* otter-agent's exit status for "the running slot is not this delta's base". */
#define OTTER_DDI_EXIT_SOURCE 3

/* The artifacts of an offered deployment this device uses (borrowed from it). */
typedef struct otter_ddi_pick {
    const otter_ddi_artifact *full;  /* the full package: always set on success */
    const otter_ddi_artifact *delta; /* a *.delta.zip beside it, or NULL */
} otter_ddi_pick;

/* 1 when filename names a delta artifact (ends in ".delta.zip"). */
int otter_ddi_is_delta_name(const char *filename);

/*
 * Picks from dep: exactly one chunk holding one full package and at most
 * one delta. OTTER_EFORMAT otherwise (more chunks, no full package, two of
 * a kind, too many artifacts), err saying why.
 */
int otter_ddi_pick_artifacts(const otter_ddi_deployment *dep, otter_ddi_pick *p, otter_err *err);

/* The artifact to fetch first: the delta when there is one. */
const otter_ddi_artifact *otter_ddi_first_artifact(const otter_ddi_pick *p);

/*
 * 1 when the child's exit status `rc` for the artifact `tried` means: take
 * the full one now (tried was the delta, and the installer said its source
 * does not match); 0 for every other outcome, success or failure.
 */
int otter_ddi_falls_back(const otter_ddi_pick *p, const otter_ddi_artifact *tried, int rc);

/*
 * The feedback detail after a fallback: "delta refused: WHY; <done>" with
 * the child's "otter-agent: " prefix dropped from why; cut to fit size.
 */
void otter_ddi_fallback_detail(char *out, size_t size, const char *why, const char *done);

#endif
