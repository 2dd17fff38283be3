/* SPDX-License-Identifier: Apache-2.0 */
/*
 * After the reboot: commit the new slot, or record why it failed.
 *
 *   boot-check  booted == pending slot: health check, then mark-good;
 *               health check failed: the slot is marked bad in the boot
 *               variables, the failure recorded, and the device rebooted
 *               into the old slot;
 *               booted the other slot (tries ran out, or verified boot
 *               refused the new one): the failure is recorded;
 *               booted the other slot because the install's boot switch
 *               never became durable (a power cut right after the pending
 *               record): nothing was tried, nothing failed; the record and
 *               the slot's entry are forgotten and the update installed
 *               again (pending.switched, docs/agent.md "Power loss").
 *               The booted slot's security version below the counter (a
 *               fallback after a commit, a reset boot order): never
 *               committed nor kept; it leaves BOOT_ORDER and the other
 *               slot boots (the pending one keeps its pending update).
 *   mark-good   raise the anti-rollback counter to the slot's
 *               security_version, make the boot order permanent, record
 *               success; the other slot leaves BOOT_ORDER when it holds a
 *               system below the new counter (or an unknown one), so no
 *               bootloader fallback can run it.
 *   rollback    boot the other slot when it holds a valid, allowed system.
 * Each step writes the boot variables before the state file, so a power
 * cut in between leaves a state the next boot-check resolves the same way.
 */
#ifndef OTTER_COMMIT_H
#define OTTER_COMMIT_H

#include "otter_device.h"

enum otter_check_outcome {
    OTTER_CHECK_NOTHING = 0, /* no update pending */
    OTTER_CHECK_COMMITTED,   /* the new slot is good: committed */
    OTTER_CHECK_FAILED,      /* the new slot failed: recorded, old slot kept */
    OTTER_CHECK_REFUSED, /* the booted slot is below the counter: retired, the other boots next */
    OTTER_CHECK_NOT_SWITCHED, /* the pending update's boot switch never happened: forgotten */
};

/* boot-check; *outcome says what happened. The reason of a failure is in d->state->last. */
int otter_commit_boot_check(otter_device *d, int *outcome, otter_err *err);

/* mark-good for the booted slot when it is the pending one (OTTER_ESTATE otherwise). */
int otter_commit_mark_good(otter_device *d, otter_err *err);

/* Switches to the other slot if it holds a valid system not below the counter, and reboots
 * unless no_reboot. */
int otter_commit_rollback(otter_device *d, int no_reboot, otter_err *err);

#endif
