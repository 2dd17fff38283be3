/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot simulator: plays the bootloader of a simulated device (slots are
 * files, the boot environment is the configured back-end) with verified
 * boot. One call is one power-on:
 *   1. pick the first slot in BOOT_ORDER with tries left and count the try
 *      down (persisted before booting, as a U-Boot script does);
 *   2. recompute the slot's image digests and refuse a slot whose bytes do
 *      not match what the signed manifest recorded for it (tampered or half
 *      written): that slot is marked bad and the next one is tried;
 *   3. "boot" it: write otter.slot=X to the configured kernel command line
 *      file, then run boot-check as the init system would.
 * Archive (directory) slots cannot be re-hashed after unpacking; for them
 * only the recorded presence is checked (see docs/agent.md).
 */
#ifndef OTTER_BOOTSIM_H
#define OTTER_BOOTSIM_H

#include "otter_err.h"

typedef struct otter_bootsim_result {
    int booted;           /* OTTER_SLOT_A/B */
    int outcome;          /* enum otter_check_outcome of the boot-check */
    int refused[2];       /* slots verified boot refused this time */
    char refusal[2][256]; /* why */
} otter_bootsim_result;

int otter_bootsim_boot(const char *conf_path, otter_bootsim_result *res, otter_err *err);

#endif
